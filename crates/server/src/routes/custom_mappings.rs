//! `/vault/custom-mappings/{unified_api}/{service_id}[/{target_field_id}]` and, per connection,
//! `…/{resource}/custom-mappings` and `…/{resource}/custom-fields`.
//!
//! An API key without `x-apideck-consumer-id` works on the application's mappings; with one
//! (or as a session, which always names its consumer) on that consumer's overrides.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::unsupported::check_resource;
use crate::auth::{ConsumerCaller, MaybeConsumerCaller};
use crate::envelope;
use crate::error::Result;
use crate::extract::{ApiJson, ApiPath};

pub(super) fn router() -> Router<AppState> {
    let one = "/vault/connections/{unified_api}/{service_id}";
    Router::new()
        .route(
            "/vault/custom-mappings/{unified_api}/{service_id}",
            get(list),
        )
        .route(
            "/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}",
            get(get_one).post(put).patch(put).delete(remove),
        )
        .route(
            &format!("{one}/{{resource}}/custom-mappings"),
            get(for_resource),
        )
        .route(
            &format!("{one}/{{resource}}/custom-fields"),
            get(custom_fields),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingRequest {
    value: String,
}

/// The connector must be one this application has (404 otherwise).
async fn known(state: &AppState, c: &MaybeConsumerCaller, api: &str, svc: &str) -> Result<()> {
    let (unified_api, service_id) = super::connection_path(api, svc)?;
    state
        .vault
        .store()
        .get_integration(&c.app, &unified_api, &service_id)
        .await?
        .filter(|i| i.enabled)
        .ok_or(crate::error::Error::ConnectionNotFound)?;
    Ok(())
}

async fn list(
    State(state): State<AppState>,
    c: MaybeConsumerCaller,
    ApiPath((api, svc)): ApiPath<(String, String)>,
) -> Result<Response> {
    known(&state, &c, &api, &svc).await?;
    Ok(envelope::ok(
        state
            .vault
            .list_custom_mappings(&c.app, c.consumer.as_ref(), &api, &svc, None)
            .await?,
    ))
}

async fn get_one(
    State(state): State<AppState>,
    c: MaybeConsumerCaller,
    ApiPath((api, svc, target)): ApiPath<(String, String, String)>,
) -> Result<Response> {
    known(&state, &c, &api, &svc).await?;
    Ok(envelope::ok(
        state
            .vault
            .get_custom_mapping(&c.app, c.consumer.as_ref(), &api, &svc, &target)
            .await?,
    ))
}

async fn put(
    State(state): State<AppState>,
    c: MaybeConsumerCaller,
    ApiPath((api, svc, target)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<MappingRequest>,
) -> Result<Response> {
    known(&state, &c, &api, &svc).await?;
    Ok(envelope::ok(
        state
            .vault
            .put_custom_mapping(
                &c.app,
                c.consumer.as_ref(),
                &api,
                &svc,
                &target,
                &body.value,
            )
            .await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    c: MaybeConsumerCaller,
    ApiPath((api, svc, target)): ApiPath<(String, String, String)>,
) -> Result<Response> {
    known(&state, &c, &api, &svc).await?;
    state
        .vault
        .delete_custom_mapping(&c.app, c.consumer.as_ref(), &api, &svc, &target)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn for_resource(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc, resource)): ApiPath<(String, String, String)>,
) -> Result<Response> {
    let resource = check_resource(&resource)?;
    let key = super::connection_path(&api, &svc)?;
    state
        .vault
        .enabled_integration(&crate::service::connections::ConnectionKey {
            application_id: c.app.clone(),
            consumer_id: c.consumer.clone(),
            unified_api: key.0,
            service_id: key.1,
        })
        .await?;
    Ok(envelope::ok(
        state
            .vault
            .list_custom_mappings(&c.app, Some(&c.consumer), &api, &svc, Some(resource))
            .await?,
    ))
}

/// The resource's provider custom fields, from describe (cached), as `CustomFieldFinder`s.
async fn custom_fields(
    State(state): State<AppState>,
    c: ConsumerCaller,
    ApiPath((api, svc, resource)): ApiPath<(String, String, String)>,
) -> Result<Response> {
    let resource = check_resource(&resource)?;
    let (unified_api, service_id) = super::connection_path(&api, &svc)?;
    // The connection must exist and be callable: the describe runs with its token.
    state
        .vault
        .connection_row(&crate::service::connections::ConnectionKey {
            application_id: c.app.clone(),
            consumer_id: c.consumer.clone(),
            unified_api,
            service_id,
        })
        .await?;
    let names = state
        .vault
        .resource_custom_fields(&c.app, &c.consumer, resource)
        .await?;
    let finders: Vec<_> = names
        .iter()
        .map(|n| {
            json!({
                "id": n,
                "name": n.trim_end_matches("__c").replace('_', " "),
                "description": null,
                "value": null,
                "finder": format!("$.{n}"),
            })
        })
        .collect();
    Ok(envelope::ok(finders))
}
