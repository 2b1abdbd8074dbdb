//! Owners, deal pipelines and the properties of each object (`docs/hubspot.md §7a, §11,
//! §12`): read-only.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use patchbay_fake_hubspot_data::schema::{Kind, SYSTEM};
use patchbay_fake_hubspot_data::{ObjectType, pipelines};
use serde_json::{Value, json};

use super::{Principal, bool_param, json as respond, limit_param, object_type, param, query_pairs};
use crate::error::ApiError;
use crate::state::Emulator;

pub const OWNERS_SCOPE: &str = "crm.objects.owners.read";
/// Owners page at most this many at a time.
pub const MAX_OWNERS_LIMIT: usize = 500;

/// `GET /crm/v3/properties/{object}` (`docs/hubspot.md §7a`): every property of the object,
/// HubSpot's own marked `hubspotDefined: true`, the account's custom ones without the flag.
/// Archived properties are not modelled, so `archived=true` lists none.
pub async fn list_properties(
    State(_emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(object): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().0)?;
    if bool_param(&query_pairs(query.as_deref()), "archived")? {
        return Ok(respond(StatusCode::OK, json!({"results": []})));
    }
    let describe = |name: &str, kind: Kind, custom: bool| {
        let (kind, field) = match kind {
            Kind::Text | Kind::Owner => ("string", "text"),
            Kind::Number => ("number", "number"),
            Kind::DateTime => ("datetime", "date"),
            Kind::Options(_) => ("enumeration", "select"),
        };
        let options: Vec<Value> = match object.kind(name) {
            Kind::Options(values) => values
                .iter()
                .enumerate()
                .map(|(i, v)| json!({"label": v, "value": v, "displayOrder": i, "hidden": false}))
                .collect(),
            _ => Vec::new(),
        };
        let mut p = json!({
            "name": name, "label": name, "type": kind, "fieldType": field,
            "groupName": if custom { "custom_properties" } else { "default_properties" },
            "options": options, "archived": false,
        });
        if let Some(map) = p.as_object_mut().filter(|_| !custom) {
            map.insert("hubspotDefined".to_owned(), json!(true));
        }
        p
    };
    let results: Vec<Value> = SYSTEM
        .iter()
        .map(|name| describe(name, object.kind(name), false))
        .chain(
            object
                .properties()
                .iter()
                .map(|p| describe(p.name, p.kind, p.custom)),
        )
        .collect();
    Ok(respond(StatusCode::OK, json!({ "results": results })))
}

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
