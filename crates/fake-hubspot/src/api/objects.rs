//! `/crm/v3/objects/{type}`: list, read, create, update, archive and search
//! (`docs/hubspot.md §7–§9`).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_fake_hubspot_data::account::AssociationInput;
use patchbay_fake_hubspot_data::record::Record;
use patchbay_fake_hubspot_data::schema::{EMAIL_CONTENT, EMAIL_CONTENT_SCOPE};
use patchbay_fake_hubspot_data::search::{SearchRequest, search as run_search};
use patchbay_fake_hubspot_data::{Account, ObjectType, assoc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Principal, bool_param, json as respond, limit_param, list_param, object_type, param,
    parse_body, query_pairs,
};
use crate::error::ApiError;
use crate::state::Emulator;

/// Lists page at most this many records (`docs/hubspot.md §8`).
pub const MAX_LIST_LIMIT: usize = 100;

fn properties_or_default(object: ObjectType, requested: Option<Vec<String>>) -> Vec<String> {
    match requested {
        Some(list) if !list.is_empty() => list,
        _ => object
            .default_properties()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

fn association_types(names: Option<Vec<String>>) -> Result<Vec<ObjectType>, ApiError> {
    names
        .unwrap_or_default()
        .iter()
        .map(|n| super::object_type(n))
        .collect()
}

/// What an email's content properties say to a token without `sales-email-read`: HubSpot's
/// legacy engagements API wording (`docs/hubspot.md §5`); the v3 shape is our choice
/// (`docs/emulator-hubspot.md`, "Inferred behaviour").
pub const REDACTED: &str = "The content of this email has been redacted. To include it in the \
response, your app must require the sales-email-read scope.";

/// A rendered record as `principal` may see it: an email's content is redacted without
/// `sales-email-read`; everything else as it is.
fn shown(principal: &Principal, object: ObjectType, mut record: Value) -> Value {
    if object != ObjectType::Emails || principal.has(EMAIL_CONTENT_SCOPE) {
        return record;
    }
    if let Some(properties) = record.get_mut("properties").and_then(Value::as_object_mut) {
        for name in EMAIL_CONTENT {
            if let Some(value) = properties.get_mut(*name)
                && !value.is_null()
            {
                *value = Value::String(REDACTED.to_owned());
            }
        }
    }
    record
}

/// A record with the v3 `associations` object for the named types (empty ones left out).
fn render(
    account: &Account,
    object: ObjectType,
    record: &Record,
    names: &[String],
    with: &[ObjectType],
) -> Value {
    let mut out = record.render(object, names);
    let mut associations = Map::new();
    for to in with {
        let links = account.associations(object, record.id, *to);
        if links.is_empty() {
            continue;
        }
        let results: Vec<Value> = links
            .iter()
            .map(|(id, _)| json!({"id": id.to_string(), "type": assoc::v3_name(object, *to)}))
            .collect();
        associations.insert(to.name().to_owned(), json!({"results": results}));
    }
    if let (false, Some(map)) = (associations.is_empty(), out.as_object_mut()) {
        map.insert("associations".to_owned(), Value::Object(associations));
    }
    out
}

pub async fn list(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(object): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().0)?;
    let pairs = query_pairs(query.as_deref());
    let limit = limit_param(&pairs, 10, MAX_LIST_LIMIT)?;
    let archived = bool_param(&pairs, "archived")?;
    let names = properties_or_default(object, list_param(&pairs, "properties"));
    let with = association_types(list_param(&pairs, "associations"))?;
    let account = emu.inner().account.lock();
    let page = account.list(object, param(&pairs, "after"), limit, archived)?;
    let results: Vec<Value> = page
        .records
        .iter()
        .map(|r| {
            shown(
                &principal,
                object,
                render(&account, object, r, &names, &with),
            )
        })
        .collect();
    let mut body = json!({"results": results});
    if let (Some(after), Some(map)) = (page.next_after, body.as_object_mut()) {
        let link = format!(
            "{}/crm/v3/objects/{}?limit={limit}&after={after}",
            emu.base_url(),
            object.name()
        );
        map.insert(
            "paging".to_owned(),
            json!({"next": {"after": after, "link": link}}),
        );
    }
    Ok(respond(StatusCode::OK, body))
}

pub async fn read(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().0)?;
    let pairs = query_pairs(query.as_deref());
    let archived = bool_param(&pairs, "archived")?;
    let names = properties_or_default(object, list_param(&pairs, "properties"));
    let with = association_types(list_param(&pairs, "associations"))?;
    let account = emu.inner().account.lock();
    let record = match param(&pairs, "idProperty").filter(|p| *p != "hs_object_id") {
        None => account.get(object, &id, archived)?,
        Some(property) => {
            if !object.knows(property) {
                return Err(ApiError::validation(format!(
                    "Property \"{property}\" does not exist"
                )));
            }
            account
                .all(object)
                .find(|r| {
                    r.archived() == archived
                        && r.value(property)
                            .is_some_and(|v| v.eq_ignore_ascii_case(&id))
                })
                .ok_or_else(ApiError::not_found)?
        }
    };
    Ok(respond(
        StatusCode::OK,
        shown(
            &principal,
            object,
            render(&account, object, record, &names, &with),
        ),
    ))
}

#[derive(Deserialize)]
struct WriteBody {
    #[serde(default)]
    properties: Option<Map<String, Value>>,
    #[serde(default)]
    associations: Vec<AssociationBody>,
}

#[derive(Deserialize)]
struct AssociationBody {
    to: AssociationTo,
    types: Vec<AssociationTypeBody>,
}

#[derive(Deserialize)]
struct AssociationTo {
    id: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssociationTypeBody {
    #[serde(default)]
    association_category: Option<String>,
    association_type_id: u32,
}

fn association_inputs(bodies: &[AssociationBody]) -> Result<Vec<AssociationInput>, ApiError> {
    let mut out = Vec::new();
    for body in bodies {
        let to_id = match &body.to.id {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(ApiError::validation("associations[].to.id must be an id")),
        };
        for t in &body.types {
            if let Some(category) = t.association_category.as_deref()
                && category != "HUBSPOT_DEFINED"
            {
                return Err(ApiError::validation(format!(
                    "associationCategory {category} is not defined in this account"
                )));
            }
            out.push(AssociationInput {
                to_id: to_id.clone(),
                type_id: t.association_type_id,
            });
        }
    }
    Ok(out)
}

pub async fn create(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(object): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().1)?;
    let body: WriteBody = parse_body(&body)?;
    let properties = body.properties.unwrap_or_default();
    let associations = association_inputs(&body.associations)?;
    let now = emu.now_ms();
    let mut account = emu.inner().account.lock();
    let id = account.create(object, &properties, &associations, now)?;
    let record = account.get(object, &id.to_string(), false)?;
    let names: Vec<String> = written_names(object, record);
    Ok(respond(
        StatusCode::CREATED,
        shown(&principal, object, record.render(object, &names)),
    ))
}

/// A write answers with the record's stored properties and the system ones.
fn written_names(object: ObjectType, record: &Record) -> Vec<String> {
    let mut names: Vec<String> = record.properties.keys().cloned().collect();
    names.extend(object.default_properties().iter().map(|s| (*s).to_owned()));
    names.sort();
    names.dedup();
    names
}

pub async fn update(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().1)?;
    let body: WriteBody = parse_body(&body)?;
    let Some(properties) = body.properties else {
        return Err(ApiError::validation(
            "Invalid input JSON: 'properties' is required",
        ));
    };
    let now = emu.now_ms();
    let mut account = emu.inner().account.lock();
    let id = account.update(object, &id, &properties, now)?;
    let record = account.get(object, &id.to_string(), false)?;
    let names = written_names(object, record);
    Ok(respond(
        StatusCode::OK,
        shown(&principal, object, record.render(object, &names)),
    ))
}

pub async fn archive(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path((object, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().1)?;
    let now = emu.now_ms();
    emu.inner().account.lock().archive(object, &id, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn search(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(object): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = object_type(&object)?;
    principal.require(object.scopes().0)?;
    let request: SearchRequest = if body.is_empty() {
        SearchRequest::default()
    } else {
        parse_body(&body)?
    };
    let account = emu.inner().account.lock();
    let page = run_search(&account, object, &request)?;
    let results: Vec<Value> = page
        .records
        .iter()
        .map(|r| shown(&principal, object, r.render(object, &page.properties)))
        .collect();
    let mut body = json!({"total": page.total, "results": results});
    if let (Some(after), Some(map)) = (page.next_after, body.as_object_mut()) {
        map.insert("paging".to_owned(), json!({"next": {"after": after}}));
    }
    Ok(respond(StatusCode::OK, body))
}
