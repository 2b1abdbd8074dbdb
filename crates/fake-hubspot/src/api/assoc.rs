//! v4 associations (`docs/hubspot.md §10`): list a record's associations to one object type,
//! create the default (unlabeled) one, remove all between two records.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_fake_hubspot_data::assoc;
use serde_json::{Value, json};

use super::{Principal, json as respond, limit_param, object_type, param, query_pairs};
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
