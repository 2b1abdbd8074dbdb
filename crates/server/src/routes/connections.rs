//! `/vault/connections` and `/vault/connections/{unified_api}/{service_id}[/…]`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use patchbay_core::{ApplicationId, ConsumerId};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, connection_path, wire};
use crate::auth::{ConsumerCaller, ExportCaller, MaybeConsumerCaller};
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath, OptionalJson, QueryPairs};
use crate::service::connections::{ConnectionInput, ConnectionKey};
use crate::service::credentials::ImportRequest;

pub(super) fn router() -> Router<AppState> {
    let one = "/vault/connections/{unified_api}/{service_id}";
    Router::new()
        .route("/vault/connections", get(list))
        .route(one, get(get_one).post(add).patch(update).delete(remove))
        .route(&format!("{one}/import"), post(import))
        .route(&format!("{one}/validate"), post(validate))
        .route(&format!("{one}/confirm"), post(confirm))
        .route(&format!("{one}/callback-state"), post(callback_state))
        .route(&format!("{one}/export"), post(export))
}

pub(super) fn key(
    app: ApplicationId,
    consumer: ConsumerId,
    path: &(String, String),
) -> Result<ConnectionKey> {
    let (unified_api, service_id) = connection_path(&path.0, &path.1)?;
    Ok(ConnectionKey {
        application_id: app,
        consumer_id: consumer,
        unified_api,
        service_id,
    })
}

async fn list(
    State(state): State<AppState>,
    caller: MaybeConsumerCaller,
    q: QueryPairs,
) -> Result<Response> {
    let configured = match q.get("configured") {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(Error::validation("configured must be true or false")),
    };
    let api = q.get("api").filter(|s| !s.is_empty());
    let mut list = state
        .vault
        .list_connections(
            &caller.app,
            caller.consumer.as_ref(),
            api,
            configured,
            caller.offer,
        )
        .await?;
    if let Some(apis) = &caller.unified_apis {
        list.retain(|c| apis.iter().any(|a| a == c.unified_api.as_str()));
    }
    Ok(envelope::ok(wire::all::<_, wire::Connection>(&list)))
}

async fn get_one(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
) -> Result<Response> {
    let offer = c.offer();
    let key = key(c.app, c.consumer, &p)?;
    let view = state.vault.get_connection_offered(&key, offer).await?;
    Ok(envelope::ok(wire::Connection::from(&view)))
}

async fn add(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<ConnectionInput>,
) -> Result<Response> {
    if body.as_ref().is_some_and(|b| b.metadata.is_some()) {
        c.ensure_api_key("Writing connection metadata")?;
    }
    let offer = c.offer();
    let key = key(c.app, c.consumer, &p)?;
    state
        .vault
        .add_connection(&key, body.unwrap_or_default(), &c.actor)
        .await?;
    let view = state.vault.get_connection_offered(&key, offer).await?;
    Ok(envelope::ok(wire::Connection::from(&view)))
}

async fn update(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ConnectionInput>,
) -> Result<Response> {
    if body.enabled == Some(false) {
        c.ensure_action("disable")?;
    }
    if body.metadata.is_some() {
        c.ensure_api_key("Writing connection metadata")?;
    }
    let changes_host = body
        .settings
        .as_ref()
        .is_some_and(|s| s.contains_key("login_url"));
    let offer = c.offer();
    let key = key(c.app, c.consumer, &p)?;
    if changes_host && !offer.reauthorize && state.vault.connection_has_tokens(&key).await? {
        // A new login host gives up the current grant: that is re-authorizing.
        return Err(Error::ActionNotAllowed("reauthorize"));
    }
    state.vault.patch_connection(&key, body, &c.actor).await?;
    let view = state.vault.get_connection_offered(&key, offer).await?;
    Ok(envelope::ok(wire::Connection::from(&view)))
}

async fn remove(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
) -> Result<Response> {
    c.ensure_action("delete")?;
    let key = key(c.app, c.consumer, &p)?;
    state.vault.delete_connection(&key, &c.actor).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn import(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ImportRequest>,
) -> Result<Response> {
    c.ensure_api_key("Importing credentials")?;
    let key = key(c.app, c.consumer, &p)?;
    let view = state.vault.import_connection(&key, body, &c.actor).await?;
    Ok(envelope::ok(wire::Connection::from(&view)))
}

/// The spec's body is `{}` with no properties; anything else is refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Empty {}

async fn validate(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
    OptionalJson(_body): OptionalJson<Empty>,
) -> Result<Response> {
    // Validation refreshes the stored tokens: a credential change, so not a session's call.
    c.ensure_api_key("Validating a connection")?;
    let key = key(c.app, c.consumer, &p)?;
    let view = state.vault.validate_connection(&key).await?;
    Ok(envelope::ok(wire::ConnectionStateData::from(&view)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmRequest {
    confirm_token: String,
}

async fn confirm(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<Response> {
    let key = key(c.app, c.consumer, &p)?;
    state
        .vault
        .confirm_connection(&key, &body.confirm_token)
        .await?;
    Ok(envelope::ok(json!({ "confirmed": true })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CallbackStateRequest {
    redirect_uri: Option<String>,
}

async fn callback_state(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath(p): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<CallbackStateRequest>,
) -> Result<Response> {
    let may_reauthorize = c.allows("reauthorize");
    let key = key(c.app, c.consumer, &p)?;
    if !may_reauthorize && state.vault.connection_has_tokens(&key).await? {
        // A new authorization replaces the connection's tokens.
        return Err(Error::ActionNotAllowed("reauthorize"));
    }
    let body = body.unwrap_or_default();
    let s = state
        .vault
        .create_callback_state(&key, body.redirect_uri.as_deref())
        .await?;
    Ok(envelope::ok(json!({ "state": s })))
}

/// Patchbay's extension: the audited credential export (API key scope `export`).
async fn export(
    State(state): State<AppState>,
    c: ExportCaller,
    ApiPath(p): ApiPath<(String, String)>,
    OptionalJson(_body): OptionalJson<Empty>,
) -> Result<Response> {
    let key = key(c.app, c.consumer, &p)?;
    Ok(envelope::ok(
        state.vault.export_credentials(&key, &c.actor).await?,
    ))
}
