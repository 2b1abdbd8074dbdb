//! The state-file plumbing both CRM emulators share (`--state-file`): knowing when the durable
//! state changed ([`changes`]), replacing the file atomically and privately ([`file`](mod@file)), reading
//! a versioned document with errors that name the file ([`read_document`]), holding the file
//! for one emulator at a time ([`lock_state_file`]), and the task that writes while the state
//! is dirty ([`Writer`]). What each emulator keeps, and its document's format, stay in that
//! emulator.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod changes;
pub mod file;
mod writer;

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use changes::{ChangeGuard, Changes, TrackedMutex, TrackedRwLock};
pub use file::StateLock;
pub use writer::{DEBOUNCE, Persisted, Writer};

/// A state file that cannot be used. Every message names the file; nothing is discarded.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("could not read the emulator state file {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "the emulator state file {} is not valid: {reason}; fix it, or remove it to start afresh",
        .path.display()
    )]
    Invalid { path: PathBuf, reason: String },
    #[error(
        "the emulator state file {} has format version {found}, newer than this emulator reads \
         ({reads}); use a newer emulator, or remove the file to start afresh",
        .path.display()
    )]
    NewerVersion {
        path: PathBuf,
        found: u64,
        reads: u64,
    },
    #[error(
        "the emulator state file {} holds {saved}, but this start asks for {wanted}; start with \
         the same settings, or remove the file to start afresh",
        .path.display()
    )]
    Mismatch {
        path: PathBuf,
        saved: String,
        wanted: String,
    },
    #[error("could not write the emulator state file {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "the emulator state file {} is in use by another running emulator; give each emulator \
         a --state-file of its own, or stop the other one first",
        .path.display()
    )]
    InUse { path: PathBuf },
    #[error("could not lock the emulator state file {}: {source}", .path.display())]
    Lock { path: PathBuf, source: io::Error },
}

/// Holds `path` for this emulator alone until the returned lock is dropped: two emulators
/// writing one file would each overwrite the other's state. Taken before the file is read.
pub fn lock_state_file(path: &Path) -> Result<file::StateLock, StateFileError> {
    match file::try_lock(path) {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(StateFileError::InUse {
            path: path.to_owned(),
        }),
        Err(source) => Err(StateFileError::Lock {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Only the version is read first, so a newer file is named as newer rather than as invalid.
#[derive(serde::Deserialize)]
struct Header {
    version: u64,
}

/// The saved document at `path`, or `None` when the file does not exist yet or is empty (a new
/// `mktemp` file holds nothing to lose). `version` is the one format this emulator reads.
pub fn read_document<D: DeserializeOwned>(
    path: &Path,
    version: u64,
) -> Result<Option<D>, StateFileError> {
    let bytes = file::read(path).map_err(|source| StateFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let invalid = |reason: String| StateFileError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not an emulator state document ({e})")))?;
    if header.version > version {
        return Err(StateFileError::NewerVersion {
            path: path.to_owned(),
            found: header.version,
            reads: version,
        });
    }
    if header.version != version {
        return Err(invalid(format!(
            "unknown format version {}",
            header.version
        )));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

/// Serializes `document` and replaces the file with it, on a blocking thread (the caller took
/// the document under its locks and holds none now).
pub async fn write_document<D: Serialize + Send + 'static>(
    path: &Path,
    document: D,
) -> Result<(), StateFileError> {
    let target = path.to_owned();
    let written = tokio::task::spawn_blocking(move || {
        let bytes = serde_json::to_vec(&document).map_err(io::Error::other)?;
        file::write_atomic(&target, &bytes)
    })
    .await
    .unwrap_or_else(|join| Err(io::Error::other(join.to_string())));
    written.map_err(|source| StateFileError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Doc {
        version: u64,
        value: String,
    }

    #[tokio::test]
    async fn a_document_round_trips_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // Missing, then empty: a first start.
        assert!(read_document::<Doc>(&path, 2).unwrap().is_none());
        std::fs::write(&path, b"").unwrap();
        assert!(read_document::<Doc>(&path, 2).unwrap().is_none());

        let doc = Doc {
            version: 2,
            value: "kept".into(),
        };
        write_document(&path, doc).await.unwrap();
        let back: Doc = read_document(&path, 2).unwrap().unwrap();
        assert_eq!(back.value, "kept");

        let newer = read_document::<Doc>(&path, 1).unwrap_err();
        assert!(matches!(
            newer,
            StateFileError::NewerVersion {
                found: 2,
                reads: 1,
                ..
            }
        ));
        assert!(newer.to_string().contains("state.json"), "{newer}");
        let older = read_document::<Doc>(&path, 3).unwrap_err();
        assert!(
            older.to_string().contains("unknown format version 2"),
            "{older}"
        );

        std::fs::write(&path, b"not json").unwrap();
        let invalid = read_document::<Doc>(&path, 2).unwrap_err();
        assert!(
            invalid
                .to_string()
                .contains("not an emulator state document"),
            "{invalid}"
        );
        // A right version with the wrong shape is invalid, and the file is left as it was.
        std::fs::write(&path, br#"{"version":2}"#).unwrap();
        assert!(matches!(
            read_document::<Doc>(&path, 2),
            Err(StateFileError::Invalid { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), br#"{"version":2}"#);
    }
}
