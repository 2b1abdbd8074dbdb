//! `/admin/v1/…`: administration over the same service layer as the CLI. Authenticated like the
//! Vault API (API key with the `vault` scope plus `x-apideck-app-id`), so the application is
//! always the caller's own.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};

use super::AppState;
use crate::auth::AppCaller;
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/v1/integrations/{unified_api}/{service_id}/diagnostics",
            post(diagnostics),
        )
        .route(
            "/admin/v1/cors-origins",
            get(cors_origins).put(set_cors_origins),
        )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CorsOriginsRequest {
    cors_origins: Vec<String>,
}

/// The caller's extra CORS origins, and every origin its pages may call from (these plus the
/// redirect URIs' origins).
async fn cors_origins(State(state): State<AppState>, caller: AppCaller) -> Result<Response> {
    cors_view(&state, &caller.app).await
}

/// Replaces the extra CORS origins (the whole list).
async fn set_cors_origins(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiJson(body): ApiJson<CorsOriginsRequest>,
) -> Result<Response> {
    state
        .vault
        .set_cors_origins(&caller.app, &body.cors_origins)
        .await?;
    cors_view(&state, &caller.app).await
}

async fn cors_view(state: &AppState, app: &patchbay_core::ApplicationId) -> Result<Response> {
    Ok(envelope::ok(serde_json::json!({
        "cors_origins": state.vault.cors_origins(app).await?,
        "allowed_origins": state.vault.allowed_origins(app).await?,
    })))
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
