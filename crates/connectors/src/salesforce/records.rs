//! Single-record operations for Salesforce: mapping records to unified JSON and unified bodies
//! to Salesforce fields, with the quirks the tables cannot express, and the request plans for
//! get, create, update and delete.

use serde_json::{Map, Value, json};

use patchbay_unified::model::{ActivityType, Write, validate_body};
use patchbay_unified::{CommonParams, Resource, UnifiedError};

use super::ids::{IdKind, is_valid_id, kind_of};
use super::request::{Method, SalesforceRequest};
use super::tables::{self, PIPELINE_ID};
use super::{DIALECT, SERVICE_ID};
use crate::table::{ObjectMap, read_record as read_with};
use crate::write::write_record;

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

fn check_id(id: &str) -> Result<(), UnifiedError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        // A malformed id can name no record; say so the way an unknown id would.
        Err(UnifiedError::EntityNotFound {
            message: "no record with this id".to_owned(),
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
    check_id(id)?;
    let map = map_for_id(resource, id);
    let mut request = SalesforceRequest::record(Method::Get, map.object, Some(id), None);
    request.query = pass_through_query(common);
    Ok(request)
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

/// Note parents in the order a note's single `ParentId` is chosen on write.
const NOTE_PARENTS: [&str; 5] = [
    "contact_id",
    "company_id",
    "opportunity_id",
    "lead_id",
    "activity_id",
];

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
    let (map, fields) = to_salesforce(resource, None, &body, Write::Create)?;
    Ok(SalesforceRequest::record(
        Method::Post,
        map.object,
        None,
        Some(Value::Object(fields)),
    ))
}

/// The call that updates a record (PATCH: absent fields stay, `null` clears).
pub fn plan_update(
    resource: Resource,
    id: &str,
    body: Value,
) -> Result<SalesforceRequest, UnifiedError> {
    unsupported_write(resource, "update")?;
    check_id(id)?;
    let body = validate_body(resource, Write::Update, body)?;
    let (map, fields) = to_salesforce(resource, Some(id), &body, Write::Update)?;
    Ok(SalesforceRequest::record(
        Method::Patch,
        map.object,
        Some(id),
        Some(Value::Object(fields)),
    ))
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
    check_id(id)?;
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

/// Maps a validated unified body to the Salesforce object and field map.
pub fn to_salesforce(
    resource: Resource,
    id: Option<&str>,
    body: &Map<String, Value>,
    write: Write,
) -> Result<(&'static ObjectMap, Map<String, Value>), UnifiedError> {
    let map = match resource {
        Resource::Activities => activity_map(id, body)?,
        _ => default_map(resource),
    };
    let mut fields = write_record(map, &DIALECT, SERVICE_ID, body, write)?;
    match resource {
        Resource::Contacts | Resource::Leads => split_name(body, &mut fields),
        Resource::Opportunities if write == Write::Create => {
            require(
                &fields,
                "CloseDate",
                "close_date",
                "to create a Salesforce opportunity",
            )?;
            require(
                &fields,
                "StageName",
                "pipeline_stage_id",
                "to create a Salesforce opportunity",
            )?;
        }
        Resource::Activities => write_activity_quirks(map, body, &mut fields, write)?,
        Resource::Notes => write_note_parent(body, &mut fields, write)?,
        _ => {}
    }
    Ok((map, fields))
}

fn require(
    fields: &Map<String, Value>,
    remote: &str,
    unified: &str,
    why: &str,
) -> Result<(), UnifiedError> {
    if fields.get(remote).is_none_or(Value::is_null) {
        return Err(UnifiedError::invalid_field(
            unified,
            format!("{unified} is required {why}"),
        ));
    }
    Ok(())
}

/// Salesforce needs `LastName`; a unified body may carry only `name`. The last word becomes the
/// last name and the rest the first name, unless those were given.
fn split_name(body: &Map<String, Value>, fields: &mut Map<String, Value>) {
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        return;
    };
    if body.contains_key("last_name") {
        return;
    }
    let (first, last) = match name.rsplit_once(' ') {
        Some((first, last)) => (Some(first.trim()), last),
        None => (None, name),
    };
    fields.insert("LastName".to_owned(), json!(last));
    if let Some(first) = first.filter(|f| !f.is_empty())
        && !body.contains_key("first_name")
    {
        fields.insert("FirstName".to_owned(), json!(first));
    }
}

fn body_type(body: &Map<String, Value>) -> Option<ActivityType> {
    body.get("type")
        .and_then(Value::as_str)
        .and_then(ActivityType::parse)
}

fn activity_map(
    id: Option<&str>,
    body: &Map<String, Value>,
) -> Result<&'static ObjectMap, UnifiedError> {
    let wants_task = body_type(body).map(is_task_type);
    match id {
        None => Ok(if wants_task == Some(true) {
            &tables::TASK
        } else {
            &tables::EVENT
        }),
        Some(id) => {
            let map = map_for_id(Resource::Activities, id);
            let is_task = map.object == "Task";
            if wants_task.is_some_and(|w| w != is_task) {
                return Err(UnifiedError::invalid_field(
                    "type",
                    format!(
                        "this activity is a Salesforce {}; its type cannot change",
                        map.object
                    ),
                ));
            }
            Ok(map)
        }
    }
}

fn write_activity_quirks(
    map: &ObjectMap,
    body: &Map<String, Value>,
    fields: &mut Map<String, Value>,
    write: Write,
) -> Result<(), UnifiedError> {
    write_lookup(body, fields, "WhoId", &["contact_id", "lead_id"])?;
    write_lookup(
        body,
        fields,
        "WhatId",
        &[
            "company_id",
            "account_id",
            "opportunity_id",
            "campaign_id",
            "case_id",
            "contract_id",
            "asset_id",
            "product_id",
            "solution_id",
            "custom_object_id",
        ],
    )?;
    if write == Write::Update {
        return Ok(());
    }
    if map.object == "Task" {
        // TaskSubtype can only be set on create.
        let subtype = match body_type(body) {
            Some(ActivityType::Call) => "Call",
            Some(ActivityType::Email) => "Email",
            _ => "Task",
        };
        fields.insert("TaskSubtype".to_owned(), json!(subtype));
        return Ok(());
    }
    // Event: a start (or a date when all-day), and a duration or end unless all-day.
    let all_day = fields.get("IsAllDayEvent").and_then(Value::as_bool) == Some(true);
    let has = |k: &str| fields.get(k).is_some_and(|v| !v.is_null());
    if all_day {
        if !has("ActivityDate") && !has("ActivityDateTime") && !has("StartDateTime") {
            return Err(UnifiedError::invalid_field(
                "activity_date",
                "activity_date is required for an all-day Salesforce event",
            ));
        }
        return Ok(());
    }
    if !has("ActivityDateTime") && !has("StartDateTime") {
        return Err(UnifiedError::invalid_field(
            "activity_datetime",
            "activity_datetime (or start_datetime) is required for a Salesforce event that is not all-day",
        ));
    }
    if !has("DurationInMinutes") && !has("EndDateTime") {
        return Err(UnifiedError::invalid_field(
            "duration_seconds",
            "duration_seconds or end_datetime is required for a Salesforce event that is not all-day",
        ));
    }
    Ok(())
}

/// Writes a polymorphic lookup from whichever of `keys` the body sets; two different ids are
/// ambiguous.
fn write_lookup(
    body: &Map<String, Value>,
    fields: &mut Map<String, Value>,
    remote: &str,
    keys: &[&str],
) -> Result<(), UnifiedError> {
    let mut chosen: Option<(&str, &Value)> = None;
    for key in keys {
        let Some(value) = body.get(*key) else {
            continue;
        };
        if let Some(id) = value.as_str()
            && !is_valid_id(id)
        {
            return Err(UnifiedError::invalid_field(
                key,
                format!("{key} is not a valid Salesforce id"),
            ));
        }
        match chosen {
            Some((_, prev)) if prev.is_null() => chosen = Some((key, value)),
            Some((prev_key, prev)) if !value.is_null() && prev != value => {
                return Err(UnifiedError::invalid_field(
                    key,
                    format!(
                        "{key} and {prev_key} cannot both be set: Salesforce keeps one {remote}"
                    ),
                ));
            }
            Some(_) => {}
            None => chosen = Some((key, value)),
        }
    }
    if let Some((_, value)) = chosen {
        fields.insert(remote.to_owned(), value.clone());
    }
    Ok(())
}

/// A Salesforce note has exactly one parent (`ParentId`), chosen as the first id given of
/// contact, company, opportunity, lead, activity. It can only be set on create.
fn write_note_parent(
    body: &Map<String, Value>,
    fields: &mut Map<String, Value>,
    write: Write,
) -> Result<(), UnifiedError> {
    let given: Vec<(&str, &str)> = NOTE_PARENTS
        .iter()
        .filter_map(|k| body.get(*k).and_then(Value::as_str).map(|v| (*k, v)))
        .collect();
    if write == Write::Update {
        if NOTE_PARENTS.iter().any(|k| body.contains_key(*k)) {
            return Err(UnifiedError::invalid_field(
                "contact_id",
                "a Salesforce note's parent cannot change after creation",
            ));
        }
        return Ok(());
    }
    let Some((key, id)) = given.first() else {
        return Err(UnifiedError::invalid_field(
            "contact_id",
            "a Salesforce note needs a parent: contact_id, company_id, opportunity_id, lead_id or activity_id",
        ));
    };
    if !is_valid_id(id) {
        return Err(UnifiedError::invalid_field(
            key,
            format!("{key} is not a valid Salesforce id"),
        ));
    }
    require(fields, "Title", "title", "to create a Salesforce note")?;
    fields.insert("ParentId".to_owned(), json!(id));
    Ok(())
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
