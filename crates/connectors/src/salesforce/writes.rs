//! Unified bodies to Salesforce fields: the table does the fields, this adds what a table cannot
//! say (name splitting, required fields, Event or Task, polymorphic lookups, a note's parent).

use serde_json::{Map, Value, json};

use patchbay_unified::model::{ActivityType, Write};
use patchbay_unified::{Resource, UnifiedError};

use super::ids::is_valid_id;
use super::records::{default_map, is_task_type, map_for_id};
use super::tables;
use super::{DIALECT, SERVICE_ID};
use crate::table::ObjectMap;
use crate::write::{Written, write_record_reporting};

/// Note parents in the order a note's single `ParentId` is chosen on write.
pub(crate) const NOTE_PARENTS: [&str; 5] = [
    "contact_id",
    "company_id",
    "opportunity_id",
    "lead_id",
    "activity_id",
];

/// Maps a validated unified body to the Salesforce object and field map.
pub fn to_salesforce(
    resource: Resource,
    id: Option<&str>,
    body: &Map<String, Value>,
    write: Write,
) -> Result<(&'static ObjectMap, Map<String, Value>), UnifiedError> {
    to_salesforce_reporting(resource, id, body, write).map(|(map, w)| (map, w.fields))
}

/// [`to_salesforce`], plus the parts of the body the object cannot hold (see
/// [`crate::write::write_record_reporting`]).
pub fn to_salesforce_reporting(
    resource: Resource,
    id: Option<&str>,
    body: &Map<String, Value>,
    write: Write,
) -> Result<(&'static ObjectMap, Written), UnifiedError> {
    let map = match resource {
        Resource::Activities => activity_map(id, body)?,
        _ => default_map(resource),
    };
    let Written {
        mut fields,
        ignored,
    } = write_record_reporting(map, &DIALECT, SERVICE_ID, body, write)?;
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
        Resource::Users if write == Write::Create => default_alias(&mut fields),
        Resource::Activities => write_activity_quirks(map, body, &mut fields, write)?,
        Resource::Notes => write_note_parent(body, &mut fields, write)?,
        _ => {}
    }
    Ok((map, Written { fields, ignored }))
}

/// `User.Alias` is required and the unified User has no field for it: derived as Salesforce's
/// own New User page does (first letter of the first name, then the last name; at most 8
/// characters), unless `pass_through` set one.
fn default_alias(fields: &mut Map<String, Value>) {
    if fields.get("Alias").is_some_and(|v| !v.is_null()) {
        return;
    }
    let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or_default();
    let clean = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let mut alias: String = clean(text("FirstName")).chars().take(1).collect();
    alias.push_str(&clean(text("LastName")));
    if alias.is_empty() {
        alias = clean(text("Username").split('@').next().unwrap_or_default());
    }
    let alias: String = alias.chars().take(8).collect();
    if !alias.is_empty() {
        fields.insert("Alias".to_owned(), Value::String(alias));
    }
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
#[path = "writes_tests.rs"]
mod tests;
