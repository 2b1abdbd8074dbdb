//! Provider-neutral mapping tables between a unified resource and a provider object.
//!
//! A connector describes each object as data ([`ObjectMap`]): scalar fields, the slots that feed
//! the spec's `emails`/`phone_numbers`/`websites`/`addresses` arrays, how custom fields are
//! recognised, and which remote fields serve each filter and sort. The engines in this module
//! ([`read_record`]) and in [`crate::write`] turn any such table into unified JSON and back, so a
//! second connector adds tables (plus its few quirks), not a new mapper.

use serde_json::{Map, Value, json};

use patchbay_unified::model::{AddressType, EmailType, PhoneType, WebsiteType};
use patchbay_unified::{FilterField, SortField};

use crate::convert;

/// How a value converts between the unified and remote representations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text on both sides.
    Text,
    /// A record id (validated by the provider's [`Dialect`] on write).
    Id,
    /// A JSON number on both sides.
    Number,
    /// An integer on both sides.
    Integer,
    /// Unified text, remote number (e.g. a company's `number_of_employees`).
    NumberAsText,
    /// A boolean on both sides.
    Bool,
    /// A boolean, negated (e.g. `archived` from `IsActive`).
    NotBool,
    /// Unified text, remote boolean (e.g. a user's `status` from `IsActive`).
    TextFromBool {
        /// Unified value when the remote is true.
        when_true: &'static str,
        /// Unified value when the remote is false.
        when_false: &'static str,
    },
    /// Unified boolean, remote text; write-only (e.g. a task's `done` into `Status`).
    BoolToText {
        /// Remote value for true.
        when_true: &'static str,
        /// Remote value for false.
        when_false: &'static str,
    },
    /// `YYYY-MM-DD` on both sides.
    Date,
    /// ISO-8601 instants; unified output is always `YYYY-MM-DDThh:mm:ss.sssZ`.
    DateTime,
    /// Remote date shown as a unified date-time at midnight UTC (read-only).
    DateAsDateTime,
    /// Unified seconds, remote minutes (rounded up on write).
    MinutesAsSeconds,
    /// A closed set of values: `(unified, remote)` pairs.
    Enum(&'static [(&'static str, &'static str)]),
    /// A constant unified value with no remote field (read-only).
    Const(&'static str),
}

/// Which directions a field mapping applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read and written.
    ReadWrite,
    /// Only read (ids, timestamps, formula and relationship fields).
    Read,
    /// Only written.
    Write,
}

/// One scalar field mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMap {
    /// Unified field name.
    pub unified: &'static str,
    /// Remote field; a dotted path for a parent relationship (read-only); empty for `Const`.
    pub remote: &'static str,
    /// Conversion.
    pub kind: Kind,
    /// Directions.
    pub access: Access,
}

/// A remote field holding one email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailSlot {
    /// Remote field.
    pub remote: &'static str,
    /// The unified `type` of an address in this slot.
    pub kind: EmailType,
}

/// A remote field holding one phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneSlot {
    /// Remote field.
    pub remote: &'static str,
    /// The unified `type` of a number in this slot.
    pub kind: PhoneType,
}

/// A remote field holding one website.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebsiteSlot {
    /// Remote field.
    pub remote: &'static str,
    /// The unified `type` of a website in this slot.
    pub kind: WebsiteType,
}

/// A group of remote fields holding one postal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressSlot {
    /// The unified `type` of this address.
    pub kind: AddressType,
    /// Remote street field; unified `line1`..`line3` are its lines.
    pub street: &'static str,
    /// Remote city field.
    pub city: &'static str,
    /// Remote state field.
    pub state: &'static str,
    /// Remote postal code field.
    pub postal_code: &'static str,
    /// Remote country field.
    pub country: &'static str,
}

/// How a unified filter compares against its remote field(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// Equality.
    Eq,
    /// Greater than or equal (for `*_since`: inclusive, so syncs never miss a record).
    Gte,
}

/// Which remote fields serve a unified filter; several remote fields are OR-ed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterMap {
    /// The unified filter.
    pub filter: FilterField,
    /// Remote fields, OR-ed.
    pub remote: &'static [&'static str],
    /// Comparison.
    pub op: FilterOp,
}

/// The type of a sort key, which decides how it is written back into a keyset predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKind {
    /// Text.
    Text,
    /// Number.
    Number,
    /// Date-time.
    DateTime,
}

/// Which remote field serves a unified sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortMap {
    /// The unified sort field.
    pub sort: SortField,
    /// Remote field.
    pub remote: &'static str,
    /// Its type.
    pub kind: SortKind,
}

/// The whole mapping of one unified resource onto one remote object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectMap {
    /// Remote object name.
    pub object: &'static str,
    /// Scalar fields.
    pub fields: &'static [FieldMap],
    /// Sources of `emails[]`.
    pub emails: &'static [EmailSlot],
    /// Sources of `phone_numbers[]`.
    pub phones: &'static [PhoneSlot],
    /// Sources of `websites[]`.
    pub websites: &'static [WebsiteSlot],
    /// Sources of `addresses[]`.
    pub addresses: &'static [AddressSlot],
    /// Whether remote custom fields surface as `custom_fields[]`.
    pub custom_fields: bool,
    /// Remote fields the connector's own code reads (polymorphic lookups, type discriminators):
    /// selected with the record but not mapped by the engine.
    pub quirk_fields: &'static [&'static str],
    /// Supported filters.
    pub filters: &'static [FilterMap],
    /// Supported sorts.
    pub sorts: &'static [SortMap],
}

/// Provider rules the neutral engines need.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// Whether a string is a well-formed record id.
    pub is_valid_id: fn(&str) -> bool,
    /// Whether a remote field name is a custom field (surfaced in `custom_fields`).
    pub is_custom_field: fn(&str) -> bool,
}

impl ObjectMap {
    /// Every remote field a read needs, without duplicates, in table order (for a SELECT list).
    pub fn read_fields(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        let mut push = |f: &'static str| {
            if !f.is_empty() && !out.contains(&f) {
                out.push(f);
            }
        };
        for f in self.fields.iter().filter(|f| f.access != Access::Write) {
            push(f.remote);
        }
        self.emails.iter().for_each(|s| push(s.remote));
        self.phones.iter().for_each(|s| push(s.remote));
        self.websites.iter().for_each(|s| push(s.remote));
        for a in self.addresses {
            for f in [a.street, a.city, a.state, a.postal_code, a.country] {
                push(f);
            }
        }
        self.quirk_fields.iter().for_each(|f| push(f));
        out
    }

    /// The filter mapping for a unified filter, if supported.
    pub fn filter(&self, field: FilterField) -> Option<&FilterMap> {
        self.filters.iter().find(|f| f.filter == field)
    }

    /// The sort mapping for a unified sort field, if supported.
    pub fn sort(&self, field: SortField) -> Option<&SortMap> {
        self.sorts.iter().find(|s| s.sort == field)
    }
}

/// A remote value by (possibly dotted) path; a missing or null parent reads as null.
pub fn remote_value<'a>(record: &'a Map<String, Value>, path: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return &NULL;
    };
    let mut current = record.get(first).unwrap_or(&NULL);
    for part in parts {
        current = current.get(part).unwrap_or(&NULL);
    }
    current
}

/// Maps a remote record to unified JSON. Mapped fields are always present (`null` when empty);
/// unmapped unified fields are omitted, as the spec's examples do for connectors without them.
pub fn read_record(
    map: &ObjectMap,
    dialect: &Dialect,
    record: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for f in map.fields.iter().filter(|f| f.access != Access::Write) {
        if out.contains_key(f.unified) {
            continue; // the first readable mapping of a unified field wins
        }
        let value = convert::to_unified(f.kind, remote_value(record, f.remote));
        out.insert(f.unified.to_owned(), value);
    }
    if !map.emails.is_empty() {
        let items = map
            .emails
            .iter()
            .filter_map(|s| text(record, s.remote).map(|v| json!({ "email": v, "type": s.kind })));
        out.insert("emails".to_owned(), Value::Array(items.collect()));
    }
    if !map.phones.is_empty() {
        let items = map
            .phones
            .iter()
            .filter_map(|s| text(record, s.remote).map(|v| json!({ "number": v, "type": s.kind })));
        out.insert("phone_numbers".to_owned(), Value::Array(items.collect()));
    }
    if !map.websites.is_empty() {
        let items = map
            .websites
            .iter()
            .filter_map(|s| text(record, s.remote).map(|v| json!({ "url": v, "type": s.kind })));
        out.insert("websites".to_owned(), Value::Array(items.collect()));
    }
    if !map.addresses.is_empty() {
        let items = map.addresses.iter().filter_map(|a| read_address(record, a));
        out.insert("addresses".to_owned(), Value::Array(items.collect()));
    }
    if map.custom_fields {
        let items = record
            .iter()
            .filter(|(k, _)| (dialect.is_custom_field)(k))
            .map(|(k, v)| json!({ "id": k, "name": k, "value": v }));
        out.insert("custom_fields".to_owned(), Value::Array(items.collect()));
    }
    out
}

fn text<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    remote_value(record, field)
        .as_str()
        .filter(|s| !s.trim().is_empty())
}

fn read_address(record: &Map<String, Value>, slot: &AddressSlot) -> Option<Value> {
    let street = text(record, slot.street);
    let parts = [
        text(record, slot.city),
        text(record, slot.state),
        text(record, slot.postal_code),
        text(record, slot.country),
    ];
    if street.is_none() && parts.iter().all(Option::is_none) {
        return None;
    }
    // The street holds `line1`..`line3` one per line; extra lines stay together in `line3`.
    let lines: Vec<&str> = street.map(|s| s.lines().collect()).unwrap_or_default();
    let line1 = lines.first();
    let line2 = lines.get(1);
    let line3 = (lines.len() > 2).then(|| lines[2..].join("\n"));
    let [city, state, postal_code, country] = parts;
    Some(json!({
        "type": slot.kind,
        "line1": line1, "line2": line2, "line3": line3,
        "city": city, "state": state, "postal_code": postal_code, "country": country,
    }))
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
