//! Random token values, the response `signature`, PKCE and the RS256 id_token key.

use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::{constant_time, digest, hmac, rand, signature};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Characters Salesforce uses in opaque token bodies.
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // The system RNG does not fail on supported platforms; a zeroed buffer would still be
    // unique enough for an emulator, so a failure is not worth a panic.
    let _ = rand::fill(&mut buf);
    buf
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    // 256 is a multiple of 64 and 62 is close enough: a tiny bias is harmless for test tokens.
    random_bytes(len)
        .into_iter()
        .map(|b| char::from(alphabet[usize::from(b) % alphabet.len()]))
        .collect()
}

/// `{org15}!AQ...`, the shape of a Salesforce session id.
pub fn access_token_value(org15: &str) -> String {
    format!("{org15}!AQ{}", random_from(TOKEN_ALPHABET, 94))
}

/// Refresh tokens are opaque; real ones start `5Aep861`.
pub fn refresh_token_value() -> String {
    format!("5Aep861{}", random_from(TOKEN_ALPHABET, 80))
}

/// Authorization codes look like `aPrx...==`.
pub fn authorization_code() -> String {
    format!("aPrx{}==", random_from(ALNUM, 80))
}

/// Session cookies and login transaction ids.
pub fn opaque_id() -> String {
    random_from(ALNUM, 40)
}

/// `base64(HMAC-SHA256(key = client secret, id + issued_at))`.
pub fn response_signature(secret: &str, id_url: &str, issued_at: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(id_url.as_bytes());
    ctx.update(issued_at.as_bytes());
    STANDARD.encode(ctx.sign().as_ref())
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, value.as_bytes()).as_ref())
}

/// Whether `verifier` hashes (S256) to `challenge`.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    let hashed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    constant_time::verify_slices_are_equal(hashed.as_bytes(), challenge.as_bytes()).is_ok()
}

pub fn secrets_equal(a: &str, b: &str) -> bool {
    constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// OIDC `at_hash`: the left half of SHA-256 of the access token, base64url.
pub fn at_hash(access_token: &str) -> String {
    let d = digest::digest(&digest::SHA256, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("RSA key generation failed")]
    Generate,
    #[error("RSA signing failed")]
    Sign,
}

/// The emulator's id_token signing key, published at `/id/keys`.
pub struct SigningKey {
    pair: KeyPair,
    pub kid: String,
    n: String,
    e: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    pub fn generate() -> Result<Self, KeyError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let (n, e) = parse_rsa_public_key(pair.public_key().as_ref()).ok_or(KeyError::Generate)?;
        let kid = hex::encode(&digest::digest(&digest::SHA256, n).as_ref()[..8]);
        Ok(Self {
            n: URL_SAFE_NO_PAD.encode(n),
            e: URL_SAFE_NO_PAD.encode(e),
            pair,
            kid,
        })
    }

    /// A compact RS256 JWS over `claims`.
    pub fn sign_jwt(&self, claims: &serde_json::Value) -> Result<String, KeyError> {
        let header = serde_json::json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &rand::SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| KeyError::Sign)?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }

    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "RSA", "n": self.n, "e": self.e, "alg": "RS256", "use": "sig", "kid": self.kid
        })
    }
}

/// Splits a DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` into
/// its two big-endian integers without leading zeros.
fn parse_rsa_public_key(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (t1, n, rest) = der_element(body)?;
    let (t2, e, _) = der_element(rest)?;
    if t1 != 0x02 || t2 != 0x02 {
        return None;
    }
    Some((strip_zeros(n), strip_zeros(e)))
}

fn strip_zeros(mut v: &[u8]) -> &[u8] {
    while v.len() > 1 && v[0] == 0 {
        v = &v[1..];
    }
    v
}

/// One DER element: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first_len = *input.get(1)?;
    let (len, header) = if first_len < 0x80 {
        (usize::from(first_len), 2)
    } else {
        let n = usize::from(first_len & 0x7f);
        let bytes = input.get(2..2 + n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    let body = input.get(header..header.checked_add(len)?)?;
    Some((tag, body, &input[header + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_an_independent_computation() {
        assert!(pkce_matches(
            "_RMkv6hpJw4zP3T_G4ioEbKLVC6cKD9oUC6rS6uAb90",
            "dBjftJeZ4CVP-mB92K9uQC4Ty0LuyW3LWbwOuCx5gpc"
        ));
        assert!(!pkce_matches(
            "_RMkv6hpJw4zP3T_G4ioEbKLVC6cKD9oUC6rS6uAb90",
            "other"
        ));
    }

    #[test]
    fn shapes_look_like_salesforce() {
        let code = authorization_code();
        assert!(code.starts_with("aPrx") && code.ends_with("=="));
        assert!(access_token_value("00D000000000001").starts_with("00D000000000001!AQ"));
        assert_eq!(response_signature("k", "id", "1").len(), 44);
    }

    #[test]
    fn generated_key_signs_and_publishes() {
        let key = SigningKey::generate().expect("keygen");
        let jwt = key.sign_jwt(&serde_json::json!({"a": 1})).expect("sign");
        assert_eq!(jwt.split('.').count(), 3);
        assert_eq!(key.jwk()["e"], "AQAB");
    }
}
