//! Failed sign-in counting: a fixed window per key (user name, client address). While a key is
//! over its limit, sign-in answers 429 without checking the password at all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub(crate) struct FailureLimiter {
    window: Duration,
    map: Mutex<HashMap<String, (Instant, u32)>>,
}

impl FailureLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds until `key` may try again, when it has `limit` failures in the current window.
    pub fn blocked_for(&self, key: &str, limit: u32, now: Instant) -> Option<u64> {
        let map = self.map.lock();
        let (start, count) = map.get(key)?;
        let end = *start + self.window;
        (*count >= limit && end > now).then(|| (end - now).as_secs().max(1))
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut map = self.map.lock();
        if map.len() > 10_000 {
            // Bound memory under a spray of distinct names: drop finished windows.
            let window = self.window;
            map.retain(|_, (start, _)| *start + window > now);
        }
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if entry.0 + self.window <= now {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn clear(&self, key: &str) {
        self.map.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_until_window_ends() {
        let l = FailureLimiter::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.blocked_for("ada", 3, t0), None);
            l.record_failure("ada", t0);
        }
        assert!(l.blocked_for("ada", 3, t0).is_some());
        assert_eq!(l.blocked_for("bob", 3, t0), None);
        assert_eq!(l.blocked_for("ada", 3, t0 + Duration::from_secs(61)), None);
        l.clear("ada");
        assert_eq!(l.blocked_for("ada", 3, t0), None);
    }
}
