//! Fresh access tokens for the layers that call a provider (CRM and proxy).
//!
//! The [`Vault`] owns one [`patchbay_refresh::Refresher`] per process; every token handed out
//! here comes from it, so concurrent callers share one refresh and nodes sharing a database
//! are serialised by its lease. The fast path (a token that is not due) is store reads and a
//! decrypt: no network call, no database write, no lock.
//!
//! Hotter still, a resolved token is cached in memory for [`CACHE_TTL`] (keyed by application,
//! consumer, unified API and service) while it is not due: a hit costs one uncontended read
//! of an in-memory map and a reference count, with the `Authorization` header value prepared
//! once per token instead of formatted per call. Local changes to connections and integrations clear
//! the cache; another node's changes (disable, delete, re-authorize) are seen within the TTL.
//! A cached token the provider rejects goes through [`Vault::token_after_invalid_session`],
//! which drops the entry.
//!
//! Where the token may be sent is decided here too: the connection's connector (from the
//! registry, by `service_id`) derives the API origin from the login host and the stored
//! `instance_url` on every call (`Connector::api_base`), so a row edited behind Patchbay's back
//! cannot point a token at another origin.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use patchbay_connectors::connector::Connector;
use patchbay_connectors::registry;
use patchbay_core::{ApplicationId, ConsumerId, ServiceId, UnifiedApi};
use patchbay_oauth::AccessToken;
use patchbay_refresh::CurrentToken;
use patchbay_store::{ConnectionRow, IntegrationRow};

use super::Vault;
use crate::error::{Error, Result};

/// A callable connection's fresh access token, for the CRM and proxy layers.
///
/// Holds a secret: `Debug` shows no token ([`AccessToken`] redacts itself, the header value is
/// marked sensitive, and [`ConnectionRow`] only holds sealed bytes). Handed out as an `Arc`: a
/// cache hit shares the resolved token instead of copying its row.
#[derive(Debug, Clone)]
pub struct ConnectionToken {
    /// The connection's row as read for this call (its sealed columns are useless without the
    /// keyring). After a refresh the row's token columns are older than `access_token`.
    pub row: ConnectionRow,
    /// The access token, as `patchbay_oauth::AccessToken` (a redacting, zeroizing secret;
    /// `expose_secret()` gives the string for the `Authorization: Bearer` header).
    pub access_token: AccessToken,
    /// The connection's validated API origin (the connector's `api_base`: a per-connection
    /// instance, a provider's fixed API host, or an emulator's origin), without trailing slash.
    pub instance_url: String,
    /// `instance_url` parsed once, so a call does not parse (and IDNA-map) it again.
    pub instance: url::Url,
    /// `Bearer {access_token}`, marked sensitive; `None` when the token has bytes a header
    /// value cannot carry (the proxy then refuses to send it).
    pub authorization: Option<HeaderValue>,
    /// The row's `token_version` this token belongs to.
    pub token_version: i64,
    /// The connector serving the connection's `service_id`.
    pub connector: &'static dyn Connector,
    /// When the access token expires (unix ms), as far as Patchbay knows.
    pub expires_at_ms: Option<i64>,
}

/// How long a resolved token is served from memory before the store is asked again; bounds
/// how late another node's change to the connection is noticed.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// A cached token this close to expiry is resolved again (the coordinator refreshes it).
const CACHE_MARGIN_MS: i64 = 60_000;
const CACHE_MAX_ENTRIES: usize = 10_000;

/// One cached token and the key it was cached under.
struct Cached {
    app: ApplicationId,
    consumer: ConsumerId,
    unified_api: UnifiedApi,
    service: Option<ServiceId>,
    at: Instant,
    token: Arc<ConnectionToken>,
}

impl Cached {
    fn is(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service: Option<&ServiceId>,
    ) -> bool {
        &self.app == app
            && &self.consumer == consumer
            && &self.unified_api == unified_api
            && self.service.as_ref() == service
    }
}

/// Resolved tokens by (application, consumer, unified API, service). The map is keyed by a
/// keyed hash of the four borrowed ids, so a lookup builds no owned key (four `String`s per
/// call before); entries whose hashes collide share a bucket and are told apart by their ids.
#[derive(Default)]
pub(crate) struct TokenCache {
    hasher: RandomState,
    entries: RwLock<HashMap<u64, Vec<Cached>>>,
}

impl TokenCache {
    fn hash(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service: Option<&ServiceId>,
    ) -> u64 {
        self.hasher.hash_one((
            app.as_str(),
            consumer.as_str(),
            unified_api.as_str(),
            service.map(ServiceId::as_str),
        ))
    }

    fn get(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service: Option<&ServiceId>,
        now_ms: i64,
    ) -> Option<Arc<ConnectionToken>> {
        let hash = self.hash(app, consumer, unified_api, service);
        let entries = self.entries.read().ok()?;
        let hit = entries
            .get(&hash)?
            .iter()
            .find(|c| c.is(app, consumer, unified_api, service))?;
        let fresh = hit.at.elapsed() < CACHE_TTL
            && hit
                .token
                .expires_at_ms
                .is_some_and(|e| e > now_ms.saturating_add(CACHE_MARGIN_MS));
        fresh.then(|| Arc::clone(&hit.token))
    }

    fn put(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service: Option<&ServiceId>,
        token: &Arc<ConnectionToken>,
    ) {
        let hash = self.hash(app, consumer, unified_api, service);
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= CACHE_MAX_ENTRIES {
                entries.clear();
            }
            let bucket = entries.entry(hash).or_default();
            bucket.retain(|c| !c.is(app, consumer, unified_api, service));
            bucket.push(Cached {
                app: app.clone(),
                consumer: consumer.clone(),
                unified_api: unified_api.clone(),
                service: service.cloned(),
                at: Instant::now(),
                token: Arc::clone(token),
            });
        }
    }

    pub(crate) fn forget_connection(&self, id: &patchbay_core::ConnectionId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|_, bucket| {
                bucket.retain(|c| &c.token.row.id != id);
                !bucket.is_empty()
            });
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }
}

impl Vault {
    /// Resolves the consumer's connection (service `None` = the consumer's single enabled
    /// connection for that unified API, else an error naming `x-apideck-service-id`) and
    /// returns a fresh token; refreshes single-flight when due.
    ///
    /// A connection that is not callable answers `ConnectorCredentialsError`; a failed or
    /// cooling-down refresh answers 401 with the spec's `refresh_token_connector_error` detail.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer, unified_api = %unified_api, service = ?service))]
    pub async fn connection_token(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service: Option<&ServiceId>,
    ) -> Result<Arc<ConnectionToken>> {
        if let Some(hit) =
            self.token_cache()
                .get(app, consumer, unified_api, service, self.now_ms())
        {
            return Ok(hit);
        }
        let row = self
            .resolve_connection(app, consumer, unified_api, service)
            .await?;
        let integration = self.callable_integration(&row).await?;
        if !row.enabled {
            return Err(not_callable("the connection is disabled; enable it first"));
        }
        let current = self.refresher().access_token_for(&row.id).await?;
        let token = Arc::new(finish(row, &integration, current)?);
        self.token_cache()
            .put(app, consumer, unified_api, service, &token);
        Ok(token)
    }

    /// Drops every cached token of this process: called after local changes to connections
    /// and integrations, so this node never serves a token the change made stale.
    pub fn forget_cached_tokens(&self) {
        self.token_cache().clear();
    }

    /// After a downstream `401 INVALID_SESSION_ID`: exactly one refresh shared by concurrent
    /// callers (only if the stored token is still the one that failed), returns the new token.
    #[tracing::instrument(skip_all)]
    pub async fn token_after_invalid_session(
        &self,
        token: &ConnectionToken,
    ) -> Result<Arc<ConnectionToken>> {
        self.token_cache().forget_connection(&token.row.id);
        let current = self
            .refresher()
            .on_invalid_session(&token.row.id, &token.access_token)
            .await?;
        let integration = self.callable_integration(&token.row).await?;
        finish(token.row.clone(), &integration, current).map(Arc::new)
    }

    /// The service of the connection a call without `x-apideck-service-id` would use, when
    /// there is exactly one: from the token cache, else one store read. No provider call, no
    /// refresh; `None` when the lookup fails (the caller's later token lookup says why).
    pub(crate) async fn connection_service(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
    ) -> Option<ServiceId> {
        if let Some(hit) = self
            .token_cache()
            .get(app, consumer, unified_api, None, self.now_ms())
        {
            return Some(hit.row.service_id.clone());
        }
        self.resolve_connection(app, consumer, unified_api, None)
            .await
            .ok()
            .map(|row| row.service_id)
    }

    async fn resolve_connection(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service: Option<&ServiceId>,
    ) -> Result<ConnectionRow> {
        if let Some(service) = service
            && let Some(row) = self
                .store()
                .find_connection(app, consumer, unified_api, service)
                .await?
        {
            return Ok(row);
        }
        // Only this application's rows for this consumer: the error may name them.
        let rows: Vec<ConnectionRow> = self
            .store()
            .list_connections(app, Some(consumer))
            .await?
            .into_iter()
            .filter(|r| &r.unified_api == unified_api)
            .collect();
        let choice = choose_connection(consumer, unified_api, service, &rows)?;
        rows.into_iter()
            .nth(choice)
            .ok_or(Error::ConnectionNotFound)
    }

    async fn callable_integration(&self, row: &ConnectionRow) -> Result<IntegrationRow> {
        let integration = self
            .store()
            .get_integration(&row.application_id, &row.unified_api, &row.service_id)
            .await?
            .ok_or(Error::IntegrationNotFound)?;
        if !integration.enabled {
            return Err(Error::ConnectorDisabled);
        }
        Ok(integration)
    }
}

fn not_callable(message: &str) -> Error {
    Error::ConnectorCredentials {
        message: message.to_owned(),
        detail: None,
    }
}

/// Checks where the token may go and assembles the answer.
fn finish(
    row: ConnectionRow,
    integration: &IntegrationRow,
    current: CurrentToken,
) -> Result<ConnectionToken> {
    let login_url = row
        .login_url_override
        .as_deref()
        .unwrap_or(&integration.login_url);
    let connector = registry::connector(row.service_id.as_str())
        .ok_or_else(|| not_callable("no connector serves this connection's service"))?;
    let raw = current
        .instance_url
        .as_deref()
        .or(row.instance_url.as_deref());
    let instance_url = connector.api_base(login_url, raw).map_err(|e| {
        tracing::warn!(connection = %row.id, error = %e, "the connection's API origin fails its connector's rules; refusing to send a token there");
        not_callable("the connection's instance_url is not trusted for its login host; reconnect it")
    })?;
    let instance = url::Url::parse(&instance_url).map_err(Error::internal)?;
    let authorization =
        HeaderValue::try_from(format!("Bearer {}", current.access_token.expose_secret()))
            .ok()
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
    Ok(ConnectionToken {
        instance,
        authorization,
        expires_at_ms: current.expires_at_ms,
        token_version: current.token_version,
        access_token: current.access_token,
        instance_url,
        connector,
        row,
    })
}

/// Which of the consumer's `rows` (all of one unified API, one application) a call without a
/// matching connection could use, or the error that says what the consumer has instead.
/// `service` is `x-apideck-service-id`; when it is given, no row matched it.
fn choose_connection(
    consumer: &ConsumerId,
    unified_api: &UnifiedApi,
    service: Option<&ServiceId>,
    rows: &[ConnectionRow],
) -> Result<usize> {
    let list = |enabled: bool| {
        let names: Vec<&str> = rows
            .iter()
            .filter(|r| r.enabled == enabled)
            .map(|r| r.service_id.as_str())
            .collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    };
    if let Some(service) = service {
        let mut text = format!(
            "consumer {consumer} has no {unified_api} connection to `{service}`; connected: {}",
            list(true)
        );
        if rows.iter().any(|r| !r.enabled) {
            text.push_str(&format!(" (disabled: {})", list(false)));
        }
        text.push_str(if rows.is_empty() {
            ". Connect it through the hosted connect page (POST /vault/sessions)."
        } else {
            ". Send one of those in x-apideck-service-id, or connect this one through the hosted connect page (POST /vault/sessions)."
        });
        return Err(Error::NoSuchConnection(text));
    }
    let enabled: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].enabled).collect();
    match enabled.as_slice() {
        [one] => Ok(*one),
        [] if rows.is_empty() => Err(Error::NoSuchConnection(format!(
            "consumer {consumer} has no {unified_api} connection; connect one through the hosted connect page (POST /vault/sessions)."
        ))),
        [] => Err(Error::NoSuchConnection(format!(
            "consumer {consumer} has no enabled {unified_api} connection (disabled: {}); enable one first.",
            list(false)
        ))),
        many => Err(Error::validation(format!(
            "the consumer has {} enabled {unified_api} connections ({}); name one with the x-apideck-service-id header",
            many.len(),
            list(true)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use patchbay_refresh::RefreshError;

    use super::*;

    #[test]
    fn refresh_failures_carry_the_structured_detail() {
        let e: Error = RefreshError::CoolingDown {
            last_error: "server_error".to_owned(),
            cooldown_remaining_ms: 1500,
        }
        .into();
        let v = e.envelope();
        assert_eq!(v["status_code"], 401);
        assert_eq!(v["detail"]["type"], "refresh_token_connector_error");
        assert_eq!(v["detail"]["debug"]["cooldown_remaining_ms"], 1500);
        let e: Error = RefreshError::RateLimited {
            retry_after_ms: 2000,
        }
        .into();
        assert_eq!(e.envelope()["detail"]["debug"]["retry_after_ms"], 2000);
    }

    #[test]
    fn dead_grants_are_connector_credentials_errors() {
        let e: Error = RefreshError::NeedsAuth {
            reason: "invalid_grant".to_owned(),
            credentials_expire_at_ms: Some(42),
            provider: None,
        }
        .into();
        let v = e.envelope();
        assert_eq!(v["type_name"], "ConnectorCredentialsError");
        assert_eq!(v["status_code"], 401);
        assert_eq!(v["detail"]["debug"]["credentials_expire_at_ms"], 42);
        let e: Error = RefreshError::Disabled.into();
        assert_eq!(e.envelope()["type_name"], "ConnectorCredentialsError");
        let e: Error = RefreshError::ConnectionNotFound.into();
        assert_eq!(e.envelope()["type_name"], "ConnectionNotFoundError");
    }
}
