//! `/vault/consumers` and `/vault/consumers/{consumer_id}`.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use patchbay_core::{ConsumerId, ConsumerMetadata};
use patchbay_store::ConsumerFilter;
use serde::Deserialize;

use super::{AppState, wire};
use crate::auth::AppCaller;
use crate::envelope;
use crate::error::{Error, Result};
use crate::extract::{ApiJson, ApiPath, QueryPairs};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/vault/consumers", get(list).post(create))
        .route(
            "/vault/consumers/{consumer_id}",
            get(one).patch(update).delete(remove),
        )
        .route("/vault/consumers/{consumer_id}/stats", get(stats))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateConsumerRequest {
    consumer_id: String,
    metadata: Option<ConsumerMetadata>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateConsumerRequest {
    metadata: Option<ConsumerMetadata>,
}

fn consumer_id(raw: &str) -> Result<ConsumerId> {
    ConsumerId::parse(raw).map_err(|e| Error::validation(format!("consumer_id: {e}")))
}

async fn create(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiJson(body): ApiJson<CreateConsumerRequest>,
) -> Result<Response> {
    let id = consumer_id(&body.consumer_id)?;
    let view = state
        .vault
        .create_consumer(&caller.app, &id, &body.metadata.unwrap_or_default())
        .await?;
    Ok(envelope::ok(wire::Consumer::from(&view)))
}

async fn list(State(state): State<AppState>, caller: AppCaller, q: QueryPairs) -> Result<Response> {
    let filter = ConsumerFilter {
        consumer_id_prefix: q
            .get("filter[consumer_id]")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        search: q
            .get("filter[search]")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    let limit = q.limit()?;
    let cursor = envelope::decode_cursor(q.get("cursor"))?;
    let page = state
        .vault
        .list_consumers(&caller.app, &filter, cursor.as_deref(), limit)
        .await?;
    let self_url = format!("{}/vault/consumers", state.vault.public_url());
    Ok(envelope::paged(
        wire::all::<_, wire::Consumer>(&page.items),
        &q.0,
        page.next_cursor.as_deref(),
        &self_url,
    ))
}

async fn one(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let id = consumer_id(&id).map_err(|_| Error::NotFound { entity: "consumer" })?;
    let view = state.vault.get_consumer(&caller.app, &id).await?;
    Ok(envelope::ok(wire::Consumer::from(&view)))
}

async fn update(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateConsumerRequest>,
) -> Result<Response> {
    let id = consumer_id(&id).map_err(|_| Error::NotFound { entity: "consumer" })?;
    let view = state
        .vault
        .update_consumer(&caller.app, &id, &body.metadata.unwrap_or_default())
        .await?;
    Ok(envelope::ok(wire::Consumer::from(&view)))
}

async fn remove(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let id = consumer_id(&id).map_err(|_| Error::NotFound { entity: "consumer" })?;
    state
        .vault
        .delete_consumer(&caller.app, &id, &caller.actor)
        .await?;
    Ok(envelope::ok(
        serde_json::json!({ "consumer_id": id.as_str() }),
    ))
}

async fn stats(
    State(state): State<AppState>,
    caller: AppCaller,
    ApiPath(id): ApiPath<String>,
    q: QueryPairs,
) -> Result<Response> {
    let id = consumer_id(&id).map_err(|_| Error::NotFound { entity: "consumer" })?;
    let bound = |name: &str| -> Result<i64> {
        let v = q
            .get(name)
            .ok_or_else(|| Error::validation(format!("{name} is required")))?;
        super::logs::rfc3339_ms(name, v)
    };
    let (start, end) = (bound("start_datetime")?, bound("end_datetime")?);
    let stats = state
        .vault
        .consumer_stats(&caller.app, &id, start, end)
        .await?;
    Ok(envelope::ok(wire::ConsumerStats::from(&stats)))
}
