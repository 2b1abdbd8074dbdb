//! Owners, deal pipelines and the properties of each object (`docs/hubspot.md §7a, §11,
//! §12`): owners and properties are read-only here (owners change with the users behind them,
//! `users.rs`); deal pipelines are created, changed (`PATCH`, or a `PUT` that replaces the
//! stages too) and deleted.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_fake_hubspot_data::ObjectType;
use patchbay_fake_hubspot_data::schema::{Kind, SYSTEM};
use serde_json::{Map, Value, json};

use super::{
    Principal, bool_param, json as respond, limit_param, object_type, offset_page, offset_param,
    param, parse_body, query_pairs,
};
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
    let after = offset_param(&pairs)?;
    let account = emu.inner().account.lock();
    let matching: Vec<Value> = account
        .owners()
        .iter()
        .filter(|o| o.archived == archived)
        .filter(|o| email.is_none_or(|e| o.email.eq_ignore_ascii_case(e)))
        .map(|o| o.render())
        .collect();
    Ok(respond(
        StatusCode::OK,
        offset_page(&matching, after, limit),
    ))
}

/// `GET /crm/v3/owners/{ownerId}` (`docs/hubspot.md §11`): `idProperty=userId` looks the
/// owner up by its user id; `archived=true` finds only archived owners, the default only live
/// ones.
pub async fn read_owner(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    principal.require(OWNERS_SCOPE)?;
    let pairs = query_pairs(query.as_deref());
    let archived = bool_param(&pairs, "archived")?;
    let by_user = match param(&pairs, "idProperty") {
        None | Some("id") => false,
        Some("userId") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "idProperty must be id or userId, got '{other}'"
            )));
        }
    };
    let account = emu.inner().account.lock();
    let owner = account
        .owners()
        .iter()
        .filter(|o| o.archived == archived)
        .find(|o| {
            let key = if by_user { o.user_id } else { o.id };
            key.to_string() == id
        })
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
    let account = emu.inner().account.lock();
    let results: Vec<Value> = account.pipelines().iter().map(|p| p.render()).collect();
    Ok(respond(StatusCode::OK, json!({"results": results})))
}

pub async fn read_pipeline(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().0)?;
    let account = emu.inner().account.lock();
    Ok(respond(StatusCode::OK, account.pipeline(&id)?.render()))
}

fn object_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match parse_body::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::validation(
            "Invalid input JSON: the body must be an object",
        )),
    }
}

/// `POST /crm/v3/pipelines/deals` (`docs/hubspot.md §12`): 201 with the whole pipeline.
pub async fn create_pipeline(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(object): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().1)?;
    let body = object_body(&body)?;
    let now = emu.now_ms();
    let mut account = emu.inner().account.lock();
    let id = account.create_pipeline(&body, now)?;
    Ok(respond(
        StatusCode::CREATED,
        account.pipeline(&id)?.render(),
    ))
}

pub async fn update_pipeline(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().1)?;
    let body = object_body(&body)?;
    let now = emu.now_ms();
    let answer = emu
        .inner()
        .account
        .lock()
        .update_pipeline(&id, &body, now)?;
    Ok(respond(StatusCode::OK, answer))
}

/// `PUT /crm/v3/pipelines/deals/{pipelineId}` (`docs/hubspot.md §12`): replaces the label,
/// order and stage list. `validateDealStageUsagesBeforeDelete=true` refuses to delete a stage
/// deals are in (a `400 VALIDATION_ERROR`); the default, as in HubSpot's current version, is
/// not to check. `validateReferencesBeforeDelete` is the other objects' flag: read, checked,
/// and not applied to deals.
pub async fn replace_pipeline(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().1)?;
    let pairs = query_pairs(query.as_deref());
    let validate = bool_param(&pairs, "validateDealStageUsagesBeforeDelete")?;
    bool_param(&pairs, "validateReferencesBeforeDelete")?;
    let body = object_body(&body)?;
    let now = emu.now_ms();
    let answer = emu
        .inner()
        .account
        .lock()
        .replace_pipeline(&id, &body, validate, now)?;
    Ok(respond(StatusCode::OK, answer))
}

/// 204 with no body, as HubSpot answers.
pub async fn delete_pipeline(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    deals_only(&object)?;
    principal.require(ObjectType::Deals.scopes().1)?;
    emu.inner().account.lock().delete_pipeline(&id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
