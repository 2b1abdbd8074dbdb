//! Downstream health: when the provider stops answering a connection's CRM or proxy calls, the
//! connection turns `degraded` (`vault.connection.downstream.degraded`), and the next call it
//! answers turns it back to `ok` (`vault.connection.downstream.recovered`). The spec's
//! `last_downstream_error_at` is "the last downstream unreachable error (502/504 network
//! class)", with the connection still callable; see docs/apideck.md §2.1.
//!
//! The hot path writes nothing for this, and a call the provider answers on a healthy connection
//! takes no lock while no connection is failing: consecutive failures are counted in memory
//! per connection (per node), and the store is written only on a change of state, judged from the
//! health of the row the call's token came with ([`super::tokens::ConnectionToken::row`], at
//! most [`super::tokens::CACHE_TTL`] old). Both writes are conditional in SQL, so two nodes
//! that decide the same change at once fire its event once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use patchbay_core::{ConnectionId, Health};

use super::Vault;
use super::tokens::ConnectionToken;

/// Consecutive unanswered calls (5xx, timeouts, network errors) that make a connection
/// degraded. One failure is noise (a provider instance restarts, a retry covers it); three
/// in a row, with no success between them, is an outage worth telling the application about.
pub const DEGRADE_AFTER: u32 = 3;
/// Bounds the map when many connections fail at once; losing counts only delays a change.
const MAX_TRACKED: usize = 10_000;

/// What one downstream call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// The provider answered, with anything below 500 (a 4xx is its answer, not an outage).
    Answered,
    /// A 5xx, a timeout or a network error.
    Unreachable,
}

impl CallOutcome {
    pub fn of_status(status: u16) -> CallOutcome {
        if status >= 500 {
            CallOutcome::Unreachable
        } else {
            CallOutcome::Answered
        }
    }
}

/// The store write a call calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthChange {
    Degrade,
    Recover,
}

/// The rule, pure: `failures` counts consecutive unreachable calls including this one.
pub fn decide(failures: u32, health: Health, outcome: CallOutcome) -> Option<HealthChange> {
    match outcome {
        CallOutcome::Unreachable if failures >= DEGRADE_AFTER && health == Health::Ok => {
            Some(HealthChange::Degrade)
        }
        CallOutcome::Answered if health == Health::Degraded => Some(HealthChange::Recover),
        _ => None,
    }
}

/// Consecutive failures per connection on this node.
#[derive(Default)]
pub(crate) struct FailureCounts {
    counts: Mutex<HashMap<ConnectionId, u32>>,
    /// How many connections have a count, read without the lock: while the provider answers
    /// (nearly always) a call on a healthy connection takes no lock at all.
    tracked: AtomicUsize,
}

impl FailureCounts {
    fn observe(
        &self,
        id: &ConnectionId,
        health: Health,
        outcome: CallOutcome,
    ) -> Option<HealthChange> {
        if outcome == CallOutcome::Answered
            && health != Health::Degraded
            && self.tracked.load(Ordering::Acquire) == 0
        {
            return None;
        }
        let Ok(mut counts) = self.counts.lock() else {
            return None;
        };
        let failures = match outcome {
            CallOutcome::Answered => {
                counts.remove(id);
                0
            }
            CallOutcome::Unreachable => {
                if counts.len() >= MAX_TRACKED && !counts.contains_key(id) {
                    counts.clear();
                }
                let n = counts.entry(id.clone()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
        };
        let change = decide(failures, health, outcome);
        if change == Some(HealthChange::Degrade) {
            counts.remove(id);
        }
        self.tracked.store(counts.len(), Ordering::Release);
        change
    }
}

impl Vault {
    /// Notes how a downstream call for `token`'s connection went, and records a change of
    /// downstream health (with its webhook event) when there is one. Never fails the call:
    /// a store error is logged.
    pub(crate) async fn observe_downstream(&self, token: &ConnectionToken, outcome: CallOutcome) {
        let id = &token.row.id;
        let Some(change) = self
            .downstream_failures()
            .observe(id, token.row.health, outcome)
        else {
            return;
        };
        let now = self.now_ms();
        let written = match change {
            HealthChange::Degrade => self.store().record_downstream_error(id, now).await,
            HealthChange::Recover => self.store().clear_downstream_error(id, now).await,
        };
        match written {
            Ok(_) => tracing::info!(connection = %id, ?change, "downstream health changed"),
            Err(e) => {
                tracing::warn!(connection = %id, error = %crate::error::chain(&e), "could not record downstream health");
            }
        }
        // The cached row still shows the old health: without this, every call within the TTL
        // would decide the same change again.
        self.token_cache().forget_connection(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrades_only_after_enough_failures_in_a_row_on_a_healthy_connection() {
        use CallOutcome::{Answered, Unreachable};
        assert_eq!(decide(1, Health::Ok, Unreachable), None);
        assert_eq!(decide(DEGRADE_AFTER - 1, Health::Ok, Unreachable), None);
        assert_eq!(
            decide(DEGRADE_AFTER, Health::Ok, Unreachable),
            Some(HealthChange::Degrade)
        );
        // Already degraded, or unhealthy for another reason: nothing more to write.
        assert_eq!(decide(9, Health::Degraded, Unreachable), None);
        assert_eq!(decide(9, Health::PendingRefresh, Unreachable), None);
        assert_eq!(
            decide(0, Health::Degraded, Answered),
            Some(HealthChange::Recover)
        );
        assert_eq!(decide(0, Health::Ok, Answered), None);
        assert_eq!(decide(0, Health::NeedsAuth, Answered), None);
    }

    #[test]
    fn a_success_between_failures_starts_the_count_again() {
        let counts = FailureCounts::default();
        let id = ConnectionId::generate();
        let fail = |c: &FailureCounts| c.observe(&id, Health::Ok, CallOutcome::Unreachable);
        assert_eq!(fail(&counts), None);
        assert_eq!(fail(&counts), None);
        assert_eq!(counts.observe(&id, Health::Ok, CallOutcome::Answered), None);
        assert_eq!(fail(&counts), None);
        assert_eq!(fail(&counts), None);
        assert_eq!(fail(&counts), Some(HealthChange::Degrade));
        // Counting starts again after a change, so a stale cached row cannot repeat it at once.
        assert_eq!(fail(&counts), None);
        assert_eq!(
            CallOutcome::of_status(503),
            CallOutcome::Unreachable,
            "5xx is an outage"
        );
        assert_eq!(CallOutcome::of_status(404), CallOutcome::Answered);
    }
}
