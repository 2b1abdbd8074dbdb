//! One router per area, merged by [`router`]. Handlers extract, call one service function and
//! convert the result.

mod connections;
mod consumers;
pub(crate) mod logs;
mod oauth;
mod request_log;
mod sessions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::Error;
use crate::service::Vault;

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    pub vault: Vault,
}

const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    let vault = Router::new()
        .merge(sessions::router())
        .merge(consumers::router())
        .merge(connections::router())
        .merge(oauth::router())
        .merge(logs::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log::record,
        ));
    Router::new()
        .route("/health", get(health))
        .merge(vault)
        .fallback(|| async { Error::UnknownRoute })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(crate::app::BODY_LIMIT_BYTES))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Liveness plus a database round trip.
async fn health(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    match state.vault.store().ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %crate::error::chain(&e), "health check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

/// `{unified_api}/{service_id}` path segments as typed ids; junk is simply not found.
pub(crate) fn connection_path(
    unified_api: &str,
    service_id: &str,
) -> Result<(patchbay_core::UnifiedApi, patchbay_core::ServiceId), Error> {
    Ok((
        patchbay_core::UnifiedApi::parse(unified_api).map_err(|_| Error::ConnectionNotFound)?,
        patchbay_core::ServiceId::parse(service_id).map_err(|_| Error::ConnectionNotFound)?,
    ))
}
