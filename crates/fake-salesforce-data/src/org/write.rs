//! Create and update: body parsing, field-level validation and the order Salesforce reports
//! problems in (unknown fields, then read-only fields, then values, then required fields, then
//! picklists and lookups, then object rules).

use super::{Org, derive, touch};
use crate::error::SfError;
use crate::ids::SfId;
use crate::schema::{DefaultValue, FieldType, ObjectDef};
use crate::value::{self, Value};
use serde_json::Value as Json;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Update,
}

/// Turns a request body into (field position, value) pairs, or the errors of the first failing
/// stage.
fn parse_body(
    def: &ObjectDef,
    body: &Json,
    mode: Mode,
) -> Result<Vec<(usize, Value)>, Vec<SfError>> {
    let Json::Object(map) = body else {
        return Err(vec![SfError::new(
            400,
            "JSON_PARSER_ERROR",
            format!(
                "Cannot deserialize instance of {} from a non-object JSON value",
                def.name
            ),
        )]);
    };
    let mut unknown = Vec::new();
    let mut read_only = Vec::new();
    let mut known = Vec::new();
    for (key, v) in map {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("Id") {
            return Err(vec![
                SfError::new(
                    400,
                    "INVALID_FIELD",
                    "The Id field should not be specified in the sobject data.",
                )
                .with_fields(vec![]),
            ]);
        }
        let Some(i) = def.field_index(key) else {
            unknown.push(SfError::no_such_column_dml(key, &def.name));
            continue;
        };
        let f = &def.fields[i];
        let writable = match mode {
            Mode::Create => f.createable,
            Mode::Update => f.updateable,
        };
        if writable {
            known.push((i, v));
        } else {
            read_only.push(f.name.clone());
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    if !read_only.is_empty() {
        // Alphabetical, so the message does not depend on the body's key order.
        read_only.sort_unstable();
        return Err(vec![SfError::new(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this \
                 field and verify that it is read/write for your profile or permission set.",
                read_only.join(", ")
            ),
        )
        .with_fields(read_only)]);
    }
    let mut out = Vec::with_capacity(known.len());
    let mut errors = Vec::new();
    for (i, v) in known {
        match value::from_json(&def.fields[i], v) {
            // Checkboxes are never null: clearing one sets it to false.
            Ok(Value::Null) if def.fields[i].field_type == FieldType::Boolean => {
                out.push((i, Value::Bool(false)));
            }
            Ok(v) => out.push((i, v)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Fills defaulted fields the body left null.
pub(crate) fn apply_defaults(def: &ObjectDef, values: &mut [Value], user: SfId) {
    for (f, v) in def.fields.iter().zip(values.iter_mut()) {
        if !v.is_null() {
            continue;
        }
        *v = match &f.default {
            Some(DefaultValue::Text(t)) => Value::text(t),
            Some(DefaultValue::Bool(b)) => Value::Bool(*b),
            Some(DefaultValue::CurrentUser) => Value::Id(user),
            None if f.field_type == FieldType::Boolean => Value::Bool(false),
            None => continue,
        };
    }
}

/// Required fields, and defaulted text fields (Lead.Status, OwnerId), may not end up null.
fn check_required(def: &ObjectDef, values: &[Value]) -> Result<(), SfError> {
    let missing: Vec<String> = (def.fields.iter().zip(values))
        .filter(|(f, v)| {
            let must = f.required
                || matches!(
                    f.default,
                    Some(DefaultValue::Text(_) | DefaultValue::CurrentUser)
                );
            must && f.createable && super::render::is_blank(v)
        })
        .map(|(f, _)| f.name.clone())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(SfError::new(
        400,
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", missing.join(", ")),
    )
    .with_fields(missing))
}

impl Org {
    /// Restricted picklists and lookups of the fields a write sets.
    fn check_values(&self, def: &ObjectDef, values: &[Value], given: &[usize]) -> Vec<SfError> {
        let mut errors = Vec::new();
        for &i in given {
            let f = &def.fields[i];
            match &values[i] {
                Value::Text(s) if f.restricted && !f.picklist.iter().any(|p| p == &**s) => {
                    errors.push(
                        SfError::new(
                            400,
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            format!("{}: bad value for restricted picklist field: {s}", f.label),
                        )
                        .with_fields(vec![f.name.clone()]),
                    );
                }
                Value::Id(id) if !f.reference_to.is_empty() => {
                    let targets: Vec<usize> = (f.reference_to.iter())
                        .filter_map(|t| self.schema.object_index(t))
                        .collect();
                    let prefix_ok = (targets.iter())
                        .any(|t| self.schema.object_at(*t).key_prefix == id.key_prefix());
                    if !prefix_ok {
                        errors.push(value::malformed_id(f, &id.to_18()));
                        continue;
                    }
                    let live = (self.index.get(id))
                        .filter(|r| targets.contains(&usize::from(r.object)))
                        .and_then(|r| self.row(*r))
                        .is_some_and(|row| !row.is_deleted());
                    if !live {
                        errors.push(
                            SfError::new(
                                400,
                                "INVALID_CROSS_REFERENCE_KEY",
                                "invalid cross reference id",
                            )
                            .with_fields(vec![f.name.clone()]),
                        );
                    }
                }
                _ => {}
            }
        }
        errors
    }

    /// `POST /sobjects/{Type}`: validates `body` and stores a new record owned (by default) by
    /// `user`. Unknown objects are `NOT_FOUND`; read-only objects are
    /// `INSUFFICIENT_ACCESS_OR_READONLY` (403).
    pub fn create(
        &mut self,
        object: &str,
        body: &Json,
        user: SfId,
        now_ms: i64,
    ) -> Result<SfId, Vec<SfError>> {
        let obj = self
            .schema
            .object_index(object)
            .ok_or_else(|| vec![SfError::not_found()])?;
        let def = self.schema.object_at(obj);
        if !def.createable {
            return Err(vec![SfError::read_only_object(&def.name, "inserted")]);
        }
        let assignments = parse_body(def, body, Mode::Create)?;
        let mut values = vec![Value::Null; def.fields.len()];
        let given: Vec<usize> = assignments.iter().map(|(i, _)| *i).collect();
        for (i, v) in assignments {
            values[i] = v;
        }
        apply_defaults(def, &mut values, user);
        check_required(def, &values).map_err(|e| vec![e])?;
        let errors = self.check_values(def, &values, &given);
        if !errors.is_empty() {
            return Err(errors);
        }
        derive::derive(self, obj, &mut values, &given, true, now_ms).map_err(|e| vec![e])?;
        Ok(self.store_new(obj, values, user, now_ms))
    }

    /// `PATCH /sobjects/{Type}/{id}`: sets the fields in `body` (`null` clears) and bumps
    /// `LastModifiedDate` and `SystemModstamp`. Deleted records give `ENTITY_IS_DELETED`.
    pub fn update(
        &mut self,
        object: &str,
        id: &str,
        body: &Json,
        user: SfId,
        now_ms: i64,
    ) -> Result<(), Vec<SfError>> {
        let (obj, r) = self.locate(object, id).map_err(|e| vec![e])?;
        let def = self.schema.object_at(obj);
        if !def.updateable {
            return Err(vec![SfError::read_only_object(&def.name, "updated")]);
        }
        let row = self.row(r).ok_or_else(|| vec![SfError::not_found()])?;
        if row.is_deleted() {
            return Err(vec![SfError::entity_is_deleted()]);
        }
        let assignments = parse_body(def, body, Mode::Update)?;
        let mut values = row.values.to_vec();
        let given: Vec<usize> = assignments.iter().map(|(i, _)| *i).collect();
        for (i, v) in assignments {
            values[i] = v;
        }
        check_required(def, &values).map_err(|e| vec![e])?;
        let errors = self.check_values(def, &values, &given);
        if !errors.is_empty() {
            return Err(errors);
        }
        derive::derive(self, obj, &mut values, &given, false, now_ms).map_err(|e| vec![e])?;
        if let Some(row) = self
            .tables
            .get_mut(obj)
            .and_then(|t| t.get_mut(r.row as usize))
        {
            row.values = values.into_boxed_slice();
            touch(row, user, now_ms);
        }
        Ok(())
    }
}
