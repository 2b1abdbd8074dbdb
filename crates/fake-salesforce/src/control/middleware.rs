//! The middleware in front of the Salesforce surface: it applies injected faults to token and
//! REST calls and writes each of them to the request log.

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::control::faults::{FaultKind, FaultTarget, ResetConnection};
use crate::control::log::LogEntry;
use crate::oauth::crypto::sha256_hex;
use crate::state::Emulator;

/// Token requests are small forms; anything larger is refused before parsing.
const MAX_TOKEN_BODY: usize = 64 * 1024;

fn classify(path: &str) -> Option<FaultTarget> {
    let token_paths = [
        "/services/oauth2/token",
        "/login/services/oauth2/token",
        "/test/services/oauth2/token",
    ];
    if token_paths.contains(&path) {
        Some(FaultTarget::Token)
    } else if path == "/services/data" || path.starts_with("/services/data/") {
        Some(FaultTarget::Rest)
    } else {
        None
    }
}

/// What the log needs from a token request's form.
#[derive(Default)]
struct TokenParams {
    grant_type: Option<String>,
    refresh_token_sha256: Option<String>,
    /// The `token` parameter of a revoke or introspect call, hashed.
    token_sha256: Option<String>,
    client_id: Option<String>,
}

fn token_params(query: Option<&str>, body: &[u8]) -> TokenParams {
    let mut params = TokenParams::default();
    let from_query: Vec<(String, String)> = query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let from_body: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    for (k, v) in from_query.into_iter().chain(from_body) {
        match k.as_str() {
            "grant_type" => params.grant_type = Some(v),
            "refresh_token" => params.refresh_token_sha256 = Some(sha256_hex(&v)),
            "token" => params.token_sha256 = Some(sha256_hex(&v)),
            "client_id" => params.client_id = Some(v),
            _ => {}
        }
    }
    params
}

/// Revocation and introspection are logged (a test must see that Patchbay revoked a grant)
/// but take no faults: their failure modes are the token endpoint's.
fn logged_only(path: &str) -> Option<&'static str> {
    let tail = ["", "/login", "/test"]
        .into_iter()
        .find_map(|prefix| path.strip_prefix(prefix)?.strip_prefix("/services/oauth2/"))?;
    match tail {
        "revoke" => Some("revoke"),
        "introspect" => Some("introspect"),
        _ => None,
    }
}

pub async fn observe(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(kind) = logged_only(&path) {
        return observe_without_faults(emu, kind, request, next).await;
    }
    let Some(target) = classify(&path) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let time_ms = emu.now_ms();
    let method = request.method().to_string();
    let query = request.uri().query().map(str::to_owned);

    let (request, params) = if target == FaultTarget::Token {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_TOKEN_BODY).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let params = token_params(query.as_deref(), &bytes);
        (Request::from_parts(parts, Body::from(bytes)), params)
    } else {
        (request, TokenParams::default())
    };

    let fault = emu
        .inner()
        .faults
        .take(target, &path, params.grant_type.as_deref());
    let response = match fault.clone() {
        None => next.run(request).await,
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(request).await
        }
        Some(FaultKind::Status { status }) => forced_status(target, status),
        Some(FaultKind::RateLimit { retry_after_secs }) => rate_limited(target, retry_after_secs),
        Some(FaultKind::ConnectionReset) => reset(),
        Some(FaultKind::Error {
            status,
            code,
            message,
        }) => injected_error(target, status, &code, &message),
        Some(FaultKind::DropResponse) => {
            let handled = next.run(request).await;
            let status = handled.status();
            let mut dropped = reset();
            *dropped.status_mut() = status;
            dropped
        }
    };
    let dropped = response.extensions().get::<ResetConnection>().is_some();
    let status = response.status().as_u16();
    emu.inner().log.push(LogEntry {
        time: String::new(),
        time_ms,
        kind: if target == FaultTarget::Token {
            "token"
        } else {
            "rest"
        },
        method,
        path,
        query,
        status: (!dropped || matches!(fault, Some(FaultKind::DropResponse))).then_some(status),
        grant_type: params.grant_type,
        refresh_token_sha256: params.refresh_token_sha256,
        token_sha256: None,
        client_id: params.client_id,
        fault: fault.as_ref().map(FaultKind::name),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    response
}

async fn observe_without_faults(
    emu: Emulator,
    kind: &'static str,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let time_ms = emu.now_ms();
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TOKEN_BODY).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let params = token_params(query.as_deref(), &bytes);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    emu.inner().log.push(LogEntry {
        time: String::new(),
        time_ms,
        kind,
        method,
        path,
        query: None,
        status: Some(response.status().as_u16()),
        grant_type: None,
        refresh_token_sha256: None,
        token_sha256: params.token_sha256,
        client_id: params.client_id,
        fault: None,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    response
}

fn reset() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(ResetConnection);
    response
}

fn forced_status(target: FaultTarget, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    match target {
        FaultTarget::Rest => {
            let error_code = if code == StatusCode::SERVICE_UNAVAILABLE {
                "SERVER_UNAVAILABLE"
            } else {
                "UNKNOWN_EXCEPTION"
            };
            let body = serde_json::json!([{
                "message": "An unexpected error occurred. Please try again later.",
                "errorCode": error_code
            }]);
            (code, axum::Json(body)).into_response()
        }
        _ => (
            code,
            [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
            "<html><body>Service temporarily unavailable</body></html>",
        )
            .into_response(),
    }
}

/// A chosen error in the shape of the surface it hits; an unusable status becomes 400.
fn injected_error(target: FaultTarget, status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = match target {
        FaultTarget::Rest => serde_json::json!([{"message": message, "errorCode": code}]),
        _ => serde_json::json!({"error": code, "error_description": message}),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if target == FaultTarget::Rest {
        // Salesforce's REST content type, as every other REST body carries it.
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
    } else {
        crate::oauth::error::no_store(&mut response);
    }
    response
}

fn rate_limited(target: FaultTarget, retry_after_secs: u64) -> Response {
    let mut response = match target {
        FaultTarget::Rest => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!([{
                "message": "Too many requests. Please retry later.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED"
            }])),
        )
            .into_response(),
        _ => (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({
                "error": "rate_limit_exceeded",
                "error_description": "too many requests"
            })),
        )
            .into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The control plane's guard: with [`crate::EmulatorConfig::control_token`] set, a request
/// without the matching `x-emulator-token` header gets a 404, as if there were no control plane.
pub async fn require_token(State(emu): State<Emulator>, req: Request, next: Next) -> Response {
    if let Some(expected) = &emu.config().control_token {
        let given = req
            .headers()
            .get("x-emulator-token")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        // Compare digests, so the time taken does not depend on where the strings differ.
        if sha256_hex(&given) != sha256_hex(expected) {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({"error": "not found"})),
            )
                .into_response();
        }
    }
    next.run(req).await
}
