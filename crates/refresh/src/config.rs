//! Tunables of the coordinator, with defaults taken from docs/security.md §3 and
//! docs/apideck.md §1.7.

use std::time::Duration;

/// Whose clock decides lease expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeaseClock {
    /// This node's [`patchbay_core::Clock`]: nodes must agree to well under the lease TTL.
    /// For single-node deployments and tests that move a manual clock.
    Local,
    /// The database server's clock (`Store::db_now_ms`), one round trip per acquisition: node
    /// clock skew cannot let two nodes hold a lease at once (docs/security.md §3.1 F2, T-RF-12).
    #[default]
    Database,
}

/// Built once at start-up and passed to [`crate::Refresher::new`].
#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// Identifies this node in lease owners (`{node_id}#{random}`), for operators reading rows.
    pub node_id: String,
    /// `{public_url}/vault/callback` appears in diagnoses that name a fix.
    pub public_url: String,
    /// A token expiring within this margin is refreshed before use (Apideck: 30 s).
    pub on_demand_margin_ms: i64,
    /// The sweeper aims to refresh this long before expiry, minus jitter.
    pub proactive_margin_ms: i64,
    /// Upper bound of the jitter subtracted from the proactive refresh time; the actual bound
    /// is also capped at a tenth of the token's lifetime (docs/security.md §3.1 F6).
    pub max_jitter_ms: i64,
    /// How long one refresh may hold the lease. Must exceed the HTTP client's total timeout
    /// (plus one retry when the outcome was unknown) so a lease cannot expire mid-call.
    pub lease_ttl_ms: i64,
    pub lease_clock: LeaseClock,
    /// How long a caller waits for another node's refresh before answering `Busy`.
    pub lease_wait: Duration,
    /// Poll interval while another node holds the lease.
    pub lease_poll: Duration,
    /// First backoff after a transient failure; doubles per consecutive failure.
    pub backoff_base_ms: i64,
    pub backoff_cap_ms: i64,
    /// A forced refresh (validate) within this long after a failure is refused (T-RF-07).
    pub force_min_interval_ms: i64,
    /// After `invalid_grant`, credentials are kept this long (`credentials_expire_at`).
    pub retention_ms: i64,
    /// First circuit-breaker open period after `invalid_client`; doubles up to the cap.
    pub breaker_base_ms: i64,
    pub breaker_cap_ms: i64,
    /// Used when a 429 carries no `Retry-After`.
    pub default_retry_after_ms: i64,
    /// Attempts to persist refreshed tokens while their plaintext is still in memory (F4).
    pub persist_attempts: u32,
    /// Bound on the introspection call used to learn the access-token lifetime.
    pub introspect_timeout: Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            node_id: "node".to_owned(),
            public_url: "http://localhost:8080".to_owned(),
            on_demand_margin_ms: 30_000,
            proactive_margin_ms: 5 * 60_000,
            max_jitter_ms: 5 * 60_000,
            lease_ttl_ms: 60_000,
            lease_clock: LeaseClock::Database,
            lease_wait: Duration::from_secs(30),
            lease_poll: Duration::from_millis(25),
            backoff_base_ms: 30_000,
            backoff_cap_ms: 30 * 60_000,
            force_min_interval_ms: 10_000,
            retention_ms: 7 * 24 * 3_600_000,
            breaker_base_ms: 60_000,
            breaker_cap_ms: 15 * 60_000,
            default_retry_after_ms: 30_000,
            persist_attempts: 3,
            introspect_timeout: Duration::from_secs(3),
        }
    }
}

impl RefreshConfig {
    /// Backoff after `failures` consecutive failures (1 = the first), before jitter.
    pub(crate) fn backoff_ms(&self, failures: i64) -> i64 {
        let exp = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
        self.backoff_base_ms
            .saturating_mul(1_i64 << exp)
            .min(self.backoff_cap_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let c = RefreshConfig::default();
        assert_eq!(c.backoff_ms(1), 30_000);
        assert_eq!(c.backoff_ms(2), 60_000);
        assert_eq!(c.backoff_ms(0), 30_000);
        assert_eq!(c.backoff_ms(1_000), c.backoff_cap_ms);
    }
}
