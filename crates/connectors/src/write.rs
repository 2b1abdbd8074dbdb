//! The neutral write engine: a validated unified body to a remote field map, driven by an
//! [`ObjectMap`]. Provider quirks (required fields, polymorphic parents) are layered on top by
//! each connector.

use serde_json::{Map, Value};

use patchbay_unified::UnifiedError;
use patchbay_unified::model::Write;

use crate::convert;
use crate::table::{Access, Dialect, Kind, ObjectMap};

/// Maps a unified body (already checked by `patchbay_unified::model::validate_body`) to remote
/// fields. Unified fields the table does not map are ignored, as Apideck does; read-only ones
/// (ids, timestamps) too. Arrays replace: on update, slots the new array does not fill are cleared.
pub fn write_record(
    map: &ObjectMap,
    dialect: &Dialect,
    service: &str,
    body: &Map<String, Value>,
    write: Write,
) -> Result<Map<String, Value>, UnifiedError> {
    write_record_reporting(map, dialect, service, body, write).map(|w| w.fields)
}

/// A mapped body plus what of it the provider's object cannot hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Written {
    pub fields: Map<String, Value>,
    /// Spec-valid parts of the body that were left out, as paths (`websites[1]`,
    /// `addresses`, `custom_fields`), for the response to name.
    pub ignored: Vec<String>,
}

/// [`write_record`], reporting what was ignored: items past the object's slots (an array of
/// three emails on an object with two email fields), arrays the object has no slot for at all,
/// and custom fields on an object without them. Apideck's connectors drop these too; a
/// spec-valid body is never refused for them.
pub fn write_record_reporting(
    map: &ObjectMap,
    dialect: &Dialect,
    service: &str,
    body: &Map<String, Value>,
    write: Write,
) -> Result<Written, UnifiedError> {
    let mut ignored = Vec::new();
    let mut out = Map::new();
    for f in map.fields.iter().filter(|f| f.access != Access::Read) {
        let Some(value) = body.get(f.unified) else {
            continue;
        };
        let remote = convert::to_remote(f.kind, value, f.unified)?;
        if f.kind == Kind::Id
            && let Some(id) = remote.as_str()
            && !(dialect.is_valid_id)(id)
        {
            return Err(UnifiedError::invalid_field(
                f.unified,
                format!("{} is not a valid record id", f.unified),
            ));
        }
        set(&mut out, f.remote, remote, f.unified)?;
    }
    let emails: Vec<(&str, Value)> = map
        .emails
        .iter()
        .map(|s| (s.remote, kind_str(&s.kind)))
        .collect();
    let phones: Vec<(&str, Value)> = map
        .phones
        .iter()
        .map(|s| (s.remote, kind_str(&s.kind)))
        .collect();
    let sites: Vec<(&str, Value)> = map
        .websites
        .iter()
        .map(|s| (s.remote, kind_str(&s.kind)))
        .collect();
    for (field, key, slots) in [
        ("emails", "email", emails),
        ("phone_numbers", "number", phones),
        ("websites", "url", sites),
    ] {
        if let Some(items) = body.get(field) {
            write_slots(&mut out, field, key, &slots, items, write, &mut ignored)?;
        }
    }
    if let Some(items) = body.get("addresses") {
        write_addresses(&mut out, map, items, write, &mut ignored)?;
    }
    if let Some(items) = body.get("custom_fields") {
        if !map.custom_fields && !is_empty_array(items) {
            ignored.push("custom_fields".to_owned());
        } else {
            write_custom_fields(&mut out, dialect, items)?;
        }
    }
    if let Some(pass_through) = body.get("pass_through") {
        apply_pass_through(&mut out, service, pass_through)?;
    }
    Ok(Written {
        fields: out,
        ignored,
    })
}

fn kind_str<T: serde::Serialize>(kind: &T) -> Value {
    serde_json::to_value(kind).unwrap_or(Value::Null)
}

fn is_empty_array(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(Vec::is_empty)
}

/// Sets a remote field, refusing two unified fields that disagree about it.
fn set(
    out: &mut Map<String, Value>,
    remote: &str,
    value: Value,
    unified: &str,
) -> Result<(), UnifiedError> {
    match out.get(remote) {
        Some(existing) if *existing != value => Err(UnifiedError::invalid_field(
            unified,
            format!("{unified} conflicts with another field that sets the same {remote}"),
        )),
        _ => {
            out.insert(remote.to_owned(), value);
            Ok(())
        }
    }
}

/// Puts array items into single-value slots: first each item into a free slot of its own type,
/// then the rest into any free slot, in table order.
fn write_slots(
    out: &mut Map<String, Value>,
    field: &str,
    key: &str,
    slots: &[(&str, Value)],
    items: &Value,
    write: Write,
    ignored: &mut Vec<String>,
) -> Result<(), UnifiedError> {
    let items: &[Value] = match items {
        Value::Null => &[],
        Value::Array(items) => items,
        _ => {
            return Err(UnifiedError::invalid_field(
                field,
                format!("{field} must be an array"),
            ));
        }
    };
    let mut filled: Vec<Option<&str>> = vec![None; slots.len()];
    let mut leftovers = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let value = item
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                UnifiedError::invalid_field(field, format!("every item of {field} needs a {key}"))
            })?;
        let kind = item.get("type").unwrap_or(&Value::Null);
        match slots
            .iter()
            .zip(filled.iter_mut())
            .find(|((_, slot_kind), f)| f.is_none() && !kind.is_null() && slot_kind == kind)
        {
            Some((_, f)) => *f = Some(value),
            None => leftovers.push((index, value)),
        }
    }
    for (index, value) in leftovers {
        match filled.iter_mut().find(|f| f.is_none()) {
            Some(free) => *free = Some(value),
            None => ignored.push(format!("{field}[{index}]")),
        }
    }
    for ((remote, _), value) in slots.iter().zip(filled) {
        match (value, write) {
            (Some(v), _) => {
                out.insert((*remote).to_owned(), Value::String(v.to_owned()));
            }
            (None, Write::Update) => {
                out.insert((*remote).to_owned(), Value::Null);
            }
            (None, Write::Create) => {}
        }
    }
    Ok(())
}

fn write_addresses(
    out: &mut Map<String, Value>,
    map: &ObjectMap,
    items: &Value,
    write: Write,
    ignored: &mut Vec<String>,
) -> Result<(), UnifiedError> {
    let items: &[Value] = match items {
        Value::Null => &[],
        Value::Array(items) => items,
        _ => {
            return Err(UnifiedError::invalid_field(
                "addresses",
                "addresses must be an array",
            ));
        }
    };
    let slots = map.addresses;
    let mut filled: Vec<Option<&Value>> = vec![None; slots.len()];
    let mut leftovers = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if !item.is_object() {
            return Err(UnifiedError::invalid_field(
                "addresses",
                "addresses must hold objects",
            ));
        }
        let kind = item.get("type").unwrap_or(&Value::Null);
        match slots
            .iter()
            .zip(filled.iter_mut())
            .find(|(s, f)| f.is_none() && !kind.is_null() && kind_str(&s.kind) == *kind)
        {
            Some((_, f)) => *f = Some(item),
            None => leftovers.push((index, item)),
        }
    }
    for (index, item) in leftovers {
        match filled.iter_mut().find(|f| f.is_none()) {
            Some(free) => *free = Some(item),
            None => ignored.push(format!("addresses[{index}]")),
        }
    }
    for (slot, item) in slots.iter().zip(filled) {
        let Some(item) = item else {
            if write == Write::Update {
                for f in [
                    slot.street,
                    slot.city,
                    slot.state,
                    slot.postal_code,
                    slot.country,
                ] {
                    out.insert(f.to_owned(), Value::Null);
                }
            }
            continue;
        };
        let text = |k: &str| {
            item.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let street: Vec<&str> = ["line1", "line2", "line3"]
            .into_iter()
            .filter_map(text)
            .collect();
        let street = if street.is_empty() {
            // Some clients only send the one-line `string` form.
            text("string").map(str::to_owned)
        } else {
            Some(street.join("\n"))
        };
        out.insert(
            slot.street.to_owned(),
            street.map_or(Value::Null, Value::String),
        );
        for (remote, key) in [
            (slot.city, "city"),
            (slot.state, "state"),
            (slot.postal_code, "postal_code"),
            (slot.country, "country"),
        ] {
            out.insert(
                remote.to_owned(),
                text(key).map_or(Value::Null, |s| Value::String(s.to_owned())),
            );
        }
    }
    Ok(())
}

fn write_custom_fields(
    out: &mut Map<String, Value>,
    dialect: &Dialect,
    items: &Value,
) -> Result<(), UnifiedError> {
    let items: &[Value] = match items {
        Value::Null => &[],
        Value::Array(items) => items,
        _ => {
            return Err(UnifiedError::invalid_field(
                "custom_fields",
                "custom_fields must be an array",
            ));
        }
    };
    for item in items {
        let key = item
            .get("id")
            .and_then(Value::as_str)
            .or_else(|| item.get("name").and_then(Value::as_str))
            .ok_or_else(|| {
                UnifiedError::invalid_field(
                    "custom_fields",
                    "every custom field needs an id or a name",
                )
            })?;
        if !(dialect.is_custom_field)(key) {
            return Err(UnifiedError::invalid_field(
                "custom_fields",
                format!("{} is not a custom field name", short(key)),
            ));
        }
        let value = item.get("value").cloned().unwrap_or(Value::Null);
        if value.is_object() || value.is_array() {
            return Err(UnifiedError::invalid_field(
                "custom_fields",
                format!("the value of {key} must be a string, number, boolean or null"),
            ));
        }
        out.insert(key.to_owned(), value);
    }
    Ok(())
}

/// Body-level `pass_through[]`: `extend_object` of the items for this service is merged over the
/// mapped fields. `extend_paths` (JSONPath) is not supported.
fn apply_pass_through(
    out: &mut Map<String, Value>,
    service: &str,
    pass_through: &Value,
) -> Result<(), UnifiedError> {
    let Some(items) = pass_through.as_array() else {
        return Ok(());
    };
    for item in items
        .iter()
        .filter(|i| i.get("service_id").and_then(Value::as_str) == Some(service))
    {
        if item.get("extend_paths").is_some_and(|p| !is_empty_array(p)) {
            return Err(UnifiedError::invalid_field(
                "pass_through",
                "pass_through extend_paths is not supported; use extend_object",
            ));
        }
        if let Some(extend) = item.get("extend_object").and_then(Value::as_object) {
            for (key, value) in extend {
                if !is_field_name(key) {
                    return Err(UnifiedError::invalid_field(
                        "pass_through",
                        format!("{} is not a field name", short(key)),
                    ));
                }
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Ok(())
}

/// `[A-Za-z][A-Za-z0-9_]*`, at most 255 bytes.
pub fn is_field_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= 255
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn short(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
