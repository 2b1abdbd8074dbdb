//! Integrations: a connector configured for one application, with its (sealed) OAuth client.

use patchbay_core::{
    ApplicationId, Integration, IntegrationSettings, LoginOrigin, Scopes, ServiceId,
    StagedCredentials, UnifiedApi,
};
use sqlx::any::AnyRow;

use crate::error::{StoreError, classify};
use crate::row::{RowExt, flag};
use crate::sealed::Sealed;
use crate::{Result, Store};

/// Everything an upsert writes. Secrets arrive sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationWrite {
    pub application_id: ApplicationId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    pub enabled: bool,
    pub client_id: Option<String>,
    pub client_secret_sealed: Option<Sealed>,
    pub staged_client_id: Option<String>,
    pub staged_client_secret_sealed: Option<Sealed>,
    pub login_url: String,
    pub scopes: String,
    pub send_secret_on_refresh: bool,
    pub pkce: bool,
    pub session_timeout_s: i64,
    /// Free-form JSON object (connector-specific settings).
    pub settings_json: String,
    pub now_ms: i64,
}

impl IntegrationWrite {
    /// A new integration's write: `d` (its connector's defaults) for the settings, no
    /// credentials yet.
    pub fn new(
        application_id: ApplicationId,
        unified_api: UnifiedApi,
        service_id: ServiceId,
        d: &IntegrationSettings,
        now_ms: i64,
    ) -> Self {
        Self {
            application_id,
            unified_api,
            service_id,
            enabled: true,
            client_id: None,
            client_secret_sealed: None,
            staged_client_id: None,
            staged_client_secret_sealed: None,
            login_url: d.login_host.as_str().to_owned(),
            scopes: d.scopes.to_string(),
            send_secret_on_refresh: d.send_secret_on_refresh,
            pkce: d.pkce,
            session_timeout_s: i64::from(d.session_timeout_s),
            settings_json: "{}".to_owned(),
            now_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationRow {
    pub application_id: ApplicationId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    pub enabled: bool,
    pub client_id: Option<String>,
    pub client_secret_sealed: Option<Sealed>,
    pub staged_client_id: Option<String>,
    pub staged_client_secret_sealed: Option<Sealed>,
    pub login_url: String,
    pub scopes: String,
    pub send_secret_on_refresh: bool,
    pub pkce: bool,
    pub session_timeout_s: i64,
    pub settings_json: String,
    /// Incremented by every write; guards [`Store::promote_staged_credentials`].
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl IntegrationRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            application_id: row.id("application_id")?,
            unified_api: row.id("unified_api")?,
            service_id: row.id("service_id")?,
            enabled: row.flag("enabled")?,
            client_id: row.opt_text("client_id")?,
            client_secret_sealed: row.sealed("client_secret_sealed")?,
            staged_client_id: row.opt_text("staged_client_id")?,
            staged_client_secret_sealed: row.sealed("staged_client_secret_sealed")?,
            login_url: row.text("login_url")?,
            scopes: row.text("scopes")?,
            send_secret_on_refresh: row.flag("send_secret_on_refresh")?,
            pkce: row.flag("pkce")?,
            session_timeout_s: row.int("session_timeout_s")?,
            settings_json: row.text("settings")?,
            version: row.int("version")?,
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
        })
    }

    /// The domain view: validated settings, and only whether secrets exist.
    pub fn to_domain(&self) -> Result<Integration> {
        let login_host = LoginOrigin::parse(&self.login_url).map_err(|_| StoreError::Corrupt {
            column: "login_url",
        })?;
        let scopes =
            Scopes::parse(&self.scopes).map_err(|_| StoreError::Corrupt { column: "scopes" })?;
        let session_timeout_s =
            u32::try_from(self.session_timeout_s).map_err(|_| StoreError::Corrupt {
                column: "session_timeout_s",
            })?;
        Ok(Integration {
            application_id: self.application_id.clone(),
            unified_api: self.unified_api.clone(),
            service_id: self.service_id.clone(),
            enabled: self.enabled,
            client_id: self.client_id.clone(),
            has_client_secret: self.client_secret_sealed.is_some(),
            staged: self.staged_client_id.as_ref().map(|id| StagedCredentials {
                client_id: id.clone(),
                has_client_secret: self.staged_client_secret_sealed.is_some(),
            }),
            settings: IntegrationSettings {
                login_host,
                scopes,
                send_secret_on_refresh: self.send_secret_on_refresh,
                pkce: self.pkce,
                session_timeout_s,
                crm_poll_interval_s: self.crm_poll_interval_s()?,
            },
        })
    }

    /// The CRM poll interval from the settings object (the default when absent).
    pub fn crm_poll_interval_s(&self) -> Result<u32> {
        let corrupt = || StoreError::Corrupt { column: "settings" };
        let settings: serde_json::Value =
            serde_json::from_str(&self.settings_json).map_err(|_| corrupt())?;
        match settings.get(patchbay_core::integration::CRM_POLL_INTERVAL_KEY) {
            None | Some(serde_json::Value::Null) => {
                Ok(patchbay_core::integration::DEFAULT_CRM_POLL_INTERVAL_S)
            }
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .and_then(|n| patchbay_core::check_crm_poll_interval(n).ok())
                .ok_or_else(corrupt),
        }
    }
}

const COLUMNS: &str = "application_id, unified_api, service_id, enabled, client_id, \
    client_secret_sealed, staged_client_id, staged_client_secret_sealed, login_url, scopes, \
    send_secret_on_refresh, pkce, session_timeout_s, settings, version, created_at, updated_at";

const KEY: &str = "application_id = $1 AND unified_api = $2 AND service_id = $3";

impl Store {
    /// Inserts or replaces an integration. On replace `version` is incremented and
    /// `created_at` kept.
    pub async fn upsert_integration(&self, w: &IntegrationWrite) -> Result<IntegrationRow> {
        let sql = format!(
            "INSERT INTO integrations ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15) \
             ON CONFLICT (application_id, unified_api, service_id) DO UPDATE SET \
               enabled = excluded.enabled, client_id = excluded.client_id, \
               client_secret_sealed = excluded.client_secret_sealed, \
               staged_client_id = excluded.staged_client_id, \
               staged_client_secret_sealed = excluded.staged_client_secret_sealed, \
               login_url = excluded.login_url, scopes = excluded.scopes, \
               send_secret_on_refresh = excluded.send_secret_on_refresh, pkce = excluded.pkce, \
               session_timeout_s = excluded.session_timeout_s, settings = excluded.settings, \
               version = integrations.version + 1, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(w.application_id.as_str())
            .bind(w.unified_api.as_str())
            .bind(w.service_id.as_str())
            .bind(flag(w.enabled))
            .bind(w.client_id.as_deref())
            .bind(w.client_secret_sealed.as_ref().map(Sealed::as_bytes))
            .bind(w.staged_client_id.as_deref())
            .bind(w.staged_client_secret_sealed.as_ref().map(Sealed::as_bytes))
            .bind(w.login_url.as_str())
            .bind(w.scopes.as_str())
            .bind(flag(w.send_secret_on_refresh))
            .bind(flag(w.pkce))
            .bind(w.session_timeout_s)
            .bind(w.settings_json.as_str())
            .bind(w.now_ms)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| classify(e, "integration", "application"))?;
        IntegrationRow::from_row(&row)
    }

    pub async fn get_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<Option<IntegrationRow>> {
        let sql = format!("SELECT {COLUMNS} FROM integrations WHERE {KEY}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(unified_api.as_str())
            .bind(service_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(IntegrationRow::from_row).transpose()
    }

    pub async fn list_integrations(&self, app: &ApplicationId) -> Result<Vec<IntegrationRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM integrations WHERE application_id = $1 \
             ORDER BY unified_api, service_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(IntegrationRow::from_row).collect()
    }

    /// Enables or disables an integration. Returns false if it does not exist.
    pub async fn set_integration_enabled(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
        enabled: bool,
        now_ms: i64,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE integrations SET enabled = $4, version = version + 1, updated_at = $5 \
             WHERE {KEY}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(unified_api.as_str())
            .bind(service_id.as_str())
            .bind(flag(enabled))
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the staged credentials the main ones and clears the staged set.
    ///
    /// Sealed values are bound to their column, so the caller opens the staged secret and
    /// passes it re-sealed for the main column as `main_secret_sealed`. `expected_version`
    /// (from the row the caller read) makes sure the staged set did not change in between.
    /// Returns false if the version moved or nothing is staged.
    pub async fn promote_staged_credentials(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
        main_secret_sealed: Option<&Sealed>,
        expected_version: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE integrations SET client_id = staged_client_id, client_secret_sealed = $4, \
               staged_client_id = NULL, staged_client_secret_sealed = NULL, \
               version = version + 1, updated_at = $6 \
             WHERE {KEY} AND version = $5 AND staged_client_id IS NOT NULL"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(unified_api.as_str())
            .bind(service_id.as_str())
            .bind(main_secret_sealed.map(Sealed::as_bytes))
            .bind(expected_version)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<bool> {
        let sql = format!("DELETE FROM integrations WHERE {KEY}");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(unified_api.as_str())
            .bind(service_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
