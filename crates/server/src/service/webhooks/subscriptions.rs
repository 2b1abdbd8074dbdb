//! The Webhook API's operations (`/webhook/webhooks`, `/webhook/logs`; webhook.yml).
//!
//! A subscription keeps two sealed secrets: a copy of the API key that created or last
//! updated it (Apideck signs with the application's API key, and Patchbay stores keys only as
//! hashes) and its own signing secret, shown once at creation. On create, and on an update
//! that changes `delivery_url`, a signed validation event is sent; if the receiver does not
//! answer 2xx the subscription is still saved, disabled with `delivery_url_validation_failed`.

use patchbay_core::ApplicationId;
use patchbay_crypto::SecretString;
use patchbay_store::{
    NewWebhook, Sealed, SealedColumn, WebhookLogFilter, WebhookLogRow, WebhookPatch, WebhookRow,
};
use patchbay_webhooks::SubscribedEvents;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::delivery::SendOutcome;
use super::target::{check_delivery_url, check_resolves_publicly};
use crate::error::{Error, Result};
use crate::service::Vault;
use crate::timefmt::iso_ms;

/// The sealed copy of the API key that created or last updated a subscription.
pub const API_KEY_COLUMN: SealedColumn = SealedColumn::WebhookApiKey;
/// A subscription's own signing secret.
pub const SECRET_COLUMN: SealedColumn = SealedColumn::WebhookSecret;

/// Body of `POST` and `PATCH /webhook/webhooks…` (`CreateWebhookRequest`,
/// `UpdateWebhookRequest`; both `additionalProperties: false`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    pub unified_api: Option<String>,
    pub status: Option<String>,
    pub delivery_url: Option<String>,
    pub events: Option<Vec<String>>,
}

fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// Spec `Webhook`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebhookView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub unified_api: String,
    pub status: String,
    pub disabled_reason: String,
    pub delivery_url: String,
    pub execute_base_url: String,
    pub events: Vec<String>,
    pub updated_at: String,
    pub created_at: String,
}

/// A new subscription and its signing secret, which is shown only this once.
#[derive(Debug)]
pub struct CreatedWebhook {
    pub webhook: WebhookView,
    pub signing_secret: SecretString,
}

const UNIFIED_APIS: [&str; 4] = ["vault", "crm", "proxy", "webhook"];

fn check_unified_api(api: &str) -> Result<()> {
    if UNIFIED_APIS.contains(&api) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "unified_api must be one of {}",
            UNIFIED_APIS.join(", ")
        )))
    }
}

fn check_status(status: &str) -> Result<()> {
    match status {
        "enabled" | "disabled" => Ok(()),
        _ => Err(Error::validation("status must be enabled or disabled")),
    }
}

fn check_description(d: Option<&String>) -> Result<()> {
    if d.is_some_and(|d| d.len() > 1024) {
        return Err(Error::validation(
            "description is too long (1024 characters at most)",
        ));
    }
    Ok(())
}

fn events(names: &[String]) -> Result<SubscribedEvents> {
    SubscribedEvents::parse(names).map_err(|e| Error::validation(e.to_string()))
}

impl Vault {
    /// Seals one of a subscription's secrets where `patchbay keys reencrypt` finds it again
    /// ([`SealedColumn::ALL`] lists both columns).
    fn seal_webhook(
        &self,
        app: &ApplicationId,
        id: &str,
        column: SealedColumn,
        value: &str,
    ) -> Result<Sealed> {
        self.seal(app, column, id, value)
    }

    pub(crate) fn open_webhook(
        &self,
        app: &ApplicationId,
        id: &str,
        column: SealedColumn,
        sealed: &Sealed,
    ) -> Result<SecretString> {
        self.open(app, column, id, sealed)
    }

    pub(crate) fn webhook_view(&self, row: &WebhookRow) -> WebhookView {
        WebhookView {
            id: row.id.clone(),
            description: row.description.clone(),
            unified_api: row.unified_api.clone(),
            status: row.status.clone(),
            disabled_reason: row.disabled_reason.clone(),
            delivery_url: row.delivery_url.clone(),
            execute_base_url: format!("{}/webhook/webhooks/{}/execute", self.public_url(), row.id),
            events: row.events.clone(),
            updated_at: iso_ms(row.updated_at),
            created_at: iso_ms(row.created_at),
        }
    }

    async fn checked_url(&self, raw: &str) -> Result<String> {
        let allowed = &self.webhook_options().allowed_hosts;
        let url = check_delivery_url(raw, allowed)?;
        check_resolves_publicly(&url, allowed).await?;
        Ok(raw.to_owned())
    }

    /// `POST /webhook/webhooks`.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn create_webhook(
        &self,
        app: &ApplicationId,
        api_key: &SecretString,
        input: WebhookInput,
    ) -> Result<CreatedWebhook> {
        let missing = |f: &str| Error::validation(format!("{f} is required"));
        let unified_api = input.unified_api.ok_or_else(|| missing("unified_api"))?;
        check_unified_api(&unified_api)?;
        let status = input.status.ok_or_else(|| missing("status"))?;
        check_status(&status)?;
        let raw_url = input.delivery_url.ok_or_else(|| missing("delivery_url"))?;
        let delivery_url = self.checked_url(&raw_url).await?;
        let subscribed = events(&input.events.ok_or_else(|| missing("events"))?)?;
        let description = input.description.flatten();
        check_description(description.as_ref())?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let secret = patchbay_crypto::random_token(32).map_err(Error::internal)?;
        let secret = SecretString::new(format!("whsec_{}", secret.expose_secret()));
        let now = self.now_ms();
        let (status, disabled_reason) = if status == "enabled"
            && !self
                .validate_delivery_url(app, &id, &delivery_url, api_key, &secret)
                .await
        {
            (
                "disabled".to_owned(),
                "delivery_url_validation_failed".to_owned(),
            )
        } else {
            (status, "none".to_owned())
        };
        let row = self
            .store()
            .create_webhook(&NewWebhook {
                id: id.clone(),
                application_id: app.clone(),
                description,
                unified_api,
                status,
                disabled_reason,
                delivery_url,
                events: subscribed.names().to_vec(),
                api_key_sealed: self.seal_webhook(
                    app,
                    &id,
                    API_KEY_COLUMN,
                    api_key.expose_secret(),
                )?,
                secret_sealed: self.seal_webhook(
                    app,
                    &id,
                    SECRET_COLUMN,
                    secret.expose_secret(),
                )?,
                now_ms: now,
            })
            .await?;
        Ok(CreatedWebhook {
            webhook: self.webhook_view(&row),
            signing_secret: secret,
        })
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn list_webhooks(&self, app: &ApplicationId) -> Result<Vec<WebhookView>> {
        let rows = self.store().list_webhooks(app).await?;
        Ok(rows.iter().map(|r| self.webhook_view(r)).collect())
    }

    async fn webhook_row(&self, app: &ApplicationId, id: &str) -> Result<WebhookRow> {
        if id.is_empty() || id.len() > 64 {
            return Err(Error::NotFound { entity: "webhook" });
        }
        self.store()
            .get_webhook(app, id)
            .await?
            .ok_or(Error::NotFound { entity: "webhook" })
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn get_webhook(&self, app: &ApplicationId, id: &str) -> Result<WebhookView> {
        Ok(self.webhook_view(&self.webhook_row(app, id).await?))
    }

    /// `PATCH /webhook/webhooks/{id}`. Signing switches to the updating caller's API key; the
    /// console, which has no API key, passes `None` and the stored copy stays in use.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn update_webhook(
        &self,
        app: &ApplicationId,
        id: &str,
        api_key: Option<&SecretString>,
        input: WebhookInput,
    ) -> Result<WebhookView> {
        let current = self.webhook_row(app, id).await?;
        let given = api_key;
        let stored_key;
        let api_key = match given {
            Some(k) => k,
            None => {
                stored_key = self.open_webhook(app, id, API_KEY_COLUMN, &current.api_key_sealed)?;
                &stored_key
            }
        };
        if input.unified_api.is_some() {
            return Err(Error::validation(
                "unified_api cannot be changed; create a new webhook",
            ));
        }
        if let Some(s) = &input.status {
            check_status(s)?;
        }
        if let Some(d) = &input.description {
            check_description(d.as_ref())?;
        }
        let subscribed = input.events.as_deref().map(events).transpose()?;
        let url_changed = match &input.delivery_url {
            Some(u) if *u != current.delivery_url => Some(self.checked_url(u).await?),
            _ => None,
        };
        let status = input
            .status
            .clone()
            .unwrap_or_else(|| current.status.clone());
        let mut patch = WebhookPatch {
            description: input.description,
            status: input.status,
            delivery_url: url_changed.clone(),
            events: subscribed.map(|s| s.names().to_vec()),
            api_key_sealed: given
                .map(|k| self.seal_webhook(app, id, API_KEY_COLUMN, k.expose_secret()))
                .transpose()?,
            ..WebhookPatch::default()
        };
        if status == "enabled" {
            // Enabling again clears the reason; a changed URL must pass validation first.
            patch.disabled_reason = Some("none".to_owned());
            if let Some(url) = &url_changed {
                let secret = self.open_webhook(app, id, SECRET_COLUMN, &current.secret_sealed)?;
                if !self
                    .validate_delivery_url(app, id, url, api_key, &secret)
                    .await
                {
                    patch.status = Some("disabled".to_owned());
                    patch.disabled_reason = Some("delivery_url_validation_failed".to_owned());
                }
            }
        } else if patch.status.is_some() {
            patch.disabled_reason = Some("none".to_owned());
        }
        let row = self
            .store()
            .update_webhook(app, id, &patch, self.now_ms())
            .await?
            .ok_or(Error::NotFound { entity: "webhook" })?;
        Ok(self.webhook_view(&row))
    }

    /// `DELETE /webhook/webhooks/{id}`: returns what was deleted. Undelivered events go too.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn delete_webhook(&self, app: &ApplicationId, id: &str) -> Result<WebhookView> {
        let row = self.webhook_row(app, id).await?;
        if !self.store().delete_webhook(app, id).await? {
            return Err(Error::NotFound { entity: "webhook" });
        }
        Ok(self.webhook_view(&row))
    }

    /// Sends a signed validation ("test") event to a subscription now (the console's "Send
    /// test event"), whatever its status, and reports what the receiver answered. Nothing is
    /// stored: the event log holds real events only.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn send_test_event(&self, app: &ApplicationId, id: &str) -> Result<SendOutcome> {
        let row = self.webhook_row(app, id).await?;
        let key = self.open_webhook(app, id, API_KEY_COLUMN, &row.api_key_sealed)?;
        let secret = self.open_webhook(app, id, SECRET_COLUMN, &row.secret_sealed)?;
        Ok(self
            .send_validation(app, id, &row.delivery_url, &key, &secret)
            .await)
    }

    async fn validate_delivery_url(
        &self,
        app: &ApplicationId,
        id: &str,
        url: &str,
        api_key: &SecretString,
        secret: &SecretString,
    ) -> bool {
        self.send_validation(app, id, url, api_key, secret)
            .await
            .success
    }

    async fn send_validation(
        &self,
        app: &ApplicationId,
        id: &str,
        url: &str,
        api_key: &SecretString,
        secret: &SecretString,
    ) -> SendOutcome {
        let event_id = uuid::Uuid::now_v7().hyphenated().to_string();
        let payload =
            patchbay_webhooks::payload::validation_event(&event_id, id, &iso_ms(self.now_ms()));
        let outcome = self
            .send_event(
                url,
                "webhook.validation",
                &event_id,
                &payload,
                1,
                api_key,
                secret,
            )
            .await;
        tracing::info!(application = %app, webhook = %id, status = outcome.status_code, success = outcome.success, "webhook validation event sent");
        outcome
    }

    /// `GET /webhook/logs`: one entry per event × subscription, newest first.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn webhook_logs(
        &self,
        app: &ApplicationId,
        filter: &WebhookLogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<patchbay_store::Page<Value>> {
        let cursor = cursor
            .map(|c| c.parse::<i64>().map_err(|_| Error::InvalidCursor))
            .transpose()?;
        let page = self
            .store()
            .list_webhook_logs(app, filter, cursor, limit)
            .await?;
        Ok(patchbay_store::Page {
            items: page.items.iter().map(|r| self.log_view(r)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn log_view(&self, r: &WebhookLogRow) -> Value {
        let payload: Value = serde_json::from_str(&r.payload_json).unwrap_or(Value::Null);
        let attempts: Vec<Value> = r
            .history
            .iter()
            .map(|a| {
                serde_json::json!({
                    "timestamp": iso_ms(a.at_ms),
                    "execution_attempt": a.attempt,
                    "status_code": a.status_code,
                    "success": a.success,
                })
            })
            .collect();
        let last = r.history.last();
        let body = patchbay_webhooks::canonical_json(&patchbay_webhooks::payload::delivery_body(
            &payload,
            u32::try_from(r.attempts.max(1)).unwrap_or(1),
        ));
        serde_json::json!({
            "id": format!("{}-{}", r.event_id, r.seq),
            "status_code": r.last_status.unwrap_or(0),
            "success": r.state == "delivered",
            "application_id": r.application_id.as_str(),
            "consumer_id": r.consumer_id,
            "unified_api": r.unified_api,
            "service": {
                "id": r.service_id,
                "name": patchbay_connectors::registry::connector(&r.service_id)
                    .map_or(r.service_id.as_str(), |c| c.display().name),
            },
            "endpoint": r.delivery_url,
            "event_type": r.event_type,
            "execution_attempt": r.attempts,
            "http_method": "POST",
            "timestamp": iso_ms(last.map_or(r.created_at, |a| a.at_ms)),
            "entity_type": r.entity_type,
            "request_body": body,
            "response_body": r.last_response_body,
            "retry_scheduled": r.state == "pending" && r.attempts > 0,
            "attempts": attempts,
        })
    }
}
