//! API keys: create (with scopes, shown once), list, revoke, and authenticate a presented key.
//!
//! Keys have the crypto crate's `pbk_` format, are stored as `HMAC(pepper, key)`, are found by
//! their public id and compared in constant time. Every failure is the same
//! [`Error::Unauthorized`], and an unknown id costs the same comparison as a wrong secret.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use patchbay_core::{ApiKeyId, ApplicationId};
use patchbay_crypto::{ApiKey, ApiKeyHash};
use patchbay_store::{ApiKeyRow, NewApiKey};

use super::Vault;
use crate::error::{Error, Result};

/// Key rows found by id, kept for [`KEY_CACHE_TTL`] so the hot path does not read the database
/// for every call. The presented secret is still checked against the cached hash every time;
/// a local revocation clears the cache, another node's is seen within the TTL.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct KeyCache {
    rows: RwLock<HashMap<ApiKeyId, (Instant, ApiKeyRow)>>,
}

impl KeyCache {
    fn get(&self, id: &ApiKeyId) -> Option<ApiKeyRow> {
        let rows = self.rows.read().ok()?;
        let (at, row) = rows.get(id)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| row.clone())
    }

    fn put(&self, row: &ApiKeyRow) {
        if let Ok(mut rows) = self.rows.write() {
            if rows.len() >= 10_000 {
                rows.clear();
            }
            rows.insert(row.id.clone(), (Instant::now(), row.clone()));
        }
    }

    /// Records a use on a cached row without extending its life.
    fn update_last_used(&self, id: &ApiKeyId, at: i64) {
        if let Ok(mut rows) = self.rows.write()
            && let Some((_, row)) = rows.get_mut(id)
        {
            row.last_used_at = Some(at);
        }
    }

    fn clear(&self) {
        if let Ok(mut rows) = self.rows.write() {
            rows.clear();
        }
    }
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The Vault API (consumers, sessions, connections, logs).
    Vault,
    /// The unified CRM API.
    Crm,
    /// The proxy API.
    Proxy,
    /// Reading a connection's plaintext credentials (audited). Never a default.
    Export,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Vault, Scope::Crm, Scope::Proxy, Scope::Export];
    pub const DEFAULT: &'static [Scope] = &[Scope::Vault, Scope::Crm, Scope::Proxy];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Vault => "vault",
            Scope::Crm => "crm",
            Scope::Proxy => "proxy",
            Scope::Export => "export",
        }
    }

    pub fn parse(s: &str) -> Result<Scope> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                Error::validation(format!(
                    "unknown scope (known: vault, crm, proxy, export): {}",
                    s.escape_debug()
                ))
            })
    }
}

/// A freshly created key: the row plus the plaintext, which is never stored or shown again.
pub struct CreatedApiKey {
    pub row: ApiKeyRow,
    pub key: ApiKey,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

/// The caller behind a valid API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyPrincipal {
    pub application_id: ApplicationId,
    pub key_id: ApiKeyId,
    pub scopes: Vec<String>,
}

impl ApiKeyPrincipal {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|s| s == scope.as_str())
    }
}

impl Vault {
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn create_api_key(
        &self,
        app: &ApplicationId,
        name: &str,
        scopes: &[Scope],
    ) -> Result<CreatedApiKey> {
        if scopes.is_empty() {
            return Err(Error::validation("an API key needs at least one scope"));
        }
        self.get_application(app).await?;
        let (key, record) = ApiKey::generate(self.pepper()).map_err(Error::internal)?;
        let id = ApiKeyId::parse(record.id.as_str()).map_err(Error::internal)?;
        let mut names: Vec<&str> = Vec::new();
        for s in scopes {
            if !names.contains(&s.as_str()) {
                names.push(s.as_str());
            }
        }
        let new = NewApiKey {
            id,
            application_id: app.clone(),
            key_hash: record.hash.as_bytes().to_vec(),
            scopes: names.join(" "),
            name: name.trim().to_owned(),
            now_ms: self.now_ms(),
        };
        let row = self.store().create_api_key(&new).await?;
        self.audit_admin(
            app,
            "api_key.create",
            row.id.as_str(),
            serde_json::json!({ "scopes": row.scopes }),
        )
        .await?;
        Ok(CreatedApiKey { row, key })
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn list_api_keys(&self, app: &ApplicationId) -> Result<Vec<ApiKeyRow>> {
        self.get_application(app).await?;
        Ok(self.store().list_api_keys(app).await?)
    }

    #[tracing::instrument(skip_all, fields(app = %app, key = %key))]
    pub async fn revoke_api_key(&self, app: &ApplicationId, key: &ApiKeyId) -> Result<()> {
        let revoked = self.store().revoke_api_key(app, key, self.now_ms()).await?;
        self.key_cache().clear();
        if !revoked {
            return Err(Error::NotFound { entity: "api key" });
        }
        self.audit_admin(app, "api_key.revoke", key.as_str(), serde_json::json!({}))
            .await?;
        Ok(())
    }

    /// Checks `presented` for the application named in `x-apideck-app-id`.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate_api_key(
        &self,
        app_header: &str,
        presented: &str,
    ) -> Result<ApiKeyPrincipal> {
        // Format and checksum first: typos and junk never reach the database.
        let key = ApiKey::parse(presented).map_err(|_| Error::Unauthorized)?;
        let id = ApiKeyId::parse(key.id().as_str()).map_err(|_| Error::Unauthorized)?;
        // Only a row read from the store is (re)cached: re-stamping a cache hit would keep a
        // busy key's row in memory forever, and another node's revocation would never be seen.
        let (row, from_store) = match self.key_cache().get(&id) {
            Some(row) => (Some(row), false),
            None => (self.store().find_api_key(&id).await?, true),
        };
        let stored = row
            .as_ref()
            .and_then(|r| ApiKeyHash::from_slice(&r.key_hash).ok())
            .unwrap_or_else(ApiKeyHash::dummy);
        let matches = key.verify(&stored, self.pepper());
        let Some(row) = row.filter(|_| matches) else {
            return Err(Error::Unauthorized);
        };
        if row.is_revoked() || row.application_id.as_str() != app_header {
            return Err(Error::Unauthorized);
        }
        // Only when the recorded use is stale, and never on the request path: the write goes
        // to a background task. On SQLite an UPDATE waits for the write lock (the request-log
        // writer may hold it), and SQLite's busy handler sleeps in steps of up to 25 ms, which
        // showed as a 40 ms stall at p99 in the benchmark.
        let now = self.now_ms();
        let stale = row
            .last_used_at
            .is_none_or(|t| t < now.saturating_sub(patchbay_store::TOUCH_GRANULARITY_MS));
        let mut row = row;
        if stale {
            row.last_used_at = Some(now);
            let (store, id) = (self.store().clone(), row.id.clone());
            tokio::spawn(async move {
                if let Err(e) = store.touch_api_key(&id, now).await {
                    tracing::warn!(error = %crate::error::chain(&e), "could not record API key use");
                }
            });
        }
        if from_store {
            self.key_cache().put(&row);
        } else if stale {
            self.key_cache().update_last_used(&row.id, now);
        }
        Ok(ApiKeyPrincipal {
            application_id: row.application_id,
            key_id: row.id,
            scopes: row
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}
