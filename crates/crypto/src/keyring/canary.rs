//! The canary: a sealed value the store keeps so that start-up can prove the configured
//! keyring is the one that wrote the database, before serving anything.
//!
//! Its plaintext embeds the stable-secret check value, so one stored value detects both a
//! wrong data key and a wrong stable secret (which would silently break API keys).
//! After `keys rotate`, verify the stored canary, then store a fresh `seal_canary()` so it
//! is under the active key and the old key can be retired.

use super::Keyring;
use super::error::{OpenError, SealError};
use crate::aad::Aad;
use crate::envelope::SealedValue;
use crate::key_id::KeyId;

const CANARY_AAD: Aad<'static> = Aad {
    app_id: "",
    table: "patchbay_keyring",
    row_id: "canary",
    column: "canary",
};
const CANARY_PREFIX: &str = "patchbay-canary-v1:";

/// The configured keyring is not the one that wrote the database. The server must refuse
/// to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WrongKey {
    #[error("stored key canary is malformed")]
    Malformed,
    #[error("wrong master key: the database was written with key {0}, which is not configured")]
    UnknownKeyId(KeyId),
    #[error("wrong master key: configured key {0} does not open the stored canary")]
    Mismatch(KeyId),
    #[error("wrong master key: the keyring's stable secret differs from the database's")]
    StableSecretMismatch,
}

impl Keyring {
    fn canary_plaintext(&self) -> String {
        format!("{CANARY_PREFIX}{}", self.check_value())
    }

    /// A fresh canary under the active key. Store it once when the database is created.
    ///
    /// # Errors
    /// [`SealError`] if the cipher or CSPRNG fails.
    pub fn seal_canary(&self) -> Result<SealedValue, SealError> {
        self.seal(self.canary_plaintext().as_bytes(), &CANARY_AAD)
    }

    /// Checks a stored canary against this keyring.
    ///
    /// # Errors
    /// [`WrongKey`] describing why the keyring does not match.
    pub fn verify_canary(&self, stored: &str) -> Result<(), WrongKey> {
        let sealed = SealedValue::parse(stored).map_err(|_| WrongKey::Malformed)?;
        let plain = self.open(&sealed, &CANARY_AAD).map_err(|e| match e {
            OpenError::UnknownKeyId(id) => WrongKey::UnknownKeyId(id),
            _ => WrongKey::Mismatch(sealed.key_id().clone()),
        })?;
        let text = plain.expose_secret();
        if !text.starts_with(CANARY_PREFIX.as_bytes()) {
            return Err(WrongKey::Malformed);
        }
        if crate::secret::constant_time_eq(text, self.canary_plaintext().as_bytes()) {
            Ok(())
        } else {
            Err(WrongKey::StableSecretMismatch)
        }
    }
}
