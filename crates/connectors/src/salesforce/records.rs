//! Single-record operations for Salesforce: mapping records to unified JSON and unified bodies
//! to Salesforce fields, with the quirks the tables cannot express, and the request plans for
//! get, create, update and delete.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use patchbay_unified::model::{ActivityType, Write, validate_body};
use patchbay_unified::{CommonParams, Resource, UnifiedError};

use super::DIALECT;
use super::ids::{IdKind, is_valid_id, kind_of};
use super::request::{Method, SalesforceRequest};
use super::tables::{self, PIPELINE_ID};
use super::writes::{NOTE_PARENTS, to_salesforce_reporting};
use crate::record_keys::{RecordKeys, keys_of};
use crate::table::{ObjectMap, read_record as read_with};

/// The object a resource maps to by default (activities: Event).
pub fn default_map(resource: Resource) -> &'static ObjectMap {
    match resource {
        Resource::Contacts => &tables::CONTACT,
        Resource::Companies => &tables::ACCOUNT,
        Resource::Leads => &tables::LEAD,
        Resource::Opportunities => &tables::OPPORTUNITY,
        Resource::Activities => &tables::EVENT,
        Resource::Notes => &tables::NOTE,
        Resource::Users => &tables::USER,
        Resource::Pipelines => &tables::STAGE,
    }
}

/// The object holding a given record: activities are Tasks when the id says so (`00T`).
pub fn map_for_id(resource: Resource, id: &str) -> &'static ObjectMap {
    match (resource, kind_of(id)) {
        (Resource::Activities, IdKind::Task) => &tables::TASK,
        _ => default_map(resource),
    }
}

/// Activity types stored as Tasks; every other type is an Event.
pub fn is_task_type(t: ActivityType) -> bool {
    matches!(
        t,
        ActivityType::Task | ActivityType::Call | ActivityType::Email
    )
}

/// Refuses ids that cannot name a record of `resource`: malformed ones, and ones whose key
/// prefix belongs to another object (a lead id on `/crm/contacts`). Saves a doomed API call.
fn check_id(resource: Resource, id: &str) -> Result<(), UnifiedError> {
    let expected: &[IdKind] = match resource {
        Resource::Contacts => &[IdKind::Contact],
        Resource::Companies => &[IdKind::Account],
        Resource::Leads => &[IdKind::Lead],
        Resource::Opportunities => &[IdKind::Opportunity],
        Resource::Activities => &[IdKind::Event, IdKind::Task],
        Resource::Notes => &[IdKind::Note],
        Resource::Users => &[IdKind::User],
        Resource::Pipelines => &[],
    };
    if is_valid_id(id) && expected.contains(&kind_of(id)) {
        Ok(())
    } else {
        Err(UnifiedError::EntityNotFound {
            message: format!("no {} record with this id", resource.as_str()),
        })
    }
}

fn pass_through_query(common: &CommonParams) -> Vec<(String, String)> {
    common
        .pass_through
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The call that fetches one record. For pipelines this is the stage query (read the rows with
/// [`read_pipeline`]); the only pipeline id is `default`.
pub fn plan_get(
    resource: Resource,
    id: &str,
    common: &CommonParams,
) -> Result<SalesforceRequest, UnifiedError> {
    if resource == Resource::Pipelines {
        if id != PIPELINE_ID {
            return Err(UnifiedError::EntityNotFound {
                message: format!("Salesforce has one pipeline, with id {PIPELINE_ID}"),
            });
        }
        return Ok(super::list::stage_query());
    }
    check_id(resource, id)?;
    let map = map_for_id(resource, id);
    let mut request = SalesforceRequest::record(Method::Get, map.object, Some(id), None);
    request.query = pass_through_query(common);
    Ok(request)
}

/// The keys of a `sobjects/{Type}/{id}` answer [`read_record`] looks at: the fields a list
/// query selects for the resource (both activity objects: the answer's type picks the table),
/// `attributes` (the type) and custom fields. Prepared once per resource; pipelines (a query
/// answer) are parsed whole.
pub fn record_keys(resource: Resource) -> Option<RecordKeys> {
    static KEYS: OnceLock<[Vec<&'static str>; 7]> = OnceLock::new();
    let all = KEYS.get_or_init(|| {
        let with = |maps: &[&ObjectMap]| keys_of(maps, &["attributes", "Id"]);
        [
            with(&[&tables::CONTACT]),
            with(&[&tables::ACCOUNT]),
            with(&[&tables::LEAD]),
            with(&[&tables::OPPORTUNITY]),
            with(&[&tables::EVENT, &tables::TASK]),
            with(&[&tables::NOTE]),
            with(&[&tables::USER]),
        ]
    });
    let index = match resource {
        Resource::Contacts => 0,
        Resource::Companies => 1,
        Resource::Leads => 2,
        Resource::Opportunities => 3,
        Resource::Activities => 4,
        Resource::Notes => 5,
        Resource::Users => 6,
        Resource::Pipelines => return None,
    };
    Some(RecordKeys {
        sorted: &all[index],
        by_rule: DIALECT.is_custom_field,
    })
}

/// Maps one Salesforce record (from `sobjects/{Type}/{id}` or a query) to unified JSON.
pub fn read_record(resource: Resource, record: &Value) -> Result<Value, UnifiedError> {
    let Some(fields) = record.as_object() else {
        return Err(bad_downstream(
            "Salesforce returned a record that is not an object",
        ));
    };
    let map = match (resource, record_type(fields)) {
        (Resource::Activities, Some("Task")) => &tables::TASK,
        (Resource::Activities, None) => map_for_id(resource, id_of(fields).unwrap_or("")),
        _ => default_map(resource),
    };
    let mut out = read_with(map, &DIALECT, fields);
    match resource {
        Resource::Activities => read_activity_quirks(map, fields, &mut out),
        Resource::Notes => read_parent(fields, &mut out),
        _ => {}
    }
    Ok(Value::Object(out))
}

/// Groups OpportunityStage rows (ordered by `SortOrder`) into the single unified pipeline.
pub fn read_pipeline(stages: &[Value]) -> Value {
    let stages: Vec<Value> = stages
        .iter()
        .filter_map(Value::as_object)
        .map(|s| Value::Object(read_with(&tables::STAGE, &DIALECT, s)))
        .collect();
    json!({
        "id": PIPELINE_ID,
        "name": "Opportunity stages",
        "active": true,
        "archived": false,
        "display_order": 0,
        "win_probability_enabled": true,
        "stages": stages,
    })
}

fn record_type(fields: &Map<String, Value>) -> Option<&str> {
    fields.get("attributes")?.get("type")?.as_str()
}

fn id_of(fields: &Map<String, Value>) -> Option<&str> {
    fields.get("Id").and_then(Value::as_str)
}

fn bad_downstream(message: &str) -> UnifiedError {
    UnifiedError::ConnectorExecution {
        status: 502,
        message: message.to_owned(),
        downstream_errors: Vec::new(),
    }
}

fn read_activity_quirks(
    map: &ObjectMap,
    fields: &Map<String, Value>,
    out: &mut Map<String, Value>,
) {
    let text = |k: &str| fields.get(k).and_then(Value::as_str);
    let kind = if map.object == "Task" {
        match text("TaskSubtype") {
            Some("Call") => ActivityType::Call,
            Some("Email" | "ListEmail") => ActivityType::Email,
            _ => ActivityType::Task,
        }
    } else {
        text("Type")
            .and_then(|t| ActivityType::parse(&t.to_ascii_lowercase()))
            .unwrap_or(ActivityType::Meeting)
    };
    out.insert("type".to_owned(), json!(kind.as_str()));
    for key in [
        "contact_id",
        "lead_id",
        "company_id",
        "account_id",
        "opportunity_id",
    ] {
        out.insert(key.to_owned(), Value::Null);
    }
    if let Some(who) = text("WhoId") {
        match kind_of(who) {
            IdKind::Contact => _ = out.insert("contact_id".to_owned(), json!(who)),
            IdKind::Lead => _ = out.insert("lead_id".to_owned(), json!(who)),
            _ => {}
        }
    }
    if let Some(what) = text("WhatId") {
        match kind_of(what) {
            IdKind::Account => {
                out.insert("company_id".to_owned(), json!(what));
                out.insert("account_id".to_owned(), json!(what));
            }
            IdKind::Opportunity => _ = out.insert("opportunity_id".to_owned(), json!(what)),
            _ => {}
        }
    }
}

fn read_parent(fields: &Map<String, Value>, out: &mut Map<String, Value>) {
    for key in NOTE_PARENTS {
        out.insert(key.to_owned(), Value::Null);
    }
    let Some(parent) = fields.get("ParentId").and_then(Value::as_str) else {
        return;
    };
    let key = match kind_of(parent) {
        IdKind::Contact => "contact_id",
        IdKind::Account => "company_id",
        IdKind::Opportunity => "opportunity_id",
        IdKind::Lead => "lead_id",
        IdKind::Event | IdKind::Task => "activity_id",
        _ => return,
    };
    out.insert(key.to_owned(), json!(parent));
}

/// The call that creates a record from a unified body. Validates the body against the spec and
/// Salesforce's own requirements first.
pub fn plan_create(resource: Resource, body: Value) -> Result<SalesforceRequest, UnifiedError> {
    unsupported_write(resource, "create")?;
    let body = validate_body(resource, Write::Create, body)?;
    let (map, written) = to_salesforce_reporting(resource, None, &body, Write::Create)?;
    let mut call = SalesforceRequest::record(
        Method::Post,
        map.object,
        None,
        Some(Value::Object(written.fields)),
    );
    call.ignored = written.ignored;
    Ok(call)
}

/// The call that updates a record (PATCH: absent fields stay, `null` clears).
pub fn plan_update(
    resource: Resource,
    id: &str,
    body: Value,
) -> Result<SalesforceRequest, UnifiedError> {
    unsupported_write(resource, "update")?;
    check_id(resource, id)?;
    let body = validate_body(resource, Write::Update, body)?;
    let (map, written) = to_salesforce_reporting(resource, Some(id), &body, Write::Update)?;
    let mut call = SalesforceRequest::record(
        Method::Patch,
        map.object,
        Some(id),
        Some(Value::Object(written.fields)),
    );
    call.ignored = written.ignored;
    Ok(call)
}

/// The call that deletes a record. Users cannot be deleted in Salesforce (deactivate them with
/// `status: inactive`); pipelines are read-only.
pub fn plan_delete(resource: Resource, id: &str) -> Result<SalesforceRequest, UnifiedError> {
    unsupported_write(resource, "delete")?;
    if resource == Resource::Users {
        return Err(UnifiedError::ConnectorOperationUnsupported {
            message: "Salesforce users cannot be deleted; update status to inactive instead"
                .to_owned(),
        });
    }
    check_id(resource, id)?;
    let map = map_for_id(resource, id);
    Ok(SalesforceRequest::record(
        Method::Delete,
        map.object,
        Some(id),
        None,
    ))
}

/// The new record's id from Salesforce's create response (`{"id", "success", "errors"}`).
pub fn created_id(response: &Value) -> Result<String, UnifiedError> {
    response
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_valid_id(id))
        .map(str::to_owned)
        .ok_or_else(|| bad_downstream("Salesforce create response has no record id"))
}

fn unsupported_write(resource: Resource, op: &str) -> Result<(), UnifiedError> {
    if resource == Resource::Pipelines {
        return Err(UnifiedError::ConnectorOperationUnsupported {
            message: format!(
                "Salesforce pipelines (opportunity stages) are read-only; cannot {op}"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
