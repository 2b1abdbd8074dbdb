//! Owners and deal pipelines (`docs/hubspot.md §11, §12`): read-only.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use patchbay_fake_hubspot_data::{ObjectType, pipelines};
use serde_json::{Value, json};

use super::{Principal, bool_param, json as respond, limit_param, object_type, param, query_pairs};
use crate::error::ApiError;
use crate::state::Emulator;

pub const OWNERS_SCOPE: &str = "crm.objects.owners.read";
/// Owners page at most this many at a time.
pub const MAX_OWNERS_LIMIT: usize = 500;

pub async fn list_owners(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    principal.require(OWNERS_SCOPE)?;
    let pairs = query_pairs(query.as_deref());
    let limit = limit_param(&pairs, 100, MAX_OWNERS_LIMIT)?;
    let archived = bool_param(&pairs, "archived")?;
    let email = param(&pairs, "email");
    let after: usize = match param(&pairs, "after") {
        None => 0,
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::validation(format!("after must be a number, got {a}")))?,
    };
    let account = emu.inner().account.lock();
    let matching: Vec<Value> = account
        .owners()
        .iter()
        .filter(|o| o.archived == archived)
        .filter(|o| email.is_none_or(|e| o.email.eq_ignore_ascii_case(e)))
        .map(|o| o.render())
        .collect();
    let end = (after + limit).min(matching.len());
    let page = matching.get(after.min(end)..end).unwrap_or_default();
    let mut body = json!({"results": page});
    if let (true, Some(map)) = (end < matching.len(), body.as_object_mut()) {
        map.insert(
            "paging".to_owned(),
            json!({"next": {"after": end.to_string()}}),
        );
    }
    Ok(respond(StatusCode::OK, body))
}

pub async fn read_owner(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(OWNERS_SCOPE)?;
    let account = emu.inner().account.lock();
    let owner = account
        .owners()
        .iter()
        .find(|o| o.id.to_string() == id)
        .ok_or_else(ApiError::not_found)?;
    Ok(respond(StatusCode::OK, owner.render()))
}

fn deals_only(object: &str) -> Result<(), ApiError> {
    match object_type(object)? {
        ObjectType::Deals => Ok(()),
        other => Err(ApiError::validation(format!(
            "Pipelines are not available for {} in this emulator",
            other.name()
        ))),
    }
}

pub async fn list_pipelines(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(object): Path<String>,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().0)?;
    let created = emu.inner().account.lock().created_ms;
    let results: Vec<Value> = pipelines::PIPELINES
        .iter()
        .enumerate()
        .map(|(i, p)| p.render(i, created))
        .collect();
    Ok(respond(StatusCode::OK, json!({"results": results})))
}

pub async fn read_pipeline(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().0)?;
    let created = emu.inner().account.lock().created_ms;
    let (i, pipeline) = pipelines::PIPELINES
        .iter()
        .enumerate()
        .find(|(_, p)| p.id == id)
        .ok_or_else(ApiError::not_found)?;
    Ok(respond(StatusCode::OK, pipeline.render(i, created)))
}
