//! Single-record operations: HubSpot records to unified JSON and back, with the quirks a table
//! cannot say, and the request plans for get, create, update and delete.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use patchbay_unified::model::{ActivityType, Write, validate_body};
use patchbay_unified::{Resource, UnifiedError};

use super::DIALECT;
use super::ids::{Engagement, is_valid_id, parse_activity_id};
use super::request::{HubSpotRequest, Method, call, with_body};
pub use super::tables::links;
use super::tables::{self, Link, RECORD_KEYS};
use crate::convert::{format_datetime, parse_datetime};
use crate::table::{ObjectMap, read_record as read_with};
use crate::write::write_record_reporting;

/// The `lifecyclestage` value that makes a contact a unified lead (docs/hubspot.md §15).
pub const LEAD_STAGE: &str = "lead";
/// The object type whose pipelines are unified pipelines.
pub const PIPELINE_OBJECT: &str = "deals";

/// Where a unified record lives in HubSpot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A CRM object under `/crm/v3/objects/{object}`, mapped by this table.
    Object(&'static ObjectMap),
    /// `/crm/v3/owners`.
    Owners,
    /// `/crm/v3/pipelines/deals`.
    Pipelines,
}

/// The table of a non-activity resource (activities depend on the engagement).
pub fn object_map(resource: Resource) -> Option<&'static ObjectMap> {
    match resource {
        Resource::Contacts => Some(&tables::CONTACT),
        Resource::Leads => Some(&tables::LEAD),
        Resource::Companies => Some(&tables::COMPANY),
        Resource::Opportunities => Some(&tables::DEAL),
        Resource::Notes => Some(&tables::NOTE),
        Resource::Activities | Resource::Users | Resource::Pipelines => None,
    }
}

/// The table of an engagement object.
pub fn engagement_map(e: Engagement) -> &'static ObjectMap {
    match e {
        Engagement::Call => &tables::CALL,
        Engagement::Meeting => &tables::MEETING,
        Engagement::Task => &tables::TASK,
        Engagement::Email => &tables::EMAIL,
    }
}

/// The `properties=` list for a table: every readable property, no record keys.
pub fn properties(map: &ObjectMap) -> Vec<&'static str> {
    map.read_fields()
        .into_iter()
        .filter(|f| !RECORD_KEYS.contains(f))
        .collect()
}

/// A planned single-record call: send [`RecordPlan::request`], then each of
/// [`RecordPlan::then`] (association changes on update), and read the answer with
/// [`RecordPlan::read`] (get) or [`RecordPlan::created_id`] (create).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPlan {
    /// The call to make.
    pub request: HubSpotRequest,
    /// Calls to make after `request` succeeds, in order.
    pub then: Vec<HubSpotRequest>,
    resource: Resource,
    target: Target,
}

impl RecordPlan {
    fn new(resource: Resource, target: Target, request: HubSpotRequest) -> Self {
        Self {
            request,
            then: Vec::new(),
            resource,
            target,
        }
    }

    /// Maps the answer of a get (or of a create or update: HubSpot answers with the record).
    pub fn read(&self, body: &Value) -> Result<Value, UnifiedError> {
        match self.target {
            Target::Object(map) => {
                // A contact that is not a lead is not a record of `leads`.
                if self.resource == Resource::Leads
                    && flatten(body).and_then(|f| f.get("lifecyclestage").cloned())
                        != Some(json!(LEAD_STAGE))
                {
                    return Err(UnifiedError::EntityNotFound {
                        message: "no leads record with this id (the HubSpot contact is not a lead)"
                            .to_owned(),
                    });
                }
                read_object(map, body, true)
            }
            Target::Owners => read_owner(body),
            Target::Pipelines => read_pipeline(body),
        }
    }

    /// The unified id of the record a create made (activities: `call-42`…).
    pub fn created_id(&self, body: &Value) -> Result<String, UnifiedError> {
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| is_valid_id(id))
            .ok_or_else(|| bad_downstream("HubSpot's create answer has no record id"))?;
        Ok(match self.target {
            Target::Object(map) => unified_id(map, id),
            _ => id.to_owned(),
        })
    }
}

fn unified_id(map: &ObjectMap, id: &str) -> String {
    match Engagement::of_object(map.object) {
        Some(e) => e.unified_id(id),
        None => id.to_owned(),
    }
}

pub(crate) fn bad_downstream(message: &str) -> UnifiedError {
    UnifiedError::ConnectorExecution {
        status: 502,
        message: message.to_owned(),
        downstream_errors: Vec::new(),
    }
}

pub(crate) fn not_found(resource: Resource) -> UnifiedError {
    UnifiedError::EntityNotFound {
        message: format!("no {} record with this id", resource.as_str()),
    }
}

/// A record's `properties` with `id`, `createdAt`, `updatedAt` and `archived` beside them.
pub fn flatten(record: &Value) -> Option<Map<String, Value>> {
    let obj = record.as_object()?;
    let mut out = obj
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in RECORD_KEYS {
        if let Some(v) = obj.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    Some(out)
}

/// Maps one CRM record. `with_links`: the record was read with `associations=` (plain list,
/// get), so link fields are known; search results carry no associations and leave them out
/// rather than claim "none".
pub fn read_object(
    map: &ObjectMap,
    record: &Value,
    with_links: bool,
) -> Result<Value, UnifiedError> {
    let fields = flatten(record)
        .ok_or_else(|| bad_downstream("HubSpot returned a record that is not an object"))?;
    let mut out = read_with(map, &DIALECT, &fields);
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    };
    match map.object {
        "contacts" => {
            let name = [text("firstname"), text("lastname")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            out.insert(
                "name".to_owned(),
                (!name.is_empty())
                    .then_some(json!(name))
                    .unwrap_or(Value::Null),
            );
        }
        "emails" if text("hs_email_text").is_none() => {
            // An email sent from a CRM record may hold its body only as HTML (docs/hubspot.md
            // §7b); the unified description then carries that HTML as it is.
            if let Some(html) = text("hs_email_html") {
                out.insert("description".to_owned(), json!(html));
            }
        }
        "deals" => {
            // A date-time in HubSpot; the unified `close_date` is a date.
            let date = text("closedate")
                .and_then(parse_datetime)
                .map(|d| crate::convert::format_date(d.to_offset(time::UtcOffset::UTC).date()));
            out.insert("close_date".to_owned(), json!(date));
            let percent = text("hs_deal_stage_probability")
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| p.is_finite())
                .map(|p| (p * 10_000.0).round() / 100.0);
            out.insert("win_probability".to_owned(), json!(percent));
        }
        _ => {}
    }
    if let Some(e) = Engagement::of_object(map.object) {
        if let Some(id) = text("id") {
            out.insert("id".to_owned(), json!(e.unified_id(id)));
            out.insert("downstream_id".to_owned(), json!(id));
        }
        out.insert("type".to_owned(), json!(e.prefix()));
        if e == Engagement::Call {
            let seconds = text("hs_call_duration")
                .and_then(|ms| ms.trim().parse::<f64>().ok())
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| (ms / 1000.0).round() as i64);
            out.insert("duration_seconds".to_owned(), json!(seconds));
        }
    }
    if with_links {
        for link in links(map.object) {
            let id = record
                .get("associations")
                .and_then(|a| a.get(link.to))
                .and_then(|a| a.get("results"))
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .and_then(|r| r.get("id"))
                .and_then(|id| match id {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            out.insert(link.unified.to_owned(), json!(id));
            if link.unified == "company_id" && Engagement::of_object(map.object).is_some() {
                out.insert("account_id".to_owned(), json!(id));
            }
        }
    }
    Ok(Value::Object(out))
}

/// Maps one owner (docs/hubspot.md §11).
pub fn read_owner(owner: &Value) -> Result<Value, UnifiedError> {
    let fields = owner
        .as_object()
        .ok_or_else(|| bad_downstream("HubSpot returned an owner that is not an object"))?;
    let mut out = read_with(&tables::OWNER_MAP, &DIALECT, fields);
    let name = ["firstName", "lastName"]
        .iter()
        .filter_map(|k| fields.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    out.insert(
        "name".to_owned(),
        (!name.is_empty())
            .then_some(json!(name))
            .unwrap_or(Value::Null),
    );
    Ok(Value::Object(out))
}

/// Maps one deal pipeline with its stages (docs/hubspot.md §12). Stage probabilities are
/// strings from 0 to 1; the unified `win_probability` is a percentage.
pub fn read_pipeline(pipeline: &Value) -> Result<Value, UnifiedError> {
    let p = pipeline
        .as_object()
        .ok_or_else(|| bad_downstream("HubSpot returned a pipeline that is not an object"))?;
    let archived = p.get("archived").and_then(Value::as_bool).unwrap_or(false);
    let stages: Vec<Value> = p
        .get("stages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let probability = s
                .get("metadata")
                .and_then(|m| m.get("probability"))
                .and_then(|v| match v {
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    Value::Number(n) => n.as_f64(),
                    _ => None,
                })
                .filter(|p| p.is_finite())
                .map(|p| (p * 100.0).round() as i64);
            json!({
                "id": s.get("id"),
                "name": s.get("label"),
                "value": s.get("id"),
                "win_probability": probability,
                "display_order": s.get("displayOrder"),
            })
        })
        .collect();
    Ok(json!({
        "id": p.get("id"),
        "name": p.get("label"),
        "archived": archived,
        "active": !archived,
        "display_order": p.get("displayOrder"),
        "win_probability_enabled": true,
        "stages": stages,
        "created_at": p.get("createdAt").and_then(Value::as_str).and_then(parse_datetime).map(format_datetime),
        "updated_at": p.get("updatedAt").and_then(Value::as_str).and_then(parse_datetime).map(format_datetime),
    }))
}

/// Pipeline ids are `default` or numbers in HubSpot; anything else is refused before it can reach
/// a path.
pub(crate) fn is_pipeline_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Resolves a unified id to its table and HubSpot id.
fn locate(resource: Resource, id: &str) -> Result<(Target, String), UnifiedError> {
    match resource {
        Resource::Activities => {
            let (e, raw) = parse_activity_id(id).ok_or_else(|| not_found(resource))?;
            Ok((Target::Object(engagement_map(e)), raw.to_owned()))
        }
        Resource::Users if is_valid_id(id) => Ok((Target::Owners, id.to_owned())),
        Resource::Pipelines if is_pipeline_id(id) => Ok((Target::Pipelines, id.to_owned())),
        _ => match object_map(resource) {
            Some(map) if is_valid_id(id) => Ok((Target::Object(map), id.to_owned())),
            _ => Err(not_found(resource)),
        },
    }
}

/// `GET` of one record, with its properties and association links.
pub fn plan_get(resource: Resource, id: &str) -> Result<RecordPlan, UnifiedError> {
    let (target, raw) = locate(resource, id)?;
    let request = match target {
        Target::Object(map) => {
            let mut r = call(Method::Get, format!("/crm/v3/objects/{}/{raw}", map.object));
            r.query = read_query(map);
            r
        }
        Target::Owners => call(Method::Get, format!("/crm/v3/owners/{raw}")),
        Target::Pipelines => call(
            Method::Get,
            format!("/crm/v3/pipelines/{PIPELINE_OBJECT}/{raw}"),
        ),
    };
    Ok(RecordPlan::new(resource, target, request))
}

/// `properties=` and `associations=` for a read of `map`.
pub(crate) fn read_query(map: &ObjectMap) -> Vec<(String, String)> {
    let mut query = vec![("properties".to_owned(), properties(map).join(","))];
    let mut to: Vec<&str> = links(map.object).iter().map(|l| l.to).collect();
    to.dedup();
    if !to.is_empty() {
        query.push(("associations".to_owned(), to.join(",")));
    }
    query
}

fn read_only(resource: Resource, op: &str) -> Result<(), UnifiedError> {
    let what = match resource {
        Resource::Users => {
            "HubSpot users are written in two calls (owner id, then user id): see hubspot::users"
        }
        _ => return Ok(()),
    };
    Err(UnifiedError::ConnectorOperationUnsupported {
        message: format!("{what}; cannot {op}"),
    })
}

/// The engagement a new activity becomes, from its `type`.
fn engagement_for_create(body: &Map<String, Value>) -> Result<Engagement, UnifiedError> {
    let kind = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(ActivityType::parse);
    match kind {
        Some(ActivityType::Call) => Ok(Engagement::Call),
        Some(ActivityType::Meeting) => Ok(Engagement::Meeting),
        Some(ActivityType::Task) => Ok(Engagement::Task),
        Some(ActivityType::Email) => Ok(Engagement::Email),
        _ => Err(UnifiedError::ConnectorOperationUnsupported {
            message:
                "HubSpot activities are calls, meetings, tasks or emails; this type cannot be created"
                    .to_owned(),
        }),
    }
}

/// `POST` of a new record. `now` stamps `hs_timestamp` when a note or activity gives none
/// (HubSpot requires it).
pub fn plan_create(
    resource: Resource,
    body: Value,
    now: OffsetDateTime,
) -> Result<RecordPlan, UnifiedError> {
    read_only(resource, "create")?;
    let body = validate_body(resource, Write::Create, body)?;
    if resource == Resource::Pipelines {
        let (payload, ignored) = super::pipelines::create_body(&body)?;
        let mut request = with_body(
            call(Method::Post, format!("/crm/v3/pipelines/{PIPELINE_OBJECT}")),
            payload,
        );
        request.ignored = ignored;
        return Ok(RecordPlan::new(resource, Target::Pipelines, request));
    }
    let map = match resource {
        Resource::Activities => engagement_map(engagement_for_create(&body)?),
        _ => object_map(resource).ok_or_else(|| not_found(resource))?,
    };
    let (mut properties, ignored, associations) = to_hubspot(resource, map, &body, Write::Create)?;
    if (map.object == "notes" || Engagement::of_object(map.object).is_some())
        && properties.get("hs_timestamp").is_none_or(|v| v == "")
    {
        properties.insert("hs_timestamp".to_owned(), json!(format_datetime(now)));
    }
    let assoc: Vec<Value> = associations
        .iter()
        .map(|(link, id)| {
            json!({"to": {"id": id}, "types": [{
                "associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": link.type_id,
            }]})
        })
        .collect();
    let mut request = with_body(
        call(Method::Post, format!("/crm/v3/objects/{}", map.object)),
        json!({"properties": properties, "associations": assoc}),
    );
    request.ignored = ignored;
    Ok(RecordPlan::new(resource, Target::Object(map), request))
}

/// `PATCH` of a record (absent fields stay, `null` clears), then a v4 `PUT` per changed link.
pub fn plan_update(resource: Resource, id: &str, body: Value) -> Result<RecordPlan, UnifiedError> {
    read_only(resource, "update")?;
    let (target, raw) = locate(resource, id)?;
    if target == Target::Pipelines {
        if super::pipelines::changes_stages(&body) {
            return Err(UnifiedError::ConnectorOperationUnsupported {
                message: "a HubSpot pipeline's stages change in two calls: see hubspot::pipelines"
                    .to_owned(),
            });
        }
        let body = validate_body(resource, Write::Update, body)?;
        let (payload, ignored) = super::pipelines::update_body(&body)?;
        let mut request = with_body(
            call(
                Method::Patch,
                format!("/crm/v3/pipelines/{PIPELINE_OBJECT}/{raw}"),
            ),
            payload,
        );
        request.ignored = ignored;
        return Ok(RecordPlan::new(resource, target, request));
    }
    let Target::Object(map) = target else {
        return Err(not_found(resource));
    };
    let body = validate_body(resource, Write::Update, body)?;
    let (properties, ignored, associations) = to_hubspot(resource, map, &body, Write::Update)?;
    let mut request = with_body(
        call(
            Method::Patch,
            format!("/crm/v3/objects/{}/{raw}", map.object),
        ),
        json!({ "properties": properties }),
    );
    request.ignored = ignored;
    let mut plan = RecordPlan::new(resource, target, request);
    plan.then = associations
        .iter()
        .map(|(link, to_id)| {
            call(
                Method::Put,
                format!(
                    "/crm/v4/objects/{}/{raw}/associations/default/{}/{to_id}",
                    map.object, link.to
                ),
            )
        })
        .collect();
    Ok(plan)
}

/// `DELETE` (HubSpot archives the record; a pipeline is deleted).
pub fn plan_delete(resource: Resource, id: &str) -> Result<RecordPlan, UnifiedError> {
    read_only(resource, "delete")?;
    let (target, raw) = locate(resource, id)?;
    if target == Target::Pipelines {
        let request = call(
            Method::Delete,
            format!("/crm/v3/pipelines/{PIPELINE_OBJECT}/{raw}"),
        );
        return Ok(RecordPlan::new(resource, target, request));
    }
    let Target::Object(map) = target else {
        return Err(not_found(resource));
    };
    let request = call(
        Method::Delete,
        format!("/crm/v3/objects/{}/{raw}", map.object),
    );
    Ok(RecordPlan::new(resource, target, request))
}

type Mapped = (Map<String, Value>, Vec<String>, Vec<(Link, String)>);

/// A validated unified body to HubSpot properties (all strings; `""` clears), what was left
/// out, and the associations it sets.
pub fn to_hubspot(
    resource: Resource,
    map: &ObjectMap,
    body: &Map<String, Value>,
    write: Write,
) -> Result<Mapped, UnifiedError> {
    let written = write_record_reporting(map, &DIALECT, super::SERVICE_ID, body, write)?;
    let mut props = written.fields;
    let mut ignored = written.ignored;
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
    if map.object == "contacts"
        && body.get("first_name").is_none()
        && body.get("last_name").is_none()
        && let Some(name) = text("name").filter(|n| !n.is_empty())
    {
        // A unified name alone: the last word is the last name.
        let (first, last) = match name.rsplit_once(' ') {
            Some((first, last)) => (Some(first.trim()), last),
            None => (None, name),
        };
        if let Some(first) = first {
            props.insert("firstname".to_owned(), json!(first));
        }
        props.insert("lastname".to_owned(), json!(last));
    }
    if resource == Resource::Leads && write == Write::Create {
        props.insert("lifecyclestage".to_owned(), json!(LEAD_STAGE));
    }
    if map.object == "deals"
        && let Some(date) = body.get("close_date")
    {
        let value = match date {
            Value::Null => Value::Null,
            other => {
                let remote =
                    crate::convert::to_remote(crate::table::Kind::Date, other, "close_date")?;
                json!(format!(
                    "{}T00:00:00.000Z",
                    remote.as_str().unwrap_or_default()
                ))
            }
        };
        props.insert("closedate".to_owned(), value);
    }
    if map.object == "calls"
        && let Some(seconds) = body.get("duration_seconds")
    {
        let value = match seconds.as_i64() {
            None if seconds.is_null() => Value::Null,
            Some(s) if (0..i64::MAX / 1000).contains(&s) => json!(s * 1000),
            _ => {
                return Err(UnifiedError::invalid_field(
                    "duration_seconds",
                    "duration_seconds must be a non-negative integer",
                ));
            }
        };
        props.insert("hs_call_duration".to_owned(), value);
    }
    let mut associations = Vec::new();
    for link in links(map.object) {
        match body.get(link.unified) {
            None => {}
            Some(Value::String(id)) if is_valid_id(id) => associations.push((*link, id.clone())),
            Some(Value::Null) => ignored.push(link.unified.to_owned()),
            Some(_) => {
                return Err(UnifiedError::invalid_field(
                    link.unified,
                    format!("{} is not a valid HubSpot record id", link.unified),
                ));
            }
        }
    }
    let props = props.into_iter().map(|(k, v)| (k, stringify(v))).collect();
    Ok((props, ignored, associations))
}

/// HubSpot property values are strings; `null` becomes `""`, which clears the property.
fn stringify(v: Value) -> Value {
    match v {
        Value::Null => json!(""),
        Value::String(_) => v,
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(n) => {
            let text = match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => i.to_string(),
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
                _ => n.to_string(),
            };
            json!(text)
        }
        other => json!(other.to_string()),
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
