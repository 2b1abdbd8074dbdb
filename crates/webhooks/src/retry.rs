//! Apideck's retry schedule (docs/apideck.md §2.4): after a failed delivery, retries follow at
//! +3 min, 5 min, 10 min, 30 min, 1 h, 2 h, 4 h and 8 h. With the first attempt that is nine
//! tries over about 16 hours, all inside Apideck's 24-hour event lifetime (its tenth, +12 h
//! step would fall past it). When the last try fails the subscription is disabled with
//! `retry_limit`.

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// Delay before retry *n* (1-based) after a failed try.
pub const RETRY_DELAYS_MS: [i64; 8] = [
    3 * MIN,
    5 * MIN,
    10 * MIN,
    30 * MIN,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    8 * HOUR,
];

/// The delays between tries. The production value is [`RetrySchedule::apideck`]; tests and
/// operators shorten it (`--webhook-retry-delays-ms`) without changing the number of tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays_ms: Vec<i64>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::apideck()
    }
}

impl RetrySchedule {
    pub fn apideck() -> Self {
        Self {
            delays_ms: RETRY_DELAYS_MS.to_vec(),
        }
    }

    /// A custom schedule; `None` when empty or when a delay is negative.
    pub fn new(delays_ms: Vec<i64>) -> Option<Self> {
        (!delays_ms.is_empty() && delays_ms.iter().all(|d| *d >= 0)).then_some(Self { delays_ms })
    }

    /// How many tries an event gets in all.
    pub fn max_tries(&self) -> u32 {
        u32::try_from(self.delays_ms.len() + 1).unwrap_or(u32::MAX)
    }

    /// After try number `tries_done` (1-based) failed: when to try again, or `None` when the
    /// tries are exhausted.
    pub fn next_delay_ms(&self, tries_done: u32) -> Option<i64> {
        let index = usize::try_from(tries_done).ok()?.checked_sub(1)?;
        self.delays_ms.get(index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_tries_inside_a_day() {
        let s = RetrySchedule::apideck();
        assert_eq!(s.max_tries(), 9);
        assert_eq!(s.next_delay_ms(1), Some(3 * MIN));
        assert_eq!(s.next_delay_ms(8), Some(8 * HOUR));
        assert_eq!(s.next_delay_ms(9), None);
        assert_eq!(s.next_delay_ms(0), None);
        let total: i64 = RETRY_DELAYS_MS.iter().sum();
        assert!(total > 15 * HOUR && total < 24 * HOUR, "{total}");
    }

    #[test]
    fn custom_schedules_are_checked() {
        assert_eq!(RetrySchedule::new(vec![]), None);
        assert_eq!(RetrySchedule::new(vec![10, -1]), None);
        let s = RetrySchedule::new(vec![10, 20]).unwrap();
        assert_eq!(s.max_tries(), 3);
        assert_eq!(s.next_delay_ms(2), Some(20));
        assert_eq!(s.next_delay_ms(3), None);
    }
}
