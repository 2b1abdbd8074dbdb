//! Checking property writes the way HubSpot does (`docs/hubspot.md §6, §7`): unknown and
//! read-only names, numbers, options, dates, owners and deal stages, each failure reported in
//! HubSpot's `Property values were not valid: [...]` message.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::DataError;
use crate::pipelines::StoredPipeline;
use crate::schema::{Kind, ObjectType, SYSTEM};
use crate::time::{format_ms, parse_ms};

/// Checked changes: name → new value (`None` clears it).
pub type Changes = BTreeMap<String, Option<String>>;

/// Checks a `properties` object. `owner_exists` answers for `hubspot_owner_id` values.
pub fn check(
    object: ObjectType,
    input: &Map<String, Value>,
    owner_exists: &dyn Fn(u64) -> bool,
) -> Result<Changes, DataError> {
    let mut changes = Changes::new();
    let mut invalid: Vec<(String, &str, String)> = Vec::new();
    for (name, value) in input {
        let text = match value {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                invalid.push((
                    name.clone(),
                    "INVALID_VALUE",
                    format!("Property \"{name}\" must be a string, number or boolean"),
                ));
                continue;
            }
        };
        if SYSTEM.contains(&name.as_str()) {
            invalid.push((
                name.clone(),
                "READ_ONLY_VALUE",
                format!("{name} is a read only property; its value cannot be set."),
            ));
            continue;
        }
        let Some(property) = object.property(name) else {
            invalid.push((
                name.clone(),
                "PROPERTY_DOESNT_EXIST",
                format!("Property \"{name}\" does not exist"),
            ));
            continue;
        };
        let Some(text) = text else {
            changes.insert(name.clone(), None);
            continue;
        };
        match normalise(property.kind, &text, owner_exists) {
            Ok(value) => {
                changes.insert(name.clone(), Some(value));
            }
            Err((code, message)) => invalid.push((name.clone(), code, message)),
        }
    }
    if invalid.is_empty() {
        Ok(changes)
    } else {
        Err(DataError::invalid_properties(&invalid))
    }
}

fn normalise(
    kind: Kind,
    text: &str,
    owner_exists: &dyn Fn(u64) -> bool,
) -> Result<String, (&'static str, String)> {
    match kind {
        Kind::Text => Ok(text.to_owned()),
        Kind::Number => match text.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(text.trim().to_owned()),
            _ => Err(("INVALID_FLOAT", format!("{text} was not a valid number."))),
        },
        Kind::DateTime => parse_ms(text)
            .map(format_ms)
            .ok_or(("INVALID_DATE", format!("{text} was not a valid date."))),
        Kind::Options(allowed) => {
            if allowed.contains(&text) {
                Ok(text.to_owned())
            } else {
                Err((
                    "INVALID_OPTION",
                    format!(
                        "{text} was not one of the allowed options: [{}]",
                        allowed.join(", ")
                    ),
                ))
            }
        }
        Kind::Owner => match text.parse::<u64>() {
            Ok(id) if owner_exists(id) => Ok(text.to_owned()),
            Ok(_) => Err((
                "INVALID_OWNER_ID",
                format!("{text} is not a valid owner id"),
            )),
            Err(_) => Err((
                "INVALID_INTEGER",
                format!("{text} was not a valid integer (for owner ID)."),
            )),
        },
    }
}

/// A deal's `pipeline` and `dealstage` after the changes must name a stage of that pipeline.
pub fn check_deal_stage(
    merged: &BTreeMap<String, String>,
    pipelines: &[StoredPipeline],
) -> Result<(), DataError> {
    let pipeline_id = merged.get("pipeline").map_or("default", String::as_str);
    let Some(pipeline) = pipelines.iter().find(|p| p.id == pipeline_id) else {
        let ids: Vec<&str> = pipelines.iter().map(|p| p.id.as_str()).collect();
        return Err(DataError::invalid_properties(&[(
            "pipeline".to_owned(),
            "INVALID_OPTION",
            format!(
                "{pipeline_id} was not one of the allowed options: [{}]",
                ids.join(", ")
            ),
        )]));
    };
    if let Some(stage) = merged.get("dealstage")
        && !pipeline.has_stage(stage)
    {
        let ids: Vec<&str> = pipeline.stages.iter().map(|s| s.id.as_str()).collect();
        return Err(DataError::invalid_properties(&[(
            "dealstage".to_owned(),
            "INVALID_OPTION",
            format!(
                "{stage} was not one of the allowed options: [{}]",
                ids.join(", ")
            ),
        )]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn accepts_known_values_and_normalises_dates() {
        let out = check(
            ObjectType::Deals,
            &props(json!({"amount": 12.5, "closedate": "2024-01-05", "description": ""})),
            &|_| true,
        )
        .expect("valid");
        assert_eq!(out["amount"].as_deref(), Some("12.5"));
        assert_eq!(
            out["closedate"].as_deref(),
            Some("2024-01-05T00:00:00.000Z")
        );
        assert_eq!(out["description"], None);
    }

    #[test]
    fn reports_every_bad_property_in_hubspots_words() {
        let err = check(
            ObjectType::Contacts,
            &props(
                json!({"nope": "x", "hs_object_id": "1", "hubspot_owner_id": "9",
                          "lifecyclestage": "king"}),
            ),
            &|_| false,
        )
        .expect_err("invalid");
        let text = err.to_string();
        assert!(
            text.starts_with("Property values were not valid: ["),
            "{text}"
        );
        for code in [
            "PROPERTY_DOESNT_EXIST",
            "READ_ONLY_VALUE",
            "INVALID_OWNER_ID",
            "INVALID_OPTION",
        ] {
            assert!(text.contains(code), "{code} in {text}");
        }
    }

    #[test]
    fn deal_stage_must_belong_to_the_pipeline() {
        let pipelines = crate::pipelines::seed_pipelines(0);
        let check_deal_stage = |m: &BTreeMap<String, String>| check_deal_stage(m, &pipelines);
        let mut merged = BTreeMap::new();
        merged.insert("dealstage".to_owned(), "closedwon".to_owned());
        assert!(check_deal_stage(&merged).is_ok());
        merged.insert("pipeline".to_owned(), "renewals".to_owned());
        assert!(check_deal_stage(&merged).is_err());
        merged.insert("pipeline".to_owned(), "nope".to_owned());
        assert!(check_deal_stage(&merged).is_err());
    }
}
