//! When an access token expires, for a provider whose token response has no `expires_in`: the
//! lifetime is learned from introspection (`exp - iat`) when the integration allows it
//! (`settings.introspect_tokens = true`, i.e. "Introspect All Tokens" or own-app tokens), and is
//! otherwise the integration's session timeout (default 2 h). A REST 401 corrects any error
//! ([`crate::Refresher::on_invalid_session`]).

use std::collections::HashMap;

use parking_lot::Mutex;
use patchbay_store::IntegrationRow;

use crate::config::RefreshConfig;

const DEFAULT_LIFETIME_MS: i64 = 7_200_000;

/// Lifetimes learned per integration in this process.
#[derive(Debug, Default)]
pub(crate) struct Lifetimes {
    learned: Mutex<HashMap<String, i64>>,
}

impl Lifetimes {
    /// The lifetime to assume for a token of `integration` just issued.
    pub(crate) fn lifetime_ms(&self, key: &str, integration: &IntegrationRow) -> i64 {
        if let Some(ms) = self.learned.lock().get(key) {
            return *ms;
        }
        configured_lifetime_ms(integration)
    }

    pub(crate) fn is_learned(&self, key: &str) -> bool {
        self.learned.lock().contains_key(key)
    }

    pub(crate) fn learn(&self, key: &str, lifetime_ms: i64) {
        if lifetime_ms > 0 {
            self.learned.lock().insert(key.to_owned(), lifetime_ms);
        }
    }
}

pub(crate) fn configured_lifetime_ms(integration: &IntegrationRow) -> i64 {
    if integration.session_timeout_s > 0 {
        integration.session_timeout_s.saturating_mul(1000)
    } else {
        DEFAULT_LIFETIME_MS
    }
}

/// Whether the integration lets us introspect its access tokens.
pub(crate) fn introspection_allowed(integration: &IntegrationRow) -> bool {
    serde_json::from_str::<serde_json::Value>(&integration.settings_json)
        .ok()
        .and_then(|v| {
            v.get("introspect_tokens")
                .and_then(serde_json::Value::as_bool)
        })
        .unwrap_or(false)
}

/// When the sweeper should refresh a token issued at `issued_at_ms` with `lifetime_ms`:
/// `expires_at - margin - jitter`, the jitter bounded by a tenth of the lifetime and by
/// `max_jitter_ms` (docs/security.md §3.1 F6), never before `now_ms`.
pub(crate) fn next_refresh_at(
    cfg: &RefreshConfig,
    now_ms: i64,
    expires_at_ms: i64,
    lifetime_ms: i64,
    random: u64,
) -> i64 {
    let margin = cfg.proactive_margin_ms.min(lifetime_ms / 2);
    let jitter_bound = (lifetime_ms / 10).min(cfg.max_jitter_ms).max(1);
    let jitter = i64::try_from(random % u64::try_from(jitter_bound).unwrap_or(1)).unwrap_or(0);
    (expires_at_ms - margin - jitter).max(now_ms)
}

/// A random number for jitter (uuid v4 is backed by the OS generator).
pub(crate) fn random_u64() -> u64 {
    let bits = uuid::Uuid::new_v4().as_u128();
    (bits as u64) ^ ((bits >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_inside_its_window() {
        let cfg = RefreshConfig::default();
        let lifetime = 7_200_000;
        let expires = 10_000_000;
        for r in [0, 1, 719_999, 12_345_678, u64::MAX] {
            let at = next_refresh_at(&cfg, 0, expires, lifetime, r);
            assert!(at <= expires - cfg.proactive_margin_ms);
            assert!(at > expires - cfg.proactive_margin_ms - cfg.max_jitter_ms);
        }
        // Short lifetimes get proportionally short jitter and margin, never a time in the past.
        let at = next_refresh_at(&cfg, 0, 60_000, 60_000, 5_999);
        assert_eq!(at, 60_000 - 30_000 - 5_999);
        assert_eq!(next_refresh_at(&cfg, 50_000, 60_000, 60_000, 0), 50_000);
    }
}
