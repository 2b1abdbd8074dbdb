//! The task that writes an emulator's state while it is dirty, at most once per [`DEBOUNCE`],
//! and once more on a graceful stop. A kill (or a dropped [`Writer`]) loses at most the last
//! window.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::{Changes, StateFileError, StateLock};

/// The longest a change waits before it is written. A burst of requests inside one window
/// costs one write.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// An emulator whose durable state can be written to its state file.
pub trait Persisted: Clone + Send + Sync + 'static {
    /// The flag its tracked locks mark.
    fn changes(&self) -> &Changes;

    /// Writes the whole state now (taken under its locks, written outside them).
    fn save(&self, path: &Path) -> impl Future<Output = Result<(), StateFileError>> + Send;
}

/// The background writer. Dropping it stops the task without a last write, as a kill would;
/// [`Writer::finish`] is the graceful way.
pub struct Writer {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    path: PathBuf,
    /// Released when the writer is done with the file (after `finish`'s last write, or on drop).
    _lock: StateLock,
}

impl Writer {
    /// Starts writing `path`, which `lock` (from [`crate::lock_state_file`], taken before the
    /// file was read) holds for this emulator alone.
    pub fn start<E: Persisted>(emu: E, path: PathBuf, lock: StateLock) -> Writer {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(write_while_dirty(emu, path.clone(), stopped));
        Writer {
            stop,
            task,
            path,
            _lock: lock,
        }
    }

    /// Stops the task (letting a write in progress complete) and writes once more, so nothing
    /// changed before a graceful shutdown is lost. A failure is logged: shutdown goes on.
    pub async fn finish<E: Persisted>(self, emu: &E) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        emu.changes().take();
        if let Err(e) = emu.save(&self.path).await {
            tracing::error!(error = %e, "final write of the emulator state failed");
        }
    }
}

async fn write_while_dirty<E: Persisted>(emu: E, path: PathBuf, mut stop: oneshot::Receiver<()>) {
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
        match emu.save(&path).await {
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
