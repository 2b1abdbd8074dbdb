//! Connections: one consumer × one integration, with sealed tokens and refresh bookkeeping.
//! The refresh compare-and-set primitives live in `refresh.rs`.

use patchbay_core::{
    ApplicationId, ConnectionFacts, ConnectionId, ConsumerId, Health, ServiceId, UnifiedApi,
};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::error::classify;
use crate::row::{RowExt, flag};
use crate::sealed::Sealed;
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct NewConnection {
    pub id: ConnectionId,
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    pub enabled: bool,
    pub health: Health,
    pub login_url_override: Option<String>,
    pub settings_json: String,
    pub metadata_json: String,
    pub now_ms: i64,
}

/// Fields `PATCH …/connections/{unified_api}/{service_id}` may change; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionPatch {
    pub enabled: Option<bool>,
    pub settings_json: Option<String>,
    pub metadata_json: Option<String>,
}

/// A fresh grant (callback, import): replaces both tokens unconditionally, bumps
/// `token_version`, and clears failure bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenWrite {
    pub access_token: Sealed,
    pub refresh_token: Option<Sealed>,
    pub instance_url: Option<String>,
    pub granted_scopes: Option<String>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub next_refresh_at: Option<i64>,
    pub health: Health,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRow {
    pub id: ConnectionId,
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    pub enabled: bool,
    pub health: Health,
    pub access_token_sealed: Option<Sealed>,
    pub refresh_token_sealed: Option<Sealed>,
    /// Incremented by every token write. Refresh writes are guarded by it, so a late writer
    /// can never overwrite newer tokens.
    pub token_version: i64,
    pub instance_url: Option<String>,
    pub login_url_override: Option<String>,
    pub granted_scopes: Option<String>,
    pub token_issued_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub credentials_expire_at: Option<i64>,
    pub last_refresh_at: Option<i64>,
    pub last_refresh_failed_at: Option<i64>,
    /// Classification of the last failure (e.g. `invalid_grant`), never provider text.
    pub last_refresh_error: Option<String>,
    pub refresh_failure_count: i64,
    pub next_refresh_at: Option<i64>,
    pub last_downstream_error_at: Option<i64>,
    /// Who holds the refresh lease, and until when. Only one owner at a time may call the
    /// token endpoint for this connection (docs/security.md §3.2).
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub settings_json: String,
    pub metadata_json: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ConnectionRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.id("id")?,
            application_id: row.id("application_id")?,
            consumer_id: row.id("consumer_id")?,
            unified_api: row.id("unified_api")?,
            service_id: row.id("service_id")?,
            enabled: row.flag("enabled")?,
            health: row.health("health")?,
            access_token_sealed: row.sealed("access_token_sealed")?,
            refresh_token_sealed: row.sealed("refresh_token_sealed")?,
            token_version: row.int("token_version")?,
            instance_url: row.opt_text("instance_url")?,
            login_url_override: row.opt_text("login_url_override")?,
            granted_scopes: row.opt_text("granted_scopes")?,
            token_issued_at: row.opt_int("token_issued_at")?,
            token_expires_at: row.opt_int("token_expires_at")?,
            credentials_expire_at: row.opt_int("credentials_expire_at")?,
            last_refresh_at: row.opt_int("last_refresh_at")?,
            last_refresh_failed_at: row.opt_int("last_refresh_failed_at")?,
            last_refresh_error: row.opt_text("last_refresh_error")?,
            refresh_failure_count: row.int("refresh_failure_count")?,
            next_refresh_at: row.opt_int("next_refresh_at")?,
            last_downstream_error_at: row.opt_int("last_downstream_error_at")?,
            lease_owner: row.opt_text("lease_owner")?,
            lease_until: row.opt_int("lease_until")?,
            settings_json: row.text("settings")?,
            metadata_json: row.text("metadata")?,
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
        })
    }

    pub fn has_tokens(&self) -> bool {
        self.access_token_sealed.is_some() || self.refresh_token_sealed.is_some()
    }

    /// The facts [`patchbay_core::compute_state`] needs; required settings are the
    /// connector's business, so the caller supplies that one.
    pub fn facts(&self, required_settings_present: bool) -> ConnectionFacts {
        ConnectionFacts {
            enabled: self.enabled,
            has_tokens: self.has_tokens(),
            required_settings_present,
            health: self.health,
        }
    }
}

pub(crate) const COLUMNS: &str = "id, application_id, consumer_id, unified_api, service_id, \
    enabled, health, access_token_sealed, refresh_token_sealed, token_version, instance_url, \
    login_url_override, granted_scopes, token_issued_at, token_expires_at, credentials_expire_at, \
    last_refresh_at, last_refresh_failed_at, last_refresh_error, refresh_failure_count, \
    next_refresh_at, last_downstream_error_at, lease_owner, lease_until, settings, metadata, \
    created_at, updated_at";

impl Store {
    /// Creates a connection. The consumer must exist (`StoreError::MissingParent`); one
    /// connection per (application, consumer, unified api, service) (`StoreError::Conflict`).
    pub async fn create_connection(&self, new: &NewConnection) -> Result<ConnectionRow> {
        let sql = format!(
            "INSERT INTO connections (id, application_id, consumer_id, unified_api, service_id, \
               enabled, health, login_url_override, settings, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
        );
        self.write_connection(&new.id, false, async |conn: &mut AnyConnection| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(new.id.as_str())
                .bind(new.application_id.as_str())
                .bind(new.consumer_id.as_str())
                .bind(new.unified_api.as_str())
                .bind(new.service_id.as_str())
                .bind(flag(new.enabled))
                .bind(new.health.as_str())
                .bind(new.login_url_override.as_deref())
                .bind(new.settings_json.as_str())
                .bind(new.metadata_json.as_str())
                .bind(new.now_ms)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| classify(e, "connection", "consumer"))?;
            ConnectionRow::from_row(&row)
        })
        .await
    }

    /// By internal id, without tenant scoping: for the refresh machinery, which starts from a
    /// connection id it already owns. HTTP handlers use [`Store::find_connection`].
    pub async fn get_connection(&self, id: &ConnectionId) -> Result<Option<ConnectionRow>> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ConnectionRow::from_row).transpose()
    }

    pub async fn find_connection(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<Option<ConnectionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE application_id = $1 AND consumer_id = $2 \
             AND unified_api = $3 AND service_id = $4"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.as_str())
            .bind(unified_api.as_str())
            .bind(service_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ConnectionRow::from_row).transpose()
    }

    /// Connections of an application, optionally of one consumer.
    pub async fn list_connections(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
    ) -> Result<Vec<ConnectionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE application_id = $1 \
             AND ($2 IS NULL OR consumer_id = $2) \
             ORDER BY consumer_id, unified_api, service_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.map(ConsumerId::as_str))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ConnectionRow::from_row).collect()
    }

    /// Applies a patch. Returns `None` if the connection is not in `app`.
    pub async fn update_connection(
        &self,
        app: &ApplicationId,
        id: &ConnectionId,
        patch: &ConnectionPatch,
        now_ms: i64,
    ) -> Result<Option<ConnectionRow>> {
        let sql = format!(
            "UPDATE connections SET enabled = COALESCE($3, enabled), \
               settings = COALESCE($4, settings), metadata = COALESCE($5, metadata), \
               updated_at = $6 \
             WHERE application_id = $1 AND id = $2 RETURNING {COLUMNS}"
        );
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(app.as_str())
                .bind(id.as_str())
                .bind(patch.enabled.map(flag))
                .bind(patch.settings_json.as_deref())
                .bind(patch.metadata_json.as_deref())
                .bind(now_ms)
                .fetch_optional(&mut *conn)
                .await?;
            row.as_ref().map(ConnectionRow::from_row).transpose()
        })
        .await
    }

    pub async fn delete_connection(&self, app: &ApplicationId, id: &ConnectionId) -> Result<bool> {
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query("DELETE FROM connections WHERE application_id = $1 AND id = $2")
                .bind(app.as_str())
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Stores a fresh grant (see [`TokenWrite`]). Returns the new row, or `None` if the
    /// connection is gone.
    pub async fn set_tokens(
        &self,
        id: &ConnectionId,
        t: &TokenWrite,
    ) -> Result<Option<ConnectionRow>> {
        let sql = format!(
            "UPDATE connections SET access_token_sealed = $2, refresh_token_sealed = $3, \
               instance_url = $4, granted_scopes = $5, token_issued_at = $6, \
               token_expires_at = $7, next_refresh_at = $8, health = $9, \
               token_version = token_version + 1, refresh_failure_count = 0, \
               credentials_expire_at = NULL, last_refresh_error = NULL, updated_at = $10 \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        self.write_connection(id, true, async |conn: &mut AnyConnection| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id.as_str())
                .bind(t.access_token.as_bytes())
                .bind(t.refresh_token.as_ref().map(Sealed::as_bytes))
                .bind(t.instance_url.as_deref())
                .bind(t.granted_scopes.as_deref())
                .bind(t.issued_at)
                .bind(t.expires_at)
                .bind(t.next_refresh_at)
                .bind(t.health.as_str())
                .bind(t.now_ms)
                .fetch_optional(&mut *conn)
                .await?;
            row.as_ref().map(ConnectionRow::from_row).transpose()
        })
        .await
    }

    /// Wipes both tokens (revoke, retention window over) and sets `health`. Bumps the version
    /// so an in-flight refresh cannot write tokens back.
    pub async fn clear_tokens(
        &self,
        id: &ConnectionId,
        health: Health,
        now_ms: i64,
    ) -> Result<bool> {
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query(
                "UPDATE connections SET access_token_sealed = NULL, refresh_token_sealed = NULL, \
                   token_version = token_version + 1, token_expires_at = NULL, \
                   next_refresh_at = NULL, health = $2, updated_at = $3 \
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(health.as_str())
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}

impl Store {
    /// Sets (or clears) the connection's own login host. Its grant belongs to the old host, so
    /// callers clear the tokens in the same change when it has any.
    pub async fn set_login_url_override(
        &self,
        app: &ApplicationId,
        id: &ConnectionId,
        login_url: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query(
                "UPDATE connections SET login_url_override = $3, updated_at = $4 \
                 WHERE application_id = $1 AND id = $2",
            )
            .bind(app.as_str())
            .bind(id.as_str())
            .bind(login_url)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }
}
