//! The text envelope stored in the database for every sealed value.
//!
//! ```text
//! pb1:<key_id>:<base64url-no-pad(nonce[12] || ciphertext || tag[16])>
//! ```
//!
//! * `pb1` names the format version: AES-256-GCM, 96-bit random nonce, AAD as in
//!   [`crate::Aad`]. A future format gets a new prefix (`pb2:`), and readers dispatch on it.
//! * `key_id` is the [`KeyId`] of the keyring entry that sealed the value. It is public and
//!   also bound into the AAD.
//! * The payload is unpadded base64url, so the envelope is plain ASCII that fits a `TEXT`
//!   column in both SQLite and Postgres and never needs quoting.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::key_id::KeyId;

pub(crate) const NONCE_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;
/// Version number of the `pb1` format; also bound into the AAD.
pub(crate) const V1: u8 = 1;
const V1_PREFIX: &str = "pb1";

/// Why an envelope could not even be parsed. Messages never contain the envelope itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("sealed value is not a patchbay envelope")]
    NotAnEnvelope,
    #[error("sealed value uses an unsupported envelope version")]
    UnsupportedVersion,
    #[error("sealed value has an invalid key id")]
    InvalidKeyId,
    #[error("sealed value payload is not valid base64url")]
    BadBase64,
    #[error("sealed value payload is too short")]
    Truncated,
}

/// A sealed secret as stored: safe to log by key id, useless without the keyring.
///
/// Values of this type have been checked structurally (version, key id, base64, minimum
/// length); authenticity is only known after [`crate::Keyring::open`].
#[derive(Clone, PartialEq, Eq)]
pub struct SealedValue {
    text: String,
    key_id: KeyId,
    /// `nonce || ciphertext || tag`, decoded once at parse time.
    payload: Vec<u8>,
}

impl SealedValue {
    /// # Errors
    /// [`EnvelopeError`] when `text` is not a well-formed envelope of a known version.
    pub fn parse(text: impl Into<String>) -> Result<Self, EnvelopeError> {
        let text = text.into();
        let (key_id, payload) = split(&text)?;
        Ok(Self {
            text,
            key_id,
            payload,
        })
    }

    pub(crate) fn from_parts(key_id: KeyId, payload: Vec<u8>) -> Self {
        let text = format!("{V1_PREFIX}:{key_id}:{}", URL_SAFE_NO_PAD.encode(&payload));
        Self {
            text,
            key_id,
            payload,
        }
    }

    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    #[must_use]
    pub fn into_string(self) -> String {
        self.text
    }

    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// The key id of a stored envelope, without opening it (for `keys status` counts and for
/// the re-encrypt job to skip rows already under the active key).
///
/// # Errors
/// [`EnvelopeError`] when `text` is not a well-formed envelope.
pub fn key_id_of(text: &str) -> Result<KeyId, EnvelopeError> {
    split(text).map(|(key_id, _)| key_id)
}

fn split(text: &str) -> Result<(KeyId, Vec<u8>), EnvelopeError> {
    let mut parts = text.splitn(3, ':');
    let (Some(version), Some(key_id), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(EnvelopeError::NotAnEnvelope);
    };
    if version != V1_PREFIX {
        let looks_versioned = version.len() > 2
            && version.starts_with("pb")
            && version[2..].bytes().all(|b| b.is_ascii_digit());
        return Err(if looks_versioned {
            EnvelopeError::UnsupportedVersion
        } else {
            EnvelopeError::NotAnEnvelope
        });
    }
    let key_id = KeyId::parse(key_id).map_err(|_| EnvelopeError::InvalidKeyId)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| EnvelopeError::BadBase64)?;
    if payload.len() < NONCE_LEN + TAG_LEN {
        return Err(EnvelopeError::Truncated);
    }
    Ok((key_id, payload))
}

impl fmt::Display for SealedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for SealedValue {
    /// Ciphertext is not secret, but it is noise in logs; the key id is what matters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedValue")
            .field("key_id", &self.key_id)
            .field("len", &self.text.len())
            .finish()
    }
}

impl std::str::FromStr for SealedValue {
    type Err = EnvelopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SealedValue {
    type Error = EnvelopeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl AsRef<str> for SealedValue {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> String {
        format!("pb1:k-1:{}", URL_SAFE_NO_PAD.encode([7u8; 40]))
    }

    #[test]
    fn parses_valid_envelope() {
        let v = SealedValue::parse(valid()).unwrap();
        assert_eq!(v.key_id().as_str(), "k-1");
        assert_eq!(v.payload(), &[7u8; 40]);
        assert_eq!(v.as_str(), valid());
        assert_eq!(key_id_of(&valid()).unwrap().as_str(), "k-1");
        let round = SealedValue::from_parts(v.key_id().clone(), v.payload().to_vec());
        assert_eq!(round, v);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let p = URL_SAFE_NO_PAD.encode([7u8; 40]);
        let cases = [
            (String::new(), EnvelopeError::NotAnEnvelope),
            ("plaintext-token".to_owned(), EnvelopeError::NotAnEnvelope),
            ("pb1:k-1".to_owned(), EnvelopeError::NotAnEnvelope),
            (format!("xx1:k-1:{p}"), EnvelopeError::NotAnEnvelope),
            (format!("pb2:k-1:{p}"), EnvelopeError::UnsupportedVersion),
            (format!("pb1::{p}"), EnvelopeError::InvalidKeyId),
            (format!("pb1:k 1:{p}"), EnvelopeError::InvalidKeyId),
            ("pb1:k-1:!!!!".to_owned(), EnvelopeError::BadBase64),
            (format!("pb1:k-1:{p}="), EnvelopeError::BadBase64),
            (format!("pb1:k-1:{p}:x"), EnvelopeError::BadBase64),
            ("pb1:k-1:".to_owned(), EnvelopeError::Truncated),
            (
                format!("pb1:k-1:{}", URL_SAFE_NO_PAD.encode([1u8; 27])),
                EnvelopeError::Truncated,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                SealedValue::parse(input.clone()).unwrap_err(),
                want,
                "{input}"
            );
            assert_eq!(key_id_of(&input).unwrap_err(), want, "{input}");
        }
    }

    #[test]
    fn debug_shows_key_id_only() {
        let v = SealedValue::parse(valid()).unwrap();
        let dbg = format!("{v:?}");
        assert!(dbg.contains("k-1"));
        assert!(!dbg.contains(&URL_SAFE_NO_PAD.encode([7u8; 40])));
    }
}
