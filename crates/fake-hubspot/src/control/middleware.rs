//! In front of the HubSpot surface: applies injected faults to token and CRM calls and writes
//! token, metadata, introspection, revocation and CRM calls to the request log, secrets hashed.
//! In front of the control plane: its token check ([`require_token`]).

use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::control::faults::{FaultKind, FaultTarget};
use crate::control::log::LogEntry;
use crate::error::{ApiError, rate_limited};
use crate::limits::{Policy, Usage};
use crate::oauth::{field, form, sha256_hex};
use crate::state::Emulator;

/// Token-endpoint bodies are small forms; anything larger is refused before parsing.
const MAX_FORM_BODY: usize = 64 * 1024;

const TOKEN_PATHS: [&str; 3] = ["/oauth/v1/token", "/oauth/v3/token", "/oauth/2026-03/token"];

enum Kind {
    Token,
    Api,
    /// Logged without faults: `metadata`, `introspect` or `revoke`.
    Logged(&'static str),
}

fn classify(path: &str) -> Option<Kind> {
    if TOKEN_PATHS.contains(&path) {
        Some(Kind::Token)
    } else if path.starts_with("/crm/") {
        Some(Kind::Api)
    } else if path.starts_with("/oauth/v1/access-tokens/")
        || path.starts_with("/oauth/v1/refresh-tokens/")
    {
        Some(Kind::Logged("metadata"))
    } else if path.ends_with("/token/introspect") {
        Some(Kind::Logged("introspect"))
    } else if path.ends_with("/token/revoke") {
        Some(Kind::Logged("revoke"))
    } else {
        None
    }
}

/// The path with a token segment (v1 metadata paths carry one) replaced by its hash.
fn redact(path: &str) -> (String, Option<String>) {
    for prefix in ["/oauth/v1/access-tokens/", "/oauth/v1/refresh-tokens/"] {
        if let Some(token) = path.strip_prefix(prefix) {
            let hash = sha256_hex(token);
            return (format!("{prefix}sha256:{hash}"), Some(hash));
        }
    }
    (path.to_owned(), None)
}

pub async fn observe(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    let raw_path = request.uri().path().to_owned();
    let Some(kind) = classify(&raw_path) else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let time_ms = emu.now_ms();
    let method = request.method().to_string();
    let (path, mut token_sha256) = redact(&raw_path);
    let mut entry = LogEntry {
        time: patchbay_fake_hubspot_data::time::format_ms(time_ms),
        time_ms,
        kind: "api",
        method,
        path,
        query: None,
        status: None,
        grant_type: None,
        client_id: None,
        refresh_token_sha256: None,
        code_sha256: None,
        access_token_sha256: None,
        token_sha256: None,
        fault: None,
        duration_ms: 0,
    };
    let (request, target) = match kind {
        Kind::Api => {
            entry.query = request.uri().query().map(str::to_owned);
            entry.access_token_sha256 = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .map(|(_, t)| sha256_hex(t.trim()));
            (request, Some(FaultTarget::Api))
        }
        Kind::Token | Kind::Logged(_) => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = to_bytes(body, MAX_FORM_BODY).await else {
                return StatusCode::PAYLOAD_TOO_LARGE.into_response();
            };
            let pairs = form(&bytes);
            entry.grant_type = field(&pairs, "grant_type").map(str::to_owned);
            entry.client_id = field(&pairs, "client_id").map(str::to_owned);
            entry.refresh_token_sha256 = field(&pairs, "refresh_token").map(sha256_hex);
            entry.code_sha256 = field(&pairs, "code").map(sha256_hex);
            if let Some(token) = field(&pairs, "token") {
                token_sha256 = Some(sha256_hex(token));
            }
            let request = Request::from_parts(parts, Body::from(bytes));
            match kind {
                Kind::Token => {
                    entry.kind = "token";
                    (request, Some(FaultTarget::Token))
                }
                Kind::Logged(name) => {
                    entry.kind = name;
                    (request, None)
                }
                Kind::Api => (request, None),
            }
        }
    };
    entry.token_sha256 = token_sha256;
    let fault = target.and_then(|t| {
        emu.inner()
            .faults
            .take(t, &raw_path, entry.grant_type.as_deref())
    });
    let response = match (&fault, target) {
        (None, _) | (_, None) => next.run(request).await,
        (Some(FaultKind::Latency { ms }), _) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            next.run(request).await
        }
        (Some(FaultKind::Status { status }), Some(t)) => forced_status(t, *status),
        (Some(FaultKind::RateLimit), _) => {
            let (max, _) = emu.inner().limiter.limits();
            rate_limited(Policy::TenSecondlyRolling, Usage { max, remaining: 0 })
        }
        (
            Some(FaultKind::Error {
                status,
                category,
                message,
            }),
            Some(t),
        ) => injected_error(t, *status, category, message),
    };
    entry.fault = fault.as_ref().map(FaultKind::name);
    entry.status = Some(response.status().as_u16());
    entry.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    emu.inner().log.push(entry);
    response
}

fn forced_status(target: FaultTarget, status: u16) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    match target {
        FaultTarget::Token => (
            code,
            axum::Json(json!({"status": "error", "message": "internal error",
                              "correlationId": crate::error::correlation_id()})),
        )
            .into_response(),
        _ => ApiError::new(code, "INTERNAL_ERROR", "internal error").into_response(),
    }
}

fn injected_error(target: FaultTarget, status: u16, category: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    match target {
        FaultTarget::Token => {
            let mut response = (
                code,
                axum::Json(json!({
                    "status": category, "message": message, "error": category.to_lowercase(),
                    "error_description": message, "correlationId": crate::error::correlation_id(),
                })),
            )
                .into_response();
            // Same header as the endpoint's own errors.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        _ => {
            // The category is the caller's text, kept for the body alone.
            let mut body = ApiError::new(code, "VALIDATION_ERROR", message).into_response();
            let json = json!({"status": "error", "message": message,
                              "correlationId": crate::error::correlation_id(), "category": category});
            *body.body_mut() = Body::from(json.to_string());
            body
        }
    }
}

/// The control plane's guard: with [`crate::EmulatorConfig::control_token`] set, a request
/// without the matching `x-emulator-token` header gets a 404, as if there were no control
/// plane (the Salesforce emulator's convention).
pub async fn require_token(State(emu): State<Emulator>, request: Request, next: Next) -> Response {
    if let Some(expected) = &emu.config().control_token {
        let given = request
            .headers()
            .get("x-emulator-token")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        // Digests are compared, so the time taken does not depend on where the strings differ.
        if sha256_hex(&given) != sha256_hex(expected) {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": "not found"})),
            )
                .into_response();
        }
    }
    next.run(request).await
}
