//! Minimal HS256 JWT (RFC 7519) for Vault session tokens.
//!
//! Hand-rolled on purpose: we only ever sign and accept `HS256`, so a general JWT library's
//! algorithm negotiation (the source of `alg: none` and RS/HS confusion bugs) is not needed.
//! Verification order: structure, header `alg` (must be exactly `HS256`), signature (constant
//! time), then `exp`/`nbf`. Claims are not parsed before the signature checks out.

use std::fmt;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::secret::SessionToken;

/// Header we emit: `{"alg":"HS256","typ":"JWT"}`.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Refuse absurdly large tokens before decoding anything.
const MAX_TOKEN_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("claims must be a JSON object with a numeric exp")]
    InvalidClaims,
    #[error("token is malformed")]
    Malformed,
    #[error("token algorithm is not HS256")]
    UnsupportedAlgorithm,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
}

/// Signs and verifies session JWTs with a key derived from the keyring's stable secret
/// ([`crate::Keyring::session_signer`]), so tokens survive data-key rotation.
pub struct SessionSigner(hmac::Key);

impl fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSigner(***)")
    }
}

fn numeric_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        // NumericDate may be fractional; whole seconds are precise enough for expiry.
        #[allow(
            clippy::cast_possible_truncation,
            reason = "seconds since 1970 fit in i64"
        )]
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.floor() as i64))
            .map(Some)
            .ok_or(JwtError::InvalidClaims),
        Some(_) => Err(JwtError::InvalidClaims),
    }
}

impl SessionSigner {
    #[must_use]
    pub fn from_secret(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// Signs `claims`, which must be a JSON object with a numeric `exp` (tokens without an
    /// expiry are refused so that a forgotten claim cannot mint an eternal session).
    ///
    /// # Errors
    /// [`JwtError::InvalidClaims`].
    pub fn sign(&self, claims: &Value) -> Result<SessionToken, JwtError> {
        let object = claims.as_object().ok_or(JwtError::InvalidClaims)?;
        if numeric_claim(object, "exp")?.is_none() {
            return Err(JwtError::InvalidClaims);
        }
        let payload = serde_json::to_vec(claims).map_err(|_| JwtError::InvalidClaims)?;
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let tag = hmac::sign(&self.0, signing_input.as_bytes());
        Ok(SessionToken::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(tag)
        )))
    }

    /// Verifies `token` at `now_unix` (seconds since 1970) and returns its claims object.
    /// `exp` is required and exclusive: a token is valid while `now < exp`.
    ///
    /// # Errors
    /// [`JwtError`] describing the first check that failed. Never panics on any input.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Value, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| JwtError::Malformed)?;
        let header: Value =
            serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
        let header = header.as_object().ok_or(JwtError::Malformed)?;
        if header.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(JwtError::UnsupportedAlgorithm);
        }
        // We understand no critical extensions, so RFC 7515 §4.1.11 says reject.
        if header.contains_key("crit") {
            return Err(JwtError::Malformed);
        }
        // The signing input is everything before the last dot: `header.payload`.
        let signing_input = &token[..token.len() - signature.len() - 1];
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| JwtError::Malformed)?;
        hmac::verify(&self.0, signing_input.as_bytes(), &signature)
            .map_err(|_| JwtError::BadSignature)?;

        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| JwtError::Malformed)?;
        let claims: Value = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
        let object = claims.as_object().ok_or(JwtError::InvalidClaims)?;
        let exp = numeric_claim(object, "exp")?.ok_or(JwtError::InvalidClaims)?;
        if now_unix >= exp {
            return Err(JwtError::Expired);
        }
        if numeric_claim(object, "nbf")?.is_some_and(|nbf| now_unix < nbf) {
            return Err(JwtError::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests;
