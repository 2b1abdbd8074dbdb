//! One CRM record and how it renders (`docs/hubspot.md §7`): `{id, properties, createdAt,
//! updatedAt, archived}`, every property value a string.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::schema::ObjectType;
use crate::time::format_ms;

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub id: u64,
    /// Stored (writable) properties; the system ones are derived from the fields below.
    pub properties: BTreeMap<String, String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub archived_ms: Option<i64>,
}

impl Record {
    /// A property's value, system properties included; `None` when it has no value.
    pub fn value(&self, name: &str) -> Option<String> {
        match name {
            "hs_object_id" => Some(self.id.to_string()),
            "createdate" | "hs_createdate" => Some(format_ms(self.created_ms)),
            "lastmodifieddate" | "hs_lastmodifieddate" => Some(format_ms(self.updated_ms)),
            _ => self.properties.get(name).cloned(),
        }
    }

    pub fn archived(&self) -> bool {
        self.archived_ms.is_some()
    }

    /// The record as HubSpot answers it. `names`: the properties to include; a known name
    /// without a value renders as `null`, an unknown one is left out (`docs/hubspot.md §7`).
    pub fn render(&self, object: ObjectType, names: &[String]) -> Value {
        let mut properties = Map::new();
        for name in names {
            if object.knows(name) {
                let value = self.value(name).map_or(Value::Null, Value::String);
                properties.insert(name.clone(), value);
            }
        }
        let mut out = json!({
            "id": self.id.to_string(),
            "properties": properties,
            "createdAt": format_ms(self.created_ms),
            "updatedAt": format_ms(self.updated_ms),
            "archived": self.archived(),
        });
        if let (Some(ms), Some(map)) = (self.archived_ms, out.as_object_mut()) {
            map.insert("archivedAt".to_owned(), Value::String(format_ms(ms)));
        }
        out
    }
}
