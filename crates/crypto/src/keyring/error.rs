//! Keyring errors. None of them carries key material, plaintext or file contents.

use std::path::PathBuf;

use crate::envelope::EnvelopeError;
use crate::key_id::KeyId;
use crate::random::RandomError;

/// Loading, saving or changing the keyring failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("keyring file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Only the position is reported: serde_json messages can quote the offending value,
    /// which here could be key material.
    #[error("keyring JSON is invalid at line {line}, column {column}")]
    Json { line: usize, column: usize },
    #[error("keyring format version {0} is not supported (expected 1)")]
    UnsupportedVersion(u32),
    #[error("keyring contains an invalid key id")]
    InvalidKeyId,
    #[error("key {0}: key material must be base64 of exactly 32 bytes")]
    InvalidKeyMaterial(String),
    #[error("keyring stable_secret must be base64 of exactly 32 bytes")]
    InvalidStableSecret,
    #[error("keyring contains key id {0} twice")]
    DuplicateKeyId(KeyId),
    #[error("key id {0} is not in the keyring")]
    UnknownKeyId(KeyId),
    #[error("keyring contains no keys")]
    NoKeys,
    #[error("key {0} is active and cannot be removed; activate another key first")]
    RemoveActiveKey(KeyId),
    #[error(
        "PATCHBAY_MASTER_KEY must be a keyring JSON document or one 32-byte key \
         (base64, base64url or 64 hex digits)"
    )]
    InvalidEnvValue,
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Sealing failed. Only a broken CSPRNG or cipher can cause this.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("sealing failed: the cipher or random number generator reported an error")]
    Internal,
}

/// Opening a sealed value failed. The server must treat every variant as "credential
/// unavailable", never fall back to the stored text.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Malformed(#[from] EnvelopeError),
    #[error("sealed value was written with key {0}, which is not in the keyring")]
    UnknownKeyId(KeyId),
    /// Tampered ciphertext, a value moved to another row/column/application, or a wrong key
    /// under a reused id. AES-GCM cannot tell these apart, and neither should the caller.
    #[error("sealed value failed authentication (tampered, moved, or wrong key)")]
    Decrypt,
    #[error("sealed value is not valid UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Seal(SealError),
}
