//! Deal pipelines and their stages (`docs/hubspot.md §12`): the account starts with its
//! `default` pipeline and one more ([`PIPELINES`]); clients create, change (a `PATCH` of the
//! label and order, a `PUT` that replaces the stage list too) and delete pipelines through the
//! Pipelines API, checked here the way HubSpot checks them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::ObjectType;
use crate::account::Account;
use crate::error::DataError;
use crate::time::format_ms;

pub struct Stage {
    pub id: &'static str,
    pub label: &'static str,
    pub probability: &'static str,
    pub closed: bool,
}

pub struct Pipeline {
    pub id: &'static str,
    pub label: &'static str,
    pub stages: &'static [Stage],
}

const fn s(
    id: &'static str,
    label: &'static str,
    probability: &'static str,
    closed: bool,
) -> Stage {
    Stage {
        id,
        label,
        probability,
        closed,
    }
}

pub const PIPELINES: &[Pipeline] = &[
    Pipeline {
        id: "default",
        label: "Sales Pipeline",
        stages: &[
            s(
                "appointmentscheduled",
                "Appointment Scheduled",
                "0.2",
                false,
            ),
            s("qualifiedtobuy", "Qualified To Buy", "0.4", false),
            s(
                "presentationscheduled",
                "Presentation Scheduled",
                "0.6",
                false,
            ),
            s(
                "decisionmakerboughtin",
                "Decision Maker Bought-In",
                "0.8",
                false,
            ),
            s("contractsent", "Contract Sent", "0.9", false),
            s("closedwon", "Closed Won", "1.0", true),
            s("closedlost", "Closed Lost", "0.0", true),
        ],
    },
    Pipeline {
        id: "renewals",
        label: "Renewals",
        stages: &[
            s("renewal_open", "Renewal Open", "0.5", false),
            s("renewal_won", "Renewed", "1.0", true),
            s("renewal_lost", "Churned", "0.0", true),
        ],
    },
];

/// A pipeline as the account holds it (and the state file keeps it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredPipeline {
    pub id: String,
    pub label: String,
    pub display_order: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub stages: Vec<StoredStage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredStage {
    pub id: String,
    pub label: String,
    pub display_order: i64,
    /// HubSpot's `metadata.probability`, a string from 0.0 to 1.0.
    pub probability: String,
    pub closed: bool,
}

/// The pipelines a new account has, all created with the account.
pub fn seed_pipelines(created_ms: i64) -> Vec<StoredPipeline> {
    PIPELINES
        .iter()
        .enumerate()
        .map(|(i, p)| StoredPipeline {
            id: p.id.to_owned(),
            label: p.label.to_owned(),
            display_order: i as i64,
            created_ms,
            updated_ms: created_ms,
            stages: (p.stages.iter().enumerate())
                .map(|(j, st)| StoredStage {
                    id: st.id.to_owned(),
                    label: st.label.to_owned(),
                    display_order: j as i64,
                    probability: st.probability.to_owned(),
                    closed: st.closed,
                })
                .collect(),
        })
        .collect()
}

impl StoredPipeline {
    pub fn has_stage(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s.id == stage)
    }

    pub fn render(&self) -> Value {
        let created = format_ms(self.created_ms);
        let updated = format_ms(self.updated_ms);
        let stages: Vec<Value> = self
            .stages
            .iter()
            .map(|st| {
                json!({
                    "id": st.id, "label": st.label, "displayOrder": st.display_order,
                    "metadata": {"isClosed": st.closed.to_string(), "probability": st.probability},
                    "createdAt": created, "updatedAt": created, "archived": false,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                })
            })
            .collect();
        json!({
            "id": self.id, "label": self.label, "displayOrder": self.display_order,
            "createdAt": created, "updatedAt": updated, "archived": false, "stages": stages,
        })
    }
}

/// The longest label HubSpot accepts for a pipeline or stage.
const MAX_LABEL: usize = 255;

fn label_of(body: &Map<String, Value>, field: &str) -> Result<Option<String>, DataError> {
    match body.get("label") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_LABEL => {
            Ok(Some(s.trim().to_owned()))
        }
        Some(_) => Err(DataError::validation(format!(
            "{field} must be a non-empty string of at most {MAX_LABEL} characters"
        ))),
    }
}

fn display_order_of(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, DataError> {
    match body.get("displayOrder") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Some)
            .ok_or_else(|| DataError::validation(format!("{field} must be a 32-bit integer"))),
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, DataError> {
    value.ok_or_else(|| DataError::validation(format!("Invalid input JSON: '{field}' is required")))
}

/// A deal stage's `metadata.probability`: required, a number or numeric string from 0 to 1.
fn probability_of(stage: &Map<String, Value>, at: &str) -> Result<String, DataError> {
    let raw = stage.get("metadata").and_then(|m| m.get("probability"));
    let value = match raw {
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(Value::Number(n)) => n.as_f64(),
        _ => {
            return Err(DataError::validation(format!(
                "{at}.metadata.probability is required for deal stages"
            )));
        }
    };
    match value.filter(|p| (0.0..=1.0).contains(p)) {
        Some(p) => Ok(format!("{p:?}")),
        None => Err(DataError::validation(format!(
            "{at}.metadata.probability must be a number from 0.0 to 1.0"
        ))),
    }
}

fn is_closed(stage: &Map<String, Value>) -> bool {
    match stage.get("metadata").and_then(|m| m.get("isClosed")) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// One stage of a create or replace body, checked.
struct StageInput {
    /// `stageId` naming a stage the pipeline keeps (replace only).
    kept: Option<String>,
    label: String,
    display_order: i64,
    probability: String,
    closed: bool,
}

impl StageInput {
    /// The stage to store: a kept stage keeps its id, a new one gets one.
    fn into_stored(self, account: &mut Account) -> StoredStage {
        StoredStage {
            id: self.kept.unwrap_or_else(|| account.take_id().to_string()),
            label: self.label,
            display_order: self.display_order,
            probability: self.probability,
            closed: self.closed,
        }
    }
}

/// The `stages` of a create or replace body: at least one, each with a label unique in the
/// pipeline, a display order and a probability. `current` is the pipeline a replace keeps
/// stages of: a stage whose `stageId` names one of its stages keeps it; a `stageId` it does not
/// have is refused (on create, `stageId` is not read: the emulator always makes the ids).
fn checked_stages(
    stages: Option<&Value>,
    current: Option<&StoredPipeline>,
) -> Result<Vec<StageInput>, DataError> {
    let stages = match stages {
        Some(Value::Array(stages)) if !stages.is_empty() => stages,
        Some(Value::Array(_)) => {
            return Err(DataError::validation(
                "A pipeline must have at least one stage",
            ));
        }
        _ => {
            return Err(DataError::validation(
                "Invalid input JSON: 'stages' is required",
            ));
        }
    };
    let mut checked: Vec<StageInput> = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        let at = format!("stages[{i}]");
        let stage = stage
            .as_object()
            .ok_or_else(|| DataError::validation(format!("{at} must be an object")))?;
        let label = required(
            label_of(stage, &format!("{at}.label"))?,
            &format!("{at}.label"),
        )?;
        if checked.iter().any(|s| s.label == label) {
            return Err(DataError::validation(format!(
                "Stage labels must be unique within a pipeline: {label}"
            )));
        }
        let display_order = required(
            display_order_of(stage, &format!("{at}.displayOrder"))?,
            &format!("{at}.displayOrder"),
        )?;
        let probability = probability_of(stage, &at)?;
        let kept = match (current, stage.get("stageId")) {
            (None, _) | (_, None | Some(Value::Null)) => None,
            (Some(pipeline), Some(Value::String(id))) if pipeline.has_stage(id) => Some(id.clone()),
            (Some(pipeline), Some(other)) => {
                return Err(DataError::validation(format!(
                    "{at}.stageId {other} is not a stage of pipeline {}",
                    pipeline.id
                )));
            }
        };
        if let Some(id) = &kept
            && checked.iter().any(|s| s.kept.as_ref() == Some(id))
        {
            return Err(DataError::validation(format!(
                "{at}.stageId {id} is given twice"
            )));
        }
        checked.push(StageInput {
            kept,
            label,
            display_order,
            probability,
            closed: is_closed(stage),
        });
    }
    Ok(checked)
}

impl Account {
    /// The account's live deal pipelines, in the order HubSpot lists them: by display order,
    /// then label.
    pub fn pipelines(&self) -> Vec<&StoredPipeline> {
        let mut out: Vec<&StoredPipeline> = self.pipelines.iter().collect();
        out.sort_by(|a, b| (a.display_order, &a.label).cmp(&(b.display_order, &b.label)));
        out
    }

    pub fn pipeline(&self, id: &str) -> Result<&StoredPipeline, DataError> {
        self.pipelines
            .iter()
            .find(|p| p.id == id)
            .ok_or(DataError::NotFound)
    }

    /// `POST /crm/v3/pipelines/deals`: `label`, `displayOrder` and at least one stage, each
    /// with `label`, `displayOrder` and `metadata.probability`. Ids are generated.
    pub fn create_pipeline(
        &mut self,
        body: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<String, DataError> {
        let label = required(label_of(body, "label")?, "label")?;
        let display_order = required(display_order_of(body, "displayOrder")?, "displayOrder")?;
        let checked = checked_stages(body.get("stages"), None)?;
        let id = self.take_id().to_string();
        let stages = checked
            .into_iter()
            .map(|stage| stage.into_stored(self))
            .collect();
        self.pipelines.push(StoredPipeline {
            id: id.clone(),
            label,
            display_order,
            created_ms: now_ms,
            updated_ms: now_ms,
            stages,
        });
        Ok(id)
    }

    /// `PATCH …/{pipelineId}`: `label` and `displayOrder`; stages change through a replace
    /// ([`Account::replace_pipeline`]), so they are not read here. `archived: true` is a delete. Answers with the
    /// pipeline as it now is.
    pub fn update_pipeline(
        &mut self,
        id: &str,
        body: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<Value, DataError> {
        let label = label_of(body, "label")?;
        let display_order = display_order_of(body, "displayOrder")?;
        let archive = match body.get("archived") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => return Err(DataError::validation("archived must be a boolean")),
        };
        let at = self
            .pipelines
            .iter()
            .position(|p| p.id == id)
            .ok_or(DataError::NotFound)?;
        if archive {
            let mut gone = self.pipelines.remove(at).render();
            gone["archived"] = json!(true);
            return Ok(gone);
        }
        let pipeline = &mut self.pipelines[at];
        if let Some(label) = label {
            pipeline.label = label;
        }
        if let Some(order) = display_order {
            pipeline.display_order = order;
        }
        pipeline.updated_ms = now_ms;
        Ok(pipeline.render())
    }

    /// `PUT …/{pipelineId}`: replaces `label`, `displayOrder` and the stage list (all three
    /// required, as for a create). A stage whose `stageId` names one of the pipeline's stages
    /// keeps that stage (and its id); one without a `stageId` is a new stage; the pipeline's
    /// stages left out are deleted. With `validate_usage` (HubSpot's
    /// `validateDealStageUsagesBeforeDelete=true`) a deletion of a stage that live deals are in
    /// is refused and nothing changes. Answers with the pipeline as it now is.
    pub fn replace_pipeline(
        &mut self,
        id: &str,
        body: &Map<String, Value>,
        validate_usage: bool,
        now_ms: i64,
    ) -> Result<Value, DataError> {
        let at = self
            .pipelines
            .iter()
            .position(|p| p.id == id)
            .ok_or(DataError::NotFound)?;
        let label = required(label_of(body, "label")?, "label")?;
        let display_order = required(display_order_of(body, "displayOrder")?, "displayOrder")?;
        let checked = checked_stages(body.get("stages"), Some(&self.pipelines[at]))?;
        let removed: Vec<String> = self.pipelines[at]
            .stages
            .iter()
            .filter(|old| !checked.iter().any(|s| s.kept.as_ref() == Some(&old.id)))
            .map(|old| old.id.clone())
            .collect();
        if validate_usage {
            let in_use = self.deals_in_stages(id, &removed);
            if !in_use.is_empty() {
                let stages: Vec<String> = in_use.iter().map(|(s, _)| s.clone()).collect();
                let deals: usize = in_use.iter().map(|(_, n)| n).sum();
                return Err(DataError::Validation {
                    message: format!(
                        "Unable to delete pipeline stage(s) [{}] of pipeline {id}: {deals} deal(s) are in them. Move those deals to another stage first.",
                        stages.join(", ")
                    ),
                    context: vec![("stageId".to_owned(), stages)],
                });
            }
        }
        let stages = checked
            .into_iter()
            .map(|stage| stage.into_stored(self))
            .collect();
        let pipeline = &mut self.pipelines[at];
        pipeline.label = label;
        pipeline.display_order = display_order;
        pipeline.stages = stages;
        pipeline.updated_ms = now_ms;
        Ok(pipeline.render())
    }

    /// Of `stages` (of pipeline `pipeline`), those that live deals are in, with how many, in
    /// the order given.
    pub fn deals_in_stages(&self, pipeline: &str, stages: &[String]) -> Vec<(String, usize)> {
        let deals = self.records.get(&ObjectType::Deals);
        stages
            .iter()
            .filter_map(|stage| {
                let n = deals
                    .into_iter()
                    .flat_map(|m| m.values())
                    .filter(|d| d.archived_ms.is_none())
                    .filter(|d| {
                        d.properties
                            .get("pipeline")
                            .map_or("default", String::as_str)
                            == pipeline
                            && d.properties.get("dealstage") == Some(stage)
                    })
                    .count();
                (n > 0).then(|| (stage.clone(), n))
            })
            .collect()
    }

    /// `DELETE …/{pipelineId}`. The account keeps at least one pipeline, as HubSpot does.
    pub fn delete_pipeline(&mut self, id: &str) -> Result<(), DataError> {
        let at = self
            .pipelines
            .iter()
            .position(|p| p.id == id)
            .ok_or(DataError::NotFound)?;
        if self.pipelines.len() == 1 {
            return Err(DataError::validation(
                "An account must keep at least one deal pipeline",
            ));
        }
        self.pipelines.remove(at);
        Ok(())
    }
}

#[cfg(test)]
#[path = "pipelines_tests.rs"]
mod tests;
