//! v4 associations (`docs/hubspot.md §10`): list a record's associations to one object type,
//! read them for many records at once, create the default (unlabeled) one, remove all between
//! two records.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_fake_hubspot_data::assoc;
use serde_json::{Value, json};

use super::{Principal, json as respond, limit_param, object_type, param, parse_body, query_pairs};
use crate::error::ApiError;
use crate::state::Emulator;

/// The v4 list pages at most this many associated records.
pub const MAX_LIMIT: usize = 500;

pub async fn list(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((from, id, to)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    principal.require(from.scopes().0)?;
    principal.require(to.scopes().0)?;
    let pairs = query_pairs(query.as_deref());
    let limit = limit_param(&pairs, MAX_LIMIT, MAX_LIMIT)?;
    let after: u64 = match param(&pairs, "after") {
        None => 0,
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::validation(format!("after must be a number, got {a}")))?,
    };
    let account = emu.inner().account.lock();
    let record = account.get(from, &id, false)?;
    let links = account.associations(from, record.id, to);
    let mut rest = links.iter().filter(|(to_id, _)| *to_id >= after);
    let results: Vec<Value> = rest
        .by_ref()
        .take(limit)
        .map(|(to_id, types)| {
            let types: Vec<Value> = types
                .iter()
                .map(|t| {
                    json!({"category": "HUBSPOT_DEFINED", "typeId": t,
                           "label": assoc::label(from, to, *t)})
                })
                .collect();
            json!({"toObjectId": to_id, "associationTypes": types})
        })
        .collect();
    let mut body = json!({"results": results});
    if let (Some((next, _)), Some(map)) = (rest.next(), body.as_object_mut()) {
        map.insert(
            "paging".to_owned(),
            json!({"next": {"after": next.to_string()}}),
        );
    }
    Ok(respond(StatusCode::OK, body))
}

/// Most inputs one batch read takes (`docs/hubspot.md §10`).
pub const MAX_BATCH_INPUTS: usize = 1000;

#[derive(serde::Deserialize)]
struct BatchInput {
    inputs: Vec<BatchId>,
}

#[derive(serde::Deserialize)]
struct BatchId {
    id: Value,
}

/// `POST /crm/v4/associations/{from}/{to}/batch/read` (`docs/hubspot.md §10`): one result per
/// input record that has associations to `to`; inputs without any (or unknown, or archived)
/// are left out of `results` and named in `errors`, and the answer is then `207`.
pub async fn batch_read(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    principal.require(from.scopes().0)?;
    principal.require(to.scopes().0)?;
    let input: BatchInput = parse_body(&body)?;
    if input.inputs.len() > MAX_BATCH_INPUTS {
        return Err(ApiError::validation(format!(
            "Batch read takes at most {MAX_BATCH_INPUTS} inputs, got {}",
            input.inputs.len()
        )));
    }
    let started = patchbay_fake_hubspot_data::time::format_ms(emu.now_ms());
    let account = emu.inner().account.lock();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for BatchId { id } in &input.inputs {
        let id = match id {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(ApiError::validation("Each input needs an id")),
        };
        let links = account
            .get(from, &id, false)
            .map(|r| account.associations(from, r.id, to))
            .unwrap_or_default();
        if links.is_empty() {
            missing.push(id);
            continue;
        }
        let to_list: Vec<Value> = links
            .iter()
            .map(|(to_id, types)| {
                let types: Vec<Value> = types
                    .iter()
                    .map(|t| {
                        json!({"category": "HUBSPOT_DEFINED", "typeId": t,
                               "label": assoc::label(from, to, *t)})
                    })
                    .collect();
                json!({"toObjectId": to_id, "associationTypes": types})
            })
            .collect();
        results.push(json!({"from": {"id": id}, "to": to_list}));
    }
    drop(account);
    let completed = patchbay_fake_hubspot_data::time::format_ms(emu.now_ms());
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": completed,
    });
    let status = if missing.is_empty() {
        StatusCode::OK
    } else if let Some(map) = body.as_object_mut() {
        let errors: Vec<Value> = missing
            .iter()
            .map(|id| {
                json!({"status": "error", "category": "OBJECT_NOT_FOUND",
                       "message": format!("No {} is associated with {} {id}.", to.singular(), from.singular()),
                       "context": {"fromObjectId": [id]}})
            })
            .collect();
        map.insert("numErrors".to_owned(), json!(errors.len()));
        map.insert("errors".to_owned(), Value::Array(errors));
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    Ok(respond(status, body))
}

pub async fn create_default(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((from, id, to, to_id)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    principal.require(from.scopes().1)?;
    let (a, b, type_id) = emu
        .inner()
        .account
        .lock()
        .associate_default(from, &id, to, &to_id)?;
    let body = json!({
        "status": "COMPLETE",
        "results": [{
            "from": {"id": a.to_string()}, "to": {"id": b.to_string()},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
        }],
        "startedAt": patchbay_fake_hubspot_data::time::format_ms(emu.now_ms()),
        "completedAt": patchbay_fake_hubspot_data::time::format_ms(emu.now_ms()),
    });
    Ok(respond(StatusCode::OK, body))
}

pub async fn remove(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((from, id, to, to_id)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    principal.require(from.scopes().1)?;
    emu.inner()
        .account
        .lock()
        .dissociate(from, &id, to, &to_id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
