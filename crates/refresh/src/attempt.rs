//! One refresh across nodes: take the lease (or wait for the holder's result), re-check, call
//! the token endpoint, and persist or classify the outcome (docs/security.md §3.2, §3.3).

use std::time::{Duration, Instant};

use patchbay_core::Health;
use patchbay_oauth::{ClientConfig, OAuthError, TokenRef, TokenSet};
use patchbay_store::{
    ConnectionRow, IntegrationRow, RefreshFailure, RefreshedTokens, SealedColumn,
};

use crate::config::LeaseClock;
use crate::error::RefreshError;
use crate::events::RefreshEvent;
use crate::expiry::{introspection_allowed, next_refresh_at, random_u64};
use crate::refresher::{CurrentToken, Refresher, Trigger, Verdict, gate_key};
use crate::stats::RefreshOutcome;
use crate::store::TokenStore;

/// What the refresh is for, resolved once per attempt.
pub(crate) struct Target {
    pub(crate) integration: IntegrationRow,
    pub(crate) client: ClientConfig,
    pub(crate) login_url: String,
    pub(crate) send_secret: bool,
    pub(crate) key: String,
}

impl<S: TokenStore> Refresher<S> {
    /// Takes the lease (polling while another node holds it), then refreshes.
    pub(crate) async fn refresh_with_lease(
        &self,
        row: &ConnectionRow,
        trigger: Trigger,
    ) -> Result<CurrentToken, RefreshError> {
        let cfg = &self.inner.cfg;
        let owner = format!("{}#{}", cfg.node_id, uuid::Uuid::new_v4().simple());
        let started = Instant::now();
        // Counted once the wait ends, however it ends, so the histogram holds whole waits.
        let mut waited = false;
        let stats = &self.inner.stats;
        let end_wait = |waited: bool| {
            if waited {
                stats.lease_wait_seconds.observe(started.elapsed());
            }
        };
        let leased = loop {
            let now = match cfg.lease_clock {
                LeaseClock::Local => self.now(),
                LeaseClock::Database => self.inner.store.db_now_ms().await?,
            };
            let leased = self
                .inner
                .store
                .try_acquire_refresh_lease(&row.id, &owner, now, cfg.lease_ttl_ms)
                .await?;
            if let Some(leased) = leased {
                end_wait(waited);
                break leased;
            }
            if !waited {
                waited = true;
                stats.lease_waits.inc();
            }
            if started.elapsed() > cfg.lease_wait {
                end_wait(waited);
                return Err(RefreshError::Busy);
            }
            tokio::time::sleep(cfg.lease_poll).await;
            let now_row = self.load(&row.id).await?;
            if now_row.token_version != row.token_version {
                end_wait(waited);
                stats.count(RefreshOutcome::Coalesced);
                return self.after_sibling(&now_row);
            }
        };
        if leased.token_version != row.token_version {
            self.release(&row.id, &owner).await;
            stats.count(RefreshOutcome::Coalesced);
            return self.after_sibling(&leased);
        }
        // The holder we waited for may have recorded a failure: its backoff applies to us too.
        match self.assess(&leased, self.now(), trigger) {
            Ok(Verdict::Refresh) => self.refresh_leased(&leased, &owner, trigger).await,
            Ok(Verdict::Use) => {
                self.release(&row.id, &owner).await;
                self.current(&leased)
            }
            Err(e) => {
                self.release(&row.id, &owner).await;
                Err(e)
            }
        }
    }

    /// Refreshes a row whose lease `owner` holds, and always gives the lease back.
    pub(crate) async fn refresh_leased(
        &self,
        leased: &ConnectionRow,
        owner: &str,
        trigger: Trigger,
    ) -> Result<CurrentToken, RefreshError> {
        let result = self.call_and_settle(leased, owner, trigger).await;
        // Success and recorded failures already released it in their own statement; this is
        // a compare-and-delete, so it is harmless then and needed on every other path.
        self.release(&leased.id, owner).await;
        result
    }

    async fn call_and_settle(
        &self,
        leased: &ConnectionRow,
        owner: &str,
        trigger: Trigger,
    ) -> Result<CurrentToken, RefreshError> {
        if self.inner.burned.lock().get(&leased.id) == Some(&leased.token_version) {
            return Err(RefreshError::Unpersisted);
        }
        let target = self.target(leased).await?;
        let refresh_token = self
            .inner
            .sealer
            .open_refresh(leased)?
            .ok_or(RefreshError::NoCredentials)?;
        let _admission = match self.inner.gates.admit(&target.key, || self.now()).await {
            Ok(a) => a,
            Err(e) => {
                self.park(leased, owner, &e).await?;
                return self.fallback(leased, trigger, e);
            }
        };
        // Each attempt must end well inside the lease, whatever the HTTP client's timeouts:
        // a lease that expired mid-call would let a second node present the same token.
        let budget = Duration::from_millis(
            u64::try_from(self.inner.cfg.lease_ttl_ms.saturating_mul(2) / 5).unwrap_or(1_000),
        );
        let attempt = || {
            tokio::time::timeout(
                budget,
                patchbay_oauth::refresh(
                    &self.inner.http,
                    &target.client,
                    &refresh_token,
                    target.send_secret,
                ),
            )
        };
        let mut outcome = attempt().await;
        let mut in_doubt = false;
        let unknown = |o: &Result<Result<TokenSet, OAuthError>, _>| match o {
            Err(_) => true,
            Ok(Err(e)) => e.outcome_unknown(),
            Ok(Ok(_)) => false,
        };
        if unknown(&outcome) {
            // docs/security.md §3.3: the provider may have rotated. One retry with the same token:
            // without rotation it simply works; with rotation the grant is already lost (the
            // successor was in the lost response), and the answer tells us so.
            tracing::warn!(connection = %leased.id, "refresh outcome unknown; retrying once");
            in_doubt = true;
            outcome = attempt().await;
        }
        drop(refresh_token);
        self.inner.stats.count(match &outcome {
            Ok(Ok(_)) => RefreshOutcome::Success,
            Ok(Err(e)) => RefreshOutcome::of_class(&e.class()),
            Err(_) => RefreshOutcome::TransientFailure,
        });
        match outcome {
            Ok(Ok(tokens)) => self.persist(leased, &target, tokens, owner).await,
            Ok(Err(e)) => {
                self.settle_failure(leased, &target, e, owner, trigger, in_doubt)
                    .await
            }
            Err(_) => self.settle_timeout(leased, owner, trigger).await,
        }
    }

    async fn target(&self, row: &ConnectionRow) -> Result<Target, RefreshError> {
        let integration = self
            .inner
            .store
            .get_integration(&row.application_id, &row.unified_api, &row.service_id)
            .await?
            .ok_or(RefreshError::IntegrationNotFound)?;
        let client_id = integration
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or(RefreshError::IntegrationNotFound)?;
        let login_url = row
            .login_url_override
            .clone()
            .unwrap_or_else(|| integration.login_url.clone());
        let connector = patchbay_connectors::registry::connector(row.service_id.as_str())
            .ok_or_else(|| {
                RefreshError::Config(format!("no connector serves {}", row.service_id))
            })?;
        // The secret also verifies the response `signature`; it is *sent* only if the
        // integration says so (setup guide: "Require Secret for Refresh Token Flow" unchecked)
        // or the provider always wants it.
        let secret = self.inner.sealer.open_client_secret(&integration)?;
        let send_secret =
            integration.send_secret_on_refresh || connector.oauth_profile().refresh_needs_secret;
        let client = patchbay_connectors::oauth_client::oauth_client(
            connector, &login_url, client_id, secret,
        )
        .map_err(|e| RefreshError::Config(e.to_string()))?;
        Ok(Target {
            client,
            key: gate_key(row),
            login_url,
            send_secret,
            integration,
        })
    }

    /// Writes the new tokens in one version-guarded statement, retrying while the plaintext is
    /// still in memory. If that fails, the tokens are not handed out and the redeemed refresh
    /// token is burned (docs/security.md F4, T-RF-04).
    async fn persist(
        &self,
        leased: &ConnectionRow,
        target: &Target,
        tokens: TokenSet,
        owner: &str,
    ) -> Result<CurrentToken, RefreshError> {
        let cfg = &self.inner.cfg;
        let now = self.now();
        self.inner.gates.proven(&target.key);
        let lifetime = self
            .inner
            .lifetimes
            .lifetime_ms(&target.key, &target.integration);
        let lifetime = tokens
            .expires_in
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .unwrap_or(lifetime);
        let expires_at = now.saturating_add(lifetime);
        let instance_url = tokens.instance_url.as_ref().and_then(|u| {
            // The connector's rule decides which instances it trusts; a provider without
            // per-connection instances keeps none.
            let checked = patchbay_connectors::registry::connector(
                target.integration.service_id.as_str(),
            )
            .filter(|c| c.oauth_profile().per_connection_instance)
            .and_then(|c| c.check_instance_url(&target.login_url, u.as_str()).ok());
            if checked.is_none() {
                tracing::warn!(connection = %leased.id, "untrusted instance_url in a refresh response; keeping the stored one");
            }
            checked
        });
        let write = self.sealed_write(
            leased,
            &tokens,
            owner,
            now,
            expires_at,
            lifetime,
            instance_url,
        );
        let mut stored = false;
        if let Ok(write) = &write {
            for attempt in 0..cfg.persist_attempts.max(1) {
                match self.inner.store.store_refreshed_tokens(write).await {
                    Ok(true) => {
                        stored = true;
                        break;
                    }
                    Ok(false) => {
                        tracing::info!(connection = %leased.id, "a newer token write won; using it");
                        let row = self.load(&leased.id).await?;
                        return self.after_sibling(&row);
                    }
                    Err(e) => {
                        tracing::warn!(connection = %leased.id, attempt, error = %e, "storing refreshed tokens failed");
                        tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
                    }
                }
            }
        }
        let Ok(write) = write.map_err(|e| e.to_string()) else {
            return self.unpersisted(leased, owner, now).await;
        };
        if !stored {
            return self.unpersisted(leased, owner, now).await;
        }
        if introspection_allowed(&target.integration)
            && !self.inner.lifetimes.is_learned(&target.key)
        {
            self.learn_lifetime(target, &tokens).await;
        }
        tracing::info!(connection = %leased.id, rotated = tokens.refresh_token.is_some(), "token refreshed");
        if leased.refresh_failure_count > 0
            || matches!(
                leased.health,
                Health::PendingRefresh | Health::NeedsAuth | Health::Degraded
            )
        {
            self.emit(RefreshEvent::Recovered {
                connection_id: leased.id.clone(),
            });
        }
        Ok(CurrentToken {
            access_token: tokens.access_token,
            instance_url: write.instance_url.or_else(|| leased.instance_url.clone()),
            token_version: leased.token_version + 1,
            expires_at_ms: Some(expires_at),
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one private call site; a struct would only rename the arguments"
    )]
    fn sealed_write(
        &self,
        leased: &ConnectionRow,
        tokens: &TokenSet,
        owner: &str,
        now: i64,
        expires_at: i64,
        lifetime: i64,
        instance_url: Option<String>,
    ) -> Result<RefreshedTokens, RefreshError> {
        let sealer = &self.inner.sealer;
        let (app, id) = (&leased.application_id, leased.id.as_str());
        let access_token = sealer.seal_connection_token(
            app,
            SealedColumn::ConnectionAccessToken,
            id,
            tokens.access_token.expose_secret(),
        )?;
        let refresh_token = tokens
            .refresh_token
            .as_ref()
            .map(|t| {
                sealer.seal_connection_token(
                    app,
                    SealedColumn::ConnectionRefreshToken,
                    id,
                    t.expose_secret(),
                )
            })
            .transpose()?;
        Ok(RefreshedTokens {
            connection_id: leased.id.clone(),
            expected_version: leased.token_version,
            access_token,
            refresh_token,
            issued_at: Some(now),
            expires_at: Some(expires_at),
            next_refresh_at: Some(next_refresh_at(
                &self.inner.cfg,
                now,
                expires_at,
                lifetime,
                random_u64(),
            )),
            instance_url,
            granted_scopes: tokens.scope.as_ref().map(|s| s.to_string()),
            lease_owner: Some(owner.to_owned()),
            now_ms: now,
        })
    }

    async fn unpersisted(
        &self,
        leased: &ConnectionRow,
        owner: &str,
        now: i64,
    ) -> Result<CurrentToken, RefreshError> {
        self.inner
            .burned
            .lock()
            .insert(leased.id.clone(), leased.token_version);
        tracing::error!(connection = %leased.id, "refreshed tokens could not be stored; the refresh token is burned");
        // Best effort: with the database down this fails too, and the in-process mark is what
        // keeps this node from replaying the token.
        let recorded = self
            .inner
            .store
            .record_refresh_failure(&RefreshFailure {
                connection_id: leased.id.clone(),
                expected_version: leased.token_version,
                health: Health::NeedsAuth,
                error_code: "refresh_unpersisted".to_owned(),
                next_refresh_at: None,
                credentials_expire_at: Some(now.saturating_add(self.inner.cfg.retention_ms)),
                lease_owner: Some(owner.to_owned()),
                now_ms: now,
            })
            .await;
        if matches!(recorded, Ok(true)) && leased.health != Health::NeedsAuth {
            self.emit(RefreshEvent::NeedsAuth {
                connection_id: leased.id.clone(),
                reason: "refresh_unpersisted".to_owned(),
            });
        }
        Err(RefreshError::Unpersisted)
    }

    async fn learn_lifetime(&self, target: &Target, tokens: &TokenSet) {
        let call = patchbay_oauth::introspect(
            &self.inner.http,
            &target.client,
            TokenRef::Access(&tokens.access_token),
        );
        match tokio::time::timeout(self.inner.cfg.introspect_timeout, call).await {
            Ok(Ok(i)) if i.active => {
                if let (Some(exp), Some(iat)) = (i.exp, i.iat) {
                    let lifetime = exp.saturating_sub(iat).saturating_mul(1000);
                    self.inner.lifetimes.learn(&target.key, lifetime);
                    tracing::info!(integration = %target.key, lifetime_ms = lifetime, "learned the access-token lifetime");
                }
            }
            Ok(Ok(_)) => {
                tracing::info!(integration = %target.key, "introspection says inactive; keeping the session timeout")
            }
            Ok(Err(e)) => {
                tracing::info!(integration = %target.key, class = ?e.class(), "introspection failed; keeping the session timeout")
            }
            Err(_) => tracing::info!(integration = %target.key, "introspection timed out"),
        }
    }
}
