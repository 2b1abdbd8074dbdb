//! Knowing when the durable state changed without every mutation having to say so: the
//! account and the token store sit behind [`TrackedMutex`], whose guard marks [`Changes`] when
//! it was used mutably. A new mutation therefore cannot be forgotten by the state file, and a
//! read (a CRM GET, the control plane's listing, the writer itself) never causes a write.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

/// "Something durable changed since the last write", and a wake-up for the writer task.
#[derive(Default)]
pub struct Changes {
    dirty: AtomicBool,
    notify: Notify,
}

impl Changes {
    /// Records a change. Only the first change after a write wakes the writer; the rest ride
    /// along with it, so a burst of requests costs one write.
    pub fn mark(&self) {
        if !self.dirty.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Clears the flag and says whether it was set. The writer calls it before it copies the
    /// state, so a change made while it copies or writes marks the flag again.
    pub fn take(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    /// Waits for the first change after a write (at once if one is pending).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

/// A mutex whose mutable use counts as a change to persist.
pub struct TrackedMutex<T> {
    lock: Mutex<T>,
    changes: Arc<Changes>,
}

impl<T> TrackedMutex<T> {
    pub fn new(value: T, changes: Arc<Changes>) -> Self {
        Self {
            lock: Mutex::new(value),
            changes,
        }
    }

    pub fn lock(&self) -> ChangeGuard<'_, T> {
        ChangeGuard {
            guard: self.lock.lock(),
            changes: &self.changes,
            changed: false,
        }
    }
}

/// The lock's guard; marks [`Changes`] on drop if it was dereferenced mutably.
pub struct ChangeGuard<'a, T> {
    guard: MutexGuard<'a, T>,
    changes: &'a Changes,
    changed: bool,
}

impl<T> Deref for ChangeGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for ChangeGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.changed = true;
        &mut self.guard
    }
}

impl<T> Drop for ChangeGuard<'_, T> {
    fn drop(&mut self) {
        // Runs before the inner guard is dropped, with the lock still held: a writer that
        // cleared the flag cannot copy the state between this mutation and its mark.
        if self.changed {
            self.changes.mark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mutable_use_marks_and_only_once_until_taken() {
        let changes = Arc::new(Changes::default());
        let lock = TrackedMutex::new(0, Arc::clone(&changes));
        let read = *lock.lock();
        assert_eq!(read, 0);
        assert!(!changes.take(), "a read is not a change");
        *lock.lock() += 1;
        *lock.lock() += 1;
        assert!(changes.take());
        assert!(!changes.take());
    }
}
