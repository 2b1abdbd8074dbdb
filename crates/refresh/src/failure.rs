//! What a failed token call means (docs/security.md §3.3): the grant is dead only after a re-read
//! shows the row unchanged; integration problems trip the breaker; rate limits pause the
//! integration; everything else backs off and never touches credentials.

use std::time::Duration;

use patchbay_core::Health;
use patchbay_oauth::{DiagnosisContext, ErrorClass, OAuthError, diagnose_error};
use patchbay_store::{ConnectionRow, RefreshFailure};

use crate::attempt::Target;
use crate::error::{ProviderResponse, RefreshError};
use crate::events::RefreshEvent;
use crate::expiry::random_u64;
use crate::refresher::{CurrentToken, Refresher, Trigger};
use crate::store::TokenStore;

/// Consecutive unreadable answers after which a connection is given up on (docs/security.md §3.3).
const UNRECOGNIZED_LIMIT: i64 = 5;

impl<S: TokenStore> Refresher<S> {
    pub(crate) async fn settle_failure(
        &self,
        leased: &ConnectionRow,
        target: &Target,
        e: OAuthError,
        owner: &str,
        trigger: Trigger,
        in_doubt: bool,
    ) -> Result<CurrentToken, RefreshError> {
        let cfg = &self.inner.cfg;
        let now = self.now();
        let class = e.class();
        let provider = ProviderResponse::from_oauth(&e);
        let d = diagnose_error(
            &e,
            &DiagnosisContext::new(&cfg.public_url, &target.login_url),
        );
        let diagnosis = match &d.fix {
            Some(fix) => format!("{} Fix: {fix}", d.message),
            None => d.message.clone(),
        };
        let failure =
            |health: Health, code: &str, next: Option<i64>, expire: Option<i64>| RefreshFailure {
                connection_id: leased.id.clone(),
                expected_version: leased.token_version,
                health,
                error_code: code.to_owned(),
                next_refresh_at: next,
                credentials_expire_at: expire,
                lease_owner: Some(owner.to_owned()),
                now_ms: now,
            };
        tracing::info!(connection = %leased.id, ?class, in_doubt, "refresh failed");
        match class {
            ErrorClass::InvalidGrant => {
                // The provider checks the client before the grant: the integration is fine.
                self.inner.gates.proven(&target.key);
                // F5: a sibling may have rotated the token we presented.
                let now_row = self.load(&leased.id).await?;
                if now_row.token_version != leased.token_version
                    || now_row.refresh_token_sealed != leased.refresh_token_sealed
                {
                    return self.after_sibling(&now_row);
                }
                let reason = if in_doubt {
                    "refresh_in_doubt"
                } else {
                    "invalid_grant"
                };
                let expire = now.saturating_add(cfg.retention_ms);
                let f = failure(Health::NeedsAuth, reason, None, Some(expire));
                if !self.inner.store.record_refresh_failure(&f).await? {
                    let row = self.load(&leased.id).await?;
                    return self.after_sibling(&row);
                }
                tracing::warn!(connection = %leased.id, reason, "grant is dead; the consumer must authorize again");
                if leased.health != Health::NeedsAuth {
                    self.emit(RefreshEvent::NeedsAuth {
                        connection_id: leased.id.clone(),
                        reason: reason.to_owned(),
                    });
                }
                Err(RefreshError::NeedsAuth {
                    reason: reason.to_owned(),
                    credentials_expire_at_ms: Some(now_row.credentials_expire_at.unwrap_or(expire)),
                    provider,
                })
            }
            ErrorClass::RateLimited { retry_after } => {
                // T-RF-09: the connection's state is left alone; the integration pauses.
                let ms = retry_after
                    .map(|r| duration_ms(r.delay_from(time_now())))
                    .unwrap_or(cfg.default_retry_after_ms);
                self.inner
                    .gates
                    .rate_limited(&target.key, now.saturating_add(ms));
                self.fallback(
                    leased,
                    trigger,
                    RefreshError::RateLimited { retry_after_ms: ms },
                )
            }
            c if c.is_integration_problem() => {
                let code = e.provider_error().unwrap_or("config").to_owned();
                let open = self.inner.gates.rejected(
                    &target.key,
                    &code,
                    &diagnosis,
                    now,
                    cfg.breaker_base_ms,
                    cfg.breaker_cap_ms,
                );
                // Not this connection's fault: its health stays, the row records why.
                let f = failure(leased.health, &code, Some(now.saturating_add(open)), None);
                self.inner.store.record_refresh_failure(&f).await?;
                self.emit(RefreshEvent::IntegrationRejected {
                    integration: target.key.clone(),
                    code: code.clone(),
                });
                let err = RefreshError::IntegrationRejected {
                    code,
                    diagnosis,
                    retry_after_ms: open,
                    provider,
                };
                self.fallback(leased, trigger, err)
            }
            ErrorClass::Unrecognized
                if leased.refresh_failure_count.saturating_add(1) >= UNRECOGNIZED_LIMIT =>
            {
                // docs/security.md §3.3: an answer we cannot read is transient a few times, then
                // permanent, so a broken provider cannot keep a connection in limbo forever.
                let reason = "unrecognized_response";
                let expire = now.saturating_add(cfg.retention_ms);
                let f = failure(Health::NeedsAuth, reason, None, Some(expire));
                if !self.inner.store.record_refresh_failure(&f).await? {
                    let row = self.load(&leased.id).await?;
                    return self.after_sibling(&row);
                }
                self.emit(RefreshEvent::NeedsAuth {
                    connection_id: leased.id.clone(),
                    reason: reason.to_owned(),
                });
                Err(RefreshError::NeedsAuth {
                    reason: reason.to_owned(),
                    credentials_expire_at_ms: Some(expire),
                    provider,
                })
            }
            _ => {
                let failures = leased.refresh_failure_count.saturating_add(1);
                let backoff = cfg.backoff_ms(failures);
                let jitter = i64::try_from(random_u64() % 1000).unwrap_or(0) * backoff / 10_000;
                let asked = e
                    .retry_after()
                    .map(|r| duration_ms(r.delay_from(time_now())));
                let wait = asked.unwrap_or(0).max(backoff + jitter);
                let code = if in_doubt {
                    "refresh_in_doubt"
                } else {
                    transient_code(&e)
                };
                let f = failure(
                    Health::PendingRefresh,
                    code,
                    Some(now.saturating_add(wait)),
                    None,
                );
                let recorded = self.inner.store.record_refresh_failure(&f).await?;
                if recorded && leased.health == Health::Ok {
                    self.emit(RefreshEvent::Pending {
                        connection_id: leased.id.clone(),
                        code: code.to_owned(),
                    });
                }
                let err = RefreshError::Transient {
                    code: code.to_owned(),
                    diagnosis,
                    retry_after_ms: wait,
                    provider,
                    source: Some(Box::new(e)),
                };
                self.fallback(leased, trigger, err)
            }
        }
    }

    /// Both attempts ran out of their share of the lease: the outcome is unknown. Credentials
    /// stay; the row says so and backs off like any transient failure.
    pub(crate) async fn settle_timeout(
        &self,
        leased: &ConnectionRow,
        owner: &str,
        trigger: Trigger,
    ) -> Result<CurrentToken, RefreshError> {
        let cfg = &self.inner.cfg;
        let now = self.now();
        let wait = cfg.backoff_ms(leased.refresh_failure_count.saturating_add(1));
        let code = "refresh_in_doubt";
        tracing::warn!(connection = %leased.id, "refresh timed out twice inside the lease");
        let recorded = self
            .inner
            .store
            .record_refresh_failure(&RefreshFailure {
                connection_id: leased.id.clone(),
                expected_version: leased.token_version,
                health: Health::PendingRefresh,
                error_code: code.to_owned(),
                next_refresh_at: Some(now.saturating_add(wait)),
                credentials_expire_at: None,
                lease_owner: Some(owner.to_owned()),
                now_ms: now,
            })
            .await?;
        if recorded && leased.health == Health::Ok {
            self.emit(RefreshEvent::Pending {
                connection_id: leased.id.clone(),
                code: code.to_owned(),
            });
        }
        let err = RefreshError::Transient {
            code: code.to_owned(),
            diagnosis: "The provider did not answer the token request in time.".to_owned(),
            retry_after_ms: wait,
            provider: None,
            source: None,
        };
        self.fallback(leased, trigger, err)
    }

    /// A caller that only wanted *a* valid token still gets the old one while it lasts
    /// (docs/apideck.md §1.7: the connection stays callable while backoff runs).
    pub(crate) fn fallback(
        &self,
        row: &ConnectionRow,
        trigger: Trigger,
        err: RefreshError,
    ) -> Result<CurrentToken, RefreshError> {
        let unexpired = row.access_token_sealed.is_some()
            && row.token_expires_at.is_some_and(|e| e > self.now());
        if trigger == Trigger::Stale && unexpired {
            tracing::info!(connection = %row.id, error = %err, "refresh failed; the current token is still valid");
            return self.current(row);
        }
        Err(err)
    }
}

fn transient_code(e: &OAuthError) -> &'static str {
    match e {
        OAuthError::Transport { kind, .. } => match kind {
            patchbay_oauth::TransportKind::Connect => "connect_error",
            patchbay_oauth::TransportKind::Timeout => "timeout",
            _ => "network_error",
        },
        _ if e.status().is_some_and(|s| s >= 500) => "server_error",
        _ if e.class() == ErrorClass::Unrecognized => "unrecognized_response",
        _ => "transient",
    }
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
