//! The public face: [`Refresher`], its fast path, and in-process single flight. The lease,
//! the token call and what its outcome means live in `attempt.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use patchbay_core::{Clock, ConnectionId, Health};
use patchbay_oauth::AccessToken;
use patchbay_store::{ConnectionRow, RefreshFailure, Store};

use crate::config::RefreshConfig;
use crate::error::RefreshError;
use crate::events::{EventSink, RefreshEvent};
use crate::expiry::Lifetimes;
use crate::gate::Gates;
use crate::seal::Sealer;
use crate::stats::{RefreshOutcome, RefreshStats};
use crate::store::TokenStore;

/// A usable access token and where to use it. Holds a secret: `Debug` shows no token.
#[derive(Debug, Clone)]
pub struct CurrentToken {
    pub access_token: AccessToken,
    pub instance_url: Option<String>,
    /// The row's `token_version` this token belongs to.
    pub token_version: i64,
    pub expires_at_ms: Option<i64>,
}

/// Why a refresh is being considered; it decides which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// A caller wants a token; refresh only if it is (nearly) expired.
    Stale,
    /// Vault `validate`: refresh whatever the expiry, rate-limited after failures.
    Force,
    /// The provider rejected the stored token (the connector read its answer as "token invalid").
    InvalidSession,
    /// The proactive sweeper, holding a lease it claimed.
    Sweep,
}

pub(crate) enum Verdict {
    Use,
    Refresh,
}

/// The coordinator. Cheap to clone; clones share caches, gates and single-flight state, so
/// make one per process (per simulated node in tests).
pub struct Refresher<S: TokenStore = Store> {
    pub(crate) inner: Arc<Inner<S>>,
}

impl<S: TokenStore> Clone for Refresher<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<S> {
    pub(crate) store: S,
    pub(crate) sealer: Sealer,
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cfg: RefreshConfig,
    /// One async mutex per connection being refreshed in this process: callers queue on it
    /// and re-read the row when they get it, so only the first one calls the provider.
    flights: Mutex<HashMap<ConnectionId, Weak<tokio::sync::Mutex<()>>>>,
    pub(crate) gates: Gates,
    pub(crate) lifetimes: Lifetimes,
    /// Connections whose refreshed tokens could not be stored, with the `token_version` whose
    /// refresh token was already redeemed: it is never presented again (docs/security.md F4).
    pub(crate) burned: Mutex<HashMap<ConnectionId, i64>>,
    events: std::sync::OnceLock<EventSink>,
    pub(crate) stats: RefreshStats,
}

impl<S: TokenStore> Refresher<S> {
    /// `http` should come from [`patchbay_oauth::http_client`], with a total timeout below
    /// half of `cfg.lease_ttl_ms` (one retry may follow an unknown outcome).
    pub fn new(
        store: S,
        sealer: Sealer,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        cfg: RefreshConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                sealer,
                http,
                clock,
                cfg,
                flights: Mutex::new(HashMap::new()),
                gates: Gates::default(),
                lifetimes: Lifetimes::default(),
                burned: Mutex::new(HashMap::new()),
                events: std::sync::OnceLock::new(),
                stats: RefreshStats::default(),
            }),
        }
    }

    /// Sets where lifecycle events go (once; later calls return false).
    pub fn set_event_sink(&self, sink: EventSink) -> bool {
        self.inner.events.set(sink).is_ok()
    }

    pub(crate) fn emit(&self, event: RefreshEvent) {
        if let Some(sink) = self.inner.events.get() {
            sink(event);
        }
    }

    /// Refreshes by outcome and lease waits since start, for `/metrics`.
    pub fn stats(&self) -> &RefreshStats {
        &self.inner.stats
    }

    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The seal path every sealed column goes through (the Vault's service layer uses it too).
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    pub fn config(&self) -> &RefreshConfig {
        &self.inner.cfg
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// A token that is valid now. Fast path: one row read and a decrypt. Otherwise one refresh,
    /// shared with every concurrent caller in this process and serialised across nodes.
    /// While a failed refresh backs off, an unexpired token is still returned.
    pub async fn access_token_for(&self, id: &ConnectionId) -> Result<CurrentToken, RefreshError> {
        let row = self.load(id).await?;
        match self.assess(&row, self.now(), Trigger::Stale)? {
            Verdict::Use => self.current(&row),
            Verdict::Refresh => self.single_flight(id, Trigger::Stale, &row, None).await,
        }
    }

    /// Refreshes now, whatever the expiry (Vault `validate`). Refused for
    /// `force_min_interval_ms` after a failed refresh.
    pub async fn force_refresh(&self, id: &ConnectionId) -> Result<CurrentToken, RefreshError> {
        let row = self.load(id).await?;
        self.single_flight(id, Trigger::Force, &row, None).await
    }

    /// The provider said `token_used` is invalid (the connector's `token_invalid`). Refreshes
    /// once, and only if the stored token is still that one; the caller then retries its request once.
    pub async fn on_invalid_session(
        &self,
        id: &ConnectionId,
        token_used: &AccessToken,
    ) -> Result<CurrentToken, RefreshError> {
        let row = self.load(id).await?;
        self.single_flight(id, Trigger::InvalidSession, &row, Some(token_used))
            .await
    }

    pub(crate) async fn load(&self, id: &ConnectionId) -> Result<ConnectionRow, RefreshError> {
        self.inner
            .store
            .get_connection(id)
            .await?
            .ok_or(RefreshError::ConnectionNotFound)
    }

    pub(crate) fn current(&self, row: &ConnectionRow) -> Result<CurrentToken, RefreshError> {
        let access_token = self
            .inner
            .sealer
            .open_access(row)?
            .ok_or(RefreshError::NoCredentials)?;
        Ok(CurrentToken {
            access_token,
            instance_url: row.instance_url.clone(),
            token_version: row.token_version,
            expires_at_ms: row.token_expires_at,
        })
    }

    /// Decides from the row alone (and this process's integration gate) whether to use the
    /// stored token, refresh it, or answer an error without calling anyone.
    pub(crate) fn assess(
        &self,
        row: &ConnectionRow,
        now: i64,
        trigger: Trigger,
    ) -> Result<Verdict, RefreshError> {
        let cfg = &self.inner.cfg;
        if !row.enabled {
            return Err(RefreshError::Disabled);
        }
        let has_access = row.access_token_sealed.is_some();
        let unexpired = has_access && row.token_expires_at.is_some_and(|e| e > now);
        let fresh = has_access
            && row
                .token_expires_at
                .is_some_and(|e| e > now.saturating_add(cfg.on_demand_margin_ms));
        // Only a caller that may still use the old token gets it while refreshing is held back.
        let may_use_old = trigger == Trigger::Stale && unexpired;
        let dead = matches!(row.health, Health::NeedsAuth | Health::Revoked);
        let burned = row.last_refresh_error.as_deref() == Some("refresh_unpersisted");
        if dead && (trigger != Trigger::Force || burned) {
            return Err(needs_auth(row));
        }
        if trigger == Trigger::Stale && fresh {
            return Ok(Verdict::Use);
        }
        if row.refresh_token_sealed.is_none() {
            return if may_use_old {
                Ok(Verdict::Use)
            } else if dead {
                Err(needs_auth(row))
            } else {
                Err(RefreshError::NoCredentials)
            };
        }
        if let Err(e) = self.inner.gates.check(&gate_key(row), now) {
            return if may_use_old {
                Ok(Verdict::Use)
            } else {
                Err(e)
            };
        }
        let backing_off =
            row.health == Health::PendingRefresh && row.next_refresh_at.is_some_and(|n| n > now);
        if backing_off && matches!(trigger, Trigger::Stale | Trigger::InvalidSession) {
            return if may_use_old {
                Ok(Verdict::Use)
            } else {
                Err(RefreshError::CoolingDown {
                    last_error: row
                        .last_refresh_error
                        .clone()
                        .unwrap_or_else(|| "refresh_failed".to_owned()),
                    cooldown_remaining_ms: row.next_refresh_at.unwrap_or(now) - now,
                })
            };
        }
        if trigger == Trigger::Force
            && let Some(failed_at) = row.last_refresh_failed_at
            && row.last_refresh_error.is_some()
        {
            let ready_at = failed_at.saturating_add(cfg.force_min_interval_ms);
            if ready_at > now {
                return Err(RefreshError::CoolingDown {
                    last_error: row.last_refresh_error.clone().unwrap_or_default(),
                    cooldown_remaining_ms: ready_at - now,
                });
            }
        }
        Ok(Verdict::Refresh)
    }

    /// Takes this connection's in-process slot, then re-reads: whoever held the slot before us
    /// may have refreshed already.
    async fn single_flight(
        &self,
        id: &ConnectionId,
        trigger: Trigger,
        seen: &ConnectionRow,
        token_used: Option<&AccessToken>,
    ) -> Result<CurrentToken, RefreshError> {
        let slot = self.flight(id);
        let _turn = slot.lock().await;
        let row = self.load(id).await?;
        if row.token_version != seen.token_version {
            self.inner.stats.count(RefreshOutcome::Coalesced);
            return self.after_sibling(&row);
        }
        if let Some(used) = token_used
            && self.inner.sealer.open_access(&row)?.as_ref() != Some(used)
        {
            return self.current(&row);
        }
        match self.assess(&row, self.now(), trigger)? {
            Verdict::Use => self.current(&row),
            Verdict::Refresh => self.refresh_with_lease(&row, trigger).await,
        }
    }

    /// The row changed under us (a sibling refreshed, or recorded a verdict): use what it says.
    pub(crate) fn after_sibling(&self, row: &ConnectionRow) -> Result<CurrentToken, RefreshError> {
        if matches!(row.health, Health::NeedsAuth | Health::Revoked) {
            return Err(needs_auth(row));
        }
        if !row.enabled {
            return Err(RefreshError::Disabled);
        }
        self.current(row)
    }

    fn flight(&self, id: &ConnectionId) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.inner.flights.lock();
        if let Some(slot) = flights.get(id).and_then(Weak::upgrade) {
            return slot;
        }
        if flights.len() > 1024 {
            flights.retain(|_, w| w.strong_count() > 0);
        }
        let slot = Arc::new(tokio::sync::Mutex::new(()));
        flights.insert(id.clone(), Arc::downgrade(&slot));
        slot
    }

    /// The sweeper's entry: `row` was claimed under `owner`'s lease. Skips (releasing the
    /// lease) when an on-demand refresh of the same connection is running in this process.
    pub(crate) async fn refresh_claimed(
        &self,
        row: &ConnectionRow,
        owner: &str,
    ) -> Result<Option<CurrentToken>, RefreshError> {
        let slot = self.flight(&row.id);
        let Ok(_turn) = slot.try_lock() else {
            self.release(&row.id, owner).await;
            return Ok(None);
        };
        let fresh = self.load(&row.id).await?;
        if fresh.lease_owner.as_deref() != Some(owner) {
            return Ok(None);
        }
        let now = self.now();
        if fresh.next_refresh_at.is_some_and(|n| n > now) {
            self.release(&row.id, owner).await;
            return Ok(None);
        }
        if let Err(e) = self.inner.gates.check(&gate_key(&fresh), now) {
            self.park(&fresh, owner, &e).await?;
            self.release(&row.id, owner).await;
            return Err(e);
        }
        self.refresh_leased(&fresh, owner, Trigger::Sweep)
            .await
            .map(Some)
    }

    /// The integration is paused: move the row past the pause, or every sweep would claim it
    /// again and a broken integration could crowd out healthy ones. Health is left alone.
    pub(crate) async fn park(
        &self,
        row: &ConnectionRow,
        owner: &str,
        why: &RefreshError,
    ) -> Result<(), RefreshError> {
        let now = self.now();
        let wait = why
            .retry_after_ms()
            .unwrap_or(self.inner.cfg.default_retry_after_ms);
        let code = why
            .detail()
            .map_or_else(|| "paused".to_owned(), |d| d.debug.code);
        self.inner
            .store
            .record_refresh_failure(&RefreshFailure {
                connection_id: row.id.clone(),
                expected_version: row.token_version,
                health: row.health,
                error_code: code,
                next_refresh_at: Some(now.saturating_add(wait)),
                credentials_expire_at: None,
                lease_owner: Some(owner.to_owned()),
                now_ms: now,
            })
            .await?;
        Ok(())
    }

    pub(crate) async fn release(&self, id: &ConnectionId, owner: &str) {
        if let Err(e) = self.inner.store.release_refresh_lease(id, owner).await {
            tracing::warn!(connection = %id, error = %e, "could not release a refresh lease; it expires by TTL");
        }
    }
}

/// The integration a connection belongs to, as a gate and lifetime key.
pub(crate) fn gate_key(row: &ConnectionRow) -> String {
    format!(
        "{}/{}/{}",
        row.application_id, row.unified_api, row.service_id
    )
}

pub(crate) fn needs_auth(row: &ConnectionRow) -> RefreshError {
    RefreshError::NeedsAuth {
        reason: row
            .last_refresh_error
            .clone()
            .unwrap_or_else(|| row.health.as_str().to_owned()),
        credentials_expire_at_ms: row.credentials_expire_at,
        provider: None,
    }
}
