//! Optional durable state (`EmulatorConfig::state_file`, `--state-file`): what Salesforce keeps
//! in its own database survives a restart of the emulator, so a client's stored refresh token
//! still works on the next run.
//!
//! Kept: apps, users and passwords, grants and the approval cap, refresh tokens with their
//! state (rotation and reuse detection), access tokens, the org's records (deleted ones in the
//! Recycle Bin) and the clock offset. Not kept, because they live minutes or belong to one
//! run: authorization codes, login sessions and pending authorizations, the request log,
//! faults, API usage, and the id_token signing key.
//!
//! Writes: any change marks the state dirty ([`changes`]); a task writes the whole document at
//! most once per [`DEBOUNCE`] while it is dirty, and `EmulatorHandle::shutdown` writes once
//! more. A kill (or a dropped handle) loses at most the last window. The document is taken
//! under the locks, then serialized and written outside them, atomically and with mode 0600
//! (`patchbay_emulator_state`). The format is in `document.rs`.

mod document;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::EmulatorConfig;
use crate::state::Emulator;
pub(crate) use document::StartState;
use document::{Capture, Document, Problem, VERSION};
pub use patchbay_emulator_state::{
    ChangeGuard, Changes, DEBOUNCE, StateFileError, TrackedMutex, TrackedRwLock, Writer,
};

/// The saved state, or `None` without a state file, or when it does not exist yet or is
/// empty (a new `mktemp` file holds nothing to lose).
pub(crate) fn restore(
    config: &EmulatorConfig,
    wall_ms: i64,
    changes: &Arc<Changes>,
) -> Result<Option<StartState>, StateFileError> {
    let Some(path) = &config.state_file else {
        return Ok(None);
    };
    let Some(document) = patchbay_emulator_state::read_document::<Document>(path, VERSION)? else {
        return Ok(None);
    };
    document
        .restore(config, wall_ms, changes)
        .map(Some)
        .map_err(|problem| problem.at(path))
}

impl Problem {
    fn at(self, path: &Path) -> StateFileError {
        let path: PathBuf = path.to_owned();
        match self {
            Problem::Invalid(reason) => StateFileError::Invalid { path, reason },
            Problem::Mismatch { saved, wanted } => StateFileError::Mismatch {
                path,
                saved,
                wanted,
            },
        }
    }
}

/// Writes the whole state now: taken under the locks here, serialized and written on a
/// blocking thread.
pub(crate) async fn save(emu: &Emulator, path: &Path) -> Result<(), StateFileError> {
    let document = Capture::take(emu).into_document();
    patchbay_emulator_state::write_document(path, document).await
}

impl patchbay_emulator_state::Persisted for Emulator {
    fn changes(&self) -> &Changes {
        Emulator::changes(self)
    }

    async fn save(&self, path: &Path) -> Result<(), StateFileError> {
        save(self, path).await
    }
}
