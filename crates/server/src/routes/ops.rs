//! Operations endpoints: `/ready`, for load balancers and orchestrators (`/health` is
//! liveness and lives beside the router).

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// A database that does not answer within this is unavailable, for readiness.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/ready", get(ready))
}

/// 200 when this node can serve: the database answers and has every migration this binary
/// expects. 503 otherwise, with the reason; it recovers by itself once the cause goes away.
async fn ready(State(state): State<AppState>) -> Response {
    let store = state.vault.store();
    let probe = async {
        store.ping().await?;
        store.pending_migrations().await
    };
    let (status, reason) = match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(0)) => (StatusCode::OK, None),
        Ok(Ok(n)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(format!("{n} database migration(s) pending")),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::error::chain(&e), "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("the database is unavailable".to_owned()),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("the database did not answer in time".to_owned()),
        ),
    };
    let body = match reason {
        None => serde_json::json!({ "status": "ready" }),
        Some(reason) => serde_json::json!({ "status": "unavailable", "reason": reason }),
    };
    (status, Json(body)).into_response()
}
