//! Custom mappings: a unified `custom_mappings.<key>` of a CRM resource read from, and written
//! to, a provider field. Set per application, and optionally overridden per consumer (the
//! consumer's row wins). The target field id is Apideck's `{unified_api}+{resource}+{key}`;
//! the value is the provider field's API name (`Level__c`), also accepted as the JSONPath
//! `$.Level__c` that Apideck's finders use.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use patchbay_core::{ApplicationId, ConsumerId};
use patchbay_store::{CustomMappingRow, MappingKey};
use patchbay_unified::Resource;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Vault;
use crate::error::{Error, Result};

const MAX_KEY: usize = 64;
/// The CRM hot path reads mappings from memory: another node's change is seen within this,
/// this node's at once (writes clear the application's entries).
const CACHE_TTL: Duration = Duration::from_secs(1);

type CacheKey = (String, String, &'static str);
type Cache = Mutex<HashMap<CacheKey, (Instant, Vec<(String, String)>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn forget_app(app: &ApplicationId) {
    if let Ok(mut c) = cache().lock() {
        c.retain(|k, _| k.0 != app.as_str());
    }
}

/// The spec's `CustomMapping`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomMappingView {
    pub id: String,
    pub label: String,
    pub description: Option<String>,
    pub value: String,
    pub key: String,
    pub required: bool,
    pub custom_field: bool,
    pub consumer_id: Option<String>,
    pub example: Option<String>,
}

/// A parsed `target_field_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetField {
    pub resource: Resource,
    pub key: String,
}

/// `crm+contacts+level` → (contacts, level), for the path's unified API.
pub fn parse_target_field_id(raw: &str, unified_api: &str) -> Result<TargetField> {
    let bad = || {
        Error::validation(format!(
            "target_field_id must look like {unified_api}+contacts+my_key (unified API, resource, key)"
        ))
    };
    let mut parts = raw.splitn(3, '+');
    let (Some(api), Some(resource), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if api != unified_api {
        return Err(bad());
    }
    let resource = Resource::parse(resource).ok_or_else(bad)?;
    check_key(key)?;
    Ok(TargetField {
        resource,
        key: key.to_owned(),
    })
}

fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "the custom mapping key must be 1..={MAX_KEY} characters of a-z, 0-9 and _"
        )))
    }
}

/// The provider field a mapping value names: `Level__c` or `$.Level__c`.
pub fn mapping_field(value: &str) -> Result<String> {
    let v = value.trim();
    let v = v.strip_prefix("$.").unwrap_or(v);
    if patchbay_connectors::write::is_field_name(v) {
        Ok(v.to_owned())
    } else {
        Err(Error::validation(
            "value must be a provider field API name, like Level__c (or $.Level__c)",
        ))
    }
}

fn view(row: &CustomMappingRow) -> CustomMappingView {
    CustomMappingView {
        id: format!("{}+{}+{}", row.unified_api, row.resource, row.key),
        label: row.key.replace('_', " "),
        description: None,
        value: row.value.clone(),
        key: row.key.clone(),
        required: false,
        custom_field: true,
        consumer_id: row.consumer_id.clone(),
        example: None,
    }
}

/// Application rows first, then the consumer's, so a later row for the same key wins.
fn effective(rows: Vec<CustomMappingRow>) -> Vec<CustomMappingRow> {
    let mut out: Vec<CustomMappingRow> = Vec::new();
    let (app, own): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.consumer_id.is_none());
    for row in app.into_iter().chain(own) {
        match out
            .iter_mut()
            .find(|r| r.resource == row.resource && r.key == row.key)
        {
            Some(existing) => *existing = row,
            None => out.push(row),
        }
    }
    out
}

impl Vault {
    /// Creates or replaces a mapping: the application's when `consumer` is `None`, else that
    /// consumer's override.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = ?consumer))]
    pub async fn put_custom_mapping(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        unified_api: &str,
        service_id: &str,
        target_field_id: &str,
        value: &str,
    ) -> Result<CustomMappingView> {
        let target = parse_target_field_id(target_field_id, unified_api)?;
        let field = mapping_field(value)?;
        forget_app(app);
        let row = self
            .store()
            .put_custom_mapping(
                &MappingKey {
                    application_id: app,
                    consumer_id: consumer,
                    unified_api,
                    service_id,
                    resource: target.resource.as_str(),
                    key: &target.key,
                },
                &field,
                self.now_ms(),
            )
            .await?;
        Ok(view(&row))
    }

    /// Deletes the application's mapping (`consumer: None`) or the consumer's override.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = ?consumer))]
    pub async fn delete_custom_mapping(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        unified_api: &str,
        service_id: &str,
        target_field_id: &str,
    ) -> Result<()> {
        let target = parse_target_field_id(target_field_id, unified_api)?;
        forget_app(app);
        let done = self
            .store()
            .delete_custom_mapping(&MappingKey {
                application_id: app,
                consumer_id: consumer,
                unified_api,
                service_id,
                resource: target.resource.as_str(),
                key: &target.key,
            })
            .await?;
        if done {
            Ok(())
        } else {
            Err(Error::NotFound {
                entity: "custom mapping",
            })
        }
    }

    /// The mappings in effect (the consumer's overrides win), optionally for one resource.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = ?consumer))]
    pub async fn list_custom_mappings(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        unified_api: &str,
        service_id: &str,
        resource: Option<Resource>,
    ) -> Result<Vec<CustomMappingView>> {
        let rows = self
            .store()
            .list_custom_mappings(app, consumer, unified_api, service_id)
            .await?;
        Ok(effective(rows)
            .iter()
            .filter(|r| resource.is_none_or(|res| r.resource == res.as_str()))
            .map(view)
            .collect())
    }

    /// The one mapping in effect for `target_field_id`.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = ?consumer))]
    pub async fn get_custom_mapping(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        unified_api: &str,
        service_id: &str,
        target_field_id: &str,
    ) -> Result<CustomMappingView> {
        let target = parse_target_field_id(target_field_id, unified_api)?;
        self.list_custom_mappings(
            app,
            consumer,
            unified_api,
            service_id,
            Some(target.resource),
        )
        .await?
        .into_iter()
        .find(|m| m.key == target.key)
        .ok_or(Error::NotFound {
            entity: "custom mapping",
        })
    }

    /// `(key, provider field)` in effect for a CRM resource of a consumer's `service`.
    pub(crate) async fn crm_mappings(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        service: &str,
        resource: Resource,
    ) -> Result<Vec<(String, String)>> {
        let key = (
            app.as_str().to_owned(),
            format!("{}+{service}", consumer.as_str()),
            resource.as_str(),
        );
        if let Ok(c) = cache().lock()
            && let Some((at, found)) = c.get(&key)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(found.clone());
        }
        let found: Vec<(String, String)> = self
            .list_custom_mappings(app, Some(consumer), "crm", service, Some(resource))
            .await?
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect();
        if let Ok(mut c) = cache().lock() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(key, (Instant::now(), found.clone()));
        }
        Ok(found)
    }
}

/// `custom_mappings` of one record: each key's value from the provider record (null when the
/// record has no such field).
pub(crate) fn mapped_values(mappings: &[(String, String)], raw: &Value) -> Value {
    let mut out = Map::new();
    for (key, field) in mappings {
        out.insert(
            key.clone(),
            raw.get(field.as_str()).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// Moves a write body's `custom_mappings` into a `pass_through` item for `service`, so that the
/// connector writes each mapped field. Keys with no mapping are returned as ignored.
pub(crate) fn route_mapped_writes(
    service: &str,
    body: &mut Value,
    mappings: &[(String, String)],
) -> Result<Vec<String>> {
    let Some(obj) = body.as_object_mut() else {
        return Ok(Vec::new());
    };
    let Some(given) = obj.remove("custom_mappings") else {
        return Ok(Vec::new());
    };
    let given = match given {
        Value::Null => return Ok(Vec::new()),
        Value::Object(m) => m,
        _ => return Err(Error::validation("custom_mappings must be an object")),
    };
    let mut extend = Map::new();
    let mut ignored = Vec::new();
    for (key, value) in given {
        if value.is_object() || value.is_array() {
            return Err(Error::validation(format!(
                "custom_mappings.{key} must be a string, number, boolean or null"
            )));
        }
        match mappings.iter().find(|(k, _)| *k == key) {
            Some((_, field)) => {
                extend.insert(field.clone(), value);
            }
            None => ignored.push(format!("custom_mappings.{key}")),
        }
    }
    if !extend.is_empty() {
        let item = serde_json::json!({ "service_id": service, "extend_object": extend });
        match obj.get_mut("pass_through") {
            Some(Value::Array(items)) => items.insert(0, item),
            _ => {
                obj.insert("pass_through".to_owned(), Value::Array(vec![item]));
            }
        }
    }
    Ok(ignored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn target_field_ids_and_values() {
        let t = parse_target_field_id("crm+contacts+level", "crm").expect("valid");
        assert_eq!(t.resource, Resource::Contacts);
        assert_eq!(t.key, "level");
        for bad in [
            "crm+contacts",
            "hris+contacts+x",
            "crm+nope+x",
            "crm+contacts+Bad Key",
            "crm+contacts+",
        ] {
            assert!(parse_target_field_id(bad, "crm").is_err(), "{bad}");
        }
        assert_eq!(
            mapping_field("$.Level__c").ok().as_deref(),
            Some("Level__c")
        );
        assert_eq!(
            mapping_field("Department").ok().as_deref(),
            Some("Department")
        );
        assert!(mapping_field("$.a.b").is_err());
        assert!(mapping_field("x; DROP").is_err());
    }

    #[test]
    fn writes_go_through_pass_through_and_unknown_keys_are_reported() {
        let mut body = json!({"first_name": "A", "custom_mappings": {"level": "Gold", "nope": 1}});
        let ignored =
            route_mapped_writes("crm-x", &mut body, &[("level".into(), "Level__c".into())])
                .expect("ok");
        assert_eq!(ignored, vec!["custom_mappings.nope".to_owned()]);
        assert_eq!(body["pass_through"][0]["service_id"], "crm-x");
        assert!(body.get("custom_mappings").is_none());
        assert_eq!(body["pass_through"][0]["extend_object"]["Level__c"], "Gold");
        assert_eq!(
            mapped_values(
                &[("level".into(), "Level__c".into())],
                &json!({"Level__c": "Gold"})
            ),
            json!({"level": "Gold"})
        );
    }
}
