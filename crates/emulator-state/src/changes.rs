//! Knowing when the durable state changed, without every mutation having to say so.
//!
//! The durable state lives behind [`TrackedMutex`] and [`TrackedRwLock`]: a guard that was
//! used mutably (`DerefMut`) marks [`Changes`] when it is dropped, while the lock is still
//! held. So a new mutation cannot be forgotten by the state file, and a reader (the state
//! writer itself, a control-plane listing) never causes a write.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::Notify;

/// "Something durable changed since the last write", plus a wake-up for the writer task.
#[derive(Default)]
pub struct Changes {
    dirty: AtomicBool,
    notify: Notify,
}

impl Changes {
    /// Records a change. Only the first change after a write wakes the writer; the rest ride
    /// along with it, which is what keeps a burst of requests to one write.
    pub fn mark(&self) {
        if !self.dirty.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// Clears the flag, returning whether anything changed. The writer calls it *before* it
    /// takes its snapshot, so a change made during the snapshot or the write marks again.
    pub fn take(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }

    /// Waits for the first change after a write (returns at once if one is pending).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

/// A guard that marks [`Changes`] on drop if it was used mutably.
pub struct ChangeGuard<'a, G> {
    guard: G,
    changes: &'a Changes,
    changed: bool,
}

impl<G: Deref> Deref for ChangeGuard<'_, G> {
    type Target = G::Target;

    fn deref(&self) -> &G::Target {
        &self.guard
    }
}

impl<G: DerefMut> DerefMut for ChangeGuard<'_, G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        self.changed = true;
        &mut self.guard
    }
}

impl<G> Drop for ChangeGuard<'_, G> {
    fn drop(&mut self) {
        // Runs before `guard` is dropped, so the lock is still held: a writer that cleared the
        // flag earlier cannot snapshot between this mutation and its mark.
        if self.changed {
            self.changes.mark();
        }
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

    pub fn lock(&self) -> ChangeGuard<'_, MutexGuard<'_, T>> {
        ChangeGuard {
            guard: self.lock.lock(),
            changes: &self.changes,
            changed: false,
        }
    }
}

/// A read-write lock whose write guards count as a change to persist when used mutably.
pub struct TrackedRwLock<T> {
    lock: RwLock<T>,
    changes: Arc<Changes>,
}

impl<T> TrackedRwLock<T> {
    pub fn new(value: T, changes: Arc<Changes>) -> Self {
        Self {
            lock: RwLock::new(value),
            changes,
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.lock.read()
    }

    pub fn write(&self) -> ChangeGuard<'_, RwLockWriteGuard<'_, T>> {
        ChangeGuard {
            guard: self.lock.write(),
            changes: &self.changes,
            changed: false,
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
        let _ = *lock.lock();
        assert!(!changes.take(), "a read is not a change");
        *lock.lock() += 1;
        *lock.lock() += 1;
        assert!(changes.take());
        assert!(!changes.take());
        let rw = TrackedRwLock::new(0, Arc::clone(&changes));
        let _ = *rw.read();
        let _ = *rw.write();
        assert!(!changes.take(), "an unused write guard is not a change");
        *rw.write() = 5;
        assert!(changes.take());
    }
}
