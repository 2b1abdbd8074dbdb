//! Records every Vault call in the request log (spec `Log`), after the response is known.
//! Only the path is recorded, never the query string.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::auth::LogSlot;
use crate::service::logs::{RequestRecord, Timing};

/// The spec's operation id and name for a matched route.
fn operation(method: &str, path: &str) -> (&'static str, &'static str) {
    match (method, path) {
        ("POST", "/vault/sessions") => ("sessionsCreate", "Create Session"),
        ("POST", "/vault/consumers") => ("consumersAdd", "Create consumer"),
        ("GET", "/vault/consumers") => ("consumersAll", "Get all consumers"),
        ("GET", "/vault/consumers/{consumer_id}") => ("consumersOne", "Get consumer"),
        ("PATCH", "/vault/consumers/{consumer_id}") => ("consumersUpdate", "Update consumer"),
        ("DELETE", "/vault/consumers/{consumer_id}") => ("consumersDelete", "Delete consumer"),
        ("GET", "/vault/consumers/{consumer_id}/stats") => {
            ("consumerRequestCountsAll", "Consumer request counts")
        }
        ("GET", "/vault/connections") => ("connectionsAll", "Get All Connections"),
        ("GET", "/vault/connections/{unified_api}/{service_id}") => {
            ("connectionsOne", "Get connection")
        }
        ("POST", "/vault/connections/{unified_api}/{service_id}") => {
            ("connectionsAdd", "Create connection")
        }
        ("PATCH", "/vault/connections/{unified_api}/{service_id}") => {
            ("connectionsUpdate", "Update connection")
        }
        ("DELETE", "/vault/connections/{unified_api}/{service_id}") => {
            ("connectionsDelete", "Deletes a connection")
        }
        ("POST", "/vault/connections/{unified_api}/{service_id}/import") => {
            ("connectionsImport", "Import connection")
        }
        ("POST", "/vault/connections/{unified_api}/{service_id}/validate") => {
            ("validateConnectionState", "Validate Connection State")
        }
        ("POST", "/vault/connections/{unified_api}/{service_id}/confirm") => {
            ("connectionsConfirm", "Confirm Connection")
        }
        ("POST", "/vault/connections/{unified_api}/{service_id}/callback-state") => {
            ("createCallbackState", "Create Callback State")
        }
        ("POST", "/vault/connections/{unified_api}/{service_id}/export") => {
            ("connectionsExport", "Export connection credentials")
        }
        ("GET", "/vault/authorize/{service_id}/{application_id}") => {
            ("connectionsAuthorize", "Authorize")
        }
        ("GET", "/vault/callback") => ("connectionsCallback", "Callback"),
        ("GET", "/vault/revoke/{service_id}/{application_id}") => {
            ("connectionsRevoke", "Revoke connection")
        }
        ("GET", "/vault/logs") => ("logsAll", "Get all consumer request logs"),
        _ => ("unknown", "Unknown operation"),
    }
}

pub(super) async fn record(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let slot = LogSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = crate::service::logs::method_text(req.method());
    let path = req.uri().path().to_owned();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
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
    let (operation_id, operation_name) = operation(&method, &matched);
    let status = response.status();
    let record = RequestRecord {
        application_id,
        consumer_id,
        http_method: method,
        path,
        operation_id: operation_id.into(),
        operation_name: operation_name.into(),
        unified_api: "vault".into(),
        status_code: status.as_u16(),
        error_message: (status.is_client_error() || status.is_server_error())
            .then(|| status.canonical_reason().unwrap_or("error").to_owned()),
        // The Vault is both the service and the server here: its whole time is the service's.
        timing: Timing::served_by_patchbay(started.elapsed()),
        source_ip,
        request_id,
    };
    state.vault.record_request(record).await;
    response
}
