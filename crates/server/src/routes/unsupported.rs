//! Vault endpoints of the spec that Patchbay does not implement yet. They answer with the
//! spec's 501 envelope instead of a 404, so an Apideck client learns why.

use axum::Router;
use axum::routing::{any, get};

use super::AppState;
use crate::error::Error;

pub(super) fn router() -> Router<AppState> {
    let one = "/vault/connections/{unified_api}/{service_id}";
    Router::new()
        .route(&format!("{one}/migrate"), any(|| async { Error::NotImplemented("connection migration is not supported yet") }))
        .route(&format!("{one}/token"), any(|| async { Error::NotImplemented("only the authorization code grant is supported; there is no token endpoint") }))
        .route(&format!("{one}/consent"), any(|| async { Error::NotImplemented("data-scope consent is not supported yet") }))
        .route(&format!("{one}/{{resource}}/{{kind}}"), any(|| async { Error::NotImplemented("resource configuration, schemas, examples, custom fields and custom mappings are not supported yet") }))
        .route("/vault/custom-mappings/{unified_api}/{service_id}", any(|| async { Error::NotImplemented("custom mappings are not supported yet") }))
        .route("/vault/custom-mappings/{unified_api}/{service_id}/{target_field_id}", any(|| async { Error::NotImplemented("custom mappings are not supported yet") }))
        .route("/vault/oauth/disconnect/{jwt}/{service_id}", get(|| async { Error::NotImplemented("provider-initiated disconnect is not supported yet") }).post(|| async { Error::NotImplemented("provider-initiated disconnect is not supported yet") }))
}
