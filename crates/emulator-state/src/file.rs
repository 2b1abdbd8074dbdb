//! Reading the state file, and replacing it atomically with owner-only permissions.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// An exclusive hold on a state file, for as long as this value lives (the operating system
/// drops it when the process dies, so a kill never leaves a stale lock). The lock is on a
/// sidecar file `.{name}.lock` beside the state file, because each write replaces the state
/// file itself with a new one, and a lock on the old one would guard nothing.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// Takes the hold on `path`'s lock, without waiting: `Ok(None)` when another process (or
/// another emulator in this one) holds it. A missing folder is created, as a write would.
pub fn try_lock(path: &Path) -> io::Result<Option<StateLock>> {
    let dir = folder_of(path);
    fs::create_dir_all(&dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".to_owned());
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!(".{name}.lock")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(StateLock { _file: file })),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The file's contents, or `None` when it does not exist (a first start).
pub fn read(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes`: a temporary file in the same folder (so the rename cannot
/// cross file systems), fsynced, renamed over the old file, then the folder fsynced so the
/// rename itself survives a crash. A reader therefore sees the old file or the new one, never
/// a torn one. Mode 0600: the file holds token values and passwords.
///
/// Callers serialize writes to one path (the temporary name is fixed, so a crash leaves at
/// most one stale temporary file, which the next write reuses). A missing folder is created,
/// as `--tls` does for its folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder_of(path);
    let tmp = temporary_path(path);
    fs::create_dir_all(&dir)?;
    let result = (|| {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        sync_folder(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".to_owned());
    folder_of(path).join(format!(".{name}.tmp"))
}

#[cfg(unix)]
fn create_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only when the file is created; a stale temporary file may be older.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

#[cfg(unix)]
fn sync_folder(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_folder(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hold_at_a_time_and_the_lock_outlives_a_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let held = try_lock(&path).unwrap().expect("free at first");
        // The state file is replaced on every write; the hold is on the sidecar, so it stands.
        write_atomic(&path, b"one").unwrap();
        assert!(
            try_lock(&path).unwrap().is_none(),
            "a second hold is refused"
        );
        drop(held);
        assert!(
            try_lock(&path).unwrap().is_some(),
            "free again once dropped"
        );
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(read(&path).unwrap(), None);
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(read(&path).unwrap().as_deref(), Some(&b"two"[..]));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
        let nested = dir.path().join("new").join("state.json");
        write_atomic(&nested, b"{}").unwrap();
        assert_eq!(read(&nested).unwrap().as_deref(), Some(&b"{}"[..]));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_even_over_a_stale_temporary_file() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(temporary_path(&path), b"stale").unwrap();
        fs::set_permissions(temporary_path(&path), fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"{}").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
