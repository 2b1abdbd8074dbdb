//! What the coordinator counts for `/metrics`: refreshes by outcome and waits for another
//! holder's lease. Plain atomics the server reads at scrape time, so this crate needs no
//! dependency on the server and counting costs no lock.

use patchbay_core::metrics::{Counter, Histogram};
use patchbay_oauth::ErrorClass;

/// How one token call (or one caller's refresh request) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The provider issued new tokens.
    Success,
    /// The provider said the grant is dead.
    InvalidGrant,
    /// 5xx, timeout, connection failure, rate limit: retried later, credentials untouched.
    TransientFailure,
    /// The integration's client or configuration was refused, or an unrecognised answer.
    OtherFailure,
    /// The caller did not call the provider: a sibling (in this process or on another node)
    /// refreshed while it waited, and it used that result.
    Coalesced,
}

impl RefreshOutcome {
    pub const ALL: [RefreshOutcome; 5] = [
        RefreshOutcome::Success,
        RefreshOutcome::InvalidGrant,
        RefreshOutcome::TransientFailure,
        RefreshOutcome::OtherFailure,
        RefreshOutcome::Coalesced,
    ];

    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Success => "success",
            RefreshOutcome::InvalidGrant => "invalid_grant",
            RefreshOutcome::TransientFailure => "transient_failure",
            RefreshOutcome::OtherFailure => "failure",
            RefreshOutcome::Coalesced => "coalesced",
        }
    }

    pub(crate) fn of_class(class: &ErrorClass) -> Self {
        match class {
            ErrorClass::InvalidGrant => RefreshOutcome::InvalidGrant,
            ErrorClass::Transient | ErrorClass::RateLimited { .. } => {
                RefreshOutcome::TransientFailure
            }
            ErrorClass::InvalidClient
            | ErrorClass::InvalidClientId
            | ErrorClass::Config
            | ErrorClass::Unrecognized => RefreshOutcome::OtherFailure,
        }
    }
}

/// The coordinator's counters; one set per [`crate::Refresher`] (per process).
#[derive(Debug, Default)]
pub struct RefreshStats {
    outcomes: [Counter; RefreshOutcome::ALL.len()],
    /// Refreshes that found another holder's lease and waited for it.
    pub lease_waits: Counter,
    /// How long those waits lasted, until the lease was taken, the sibling's result seen, or
    /// the wait given up.
    pub lease_wait_seconds: Histogram,
}

impl RefreshStats {
    pub(crate) fn count(&self, outcome: RefreshOutcome) {
        self.outcomes[outcome as usize].inc();
    }

    /// How many refreshes ended with `outcome`.
    pub fn outcome(&self, outcome: RefreshOutcome) -> u64 {
        self.outcomes[outcome as usize].get()
    }
}
