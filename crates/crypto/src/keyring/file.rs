//! Key material formats: the keyring JSON file and the `PATCHBAY_MASTER_KEY` value.
//!
//! ```json
//! {
//!   "version": 1,
//!   "active": "k-3f9a0c1b2d4e",
//!   "stable_secret": "<base64 of 32 bytes>",
//!   "keys": [
//!     { "id": "k-3f9a0c1b2d4e", "created_at": "2026-11-28T14:00:00Z", "key": "<base64 of 32 bytes>" }
//!   ]
//! }
//! ```
//!
//! `PATCHBAY_MASTER_KEY` holds either that JSON document or one bare 32-byte key (base64,
//! base64url, padded or not, or 64 hex digits). A bare key gets the id `k-<fingerprint>` and
//! a stable secret derived from it; [`Keyring::to_json`] writes both out explicitly, so an
//! operator can move from a bare key to a keyring file without invalidating API keys.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{KeyBytes, KeyEntry, Keyring, KeyringError};
use crate::key_id::KeyId;
use crate::random::random_array;

const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct KeyringFile {
    version: u32,
    active: String,
    stable_secret: String,
    keys: Vec<KeyFileEntry>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct KeyFileEntry {
    id: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[zeroize(skip)]
    created_at: Option<OffsetDateTime>,
    key: String,
}

fn lenient(alphabet: &alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Decodes 32 bytes of key material; `None` on any error so no decoder message (which can
/// quote a byte of the input) ever reaches an error string.
fn decode_key(text: &str) -> Option<KeyBytes> {
    let text = text.trim();
    let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        lenient(&alphabet::STANDARD)
            .decode(text)
            .or_else(|_| lenient(&alphabet::URL_SAFE).decode(text))
            .ok()
    };
    let decoded = Zeroizing::new(decoded?);
    let array: [u8; 32] = decoded.as_slice().try_into().ok()?;
    Some(Zeroizing::new(array))
}

fn io_error(path: &Path, source: io::Error) -> KeyringError {
    KeyringError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Keyring {
    /// Parses the value of `PATCHBAY_MASTER_KEY`.
    ///
    /// # Errors
    /// [`KeyringError`]; the message never quotes the value.
    pub fn from_env_value(value: &str) -> Result<Self, KeyringError> {
        let value = value.trim();
        if value.starts_with('{') {
            return Self::from_json(value);
        }
        let material = decode_key(value).ok_or(KeyringError::InvalidEnvValue)?;
        Self::from_single_key(material)
    }

    /// Parses a keyring JSON document.
    ///
    /// # Errors
    /// [`KeyringError`] for bad JSON, bad key material, duplicate ids or a missing active key.
    pub fn from_json(json: &str) -> Result<Self, KeyringError> {
        let file: KeyringFile = serde_json::from_str(json).map_err(|e| KeyringError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        if file.version != FORMAT_VERSION {
            return Err(KeyringError::UnsupportedVersion(file.version));
        }
        let stable_secret =
            decode_key(&file.stable_secret).ok_or(KeyringError::InvalidStableSecret)?;
        let mut keys: Vec<KeyEntry> = Vec::with_capacity(file.keys.len());
        for entry in &file.keys {
            let id = KeyId::parse(&entry.id).map_err(|_| KeyringError::InvalidKeyId)?;
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyringError::DuplicateKeyId(id));
            }
            let material = decode_key(&entry.key)
                .ok_or_else(|| KeyringError::InvalidKeyMaterial(id.to_string()))?;
            keys.push(KeyEntry::new(id, entry.created_at, material)?);
        }
        if keys.is_empty() {
            return Err(KeyringError::NoKeys);
        }
        let active = KeyId::parse(&file.active).map_err(|_| KeyringError::InvalidKeyId)?;
        if !keys.iter().any(|k| k.id == active) {
            return Err(KeyringError::UnknownKeyId(active));
        }
        Ok(Self {
            keys,
            active,
            stable_secret,
        })
    }

    /// The keyring as a JSON document. This is key material: write it only to a 0600 file.
    #[must_use]
    pub fn to_json(&self) -> Zeroizing<String> {
        let file = KeyringFile {
            version: FORMAT_VERSION,
            active: self.active.to_string(),
            stable_secret: STANDARD.encode(self.stable_secret.as_ref()),
            keys: self
                .keys
                .iter()
                .map(|k| KeyFileEntry {
                    id: k.id.to_string(),
                    created_at: k.created_at,
                    key: STANDARD.encode(k.material.as_ref()),
                })
                .collect(),
        };
        // Generous capacity so serde_json never reallocates and leaves copies behind.
        let mut out = Zeroizing::new(Vec::with_capacity(512 + 160 * self.keys.len()));
        // Writing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer_pretty(&mut *out, &file);
        out.push(b'\n');
        Zeroizing::new(String::from_utf8(std::mem::take(&mut *out)).unwrap_or_default())
    }

    /// Loads a keyring file.
    ///
    /// # Errors
    /// [`KeyringError::Io`] or any parse error of [`Keyring::from_json`].
    pub fn load(path: &Path) -> Result<Self, KeyringError> {
        let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| io_error(path, e))?);
        Self::from_json(&text)
    }

    /// Writes the keyring atomically: a new 0600 temp file in the same directory, fsync,
    /// then rename over `path`. Readers see the old or the new file, never a partial one.
    ///
    /// # Errors
    /// [`KeyringError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), KeyringError> {
        let tmp = self.write_temp(path)?;
        let result = fs::rename(&tmp, path).map_err(|e| io_error(path, e));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        sync_parent(path);
        Ok(())
    }

    /// Loads the key file, or creates it with a fresh keyring when it does not exist (the
    /// embedded default). Returns `created = true` when a new file was written; the caller
    /// must then warn loudly that losing this file loses every stored credential.
    ///
    /// Creation publishes with `hard_link`, which fails if another process created the file
    /// first; the loser then loads the winner's keyring, so two processes starting at once
    /// never end up with different keys.
    ///
    /// # Errors
    /// [`KeyringError`] if the file exists but is invalid, or on IO errors. An invalid
    /// existing file is never overwritten.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyringError> {
        match fs::metadata(path) {
            Ok(_) => return Ok((Self::load(path)?, false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(path, e)),
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(|e| io_error(parent, e))?;
        }
        let ring = Self::generate()?;
        let tmp = ring.write_temp(path)?;
        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_parent(path);
                Ok((ring, true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok((Self::load(path)?, false)),
            Err(e) => Err(io_error(path, e)),
        }
    }

    fn write_temp(&self, path: &Path) -> Result<PathBuf, KeyringError> {
        let suffix = random_array::<6>().map(|b| hex::encode(b.as_ref()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp_name = format!(".{}.{suffix}.tmp", name.as_deref().unwrap_or("keyring"));
        let tmp = path.with_file_name(tmp_name);
        let json = self.to_json();
        // Losing key material loses every credential, so prove the bytes we are about to
        // publish load back to this exact keyring before they replace anything.
        let reloaded = Self::from_json(&json).map_err(|_| {
            io_error(
                path,
                io::Error::new(io::ErrorKind::InvalidData, "keyring did not round-trip"),
            )
        })?;
        if *reloaded.to_json() != *json {
            return Err(io_error(
                path,
                io::Error::new(io::ErrorKind::InvalidData, "keyring did not round-trip"),
            ));
        }
        let write = || -> io::Result<()> {
            let mut file = create_private_file(&tmp)?;
            file.write_all(json.as_bytes())?;
            file.sync_all()
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io_error(&tmp, e)
        })?;
        Ok(tmp)
    }
}

/// Creates a new file that is 0600 from the moment it exists, before any byte is written.
fn create_private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Makes the rename durable. Best effort: some platforms cannot open a directory.
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

/// True if the key file is readable or writable only by its owner. The binary should warn
/// when this is false (it does not refuse: container secret mounts are often 0644).
///
/// # Errors
/// IO errors reading the file's metadata.
pub fn key_file_is_private(path: &Path) -> io::Result<bool> {
    let meta = fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        Ok(meta.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(true)
    }
}
