//! The Webhook API (webhook.yml): `/webhook/webhooks[/{id}]` and `/webhook/logs`.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::get;
use patchbay_core::ApplicationId;
use patchbay_crypto::SecretString;
use patchbay_store::WebhookLogFilter;

use super::AppState;
use crate::auth::AppCaller;
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath, QueryPairs};
use crate::service::webhooks::subscriptions::WebhookInput;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/webhooks", get(list).post(create))
        .route(
            "/webhook/webhooks/{id}",
            get(one).patch(update).delete(remove),
        )
        .route("/webhook/logs", get(logs))
}

/// An API-key caller and the key itself: Apideck's signature is keyed with it, so a sealed
/// copy is kept with the subscription.
struct WebhookCaller {
    app: ApplicationId,
    key: SecretString,
}

impl FromRequestParts<AppState> for WebhookCaller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let caller = AppCaller::from_request_parts(parts, state).await?;
        let key = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .map(|(_, token)| SecretString::new(token.trim()))
            .ok_or(Error::Unauthorized)?;
        Ok(Self {
            app: caller.app,
            key,
        })
    }
}

async fn create(
    State(state): State<AppState>,
    caller: WebhookCaller,
    ApiJson(body): ApiJson<WebhookInput>,
) -> Result<Response> {
    let created = state
        .vault
        .create_webhook(&caller.app, &caller.key, body)
        .await?;
    let mut data = serde_json::to_value(&created.webhook).map_err(Error::internal)?;
    // Patchbay's own signing secret (`x-patchbay-signature`), shown only here.
    data["signing_secret"] =
        serde_json::Value::String(created.signing_secret.expose_secret().to_owned());
    Ok(envelope::with_status(StatusCode::CREATED, data))
}

async fn list(State(state): State<AppState>, caller: AppCaller, q: QueryPairs) -> Result<Response> {
    let limit = usize::try_from(q.limit()?).unwrap_or(20);
    let start = envelope::decode_cursor(q.get("cursor"))?
        .map(|c| c.parse::<usize>().map_err(|_| Error::InvalidCursor))
        .transpose()?
        .unwrap_or(0);
    let all = state.vault.list_webhooks(&caller.app).await?;
    let items: Vec<_> = all.iter().skip(start).take(limit).cloned().collect();
    let next = (start + items.len() < all.len()).then(|| (start + items.len()).to_string());
    let self_url = format!("{}/webhook/webhooks", state.vault.public_url());
    Ok(envelope::paged(items, &q.0, next.as_deref(), &self_url))
}

async fn one(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    Ok(envelope::ok(
        state.vault.get_webhook(&caller.app, &id).await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    caller: WebhookCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<WebhookInput>,
) -> Result<Response> {
    let view = state
        .vault
        .update_webhook(&caller.app, &id, Some(&caller.key), body)
        .await?;
    Ok(envelope::ok(view))
}

async fn remove(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    Ok(envelope::ok(
        state.vault.delete_webhook(&caller.app, &id).await?,
    ))
}

async fn logs(State(state): State<AppState>, caller: AppCaller, q: QueryPairs) -> Result<Response> {
    let text = |k: &str| q.get(k).filter(|s| !s.is_empty()).map(str::to_owned);
    let success = match q.get("filter[success]") {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(Error::validation("filter[success] must be true or false")),
    };
    let filter = WebhookLogFilter {
        event_type: text("filter[event_type]"),
        consumer_id: text("filter[consumer_id]"),
        entity_type: text("filter[entity_type]"),
        event_id: text("filter[event_id]"),
        success,
    };
    let limit = q.limit()?;
    let cursor = envelope::decode_cursor(q.get("cursor"))?;
    let page = state
        .vault
        .webhook_logs(&caller.app, &filter, cursor.as_deref(), limit)
        .await?;
    let self_url = format!("{}/webhook/logs", state.vault.public_url());
    Ok(envelope::paged(
        page.items,
        &q.0,
        page.next_cursor.as_deref(),
        &self_url,
    ))
}
