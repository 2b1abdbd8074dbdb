//! `/crm/{resource}` and `/crm/{resource}/{id}`: the unified CRM API (Apideck's
//! `spec/apideck/crm.yml`, for every registered connector). Handlers extract the caller, the resource and the
//! query, call [`Vault::crm`](crate::service::Vault::crm) once and render the envelope with the
//! `x-downstream-ratelimit-*` headers. Every call lands in the request log (`GET /vault/logs`),
//! queued and written off the request path.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use patchbay_core::ServiceId;
use patchbay_unified::Resource;
use serde_json::Value;

use super::AppState;
use crate::auth::{CrmCaller, LogSlot};
use crate::error::Error;
use crate::extract::{ApiJson, ApiPath, QueryPairs};
use crate::service::crm::{CrmAnswer, CrmOperation, CrmReply, CrmRequest};
use crate::service::logs::{RequestRecord, Timing};

pub const SERVICE_ID_HEADER: &str = "x-apideck-service-id";
const RAW_HEADER: &str = "x-apideck-raw";

pub(super) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/crm/{resource}", get(list).post(create))
        .route(
            "/crm/{resource}/{id}",
            get(one).patch(update).delete(remove),
        )
        .layer(axum::middleware::from_fn_with_state(state, record))
}

/// The caller plus the request details every handler needs.
struct Call {
    caller: CrmCaller,
    service: Option<ServiceId>,
    query: Vec<(String, String)>,
}

impl FromRequestParts<AppState> for Call {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let caller = CrmCaller::from_request_parts(parts, state).await?;
        let service = service_header(&parts.headers)?;
        let QueryPairs(mut query) = QueryPairs::from_request_parts(parts, state).await?;
        // `x-apideck-raw: true` is the header form of `?raw=true`.
        let raw_header = parts
            .headers
            .get(RAW_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if raw_header && !query.iter().any(|(k, _)| k == "raw") {
            query.push(("raw".to_owned(), "true".to_owned()));
        }
        Ok(Call {
            caller,
            service,
            query,
        })
    }
}

fn service_header(headers: &HeaderMap) -> Result<Option<ServiceId>, Error> {
    match headers.get(SERVICE_ID_HEADER) {
        None => Ok(None),
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| {
                    Error::validation(format!("header {SERVICE_ID_HEADER} is not valid text"))
                })?
                .trim();
            if v.is_empty() {
                return Ok(None);
            }
            ServiceId::parse(v)
                .map(Some)
                .map_err(|e| Error::validation(format!("{SERVICE_ID_HEADER}: {e}")))
        }
    }
}

fn resource(name: &str) -> Result<Resource, Error> {
    Resource::parse(name).ok_or_else(|| Error::UnknownCrmResource(name.to_owned()))
}

async fn run(state: &AppState, call: &Call, resource: Resource, op: CrmOperation) -> Response {
    let reply = state
        .vault
        .crm(CrmRequest {
            app: &call.caller.app,
            consumer: &call.caller.consumer,
            service: call.service.as_ref(),
            resource,
            operation: op,
            query: &call.query,
        })
        .await;
    render(reply)
}

/// Time the call spent at the provider, handed from the handler to [`record`] on the response.
#[derive(Debug, Clone, Copy)]
struct ProviderTime(Duration);

/// The service that answered, handed to [`record`] for the log entry.
#[derive(Debug, Clone, Copy)]
struct Served(&'static str);

fn render(reply: CrmReply) -> Response {
    let mut response = match reply.result {
        Ok(CrmAnswer::Built(r)) => {
            let status = StatusCode::from_u16(r.status_code).unwrap_or(StatusCode::OK);
            (status, axum::Json(r.body)).into_response()
        }
        Ok(CrmAnswer::One(one)) => (StatusCode::OK, axum::Json(one)).into_response(),
        Err(e) => e.into_response(),
    };
    response.extensions_mut().insert(Served(reply.service));
    if let Some(time) = reply.downstream {
        response.extensions_mut().insert(ProviderTime(time));
    }
    if !reply.ignored.is_empty()
        && let Ok(v) = HeaderValue::from_str(&reply.ignored.join(", "))
    {
        response
            .headers_mut()
            .insert("x-patchbay-ignored-fields", v);
    }
    if let Some(usage) = reply.usage {
        let headers = response.headers_mut();
        headers.insert(
            "x-downstream-ratelimit-limit",
            HeaderValue::from(usage.limit()),
        );
        headers.insert(
            "x-downstream-ratelimit-remaining",
            HeaderValue::from(usage.remaining()),
        );
    }
    response
}

async fn list(
    State(state): State<AppState>,
    call: Call,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, Error> {
    let resource = resource(&name)?;
    Ok(run(&state, &call, resource, CrmOperation::List).await)
}

async fn create(
    State(state): State<AppState>,
    call: Call,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, Error> {
    let resource = resource(&name)?;
    Ok(run(&state, &call, resource, CrmOperation::Create(body)).await)
}

async fn one(
    State(state): State<AppState>,
    call: Call,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<Response, Error> {
    let resource = resource(&name)?;
    Ok(run(&state, &call, resource, CrmOperation::Get(id)).await)
}

async fn update(
    State(state): State<AppState>,
    call: Call,
    ApiPath((name, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, Error> {
    let resource = resource(&name)?;
    Ok(run(&state, &call, resource, CrmOperation::Update(id, body)).await)
}

async fn remove(
    State(state): State<AppState>,
    call: Call,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<Response, Error> {
    let resource = resource(&name)?;
    Ok(run(&state, &call, resource, CrmOperation::Delete(id)).await)
}

/// The spec's operation id and summary, e.g. `contactsAll` / `List contacts`.
fn operation(method: &str, path: &str) -> Option<(&'static str, &'static str)> {
    let mut segments = path.trim_start_matches('/').split('/');
    let (Some("crm"), Some(name), id, None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return None;
    };
    let resource = Resource::parse(name)?;
    const OPS: [(&str, bool, &str, &str, bool); 5] = [
        ("GET", false, "All", "List", true),
        ("POST", false, "Add", "Create", false),
        ("GET", true, "One", "Get", false),
        ("PATCH", true, "Update", "Update", false),
        ("DELETE", true, "Delete", "Delete", false),
    ];
    let op = OPS
        .iter()
        .position(|(m, with_id, ..)| *m == method && *with_id == id.is_some())?;
    // Every (resource, operation) pair's texts, written once: a call's log entry borrows its
    // pair instead of formatting two strings.
    static NAMES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        Resource::ALL
            .iter()
            .flat_map(|r| {
                let plural = r.as_str();
                let singular = match r {
                    Resource::Companies => "company",
                    Resource::Opportunities => "opportunity",
                    Resource::Activities => "activity",
                    _ => plural.trim_end_matches('s'),
                };
                OPS.iter().map(move |(_, _, suffix, verb, list)| {
                    let noun = if *list { plural } else { singular };
                    (format!("{plural}{suffix}"), format!("{verb} {noun}"))
                })
            })
            .collect()
    });
    let at = Resource::ALL.iter().position(|r| *r == resource)? * OPS.len() + op;
    names.get(at).map(|(id, name)| (id.as_str(), name.as_str()))
}

/// Records the call once the response is known. The entry is queued: the caller never waits
/// for the database.
async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = crate::service::logs::method_text(req.method());
    let path = req.uri().path().to_owned();
    let source_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let request_id = req
        .extensions()
        .get::<crate::request_id::RequestId>()
        .map(|r| r.0.clone());
    let response = next.run(req).await;
    let Some((application_id, consumer_id)) = slot.take() else {
        return response;
    };
    let (operation_id, operation_name) =
        operation(&method, &path).unwrap_or(("unknown", "Unknown operation"));
    let status = response.status();
    let record = RequestRecord {
        application_id,
        consumer_id,
        http_method: method,
        path,
        operation_id: operation_id.into(),
        operation_name: operation_name.into(),
        unified_api: "crm".into(),
        status_code: status.as_u16(),
        error_message: (status.is_client_error() || status.is_server_error())
            .then(|| status.canonical_reason().unwrap_or("error").to_owned()),
        timing: Timing {
            total: started.elapsed(),
            provider: response.extensions().get::<ProviderTime>().map(|t| t.0),
        },
        source_ip,
        request_id,
    };
    let service = response.extensions().get::<Served>().map(|s| s.0);
    state.vault.log_crm_request(record, service).await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_follow_the_spec_ids() {
        let op = |m: &str, p: &str| operation(m, p).map(|(id, name)| format!("{id}|{name}"));
        assert_eq!(
            op("GET", "/crm/contacts").as_deref(),
            Some("contactsAll|List contacts")
        );
        assert_eq!(
            op("POST", "/crm/companies").as_deref(),
            Some("companiesAdd|Create company")
        );
        assert_eq!(
            op("PATCH", "/crm/opportunities/006x").as_deref(),
            Some("opportunitiesUpdate|Update opportunity")
        );
        assert_eq!(
            op("DELETE", "/crm/activities/00Ux").as_deref(),
            Some("activitiesDelete|Delete activity")
        );
        assert_eq!(
            op("GET", "/crm/pipelines/default").as_deref(),
            Some("pipelinesOne|Get pipeline")
        );
        assert_eq!(op("GET", "/crm/lists"), None);
        assert_eq!(op("PUT", "/crm/contacts/1"), None);
    }
}
