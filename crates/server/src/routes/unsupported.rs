//! The Vault operations that have no meaning for Patchbay's OAuth connectors, answered as the spec describes: an
//! implementation where there is a truthful one (consent records, resource config), else the
//! spec's error envelope (422 `UnprocessableEntityError`) whose detail says why. Nothing here
//! answers 501. The README's compatibility table repeats each reason.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{AppState, wire};
use crate::auth::ConsumerCaller;
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::{ApiPath, OptionalJson};
use crate::service::connections::ConnectionKey;

pub(super) fn router() -> Router<AppState> {
    let one = "/vault/connections/{unified_api}/{service_id}";
    Router::new()
        .route(&format!("{one}/migrate"), post(migrate))
        .route(&format!("{one}/token"), post(token))
        .route(
            &format!("{one}/consent"),
            get(consents).patch(update_consent),
        )
        .route(
            &format!("{one}/{{resource}}/config"),
            get(resource_config).patch(update_resource_config),
        )
        .route(&format!("{one}/{{resource}}/schema"), get(resource_schema))
        .route(&format!("{one}/{{resource}}/example"), get(resource_schema))
        .route(
            "/vault/oauth/disconnect/{jwt}/{service_id}",
            get(provider_disconnect).post(provider_disconnect),
        )
}

pub(super) const NO_MIGRATION: &str = "This connector declares no migration targets: there is no other connector to migrate its connections to";
pub(super) const NO_TOKEN_GRANT: &str = "The token operation exchanges stored client_credentials or password credentials; Patchbay's connections use the authorization_code grant, whose tokens come from the connect flow (or POST …/import)";
pub(super) const NO_CONSENT: &str = "Patchbay records no data-scope consent: every connection's consent_state is implicit, so there is nothing to grant or revoke";
pub(super) const NO_RESOURCE_CONFIG: &str = "These connections have no configurable resources (configurable_resources is empty); there are no defaults to set";
pub(super) const NO_SCHEMA: &str = "Resource schemas and examples are not offered for this connector (schema_support is false); the unified models in crm.yml describe every resource, and GET …/{resource}/custom-fields lists the account's custom fields";
pub(super) const NO_DISCONNECT_CALLBACK: &str = "The provider sends no disconnect notifications to OAuth clients; a connection is disconnected with its revoke_url or DELETE /vault/connections/{unified_api}/{service_id}";

/// The connection a caller names; the same path rules as the rest of `/vault/connections`.
fn key(c: ConsumerCaller, unified_api: &str, service_id: &str) -> Result<ConnectionKey> {
    super::connections::key(
        c.app,
        c.consumer,
        &(unified_api.to_owned(), service_id.to_owned()),
    )
}

/// Checks the connector exists for the caller (404 otherwise), then refuses with `why`.
async fn refuse(state: &AppState, key: &ConnectionKey, why: &'static str) -> Result<Response> {
    state.vault.enabled_integration(key).await?;
    Err(Error::NotApplicable(why))
}

async fn migrate(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc)): ApiPath<(String, String)>,
    OptionalJson(_body): OptionalJson<Value>,
) -> Result<Response> {
    c.ensure_api_key("Migrating a connection")?;
    let key = key(c, &api, &svc)?;
    refuse(&state, &key, NO_MIGRATION).await
}

async fn token(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc)): ApiPath<(String, String)>,
    OptionalJson(_body): OptionalJson<Value>,
) -> Result<Response> {
    c.ensure_api_key("Exchanging credentials for a token")?;
    let key = key(c, &api, &svc)?;
    refuse(&state, &key, NO_TOKEN_GRANT).await
}

/// `GET …/consent`: the connection's consent records; there are none (consent is implicit).
async fn consents(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc)): ApiPath<(String, String)>,
) -> Result<Response> {
    let key = key(c, &api, &svc)?;
    state.vault.connection_row(&key).await?;
    Ok(envelope::ok(Vec::<Value>::new()))
}

async fn update_consent(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc)): ApiPath<(String, String)>,
    OptionalJson(_body): OptionalJson<Value>,
) -> Result<Response> {
    let key = key(c, &api, &svc)?;
    state.vault.connection_row(&key).await?;
    Err(Error::NotApplicable(NO_CONSENT))
}

/// `GET …/{resource}/config`: the connection, whose `configuration` is empty for every connector.
async fn resource_config(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc, resource)): ApiPath<(String, String, String)>,
) -> Result<Response> {
    let offer = c.offer();
    let key = key(c, &api, &svc)?;
    check_resource(&resource)?;
    let view = state.vault.get_connection_offered(&key, offer).await?;
    Ok(envelope::ok(wire::Connection::from(&view)))
}

#[derive(Deserialize, Default)]
struct ResourceConfigRequest {
    #[serde(default)]
    configuration: Option<Vec<Value>>,
    #[serde(flatten)]
    _rest: Map<String, Value>,
}

/// `PATCH …/{resource}/config`: an empty `configuration` is a no-op; any default is refused,
/// since no connector has configurable resources. A session with `hide_resource_settings`
/// may not call it at all.
async fn update_resource_config(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc, resource)): ApiPath<(String, String, String)>,
    OptionalJson(body): OptionalJson<ResourceConfigRequest>,
) -> Result<Response> {
    c.ensure_resource_settings()?;
    let offer = c.offer();
    let key = key(c, &api, &svc)?;
    check_resource(&resource)?;
    let view = state.vault.get_connection_offered(&key, offer).await?;
    if body
        .and_then(|b| b.configuration)
        .is_some_and(|c| !c.is_empty())
    {
        return Err(Error::NotApplicable(NO_RESOURCE_CONFIG));
    }
    Ok(envelope::ok(wire::Connection::from(&view)))
}

/// `GET …/{resource}/schema` and `…/example`: both refused for the same reason.
async fn resource_schema(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc, resource)): ApiPath<(String, String, String)>,
) -> Result<Response> {
    let key = key(c, &api, &svc)?;
    check_resource(&resource)?;
    refuse(&state, &key, NO_SCHEMA).await
}

/// A unified CRM resource name, else 404 naming the resources.
pub(super) fn check_resource(name: &str) -> Result<patchbay_unified::Resource> {
    patchbay_unified::Resource::parse(name)
        .ok_or_else(|| Error::UnknownCrmResource(name.to_owned()))
}

async fn provider_disconnect() -> Error {
    Error::NotApplicable(NO_DISCONNECT_CALLBACK)
}
