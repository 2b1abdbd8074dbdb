//! One router per area, merged by [`router`]. Handlers extract, call one service function and
//! convert the result.

mod admin;
mod assets;
mod connections;
mod consumers;
mod cors;
mod crm;
mod custom_mappings;
pub(crate) mod logs;
mod oauth;
mod ops;
mod popup;
mod proxy;
mod request_log;
mod sessions;
mod unsupported;
mod webhooks;
pub mod wire;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::Error;
use crate::service::Vault;

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    pub vault: Vault,
}

/// Apideck's method override: `POST …?_method=PATCH|DELETE|PUT` for clients that cannot send
/// those methods. Only POST may be overridden, and only to a method that changes something.
fn override_method(mut req: Request) -> Request {
    if req.method() != Method::POST {
        return req;
    }
    let wanted = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "_method")
            .map(|(_, v)| v.to_ascii_uppercase())
    });
    match wanted.as_deref() {
        Some("PATCH") => *req.method_mut() = Method::PATCH,
        Some("DELETE") => *req.method_mut() = Method::DELETE,
        Some("PUT") => *req.method_mut() = Method::PUT,
        _ => {}
    }
    req
}

/// The whole HTTP API.
pub fn router(state: AppState) -> Router {
    // The override must happen before routing, so the routed app sits behind it.
    let routed = routes(state.clone());
    Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(override_method)
            .layer(cors::CorsLayer::new(state))
            .service(routed),
    )
}

fn routes(state: AppState) -> Router {
    let vault = Router::new()
        .merge(sessions::router())
        .merge(consumers::router())
        .merge(connections::router())
        .merge(oauth::router())
        .merge(logs::router())
        .merge(unsupported::router())
        .merge(custom_mappings::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log::record,
        ));
    Router::new()
        .route("/health", get(health))
        .merge(ops::router())
        .merge(admin::router())
        .merge(popup::router())
        .merge(assets::router())
        .merge(vault)
        .merge(proxy::router())
        .merge(crm::router(state.clone()))
        .merge(webhooks::router())
        .route_layer(crate::metrics::LabelRouteLayer)
        .fallback(|| async { Error::UnknownRoute })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(crate::app::BODY_LIMIT_BYTES))
        .layer(CatchPanicLayer::custom(panic_envelope))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // The request id and the request's span are added around the whole app (console
        // included) in `crate::app`.
        .with_state(state)
}

/// A panic is a bug; the caller still gets the opaque 500 envelope, never a dropped connection.
fn panic_envelope(_panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    tracing::error!("a request handler panicked");
    Error::Internal("handler panicked".into()).into_response()
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
