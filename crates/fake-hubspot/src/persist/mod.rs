//! Optional durable state (`EmulatorConfig::state_file`, `--state-file`), as the Salesforce
//! emulator keeps it: what HubSpot keeps in its own database survives a restart, so a client's
//! stored refresh token (and access token, while it lives) still works on the next run.
//!
//! Kept: the account's records (archived ones too), associations and id counter, every issued
//! access and refresh token with its state, and the clock offset. Not kept, because they live
//! minutes or belong to one run: authorization codes, the request log, faults and the rate
//! limiters' windows. Owners, pipelines and the hub id follow from `--seed` and are rebuilt.
//!
//! Writes: a change marks the state dirty ([`changes`]); a task writes the whole document at
//! most once per [`DEBOUNCE`] while it is dirty, and `EmulatorHandle::shutdown` writes once
//! more. A kill (or a dropped handle) loses at most the last window. Each write replaces the
//! file atomically with mode 0600 ([`file`]). The format is in [`document`].

pub mod changes;
pub mod document;
pub mod file;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use patchbay_fake_hubspot_data::Account;
use tokio::sync::oneshot;

use crate::config::EmulatorConfig;
use crate::state::Emulator;
use document::{Document, Header, Problem, Restored, VERSION};

/// The longest a change waits before it is written; a burst inside one window costs one write.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

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
         ({VERSION}); use a newer emulator, or remove the file to start afresh",
        .path.display()
    )]
    NewerVersion { path: PathBuf, found: u64 },
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
}

/// Applies the saved state to `account` (seeded from the same settings) and returns the rest;
/// `None` without a state file, or when it does not exist yet or is empty (a new `mktemp`
/// file holds nothing to lose).
pub(crate) fn restore(
    config: &EmulatorConfig,
    account: &mut Account,
) -> Result<Option<Restored>, StateFileError> {
    let Some(path) = &config.state_file else {
        return Ok(None);
    };
    let bytes = file::read(path).map_err(|source| StateFileError::Read {
        path: path.clone(),
        source,
    })?;
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return Ok(None);
    };
    let invalid = |reason: String| StateFileError::Invalid {
        path: path.clone(),
        reason,
    };
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not an emulator state document ({e})")))?;
    if header.version > VERSION {
        return Err(StateFileError::NewerVersion {
            path: path.clone(),
            found: header.version,
        });
    }
    if header.version != VERSION {
        return Err(invalid(format!(
            "unknown format version {}",
            header.version
        )));
    }
    let document: Document = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    document
        .restore(config, account)
        .map(Some)
        .map_err(|problem| match problem {
            Problem::Invalid(reason) => invalid(reason),
            Problem::Mismatch { saved, wanted } => StateFileError::Mismatch {
                path: path.clone(),
                saved,
                wanted,
            },
        })
}

/// Writes the whole state now: copied under the locks here, serialized and written on a
/// blocking thread.
pub(crate) async fn save(emu: &Emulator, path: &Path) -> Result<(), StateFileError> {
    let document = Document::capture(emu);
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

/// The background task that writes the state while it is dirty. Dropping it stops the task
/// without a last write, as a kill would; [`Writer::finish`] is the graceful way.
pub(crate) struct Writer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    path: PathBuf,
}

impl Writer {
    pub(crate) fn start(emu: Emulator, path: PathBuf) -> Writer {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_while_dirty(emu, path.clone(), stopped));
        Writer { stop, task, path }
    }

    /// Stops the task (a write in progress completes) and writes once more, so nothing changed
    /// before a graceful shutdown is lost. A failure is logged: shutdown goes on.
    pub(crate) async fn finish(self, emu: &Emulator) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        emu.changes().take();
        if let Err(e) = save(emu, &self.path).await {
            tracing::error!(error = %e, "final write of the emulator state failed");
        }
    }
}

async fn write_while_dirty(emu: Emulator, path: PathBuf, mut stop: oneshot::Receiver<()>) {
    let mut failing = false;
    loop {
        tokio::select! {
            () = emu.changes().changed() => {}
            _ = &mut stop => return,
        }
        // Let the rest of a burst arrive; a stop here leaves the write to `finish` (or, for a
        // dropped handle, to nobody, as a kill would).
        tokio::select! {
            () = tokio::time::sleep(DEBOUNCE) => {}
            _ = &mut stop => return,
        }
        if !emu.changes().take() {
            continue;
        }
        match save(&emu, &path).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(path = %path.display(), "emulator state written again");
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::error!(error = %e, "emulator state not written; retrying");
                }
                failing = true;
                // Still unsaved: try again after the next window.
                emu.changes().mark();
            }
        }
    }
}
