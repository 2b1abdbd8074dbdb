//! The connection state machine (docs/apideck.md §1.5).
//!
//! `health` is persisted: it records what the last operation learned (a refresh failed, a
//! confirmation is pending). `state` is never stored: it is computed from the facts by
//! [`compute_state`], so it cannot drift from them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Operational health of a connection, persisted (spec `ConnectionHealth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    /// A refresh failed; the connection stays callable while backoff runs.
    PendingRefresh,
    /// Refresh failed permanently (`invalid_grant` on an unchanged token): re-authorize.
    NeedsAuth,
    /// OAuth finished with a `nonce`; tokens wait for `POST …/confirm`.
    PendingConfirmation,
    NeedsConsent,
    /// Tokens were revoked (by the consumer, the provider or an admin).
    Revoked,
    MissingSettings,
    /// The provider answered 502/504-class; calls still go through.
    Degraded,
}

impl Health {
    pub const ALL: [Health; 8] = [
        Health::Ok,
        Health::PendingRefresh,
        Health::NeedsAuth,
        Health::PendingConfirmation,
        Health::NeedsConsent,
        Health::Revoked,
        Health::MissingSettings,
        Health::Degraded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::PendingRefresh => "pending_refresh",
            Health::NeedsAuth => "needs_auth",
            Health::PendingConfirmation => "pending_confirmation",
            Health::NeedsConsent => "needs_consent",
            Health::Revoked => "revoked",
            Health::MissingSettings => "missing_settings",
            Health::Degraded => "degraded",
        }
    }

    /// Parses the persisted or wire spelling. Returns `None` for unknown values.
    pub fn parse(s: &str) -> Option<Health> {
        Health::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Computed connection state (spec `Connection.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// The integration is offered but the consumer has no connection.
    Available,
    /// The consumer added it, but it is not authorized (or not usable) yet.
    Added,
    /// OAuth is done but something must still happen before calls work.
    Authorized,
    /// Unify and proxy calls will work.
    Callable,
    /// Credentials are present but known to be rejected by the provider.
    Invalid,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Available => "available",
            ConnectionState::Added => "added",
            ConnectionState::Authorized => "authorized",
            ConnectionState::Callable => "callable",
            ConnectionState::Invalid => "invalid",
        }
    }
}

impl ConnectionState {
    /// The consumer went through OAuth and a grant is stored (usable or not).
    #[must_use]
    pub fn has_grant(self) -> bool {
        matches!(
            self,
            ConnectionState::Authorized | ConnectionState::Callable | ConnectionState::Invalid
        )
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// App-side status of the integration (spec `Connection.integration_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationState {
    Disabled,
    /// Enabled but missing client credentials: the UI disables "Authorize".
    NeedsConfiguration,
    Configured,
}

impl IntegrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationState::Disabled => "disabled",
            IntegrationState::NeedsConfiguration => "needs_configuration",
            IntegrationState::Configured => "configured",
        }
    }
}

/// What is known about an existing connection row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionFacts {
    pub enabled: bool,
    /// An access token (or a refresh token that can mint one) is stored.
    pub has_tokens: bool,
    /// Every setting in `settings_required_for_authorization` has a value.
    pub required_settings_present: bool,
    pub health: Health,
}

/// Computes `state` from the facts. `connection` is `None` when the consumer has no row.
///
/// The table, in order of precedence:
///
/// | facts | state |
/// |---|---|
/// | no connection | `available` |
/// | connection disabled, or integration not `configured` | `added` |
/// | no tokens, or health `revoked` (credentials gone) | `added` |
/// | health `needs_auth` (provider rejects the stored grant) | `invalid` |
/// | required settings missing, or health `missing_settings`, `pending_confirmation`, `needs_consent` | `authorized` |
/// | health `ok`, `pending_refresh` or `degraded` | `callable` |
///
/// `pending_refresh` and `degraded` stay callable as Apideck documents (docs/apideck.md §1.7).
/// A disabled connection is `added`, not `callable`, because calls through it are refused.
pub fn compute_state(
    integration: IntegrationState,
    connection: Option<&ConnectionFacts>,
) -> ConnectionState {
    let Some(c) = connection else {
        return ConnectionState::Available;
    };
    if !c.enabled || integration != IntegrationState::Configured {
        return ConnectionState::Added;
    }
    if !c.has_tokens || c.health == Health::Revoked {
        return ConnectionState::Added;
    }
    if c.health == Health::NeedsAuth {
        return ConnectionState::Invalid;
    }
    if !c.required_settings_present {
        return ConnectionState::Authorized;
    }
    match c.health {
        Health::MissingSettings | Health::PendingConfirmation | Health::NeedsConsent => {
            ConnectionState::Authorized
        }
        Health::Ok | Health::PendingRefresh | Health::Degraded => ConnectionState::Callable,
        // Handled above; repeated so the match stays exhaustive without a wildcard.
        Health::Revoked => ConnectionState::Added,
        Health::NeedsAuth => ConnectionState::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEGRATIONS: [IntegrationState; 3] = [
        IntegrationState::Disabled,
        IntegrationState::NeedsConfiguration,
        IntegrationState::Configured,
    ];

    /// An independent restatement of the table in the doc comment, checked against every
    /// combination of facts.
    fn expected(i: IntegrationState, c: &ConnectionFacts) -> ConnectionState {
        use ConnectionState::*;
        use Health::*;
        let usable = c.enabled && i == IntegrationState::Configured;
        match (usable, c.has_tokens, c.health, c.required_settings_present) {
            (false, ..) => Added,
            (true, false, _, _) | (true, true, Revoked, _) => Added,
            (true, true, NeedsAuth, _) => Invalid,
            (true, true, _, false) => Authorized,
            (true, true, MissingSettings | PendingConfirmation | NeedsConsent, true) => Authorized,
            (true, true, Ok | PendingRefresh | Degraded, true) => Callable,
        }
    }

    #[test]
    fn no_connection_is_available_whatever_the_integration() {
        for i in INTEGRATIONS {
            assert_eq!(compute_state(i, None), ConnectionState::Available);
        }
    }

    #[test]
    fn whole_table() {
        let mut seen = std::collections::HashSet::new();
        for i in INTEGRATIONS {
            for enabled in [false, true] {
                for has_tokens in [false, true] {
                    for required_settings_present in [false, true] {
                        for health in Health::ALL {
                            let facts = ConnectionFacts {
                                enabled,
                                has_tokens,
                                required_settings_present,
                                health,
                            };
                            let got = compute_state(i, Some(&facts));
                            assert_eq!(got, expected(i, &facts), "{i:?} {facts:?}");
                            seen.insert(got);
                        }
                    }
                }
            }
        }
        // Every state except `available` is reachable from some existing connection.
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn named_cases() {
        let ok = ConnectionFacts {
            enabled: true,
            has_tokens: true,
            required_settings_present: true,
            health: Health::Ok,
        };
        let c = IntegrationState::Configured;
        assert_eq!(compute_state(c, Some(&ok)), ConnectionState::Callable);
        let h = |health| ConnectionFacts { health, ..ok };
        assert_eq!(
            compute_state(c, Some(&h(Health::PendingRefresh))),
            ConnectionState::Callable
        );
        assert_eq!(
            compute_state(c, Some(&h(Health::Degraded))),
            ConnectionState::Callable
        );
        assert_eq!(
            compute_state(c, Some(&h(Health::NeedsAuth))),
            ConnectionState::Invalid
        );
        assert_eq!(
            compute_state(c, Some(&h(Health::PendingConfirmation))),
            ConnectionState::Authorized
        );
        assert_eq!(
            compute_state(c, Some(&h(Health::Revoked))),
            ConnectionState::Added
        );
        let no_tokens = ConnectionFacts {
            has_tokens: false,
            ..ok
        };
        assert_eq!(compute_state(c, Some(&no_tokens)), ConnectionState::Added);
        let disabled = ConnectionFacts {
            enabled: false,
            ..ok
        };
        assert_eq!(compute_state(c, Some(&disabled)), ConnectionState::Added);
        assert_eq!(
            compute_state(IntegrationState::NeedsConfiguration, Some(&ok)),
            ConnectionState::Added
        );
        let missing = ConnectionFacts {
            required_settings_present: false,
            ..ok
        };
        assert_eq!(
            compute_state(c, Some(&missing)),
            ConnectionState::Authorized
        );
    }

    #[test]
    fn health_spelling_round_trips_and_matches_spec() {
        for h in Health::ALL {
            assert_eq!(Health::parse(h.as_str()), Some(h));
            assert_eq!(serde_json::to_value(h).unwrap(), h.as_str());
        }
        assert_eq!(Health::parse("OK"), None);
        let spec: Vec<&str> = vec![
            "ok",
            "pending_refresh",
            "needs_auth",
            "pending_confirmation",
            "needs_consent",
            "revoked",
            "missing_settings",
            "degraded",
        ];
        assert_eq!(Health::ALL.map(Health::as_str).to_vec(), spec);
    }

    #[test]
    fn state_spelling() {
        assert_eq!(
            serde_json::to_value(ConnectionState::Callable).unwrap(),
            "callable"
        );
        assert_eq!(
            IntegrationState::NeedsConfiguration.as_str(),
            "needs_configuration"
        );
    }
}
