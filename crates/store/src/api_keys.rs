//! API keys: stored as a hash (computed by the crypto crate), found by their public key id.

use patchbay_core::{ApiKeyId, ApplicationId};
use sqlx::any::AnyRow;

use crate::error::classify;
use crate::row::RowExt;
use crate::{Result, Store};

/// `last_used_at` is only rewritten when it is older than this, so a busy key does not turn
/// every request into a write.
pub const TOUCH_GRANULARITY_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub id: ApiKeyId,
    pub application_id: ApplicationId,
    /// Hash of the secret part, never the key itself.
    pub key_hash: Vec<u8>,
    /// Space-separated scopes, e.g. `vault crm proxy export`.
    pub scopes: String,
    pub name: String,
    pub now_ms: i64,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub application_id: ApplicationId,
    pub key_hash: Vec<u8>,
    pub scopes: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl std::fmt::Debug for ApiKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRow")
            .field("id", &self.id)
            .field("application_id", &self.application_id)
            .field("key_hash", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("name", &self.name)
            .field("created_at", &self.created_at)
            .field("last_used_at", &self.last_used_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

impl ApiKeyRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.id("id")?,
            application_id: row.id("application_id")?,
            key_hash: row.blob("key_hash")?,
            scopes: row.text("scopes")?,
            name: row.text("name")?,
            created_at: row.int("created_at")?,
            last_used_at: row.opt_int("last_used_at")?,
            revoked_at: row.opt_int("revoked_at")?,
        })
    }

    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.split(' ').any(|s| s == scope)
    }
}

const COLUMNS: &str =
    "id, application_id, key_hash, scopes, name, created_at, last_used_at, revoked_at";

impl Store {
    pub async fn create_api_key(&self, new: &NewApiKey) -> Result<ApiKeyRow> {
        let sql = format!(
            "INSERT INTO api_keys (id, application_id, key_hash, scopes, name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(new.id.as_str())
            .bind(new.application_id.as_str())
            .bind(new.key_hash.as_slice())
            .bind(new.scopes.as_str())
            .bind(new.name.as_str())
            .bind(new.now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, "api key", "application"))?;
        ApiKeyRow::from_row(&row)
    }

    /// Finds a key by its public id, revoked or not; the caller checks `revoked_at` and
    /// compares the hash in constant time.
    pub async fn find_api_key(&self, id: &ApiKeyId) -> Result<Option<ApiKeyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ApiKeyRow::from_row).transpose()
    }

    pub async fn list_api_keys(&self, app: &ApplicationId) -> Result<Vec<ApiKeyRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys WHERE application_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ApiKeyRow::from_row).collect()
    }

    /// Revokes a key of `app`. Returns false if it does not exist or was already revoked.
    pub async fn revoke_api_key(
        &self,
        app: &ApplicationId,
        id: &ApiKeyId,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $3 \
             WHERE id = $1 AND application_id = $2 AND revoked_at IS NULL",
        )
        .bind(id.as_str())
        .bind(app.as_str())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records use of a key, at most once per [`TOUCH_GRANULARITY_MS`].
    pub async fn touch_api_key(&self, id: &ApiKeyId, now_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id.as_str())
        .bind(now_ms)
        .bind(now_ms.saturating_sub(TOUCH_GRANULARITY_MS))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
