//! Optional durable state (`EmulatorConfig::state_file`, `--state-file`), as the Salesforce
//! emulator keeps it: what HubSpot keeps in its own database survives a restart, so a client's
//! stored refresh token (and access token, while it lives) still works on the next run.
//!
//! Kept: the account's records (archived ones too), associations, deal pipelines, owners (and
//! so the users provisioned or removed) and id counter, every issued access and refresh token
//! with its state, and the clock offset. Not kept, because they live minutes or belong to one
//! run: authorization codes, the request log, faults and the rate limiters' windows. The hub id
//! follows from `--seed` and is rebuilt.
//!
//! Writes: a change marks the state dirty ([`changes`]); a task writes the whole document at
//! most once per [`DEBOUNCE`] while it is dirty, and `EmulatorHandle::shutdown` writes once
//! more. A kill (or a dropped handle) loses at most the last window. Each write replaces the
//! file atomically with mode 0600 (`patchbay_emulator_state`). The format is in [`document`].

pub mod document;

use std::path::{Path, PathBuf};

use patchbay_fake_hubspot_data::Account;

use crate::config::EmulatorConfig;
use crate::state::Emulator;
use document::{Document, Problem, Restored, VERSION};
pub use patchbay_emulator_state::{Changes, DEBOUNCE, StateFileError, TrackedMutex, Writer};

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
    let Some(document) = patchbay_emulator_state::read_document::<Document>(path, VERSION)? else {
        return Ok(None);
    };
    document
        .restore(config, account)
        .map(Some)
        .map_err(|problem| {
            let path: PathBuf = path.clone();
            match problem {
                Problem::Invalid(reason) => StateFileError::Invalid { path, reason },
                Problem::Mismatch { saved, wanted } => StateFileError::Mismatch {
                    path,
                    saved,
                    wanted,
                },
            }
        })
}

/// Writes the whole state now: copied under the locks here, serialized and written on a
/// blocking thread.
pub(crate) async fn save(emu: &Emulator, path: &Path) -> Result<(), StateFileError> {
    patchbay_emulator_state::write_document(path, Document::capture(emu)).await
}

impl patchbay_emulator_state::Persisted for Emulator {
    fn changes(&self) -> &Changes {
        Emulator::changes(self)
    }

    async fn save(&self, path: &Path) -> Result<(), StateFileError> {
        save(self, path).await
    }
}
