//! Server-side query cursors behind `nextRecordsUrl` (`/services/data/vXX.X/query/{locator}-{offset}`).
//!
//! A cursor keeps a query's matched rows, in order, from the moment the query ran, so paging
//! returns each record exactly once even while other clients write. Salesforce limits open
//! cursors per user and expires idle ones after 15 minutes; the emulator bounds the number of
//! open cursors per org and expires idle ones on its own clock, after which the locator answers
//! `400 INVALID_QUERY_LOCATOR`.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use patchbay_fake_salesforce_data::ids::IdGenerator;

/// Idle time after which a cursor is gone.
pub const CURSOR_IDLE_MS: i64 = 15 * 60 * 1000;

/// Open cursors per emulator; opening one more closes the least recently used.
pub const MAX_OPEN_CURSORS: usize = 64;

/// The key prefix Salesforce uses for query locators.
const LOCATOR_PREFIX: &str = "01g";

/// Open cursors of one org. `T` is the query result the cursor pages through.
pub struct CursorStore<T> {
    inner: Mutex<Cursors<T>>,
}

struct Cursors<T> {
    ids: IdGenerator,
    open: HashMap<String, Cursor<T>>,
}

struct Cursor<T> {
    /// Only the user who ran the query may page through it.
    owner: String,
    result: Arc<T>,
    last_used_ms: i64,
}

impl<T> Default for CursorStore<T> {
    fn default() -> Self {
        CursorStore {
            inner: Mutex::new(Cursors {
                ids: IdGenerator::starting_at(1),
                open: HashMap::new(),
            }),
        }
    }
}

impl<T> CursorStore<T> {
    /// Keeps `result` and returns its locator.
    pub fn open(&self, owner: &str, result: Arc<T>, now_ms: i64) -> String {
        let mut c = self.inner.lock();
        c.expire(now_ms);
        if c.open.len() >= MAX_OPEN_CURSORS {
            let oldest = (c.open.iter())
                .min_by_key(|(_, cur)| cur.last_used_ms)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                c.open.remove(&oldest);
            }
        }
        let locator = c.ids.next_id(LOCATOR_PREFIX).to_18();
        let cursor = Cursor {
            owner: owner.to_owned(),
            result,
            last_used_ms: now_ms,
        };
        c.open.insert(locator.clone(), cursor);
        locator
    }

    /// The result behind `locator`, if it is open and `owner` opened it.
    pub fn get(&self, locator: &str, owner: &str, now_ms: i64) -> Option<Arc<T>> {
        let mut c = self.inner.lock();
        c.expire(now_ms);
        let cursor = c.open.get_mut(locator).filter(|cur| cur.owner == owner)?;
        cursor.last_used_ms = now_ms;
        Some(Arc::clone(&cursor.result))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().open.len()
    }
}

impl<T> Cursors<T> {
    fn expire(&mut self, now_ms: i64) {
        (self.open).retain(|_, cur| now_ms.saturating_sub(cur.last_used_ms) < CURSOR_IDLE_MS);
    }
}

/// Splits the last path segment of a `nextRecordsUrl`, `{locator}-{offset}`.
pub fn parse_locator(segment: &str) -> Option<(&str, usize)> {
    let (locator, offset) = segment.rsplit_once('-')?;
    if locator.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((locator, offset.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_belong_to_their_owner_and_expire() {
        let store = CursorStore::default();
        let loc = store.open("u1", Arc::new(7), 0);
        assert!(loc.starts_with("01g") && loc.len() == 18);
        assert_eq!(store.get(&loc, "u1", 1).as_deref(), Some(&7));
        assert!(store.get(&loc, "u2", 1).is_none());
        // Reading slides the idle window.
        assert!(store.get(&loc, "u1", CURSOR_IDLE_MS).is_some());
        assert!(store.get(&loc, "u1", 2 * CURSOR_IDLE_MS).is_none());
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn the_least_recently_used_cursor_gives_way() {
        let store = CursorStore::default();
        let first = store.open("u", Arc::new(0), 0);
        let second = store.open("u", Arc::new(1), 1);
        assert!(store.get(&first, "u", 2).is_some());
        for i in 0..MAX_OPEN_CURSORS - 1 {
            store.open("u", Arc::new(i), 3);
        }
        assert_eq!(store.len(), MAX_OPEN_CURSORS);
        assert!(store.get(&second, "u", 4).is_none());
        assert!(store.get(&first, "u", 4).is_some());
    }

    #[test]
    fn parses_locator_segments() {
        assert_eq!(
            parse_locator("01g5g0000000001AAA-2000"),
            Some(("01g5g0000000001AAA", 2000))
        );
        for bad in [
            "",
            "-",
            "abc",
            "abc-",
            "-10",
            "abc-x1",
            "abc-99999999999999999999999",
        ] {
            assert_eq!(parse_locator(bad), None, "{bad}");
        }
    }
}
