//! The account's rate limits (`docs/hubspot.md §13`): a rolling 10-second window for every API
//! call and a rolling 1-second window for search calls. Real time, not the emulator clock, so a
//! burst in a test is a burst. Limits can be changed and windows cleared at run time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

pub const BURST_WINDOW: Duration = Duration::from_secs(10);
pub const SEARCH_WINDOW: Duration = Duration::from_secs(1);

/// Which limit refused a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    TenSecondlyRolling,
    Secondly,
}

/// What the headers report after a call was counted (or refused).
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub max: u32,
    pub remaining: u32,
}

pub struct Limiter {
    burst_max: AtomicU32,
    search_max: AtomicU32,
    burst: Mutex<VecDeque<Instant>>,
    search: Mutex<VecDeque<Instant>>,
}

fn prune(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= span)
    {
        window.pop_front();
    }
}

impl Limiter {
    pub fn new(burst_max: u32, search_max: u32) -> Self {
        Self {
            burst_max: AtomicU32::new(burst_max),
            search_max: AtomicU32::new(search_max),
            burst: Mutex::new(VecDeque::new()),
            search: Mutex::new(VecDeque::new()),
        }
    }

    pub fn limits(&self) -> (u32, u32) {
        (
            self.burst_max.load(Ordering::Relaxed),
            self.search_max.load(Ordering::Relaxed),
        )
    }

    pub fn set(&self, burst_max: Option<u32>, search_max: Option<u32>) {
        if let Some(v) = burst_max {
            self.burst_max.store(v, Ordering::Relaxed);
        }
        if let Some(v) = search_max {
            self.search_max.store(v, Ordering::Relaxed);
        }
    }

    pub fn reset(&self) {
        self.burst.lock().clear();
        self.search.lock().clear();
    }

    /// Counts one call; refused calls are not counted. `Err` names the limit that refused it.
    /// A limit of 0 means unlimited (the headers then report 0 / 0).
    pub fn take(&self, search: bool) -> Result<Usage, (Policy, Usage)> {
        let now = Instant::now();
        let (burst_max, search_max) = self.limits();
        let mut burst = self.burst.lock();
        prune(&mut burst, now, BURST_WINDOW);
        let used = u32::try_from(burst.len()).unwrap_or(u32::MAX);
        if burst_max > 0 && used >= burst_max {
            return Err((
                Policy::TenSecondlyRolling,
                Usage {
                    max: burst_max,
                    remaining: 0,
                },
            ));
        }
        if search && search_max > 0 {
            let mut window = self.search.lock();
            prune(&mut window, now, SEARCH_WINDOW);
            if u32::try_from(window.len()).unwrap_or(u32::MAX) >= search_max {
                return Err((
                    Policy::Secondly,
                    Usage {
                        max: burst_max,
                        remaining: burst_max.saturating_sub(used),
                    },
                ));
            }
            window.push_back(now);
        }
        burst.push_back(now);
        Ok(Usage {
            max: burst_max,
            remaining: burst_max.saturating_sub(used + 1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_burst_and_the_search_limit_and_reports_remaining() {
        let limiter = Limiter::new(3, 1);
        assert_eq!(limiter.take(false).map(|u| u.remaining).ok(), Some(2));
        assert!(limiter.take(true).is_ok());
        assert!(matches!(limiter.take(true), Err((Policy::Secondly, _))));
        assert_eq!(limiter.take(false).map(|u| u.remaining).ok(), Some(0));
        assert!(matches!(
            limiter.take(false),
            Err((Policy::TenSecondlyRolling, _))
        ));
        limiter.reset();
        assert!(limiter.take(false).is_ok());
        limiter.set(Some(0), Some(0));
        for _ in 0..50 {
            assert!(limiter.take(true).is_ok());
        }
    }
}
