//! Unified pipelines to HubSpot's deal pipeline bodies (docs/hubspot.md §12): `name` is the
//! `label`, a stage's `win_probability` percentage is `metadata.probability` from 0 to 1.
//! HubSpot generates pipeline and stage ids, and a pipeline `PATCH` does not change stages (they
//! have their own endpoints), so those fields are reported as ignored rather than dropped
//! silently.

use serde_json::{Map, Value, json};

use patchbay_unified::UnifiedError;

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
    let stages = body
        .get("stages")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            UnifiedError::invalid_field(
                "stages",
                "stages is required: a HubSpot pipeline has at least one stage",
            )
        })?;
    let mut out = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        let at = format!("stages[{i}]");
        let stage = stage
            .as_object()
            .ok_or_else(|| UnifiedError::invalid_field(&at, format!("{at} must be an object")))?;
        let stage_name = label(stage.get("name"), &format!("{at}.name"))?.ok_or_else(|| {
            UnifiedError::invalid_field(&format!("{at}.name"), format!("{at}.name is required"))
        })?;
        let stage_order = display_order(
            stage.get("display_order").unwrap_or(&Value::Null),
            &format!("{at}.display_order"),
        )?
        .unwrap_or(i as i64);
        out.push(json!({
            "label": stage_name,
            "displayOrder": stage_order,
            "metadata": {"probability": probability(stage, &at)?},
        }));
        // HubSpot makes the stage id (the unified `value` and `id`) itself.
        for key in ["id", "value", "archived", "created_at", "updated_at"] {
            if stage
                .get(key)
                .is_some_and(|v| !v.is_null() && v != &json!(false))
            {
                ignored.push(format!("{at}.{key}"));
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
    if body.get("stages").is_some_and(|s| !s.is_null()) {
        ignored.push("stages".to_owned());
    }
    ignored_top(body, true, &mut ignored);
    Ok((Value::Object(out), ignored))
}
