//! Unified pipelines to HubSpot's deal pipeline bodies (docs/hubspot.md §12, §15
//! "Pipelines"): `name` is the `label`, a stage's `win_probability` percentage is
//! `metadata.probability` from 0 to 1. HubSpot generates pipeline and stage ids, so a create's
//! stage ids are reported as ignored rather than dropped silently.
//!
//! An update without `stages` is one `PATCH` of `label`, `displayOrder` and `archived`. An
//! update with `stages` changes them, and its `stages` array is the pipeline's whole new stage
//! list:
//! - a stage whose `id` (or `value`: the same HubSpot stage id) names one of the pipeline's
//!   stages updates that stage and keeps its id (and its `metadata.isClosed`, which the
//!   unified model has no field for);
//! - a stage with neither is a new stage, whose id HubSpot makes;
//! - the pipeline's stages left out are removed. Removing a stage that deals are still in is
//!   refused by HubSpot (`validateDealStageUsagesBeforeDelete=true`), and that refusal is the
//!   answer: a `400 ConnectorExecutionError` with HubSpot's message, and nothing changed.
//!
//! HubSpot changes a stage list with one `PUT` of the whole pipeline, which needs `label` and
//! `displayOrder` too, so the update is two calls ([`plan_stages_update`], handed to the server
//! as `Connector::plan_write_run`): `GET` the pipeline (its label and order when the body gives
//! none, and its stage ids, so that an `id` naming no stage of it is refused before any write),
//! then the `PUT`. Everything the body alone can say wrong is refused before any call, as for a
//! create: names, probabilities 0–100 (required: HubSpot needs one on every deal stage),
//! 32-bit display orders, one stage named twice. A stage's `created_at`, `updated_at` and
//! `archived` are HubSpot's to keep and are reported as ignored.

use serde_json::{Map, Value, json};

use patchbay_unified::model::{Write, validate_body};
use patchbay_unified::{Resource, UnifiedError};

use super::records::{PIPELINE_OBJECT, bad_downstream, is_pipeline_id, not_found};
use super::request::{HubSpotRequest, Method, call, with_body};
use crate::connector::{Run, Step, WriteOutcome, WritePlan};

/// HubSpot's display orders are 32-bit.
fn display_order(value: &Value, field: &str) -> Result<Option<i64>, UnifiedError> {
    match value {
        Value::Null => Ok(None),
        v => v
            .as_i64()
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Some)
            .ok_or_else(|| {
                UnifiedError::invalid_field(field, format!("{field} must be a 32-bit integer"))
            }),
    }
}

fn label(value: Option<&Value>, field: &str) -> Result<Option<String>, UnifiedError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(UnifiedError::invalid_field(
            field,
            format!("{field} must be a non-empty string"),
        )),
    }
}

/// A stage's `win_probability` (0–100) as HubSpot's `metadata.probability` (0–1). HubSpot
/// requires one on every deal stage.
fn probability(stage: &Map<String, Value>, at: &str) -> Result<Value, UnifiedError> {
    let field = format!("{at}.win_probability");
    match stage.get("win_probability").and_then(Value::as_i64) {
        Some(p) if (0..=100).contains(&p) => Ok(json!(p as f64 / 100.0)),
        Some(_) => Err(UnifiedError::invalid_field(
            &field,
            format!("{field} must be from 0 to 100"),
        )),
        None => Err(UnifiedError::invalid_field(
            &field,
            format!("{field} is required: HubSpot needs a probability on every deal stage"),
        )),
    }
}

/// One unified stage as HubSpot's stage input (`label`, `displayOrder`, `metadata.probability`),
/// and the stage object it came from. A missing `display_order` is the stage's position.
fn stage_body(stage: &Value, i: usize) -> Result<(Value, &Map<String, Value>), UnifiedError> {
    let at = format!("stages[{i}]");
    let stage = stage
        .as_object()
        .ok_or_else(|| UnifiedError::invalid_field(&at, format!("{at} must be an object")))?;
    let name = label(stage.get("name"), &format!("{at}.name"))?.ok_or_else(|| {
        UnifiedError::invalid_field(&format!("{at}.name"), format!("{at}.name is required"))
    })?;
    let order = display_order(
        stage.get("display_order").unwrap_or(&Value::Null),
        &format!("{at}.display_order"),
    )?
    .unwrap_or(i as i64);
    let body = json!({
        "label": name,
        "displayOrder": order,
        "metadata": {"probability": probability(stage, &at)?},
    });
    Ok((body, stage))
}

/// Fields HubSpot has no place for, reported when a write sets them to something other than
/// what HubSpot does anyway.
fn ignored_top(body: &Map<String, Value>, write_archive: bool, ignored: &mut Vec<String>) {
    for (key, value) in body {
        let unplaced = match key.as_str() {
            "currency" | "pass_through" | "id" | "created_at" | "updated_at" => !value.is_null(),
            // Win probabilities are always on for deal pipelines.
            "win_probability_enabled" => value != &json!(true),
            "archived" if !write_archive => value == &json!(true),
            "active" if !write_archive => value == &json!(false),
            _ => false,
        };
        if unplaced {
            ignored.push(key.clone());
        }
    }
}

/// The body's non-empty `stages` list; `missing` says why one is needed.
fn stage_list<'a>(
    body: &'a Map<String, Value>,
    missing: &str,
) -> Result<&'a Vec<Value>, UnifiedError> {
    body.get("stages")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| UnifiedError::invalid_field("stages", missing))
}

/// The body of `POST /crm/v3/pipelines/deals` and what of the unified body it leaves out.
/// `body` is already checked against the unified schema.
pub fn create_body(body: &Map<String, Value>) -> Result<(Value, Vec<String>), UnifiedError> {
    let mut ignored = Vec::new();
    let name = label(body.get("name"), "name")?
        .ok_or_else(|| UnifiedError::invalid_field("name", "name is required"))?;
    let order = display_order(
        body.get("display_order").unwrap_or(&Value::Null),
        "display_order",
    )?;
    let stages = stage_list(
        body,
        "stages is required: a HubSpot pipeline has at least one stage",
    )?;
    let mut out = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        let (stage, unified) = stage_body(stage, i)?;
        out.push(stage);
        // HubSpot makes the stage id (the unified `value` and `id`) itself.
        for key in ["id", "value", "archived", "created_at", "updated_at"] {
            if unified
                .get(key)
                .is_some_and(|v| !v.is_null() && v != &json!(false))
            {
                ignored.push(format!("stages[{i}].{key}"));
            }
        }
    }
    ignored_top(body, false, &mut ignored);
    let request = json!({
        "label": name,
        "displayOrder": order.unwrap_or(0),
        "stages": out,
    });
    Ok((request, ignored))
}

/// The body of `PATCH /crm/v3/pipelines/deals/{id}`: `label`, `displayOrder`, `archived`.
pub fn update_body(body: &Map<String, Value>) -> Result<(Value, Vec<String>), UnifiedError> {
    let mut ignored = Vec::new();
    let mut out = Map::new();
    if let Some(name) = body.get("name") {
        let name = label(Some(name), "name")?
            .ok_or_else(|| UnifiedError::invalid_field("name", "name cannot be cleared"))?;
        out.insert("label".to_owned(), json!(name));
    }
    if let Some(order) = body.get("display_order")
        && let Some(order) = display_order(order, "display_order")?
    {
        out.insert("displayOrder".to_owned(), json!(order));
    }
    // `archived: true` or `active: false` archives; the two must not disagree.
    let archived = body.get("archived").and_then(Value::as_bool);
    let inactive = body.get("active").and_then(Value::as_bool).map(|a| !a);
    match (archived, inactive) {
        (Some(a), Some(i)) if a != i => {
            return Err(UnifiedError::invalid_field(
                "active",
                "active and archived contradict each other",
            ));
        }
        (Some(a), _) | (None, Some(a)) => {
            out.insert("archived".to_owned(), json!(a));
        }
        (None, None) => {}
    }
    ignored_top(body, true, &mut ignored);
    Ok((Value::Object(out), ignored))
}

/// Whether an update body changes stages (and so is [`plan_stages_update`]'s, not one `PATCH`).
pub fn changes_stages(body: &Value) -> bool {
    body.get("stages").is_some_and(|s| !s.is_null())
}

/// What an update with `stages` asks for, checked against the body alone.
#[derive(Debug, Clone, PartialEq)]
pub struct StagesUpdate {
    /// The new `label`, when the body names one.
    pub label: Option<String>,
    /// The new `displayOrder`, when the body gives one.
    pub display_order: Option<i64>,
    /// HubSpot's stage inputs in the body's order, each with the stage id it keeps, if any.
    pub stages: Vec<(Option<String>, Value)>,
    /// Parts of the body HubSpot has no place for.
    pub ignored: Vec<String>,
}

/// Reads an update body with `stages` (already checked against the unified schema).
pub fn stages_update(body: &Map<String, Value>) -> Result<StagesUpdate, UnifiedError> {
    let (patch, mut ignored) = update_body(body)?;
    // A pipeline archived in the same breath has no stages left to change.
    if patch.get("archived") == Some(&json!(true)) {
        return Err(UnifiedError::invalid_field(
            "stages",
            "a pipeline cannot be archived and have its stages changed in one update",
        ));
    }
    let list = stage_list(
        body,
        "stages must list at least one stage: a HubSpot pipeline keeps at least one",
    )?;
    let mut stages: Vec<(Option<String>, Value)> = Vec::with_capacity(list.len());
    for (i, stage) in list.iter().enumerate() {
        let (input, unified) = stage_body(stage, i)?;
        let at = format!("stages[{i}]");
        let id = stage_id(unified, &at)?;
        if let Some(id) = &id
            && stages.iter().any(|(kept, _)| kept.as_ref() == Some(id))
        {
            return Err(UnifiedError::invalid_field(
                &format!("{at}.id"),
                format!("{at} names stage {id}, which an earlier stage already names"),
            ));
        }
        if stages.iter().any(|(_, s)| s["label"] == input["label"]) {
            return Err(UnifiedError::invalid_field(
                &format!("{at}.name"),
                format!(
                    "{at}.name repeats an earlier stage's: HubSpot's stage names are unique in a pipeline"
                ),
            ));
        }
        for key in ["archived", "created_at", "updated_at"] {
            if unified
                .get(key)
                .is_some_and(|v| !v.is_null() && v != &json!(false))
            {
                ignored.push(format!("{at}.{key}"));
            }
        }
        stages.push((id, input));
    }
    Ok(StagesUpdate {
        label: patch
            .get("label")
            .and_then(Value::as_str)
            .map(str::to_owned),
        display_order: patch.get("displayOrder").and_then(Value::as_i64),
        stages,
        ignored,
    })
}

/// The HubSpot stage a unified stage names by `id` or `value` (both are the stage id); the two
/// must agree.
fn stage_id(stage: &Map<String, Value>, at: &str) -> Result<Option<String>, UnifiedError> {
    let named = |key: &str| -> Result<Option<String>, UnifiedError> {
        match stage.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if is_pipeline_id(s.trim()) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(UnifiedError::invalid_field(
                &format!("{at}.{key}"),
                format!("{at}.{key} is not a HubSpot stage id"),
            )),
        }
    };
    match (named("id")?, named("value")?) {
        (Some(id), Some(value)) if id != value => Err(UnifiedError::invalid_field(
            &format!("{at}.value"),
            format!("{at}.id and {at}.value name different stages"),
        )),
        (id, value) => Ok(id.or(value)),
    }
}

/// Plans an update with `stages` of pipeline `id`: the `GET`, then the `PUT` (module docs).
pub fn plan_stages_update(id: &str, body: Value) -> Result<WritePlan, UnifiedError> {
    if !is_pipeline_id(id) {
        return Err(not_found(Resource::Pipelines));
    }
    let body = validate_body(Resource::Pipelines, Write::Update, body)?;
    let update = stages_update(&body)?;
    Ok(WritePlan {
        ignored: update.ignored.clone(),
        run: Box::new(StagesRun {
            id: id.to_owned(),
            update,
            answers: Vec::new(),
        }),
    })
}

/// The `PUT` body replacing `current` (HubSpot's pipeline, as the `GET` answered) with
/// `update`: the body's label and order, else the pipeline's; each kept stage by its
/// `stageId`. A stage id the pipeline does not have is refused, before any write.
pub fn replace_body(current: &Value, update: &StagesUpdate) -> Result<Value, UnifiedError> {
    // Each stage the pipeline has, with its `metadata.isClosed`: the unified model has no
    // place for it, and a `PUT` replaces a stage's metadata, so a kept stage keeps its own.
    let have: Vec<(&str, Option<&Value>)> = current
        .get("stages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            let id = s.get("id").and_then(Value::as_str)?;
            let closed = s.get("metadata").and_then(|m| m.get("isClosed"));
            Some((id, closed.filter(|c| !c.is_null())))
        })
        .collect();
    let label = match &update.label {
        Some(label) => json!(label),
        None => current
            .get("label")
            .filter(|l| l.is_string())
            .cloned()
            .ok_or_else(|| bad_downstream("HubSpot's pipeline has no label"))?,
    };
    let order = match update.display_order {
        Some(order) => json!(order),
        None => current
            .get("displayOrder")
            .filter(|o| o.is_i64())
            .cloned()
            .ok_or_else(|| bad_downstream("HubSpot's pipeline has no display order"))?,
    };
    let mut stages = Vec::with_capacity(update.stages.len());
    for (i, (kept, input)) in update.stages.iter().enumerate() {
        let mut input = input.clone();
        if let Some(id) = kept {
            let Some((_, closed)) = have.iter().find(|(have, _)| *have == id.as_str()) else {
                return Err(UnifiedError::invalid_field(
                    &format!("stages[{i}].id"),
                    format!(
                        "stages[{i}] names stage {id}, which this pipeline does not have; leave id and value out to add a stage"
                    ),
                ));
            };
            input["stageId"] = json!(id);
            if let Some(closed) = closed {
                input["metadata"]["isClosed"] = (*closed).clone();
            }
        }
        stages.push(input);
    }
    Ok(json!({"label": label, "displayOrder": order, "stages": stages}))
}

/// `GET` the pipeline, then `PUT` it with the new stage list.
struct StagesRun {
    id: String,
    update: StagesUpdate,
    answers: Vec<Value>,
}

impl StagesRun {
    fn path(&self) -> String {
        format!("/crm/v3/pipelines/{PIPELINE_OBJECT}/{}", self.id)
    }
}

impl Run<WriteOutcome> for StagesRun {
    fn start(&mut self) -> HubSpotRequest {
        call(Method::Get, self.path())
    }

    fn feed(&mut self, answer: Value) -> Result<Step, UnifiedError> {
        self.answers.push(answer);
        if self.answers.len() > 1 {
            return Ok(Step::Done);
        }
        let body = replace_body(&self.answers[0], &self.update)?;
        let mut put = with_body(call(Method::Put, self.path()), body);
        // HubSpot's current version deletes a used stage unless asked to check.
        put.query = vec![(
            "validateDealStageUsagesBeforeDelete".to_owned(),
            "true".to_owned(),
        )];
        Ok(Step::Send(put))
    }

    fn finish(self: Box<Self>) -> Result<WriteOutcome, UnifiedError> {
        if self.answers.len() < 2 {
            return Err(bad_downstream("the pipeline update did not finish"));
        }
        Ok(WriteOutcome {
            id: self.id,
            raw: Value::Array(self.answers),
        })
    }
}

#[cfg(test)]
#[path = "pipelines_tests.rs"]
mod tests;
