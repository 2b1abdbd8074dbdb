//! API keys: format, generation, hashing and constant-time verification.
//!
//! ```text
//! pbk_<id: 16 lowercase hex>_<secret: 43 base64url chars = 32 random bytes><check: 6 chars>
//! ```
//!
//! * `pbk_` lets secret scanners recognise a leaked key (GitHub's `ghp_` idea).
//! * `id` is public: the store indexes it and looks the key up by it.
//! * `check` is the first 4 bytes of SHA-256 over everything before it, base64url. It lets
//!   the server reject typos and truncations without a database query. It is not a MAC.
//! * The store keeps only `HMAC-SHA256(pepper, full key)`. A 256-bit random secret needs no
//!   slow password hash; the pepper means a stolen database alone cannot confirm a guess.

use std::fmt;

use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::random::{RandomError, random_array};
use crate::secret::SecretString;

const PREFIX: &str = "pbk_";
const ID_LEN: usize = 16;
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;
/// Total length of a well-formed key.
pub const API_KEY_LEN: usize = PREFIX.len() + ID_LEN + 1 + SECRET_LEN + CHECK_LEN;

/// Why a presented key was rejected before any lookup. The message never echoes the key;
/// the server should answer every variant with the same 401 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyFormatError {
    #[error("API key does not start with pbk_")]
    MissingPrefix,
    #[error("API key has the wrong length")]
    WrongLength,
    #[error("API key id part is invalid")]
    BadId,
    #[error("API key secret part is invalid")]
    BadSecret,
    #[error("API key checksum does not match")]
    BadChecksum,
}

/// The public, indexed part of an API key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKeyId(String);

impl ApiKeyId {
    /// # Errors
    /// [`ApiKeyFormatError::BadId`] unless `value` is 16 lowercase hex digits.
    pub fn parse(value: &str) -> Result<Self, ApiKeyFormatError> {
        let ok = value.len() == ID_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(ApiKeyFormatError::BadId)
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `HMAC-SHA256(pepper, key)`, as stored. Not secret on its own, but keep it out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyHash([u8; 32]);

impl ApiKeyHash {
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// # Errors
    /// [`ApiKeyFormatError::WrongLength`] unless `value` is 64 hex digits.
    pub fn from_hex(value: &str) -> Result<Self, ApiKeyFormatError> {
        let bytes = hex::decode(value).map_err(|_| ApiKeyFormatError::WrongLength)?;
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| ApiKeyFormatError::WrongLength)
    }

    /// The stored bytes as they are (the store keeps the raw 32 bytes): no hex round trip on
    /// the key check, which runs on every API call.
    ///
    /// # Errors
    /// [`ApiKeyFormatError::WrongLength`] unless `value` is 32 bytes.
    pub fn from_slice(value: &[u8]) -> Result<Self, ApiKeyFormatError> {
        value
            .try_into()
            .map(Self)
            .map_err(|_| ApiKeyFormatError::WrongLength)
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A hash no key matches. Verify against it when the id is unknown, so an unknown id
    /// costs the same time as a wrong secret (docs/security.md T-AK-02).
    #[must_use]
    pub fn dummy() -> Self {
        Self([0u8; 32])
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyHash(..)")
    }
}

/// What the store keeps for a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub hash: ApiKeyHash,
}

/// Server-wide secret for API key hashes, derived from the keyring's stable secret
/// ([`crate::Keyring::api_key_pepper`]).
pub struct ApiKeyPepper(hmac::Key);

impl ApiKeyPepper {
    #[must_use]
    pub fn from_bytes(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }
}

impl fmt::Debug for ApiKeyPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyPepper(***)")
    }
}

/// A plaintext API key: shown once at creation, or presented by a client.
#[derive(Clone)]
pub struct ApiKey {
    text: SecretString,
    id: ApiKeyId,
}

fn checksum(body: &str) -> String {
    let d = digest::digest(&digest::SHA256, body.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..4])
}

impl ApiKey {
    /// A new random key and the record to store for it.
    ///
    /// # Errors
    /// [`RandomError`] if the CSPRNG fails.
    pub fn generate(pepper: &ApiKeyPepper) -> Result<(Self, ApiKeyRecord), RandomError> {
        let id = ApiKeyId(hex::encode(random_array::<8>()?.as_ref()));
        let secret = random_array::<32>()?;
        let body = format!("{PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(secret.as_ref()));
        let text = SecretString::new(format!("{body}{}", checksum(&body)));
        let key = Self { text, id };
        let record = ApiKeyRecord {
            id: key.id.clone(),
            hash: key.hash(pepper),
        };
        Ok((key, record))
    }

    /// Checks the format and checksum of a presented key; no secret is needed.
    ///
    /// # Errors
    /// [`ApiKeyFormatError`]; never panics on any input.
    pub fn parse(presented: &str) -> Result<Self, ApiKeyFormatError> {
        let rest = presented
            .strip_prefix(PREFIX)
            .ok_or(ApiKeyFormatError::MissingPrefix)?;
        if presented.len() != API_KEY_LEN || !presented.is_ascii() {
            return Err(ApiKeyFormatError::WrongLength);
        }
        // ASCII and fixed length, so these byte offsets are char boundaries.
        let (id, rest) = rest.split_at(ID_LEN);
        let id = ApiKeyId::parse(id)?;
        let rest = rest.strip_prefix('_').ok_or(ApiKeyFormatError::BadId)?;
        let (secret, check) = rest.split_at(SECRET_LEN);
        let decoded = URL_SAFE_NO_PAD
            .decode(secret)
            .map_err(|_| ApiKeyFormatError::BadSecret)?;
        if decoded.len() != 32 {
            return Err(ApiKeyFormatError::BadSecret);
        }
        let body = &presented[..presented.len() - CHECK_LEN];
        if check != checksum(body) {
            return Err(ApiKeyFormatError::BadChecksum);
        }
        Ok(Self {
            text: SecretString::new(presented),
            id,
        })
    }

    #[must_use]
    pub fn id(&self) -> &ApiKeyId {
        &self.id
    }

    /// The full key, to show the user once.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.text.expose_secret()
    }

    #[must_use]
    pub fn hash(&self, pepper: &ApiKeyPepper) -> ApiKeyHash {
        let tag = hmac::sign(&pepper.0, self.text.expose_secret().as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        ApiKeyHash(out)
    }

    /// Constant-time check of this key against a stored hash.
    #[must_use]
    pub fn verify(&self, stored: &ApiKeyHash, pepper: &ApiKeyPepper) -> bool {
        hmac::verify(&pepper.0, self.text.expose_secret().as_bytes(), &stored.0).is_ok()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(id={}, ***)", self.id)
    }
}

/// Parses `presented` and verifies it against `stored`; malformed keys are simply `false`.
#[must_use]
pub fn verify(presented: &str, stored: &ApiKeyHash, pepper: &ApiKeyPepper) -> bool {
    ApiKey::parse(presented).is_ok_and(|key| key.verify(stored, pepper))
}

#[cfg(test)]
mod tests;
