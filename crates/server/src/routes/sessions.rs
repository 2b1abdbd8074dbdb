//! `POST /vault/sessions`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use super::{AppState, wire};
use crate::auth::KeyConsumerCaller;
use crate::envelope;
use crate::error::Result;
use crate::extract::OptionalJson;
use crate::service::sessions::SessionRequest;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/vault/sessions", post(create))
}

async fn create(
    State(state): State<AppState>,
    caller: KeyConsumerCaller,
    OptionalJson(body): OptionalJson<SessionRequest>,
) -> Result<Response> {
    let session = state
        .vault
        .create_session(&caller.app, &caller.consumer, body.unwrap_or_default())
        .await?;
    Ok(envelope::ok(wire::Session::from(&session)))
}
