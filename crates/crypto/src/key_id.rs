//! Key identifiers: short, public names recorded in every sealed value.

use std::fmt;

use serde::Serialize;

/// Maximum length of a key id; keeps envelopes and status output short.
pub const MAX_KEY_ID_LEN: usize = 64;

/// The public name of one key in the keyring.
///
/// Allowed characters are ASCII letters, digits, `-`, `_` and `.`, so an id never contains
/// the `:` that separates envelope fields.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct KeyId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid key id: must be 1 to {MAX_KEY_ID_LEN} characters of A-Z, a-z, 0-9, '-', '_' or '.'"
)]
pub struct InvalidKeyId;

impl KeyId {
    /// # Errors
    /// [`InvalidKeyId`] when the id is empty, too long or has other characters.
    pub fn parse(value: &str) -> Result<Self, InvalidKeyId> {
        let ok = !value.is_empty()
            && value.len() <= MAX_KEY_ID_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidKeyId)
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Id derived from the key material, used for generated keys and for a bare key given in
    /// `PATCHBAY_MASTER_KEY`. A different key therefore has a different id, so a wrong key
    /// shows up as "unknown key id" rather than as a decryption failure.
    pub(crate) fn from_fingerprint(fingerprint: &[u8; 32]) -> Self {
        Self(format!("k-{}", hex::encode(&fingerprint[..6])))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

impl std::str::FromStr for KeyId {
    type Err = InvalidKeyId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_and_rejects() {
        assert_eq!(KeyId::parse("k-2026.01_a").unwrap().as_str(), "k-2026.01_a");
        for bad in ["", "a:b", "a b", "é", &"x".repeat(MAX_KEY_ID_LEN + 1)] {
            assert!(KeyId::parse(bad).is_err(), "{bad}");
        }
        assert!(KeyId::parse(&"x".repeat(MAX_KEY_ID_LEN)).is_ok());
    }
}
