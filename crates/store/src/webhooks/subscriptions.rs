//! Webhook subscriptions. The API key copy (Apideck's signature key) and the subscription's
//! own secret are sealed by the caller; the event list is kept twice, as the JSON the API
//! shows and as rows an emitting transaction joins on.

use patchbay_core::ApplicationId;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::row::RowExt;
use crate::sealed::Sealed;
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct NewWebhook {
    pub id: String,
    pub application_id: ApplicationId,
    pub description: Option<String>,
    pub unified_api: String,
    pub status: String,
    pub disabled_reason: String,
    pub delivery_url: String,
    pub events: Vec<String>,
    pub api_key_sealed: Sealed,
    pub secret_sealed: Sealed,
    pub now_ms: i64,
}

/// Fields an update may change; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookPatch {
    pub description: Option<Option<String>>,
    pub status: Option<String>,
    pub disabled_reason: Option<String>,
    pub delivery_url: Option<String>,
    pub events: Option<Vec<String>>,
    /// The key of the caller that updated the subscription: Apideck signs with it from now on.
    pub api_key_sealed: Option<Sealed>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    pub id: String,
    pub application_id: ApplicationId,
    pub description: Option<String>,
    pub unified_api: String,
    pub status: String,
    pub disabled_reason: String,
    pub delivery_url: String,
    pub events: Vec<String>,
    pub api_key_sealed: Sealed,
    pub secret_sealed: Sealed,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const COLUMNS: &str = "id, application_id, description, unified_api, status, \
    disabled_reason, delivery_url, events, api_key_sealed, secret_sealed, created_at, updated_at";

impl WebhookRow {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        let events: Vec<String> = serde_json::from_str(&row.text("events")?).unwrap_or_default();
        Ok(Self {
            id: row.text("id")?,
            application_id: row.id("application_id")?,
            description: row.opt_text("description")?,
            unified_api: row.text("unified_api")?,
            status: row.text("status")?,
            disabled_reason: row.text("disabled_reason")?,
            delivery_url: row.text("delivery_url")?,
            events,
            api_key_sealed: row
                .sealed("api_key_sealed")?
                .unwrap_or_else(|| Sealed::new(Vec::new())),
            secret_sealed: row
                .sealed("secret_sealed")?
                .unwrap_or_else(|| Sealed::new(Vec::new())),
            created_at: row.int("created_at")?,
            updated_at: row.int("updated_at")?,
        })
    }
}

async fn write_event_rows(conn: &mut AnyConnection, id: &str, events: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM webhook_subscription_events WHERE subscription_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for event in events {
        sqlx::query(
            "INSERT INTO webhook_subscription_events (subscription_id, event_type) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(event.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn events_json(events: &[String]) -> String {
    serde_json::Value::from(events.to_vec()).to_string()
}

impl Store {
    pub async fn create_webhook(&self, new: &NewWebhook) -> Result<WebhookRow> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO webhook_subscriptions (id, application_id, description, unified_api, \
               status, disabled_reason, delivery_url, events, api_key_sealed, secret_sealed, \
               created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(new.id.as_str())
            .bind(new.application_id.as_str())
            .bind(new.description.as_deref())
            .bind(new.unified_api.as_str())
            .bind(new.status.as_str())
            .bind(new.disabled_reason.as_str())
            .bind(new.delivery_url.as_str())
            .bind(events_json(&new.events))
            .bind(new.api_key_sealed.as_bytes())
            .bind(new.secret_sealed.as_bytes())
            .bind(new.now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| crate::error::classify(e, "webhook", "application"))?;
        write_event_rows(&mut tx, &new.id, &new.events).await?;
        tx.commit().await?;
        WebhookRow::from_row(&row)
    }

    pub async fn get_webhook(&self, app: &ApplicationId, id: &str) -> Result<Option<WebhookRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_subscriptions WHERE application_id = $1 AND id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(WebhookRow::from_row).transpose()
    }

    /// The application's subscriptions, oldest first.
    pub async fn list_webhooks(&self, app: &ApplicationId) -> Result<Vec<WebhookRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_subscriptions WHERE application_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(WebhookRow::from_row).collect()
    }

    /// Every enabled subscription of every application, for the CRM poller.
    pub async fn enabled_webhooks(&self) -> Result<Vec<WebhookRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_subscriptions WHERE status = 'enabled' ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(WebhookRow::from_row).collect()
    }

    pub async fn update_webhook(
        &self,
        app: &ApplicationId,
        id: &str,
        patch: &WebhookPatch,
        now_ms: i64,
    ) -> Result<Option<WebhookRow>> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "UPDATE webhook_subscriptions SET \
               description = CASE WHEN $3 = 1 THEN $4 ELSE description END, \
               status = COALESCE($5, status), disabled_reason = COALESCE($6, disabled_reason), \
               delivery_url = COALESCE($7, delivery_url), events = COALESCE($8, events), \
               api_key_sealed = COALESCE($9, api_key_sealed), updated_at = $10 \
             WHERE application_id = $1 AND id = $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(id)
            .bind(i64::from(patch.description.is_some()))
            .bind(patch.description.clone().flatten())
            .bind(patch.status.as_deref())
            .bind(patch.disabled_reason.as_deref())
            .bind(patch.delivery_url.as_deref())
            .bind(patch.events.as_deref().map(events_json))
            .bind(patch.api_key_sealed.as_ref().map(Sealed::as_bytes))
            .bind(now_ms)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        if let Some(events) = &patch.events {
            write_event_rows(&mut tx, id, events).await?;
        }
        tx.commit().await?;
        WebhookRow::from_row(&row).map(Some)
    }

    /// Deletes a subscription; its undelivered events go with it.
    pub async fn delete_webhook(&self, app: &ApplicationId, id: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM webhook_subscriptions WHERE application_id = $1 AND id = $2")
                .bind(app.as_str())
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
