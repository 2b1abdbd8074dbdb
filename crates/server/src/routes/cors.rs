//! CORS for the Vault endpoints a session token may call (`/vault/connections…`,
//! `/vault/logs`, `/vault/custom-mappings…`), so that Apideck's embeddable modal works from
//! the SaaS app's own origin. The rules (see `service::cors`):
//! - a preflight is answered with allow headers only for an origin some application allows;
//! - an actual answer carries `Access-Control-Allow-Origin` (that exact origin, never `*`) only
//!   when the call was authenticated by a valid session of an application that allows it;
//! - API-key calls, the admin API, the console and every other path never get one.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

const ALLOW_METHODS: &str = "GET, POST, PATCH, PUT, DELETE";
const ALLOW_HEADERS: &str = "authorization, content-type, x-apideck-app-id, \
     x-apideck-consumer-id, x-apideck-auth-type, x-apideck-service-id";
const EXPOSE_HEADERS: &str = "x-patchbay-ignored-fields";

/// Paths the embeddable modal calls with a session token.
fn session_callable(path: &str) -> bool {
    path == "/vault/connections"
        || path.starts_with("/vault/connections/")
        || path == "/vault/logs"
        || path.starts_with("/vault/custom-mappings/")
}

fn vary(h: &mut HeaderMap, value: &'static str) {
    h.append(header::VARY, HeaderValue::from_static(value));
}

pub(super) async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (Some(origin), true) = (origin, session_callable(req.uri().path())) else {
        return next.run(req).await;
    };
    if req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    {
        return preflight(&state, &origin).await;
    }
    let session_app = session_application(&state, req.headers());
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    vary(h, "origin");
    if let Some(app) = session_app
        && state.vault.origin_allowed(&app, &origin).await
        && let Ok(v) = HeaderValue::from_str(&origin)
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    response
}

async fn preflight(state: &AppState, origin: &str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let allowed = state.vault.origin_registered(origin).await;
    let h = response.headers_mut();
    vary(h, "origin");
    vary(h, "access-control-request-method");
    vary(h, "access-control-request-headers");
    if let (true, Ok(v)) = (allowed, HeaderValue::from_str(origin)) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// The application of a valid session token whose `x-apideck-app-id` matches; `None` for API
/// keys, bad tokens and mismatches (those calls get no allow header).
fn session_application(
    state: &AppState,
    headers: &HeaderMap,
) -> Option<patchbay_core::ApplicationId> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = auth.split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.starts_with("pbk_") {
        return None;
    }
    let claims = state.vault.verify_session(token).ok()?;
    let app_header = headers
        .get(crate::auth::APP_ID_HEADER)?
        .to_str()
        .ok()?
        .trim();
    (claims.application_id.as_str() == app_header).then_some(claims.application_id)
}
