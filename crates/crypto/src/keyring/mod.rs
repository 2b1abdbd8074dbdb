//! The keyring: data keys by id, the active key for new writes, and the stable secret that
//! API key hashes and session JWTs are derived from.
//!
//! Rotation follows Vault's barrier keyring: `rotate` adds a key and makes it active, old
//! keys keep opening old rows until `reseal` has moved every row and the key is removed.
//!
//! The **stable secret** is separate from the data keys on purpose: API keys are stored as
//! `HMAC(pepper, key)` and cannot be re-hashed without the plaintext, so the pepper must not
//! change when data keys rotate. It is created once and never rotated; rotating it would
//! invalidate every API key and session token.

mod canary;
mod error;
mod file;

use aws_lc_rs::aead::{self, AES_256_GCM, Nonce, RandomizedNonceKey};
use aws_lc_rs::hmac;
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use canary::WrongKey;
pub use error::{KeyringError, OpenError, SealError};
pub use file::key_file_is_private;

use crate::aad::Aad;
use crate::api_key::ApiKeyPepper;
use crate::envelope::{NONCE_LEN, SealedValue, TAG_LEN, V1};
use crate::jwt::SessionSigner;
use crate::key_id::KeyId;
use crate::random::random_array;
use crate::secret::{SecretBytes, SecretString};

/// 256-bit key material, zeroized on drop.
type KeyBytes = Zeroizing<[u8; 32]>;

/// Labels for values derived from secrets with HMAC-SHA256 (a PRF). Changing one changes
/// every value derived from it, so they are part of the stored-data format.
mod label {
    pub const KEY_FINGERPRINT: &[u8] = b"patchbay/v1/key-fingerprint";
    pub const STABLE_FROM_KEY: &[u8] = b"patchbay/v1/stable-secret-from-key";
    pub const API_KEY_PEPPER: &[u8] = b"patchbay/v1/api-key-pepper";
    pub const SESSION_JWT: &[u8] = b"patchbay/v1/session-jwt-hs256";
    pub const AUDIT: &[u8] = b"patchbay/v1/audit-fingerprint";
    pub const CHECK: &[u8] = b"patchbay/v1/check-value";
}

struct KeyEntry {
    id: KeyId,
    created_at: Option<OffsetDateTime>,
    material: KeyBytes,
    aead: RandomizedNonceKey,
}

impl KeyEntry {
    fn new(
        id: KeyId,
        created_at: Option<OffsetDateTime>,
        material: KeyBytes,
    ) -> Result<Self, KeyringError> {
        let aead = RandomizedNonceKey::new(&AES_256_GCM, material.as_ref())
            .map_err(|_| KeyringError::InvalidKeyMaterial(id.to_string()))?;
        Ok(Self {
            id,
            created_at,
            material,
            aead,
        })
    }
}

/// Public facts about one key, for `patchbay keys status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub id: KeyId,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    pub active: bool,
}

/// The loaded keyring. Build it once at start-up and share it (`Arc<Keyring>`).
pub struct Keyring {
    /// In file order; ids are unique.
    keys: Vec<KeyEntry>,
    /// Always an id present in `keys` (checked on every construction and mutation).
    active: KeyId,
    stable_secret: KeyBytes,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("active", &self.active)
            .field("keys", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn hmac32(key: &[u8], data: &[u8]) -> KeyBytes {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(tag.as_ref());
    out
}

fn fingerprint(material: &[u8; 32]) -> KeyBytes {
    hmac32(material, label::KEY_FINGERPRINT)
}

impl Keyring {
    /// A fresh keyring: one random data key (active) and a random stable secret.
    ///
    /// # Errors
    /// [`KeyringError::Random`] if the CSPRNG fails.
    pub fn generate() -> Result<Self, KeyringError> {
        let material = random_array::<32>()?;
        let id = KeyId::from_fingerprint(&fingerprint(&material));
        let entry = KeyEntry::new(id.clone(), Some(OffsetDateTime::now_utc()), material)?;
        Ok(Self {
            keys: vec![entry],
            active: id,
            stable_secret: random_array::<32>()?,
        })
    }

    /// A keyring holding one bare key, as given in `PATCHBAY_MASTER_KEY`. Its id and the
    /// stable secret are derived from the key, so the same key always yields the same ring.
    fn from_single_key(material: KeyBytes) -> Result<Self, KeyringError> {
        let id = KeyId::from_fingerprint(&fingerprint(&material));
        let stable_secret = hmac32(material.as_ref(), label::STABLE_FROM_KEY);
        let entry = KeyEntry::new(id.clone(), None, material)?;
        Ok(Self {
            keys: vec![entry],
            active: id,
            stable_secret,
        })
    }

    #[must_use]
    pub fn active_key_id(&self) -> &KeyId {
        &self.active
    }

    /// All key ids, in keyring order.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|k| &k.id)
    }

    #[must_use]
    pub fn contains(&self, id: &KeyId) -> bool {
        self.find(id).is_some()
    }

    #[must_use]
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.keys
            .iter()
            .map(|k| KeyInfo {
                id: k.id.clone(),
                created_at: k.created_at,
                active: k.id == self.active,
            })
            .collect()
    }

    fn find(&self, id: &KeyId) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| &k.id == id)
    }

    fn active_entry(&self) -> Result<&KeyEntry, SealError> {
        self.find(&self.active).ok_or(SealError::Internal)
    }

    /// Adds a new random key without activating it (`keys rotate` in two steps, so every
    /// node can learn the key before any node writes with it).
    ///
    /// # Errors
    /// [`KeyringError::Random`] if the CSPRNG fails.
    pub fn generate_key(&mut self) -> Result<KeyId, KeyringError> {
        let material = random_array::<32>()?;
        let id = KeyId::from_fingerprint(&fingerprint(&material));
        // A 48-bit fingerprint collision between two random keys is practically impossible;
        // if it happens, draw again rather than shadow an existing key.
        if self.contains(&id) {
            return self.generate_key();
        }
        let entry = KeyEntry::new(id.clone(), Some(OffsetDateTime::now_utc()), material)?;
        self.keys.push(entry);
        Ok(id)
    }

    /// # Errors
    /// [`KeyringError::UnknownKeyId`] if `id` is not in the ring.
    pub fn set_active(&mut self, id: &KeyId) -> Result<(), KeyringError> {
        if !self.contains(id) {
            return Err(KeyringError::UnknownKeyId(id.clone()));
        }
        self.active = id.clone();
        Ok(())
    }

    /// Generates a new key and makes it active; returns its id.
    ///
    /// # Errors
    /// [`KeyringError::Random`] if the CSPRNG fails.
    pub fn rotate(&mut self) -> Result<KeyId, KeyringError> {
        let id = self.generate_key()?;
        self.active = id.clone();
        Ok(id)
    }

    /// Retires a key. Only do this after `keys status` shows no row sealed under it.
    ///
    /// # Errors
    /// [`KeyringError::RemoveActiveKey`] for the active key, `UnknownKeyId` if absent.
    pub fn remove_key(&mut self, id: &KeyId) -> Result<(), KeyringError> {
        if id == &self.active {
            return Err(KeyringError::RemoveActiveKey(id.clone()));
        }
        let before = self.keys.len();
        self.keys.retain(|k| &k.id != id);
        if self.keys.len() == before {
            return Err(KeyringError::UnknownKeyId(id.clone()));
        }
        Ok(())
    }

    /// Seals `plaintext` under the active key, bound to `aad`.
    ///
    /// # Errors
    /// [`SealError`] only if the CSPRNG or the cipher fails.
    pub fn seal(&self, plaintext: &[u8], aad: &Aad<'_>) -> Result<SealedValue, SealError> {
        let key = self.active_entry()?;
        // Reserve room for the tag up front so appending it never reallocates and leaves
        // a plaintext copy in freed memory.
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
        buf.extend_from_slice(plaintext);
        let encoded_aad = aad.encode(V1, key.id.as_str());
        let nonce = key
            .aead
            .seal_in_place_append_tag(aead::Aad::from(encoded_aad), &mut buf)
            .map_err(|_| SealError::Internal)?;
        let mut payload = Vec::with_capacity(NONCE_LEN + buf.len());
        payload.extend_from_slice(nonce.as_ref());
        payload.extend_from_slice(&buf);
        Ok(SealedValue::from_parts(key.id.clone(), payload))
    }

    /// [`Keyring::seal`] for a UTF-8 secret.
    ///
    /// # Errors
    /// As [`Keyring::seal`].
    pub fn seal_secret(
        &self,
        secret: &SecretString,
        aad: &Aad<'_>,
    ) -> Result<SealedValue, SealError> {
        self.seal(secret.expose_secret().as_bytes(), aad)
    }

    /// Opens a sealed value with the key it names.
    ///
    /// # Errors
    /// [`OpenError::UnknownKeyId`] if that key is not in the ring; [`OpenError::Decrypt`]
    /// if the value was tampered with, belongs to another `aad`, or the key is wrong.
    pub fn open(&self, sealed: &SealedValue, aad: &Aad<'_>) -> Result<SecretBytes, OpenError> {
        let key = self
            .find(sealed.key_id())
            .ok_or_else(|| OpenError::UnknownKeyId(sealed.key_id().clone()))?;
        let payload = sealed.payload();
        let (nonce, ciphertext) = payload.split_at(NONCE_LEN.min(payload.len()));
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Decrypt)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let encoded_aad = aad.encode(V1, key.id.as_str());
        let len = key
            .aead
            .open_in_place(nonce, aead::Aad::from(encoded_aad), &mut buf)
            .map_err(|_| OpenError::Decrypt)?
            .len();
        buf.truncate(len);
        Ok(SecretBytes::new(std::mem::take(&mut *buf)))
    }

    /// [`Keyring::open`] for a value sealed from a UTF-8 secret.
    ///
    /// # Errors
    /// As [`Keyring::open`], plus [`OpenError::NotUtf8`].
    pub fn open_secret(
        &self,
        sealed: &SealedValue,
        aad: &Aad<'_>,
    ) -> Result<SecretString, OpenError> {
        self.open(sealed, aad)?
            .into_secret_string()
            .map_err(|_| OpenError::NotUtf8)
    }

    /// Opens with whichever key sealed the value and seals again under the active key
    /// (`keys reencrypt`). The plaintext never leaves this function.
    ///
    /// # Errors
    /// As [`Keyring::open`], or [`OpenError::Seal`].
    pub fn reseal(&self, sealed: &SealedValue, aad: &Aad<'_>) -> Result<SealedValue, OpenError> {
        let plain = self.open(sealed, aad)?;
        self.seal(plain.expose_secret(), aad)
            .map_err(OpenError::Seal)
    }

    /// True if `sealed` is already under the active key, so re-encryption can skip it.
    #[must_use]
    pub fn is_current(&self, sealed: &SealedValue) -> bool {
        sealed.key_id() == &self.active
    }

    fn derive(&self, label: &[u8]) -> KeyBytes {
        hmac32(self.stable_secret.as_ref(), label)
    }

    /// The pepper for API key hashes; stable across data-key rotation.
    #[must_use]
    pub fn api_key_pepper(&self) -> ApiKeyPepper {
        ApiKeyPepper::from_bytes(self.derive(label::API_KEY_PEPPER).as_ref())
    }

    /// The HS256 signer for session JWTs; stable across data-key rotation.
    #[must_use]
    pub fn session_signer(&self) -> SessionSigner {
        SessionSigner::from_secret(self.derive(label::SESSION_JWT).as_ref())
    }

    /// `HMAC-SHA256(audit salt, value)` as hex: correlates a secret in the audit log without
    /// disclosing it (as Vault's audit devices do).
    #[must_use]
    pub fn audit_fingerprint(&self, value: &[u8]) -> String {
        hex::encode(hmac32(self.derive(label::AUDIT).as_ref(), value).as_ref())
    }

    /// A public check value of the stable secret (16 hex chars). It does not change on
    /// rotation, so the server can store it once and refuse to start if it differs.
    #[must_use]
    pub fn check_value(&self) -> String {
        hex::encode(&self.derive(label::CHECK)[..8])
    }
}

#[cfg(test)]
mod tests;
