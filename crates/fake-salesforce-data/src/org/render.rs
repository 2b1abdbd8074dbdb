//! Response JSON of records: `attributes`, field values, compound addresses.

use super::Row;
use crate::ids::SfId;
use crate::schema::{FieldType, ObjectDef};
use crate::value::Value;
use serde_json::{Map, Value as Json, json};

/// The message of `INVALID_FIELD` for an unknown column (without the SOQL excerpt).
pub(crate) fn no_such_column(field: &str, object: &str) -> String {
    format!(
        "No such column '{field}' on entity '{object}'. If you are attempting to use a custom \
         field, be sure to append the '__c' after the custom field name. Please reference your \
         WSDL or the describe call for the appropriate names."
    )
}

pub(crate) fn attributes(object: &str, id: Option<SfId>, api_version: &str) -> Json {
    let id = id.map(|i| i.to_18()).unwrap_or_default();
    json!({"type": object, "url": format!("/services/data/v{api_version}/sobjects/{object}/{id}")})
}

/// The JSON of one field of a row; compound addresses are assembled from their components.
pub(crate) fn field_value(def: &ObjectDef, row: &Row, field: usize) -> Json {
    let Some(f) = def.fields.get(field) else {
        return Json::Null;
    };
    if f.field_type != FieldType::Address {
        return row.get(field).to_json();
    }
    let prefix = f.address_prefix.as_deref().unwrap_or_default();
    let part = |name: &str| {
        def.field_index(&format!("{prefix}{name}"))
            .map_or(Json::Null, |i| row.get(i).to_json())
    };
    let parts = [
        ("city", part("City")),
        ("country", part("Country")),
        ("postalCode", part("PostalCode")),
        ("state", part("State")),
        ("street", part("Street")),
    ];
    if parts.iter().all(|(_, v)| v.is_null()) {
        return Json::Null;
    }
    let mut m: Map<String, Json> = parts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for k in ["geocodeAccuracy", "latitude", "longitude"] {
        m.insert(k.to_owned(), Json::Null);
    }
    Json::Object(m)
}

/// A record with `attributes` and the fields at `positions`.
pub(crate) fn record(def: &ObjectDef, row: &Row, positions: &[usize], api_version: &str) -> Json {
    let mut m = Map::new();
    m.insert(
        "attributes".to_owned(),
        attributes(&def.name, row.id(), api_version),
    );
    for &p in positions {
        if let Some(f) = def.fields.get(p) {
            m.insert(f.name.clone(), field_value(def, row, p));
        }
    }
    Json::Object(m)
}

/// Whether a stored value is the null of its type (used by derived-field logic).
pub(crate) fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Text(s) => s.is_empty(),
        _ => false,
    }
}
