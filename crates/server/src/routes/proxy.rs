//! `GET|POST|PUT|PATCH|DELETE|OPTIONS /proxy` (docs/apideck.md §4, `spec/apideck/proxy.yml`):
//! parses the `x-apideck-*` headers, calls [`Vault::proxy`](crate::service::Vault::proxy) once and
//! streams the answer back. Patchbay's own failures carry `x-apideck-downstream-error: false`, the
//! downstream's error answers `true`. Every call is queued for the request log
//! (`unified_api: proxy`) without waiting for the database.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use patchbay_core::{ServiceId, UnifiedApi};

use super::AppState;
use crate::auth::ProxyCaller;
use crate::error::Error;
use crate::service::logs::{RequestRecord, Timing};
use crate::service::proxy::{DOWNSTREAM_ERROR, ProxyCall, ProxyFailure, ProxyReply};

const DOWNSTREAM_URL: &str = "x-apideck-downstream-url";
const DOWNSTREAM_METHOD: &str = "x-apideck-downstream-method";
const DOWNSTREAM_AUTHORIZATION: &str = "x-apideck-downstream-authorization";
const TIMEOUT: &str = "x-apideck-timeout";
const SERVICE_ID: &str = "x-apideck-service-id";
const UNIFIED_API: &str = "x-apideck-unified-api";

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/proxy", any(proxy))
}

async fn proxy(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let (mut parts, body) = req.into_parts();
    if !matches!(
        parts.method,
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::OPTIONS
    ) {
        return own_error(Error::MethodNotAllowed);
    }
    let caller = match ProxyCaller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(e) => return own_error(e),
    };
    let call = match parse(&parts.headers, &parts.method) {
        Ok(p) => p,
        Err(e) => return own_error(e),
    };
    let source_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let request_id = parts
        .extensions
        .get::<crate::request_id::RequestId>()
        .map(|r| r.0.clone());
    let method = call.method.clone();
    let requested_service = call.service.clone();
    let vault = state.vault.clone();
    let outcome = vault
        .proxy(ProxyCall {
            app: caller.app.clone(),
            consumer: caller.consumer.clone(),
            unified_api: call.unified_api,
            service: call.service,
            method: call.method,
            downstream_url: call.url,
            downstream_authorization: call.authorization,
            timeout_ms: call.timeout_ms,
            headers: parts.headers,
            body,
        })
        .await;
    let (response, target, service_id, downstream) = match outcome {
        Ok(ProxyReply {
            status,
            headers,
            body,
            target,
            service_id,
            downstream,
        }) => {
            let mut response = Response::new(body);
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            (response, Some(target), Some(service_id), Some(downstream))
        }
        Err(ProxyFailure {
            error,
            target,
            service_id,
            downstream,
        }) => (own_error(error), target, service_id, downstream),
    };
    let status = response.status();
    vault
        .log_proxy_request(
            RequestRecord {
                application_id: caller.app,
                consumer_id: caller.consumer,
                http_method: crate::service::logs::method_text(&method),
                path: String::new(),
                operation_id: "proxy".into(),
                operation_name: "Proxy".into(),
                unified_api: "proxy".into(),
                status_code: status.as_u16(),
                error_message: (status.is_client_error() || status.is_server_error())
                    .then(|| status.canonical_reason().unwrap_or("error").to_owned()),
                // Until the response headers: the body streams after this handler returns.
                timing: Timing {
                    total: started.elapsed(),
                    provider: downstream,
                },
                source_ip,
                request_id,
            },
            target.as_ref(),
            // The connection's service; before one was resolved, the one asked for, if any.
            service_id.or(requested_service).as_ref(),
        )
        .await;
    response
}

fn own_error(e: Error) -> Response {
    let mut r = e.into_response();
    r.headers_mut()
        .insert(DOWNSTREAM_ERROR, HeaderValue::from_static("false"));
    r
}

struct Parsed {
    url: String,
    method: Method,
    authorization: Option<HeaderValue>,
    timeout_ms: Option<u64>,
    service: Option<ServiceId>,
    unified_api: UnifiedApi,
}

fn text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, Error> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| Error::validation(format!("{name} must be visible ASCII")))
        })
        .transpose()
}

fn parse(headers: &HeaderMap, incoming: &Method) -> Result<Parsed, Error> {
    let url = text(headers, DOWNSTREAM_URL)?
        .filter(|s| !s.is_empty())
        .ok_or(Error::MissingHeader(DOWNSTREAM_URL))?
        .to_owned();
    let method = match text(headers, DOWNSTREAM_METHOD)? {
        None | Some("") => incoming.clone(),
        Some(m) => match m.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "HEAD" => Method::HEAD,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            "OPTIONS" => Method::OPTIONS,
            _ => {
                return Err(Error::validation(format!(
                    "{DOWNSTREAM_METHOD} must be GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS"
                )));
            }
        },
    };
    let timeout_ms = text(headers, TIMEOUT)?
        .map(|t| {
            t.parse::<u64>().ok().filter(|ms| *ms > 0).ok_or_else(|| {
                Error::validation(format!(
                    "{TIMEOUT} must be a positive number of milliseconds"
                ))
            })
        })
        .transpose()?;
    let service = text(headers, SERVICE_ID)?
        .filter(|s| !s.is_empty())
        .map(|s| {
            ServiceId::parse(s)
                .map_err(|_| Error::validation(format!("{SERVICE_ID} is not a valid service id")))
        })
        .transpose()?;
    let unified_api = match text(headers, UNIFIED_API)?.filter(|s| !s.is_empty()) {
        None => UnifiedApi::crm(),
        Some(s) => UnifiedApi::parse(s)
            .map_err(|_| Error::validation(format!("{UNIFIED_API} is not a valid unified API")))?,
    };
    Ok(Parsed {
        url,
        method,
        authorization: headers.get(DOWNSTREAM_AUTHORIZATION).cloned(),
        timeout_ms,
        service,
        unified_api,
    })
}
