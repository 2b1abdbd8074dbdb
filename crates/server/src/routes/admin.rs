//! `/admin/v1/…`: administration over the same service layer as the CLI. Authenticated like the
//! Vault API (API key with the `vault` scope plus `x-apideck-app-id`), so the application is
//! always the caller's own.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use super::AppState;
use crate::auth::AppCaller;
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::ApiPath;

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/v1/integrations/{unified_api}/{service_id}/diagnostics",
        post(diagnostics),
    )
}

/// "Test Vault": runs every check and answers the report (200 even when checks fail: the
/// report is the answer; `data.ok` says whether all passed).
async fn diagnostics(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath((unified_api, service_id)): ApiPath<(String, String)>,
) -> Result<Response> {
    let unified_api =
        patchbay_core::UnifiedApi::parse(&unified_api).map_err(|_| Error::IntegrationNotFound)?;
    let service_id =
        patchbay_core::ServiceId::parse(&service_id).map_err(|_| Error::IntegrationNotFound)?;
    let report = state
        .vault
        .diagnose_integration(&caller.app, &unified_api, &service_id)
        .await?;
    Ok(envelope::ok(report))
}
