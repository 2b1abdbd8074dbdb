//! An emulated org: its schema, its records, and the record operations of the REST API.
//!
//! Records are never removed (delete is a soft delete into the "Recycle Bin"), so a record's
//! position in its table is stable; query results hold positions and render them later.

mod derive;
mod render;
mod replication;
mod snapshot;
mod users;
mod write;

use crate::error::SfError;
use crate::ids::{IdGenerator, SfId, org_id};
use crate::schema::{CustomFieldSpec, DEFAULT_STAGES, Schema, SchemaError, sys};
use crate::value::Value;
use std::collections::HashMap;

pub(crate) use render::{attributes, field_value, no_such_column as no_such_column_message};
pub use snapshot::{OrgSnapshot, SnapshotError};
pub use users::{NewUser, UserInfo};

/// One stored record: values in the order of its object's field list (`values[0]` is the Id).
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) values: Box<[Value]>,
}

impl Row {
    pub(crate) fn id(&self) -> Option<SfId> {
        self.values.get(sys::ID).and_then(Value::as_id)
    }
    pub(crate) fn is_deleted(&self) -> bool {
        self.values.get(sys::IS_DELETED).is_some_and(Value::as_bool)
    }
    pub(crate) fn get(&self, field: usize) -> &Value {
        self.values.get(field).unwrap_or(&Value::Null)
    }
}

/// Where a record lives: (object index in the schema, row index in that object's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowRef {
    pub(crate) object: u16,
    pub(crate) row: u32,
}

/// How to build an org.
#[derive(Debug, Clone)]
pub struct OrgOptions {
    /// Distinguishes orgs: the org id is derived from it.
    pub org_number: u64,
    /// Username of the first user, who owns what the org creates by itself.
    pub default_username: String,
    /// Custom fields to add; [`CustomFieldSpec::defaults`] gives `Tier__c` on Account and Contact.
    pub custom_fields: Vec<CustomFieldSpec>,
}

impl Default for OrgOptions {
    fn default() -> Self {
        OrgOptions {
            org_number: 1,
            default_username: "admin@example.com".to_owned(),
            custom_fields: CustomFieldSpec::defaults(),
        }
    }
}

/// An emulated org. `Send + Sync`; the HTTP layer wraps it in a lock.
#[derive(Debug, Clone)]
pub struct Org {
    org_id: SfId,
    pub(crate) schema: Schema,
    pub(crate) ids: IdGenerator,
    /// One table per schema object, in schema order.
    pub(crate) tables: Vec<Vec<Row>>,
    /// Every record's location, for lookups by id and for polymorphic relationships.
    pub(crate) index: HashMap<SfId, RowRef>,
    /// Object names as values, for SOQL's `Who.Type`.
    pub(crate) type_names: Vec<Value>,
    default_user: SfId,
}

impl Org {
    /// An org with the standard objects, the default user and the opportunity stages.
    pub fn new(options: &OrgOptions, now_ms: i64) -> Result<Org, SchemaError> {
        let schema = Schema::new(&options.custom_fields)?;
        let tables = vec![Vec::new(); schema.objects().len()];
        let type_names = schema
            .objects()
            .iter()
            .map(|o| Value::text(&o.name))
            .collect();
        let ids = IdGenerator::starting_at(1);
        // The first user creates itself, so its id is known before it is stored.
        let first_user = ids.clone().next_id("005");
        let mut org = Org {
            org_id: org_id(options.org_number),
            schema,
            ids,
            tables,
            index: HashMap::new(),
            type_names,
            default_user: first_user,
        };
        let (first, last) = users::names_from_username(&options.default_username);
        org.default_user = org.insert_user_unchecked(
            &NewUser {
                username: options.default_username.clone(),
                email: options.default_username.clone(),
                first_name: Some(first),
                last_name: last,
            },
            first_user,
            now_ms,
        );
        org.insert_stages(now_ms);
        Ok(org)
    }

    /// The org id (`00D...`).
    pub fn org_id(&self) -> SfId {
        self.org_id
    }

    /// The first user, which owns seeded data.
    pub fn default_user_id(&self) -> SfId {
        self.default_user
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Number of live (not deleted) records of an object; `None` for unknown objects.
    pub fn count(&self, object: &str) -> Option<usize> {
        let i = self.schema.object_index(object)?;
        Some(self.tables[i].iter().filter(|r| !r.is_deleted()).count())
    }

    /// `GET /sobjects/{Type}/describe`; `NOT_FOUND` for unknown objects.
    pub fn describe(&self, object: &str, api_version: &str) -> Result<serde_json::Value, SfError> {
        self.schema
            .describe(object, api_version)
            .ok_or_else(SfError::not_found)
    }

    /// `GET /sobjects/{Type}`: `{"objectDescribe", "recentItems"}`; `NOT_FOUND` for unknown objects.
    pub fn basic_info(
        &self,
        object: &str,
        api_version: &str,
    ) -> Result<serde_json::Value, SfError> {
        self.schema
            .basic_info(object, api_version)
            .ok_or_else(SfError::not_found)
    }

    /// `GET /sobjects`.
    pub fn describe_global(&self, api_version: &str) -> serde_json::Value {
        self.schema.describe_global(api_version)
    }

    pub(crate) fn row(&self, r: RowRef) -> Option<&Row> {
        self.tables.get(usize::from(r.object))?.get(r.row as usize)
    }

    /// Finds a record of `object` by id as the REST path gives it. Unknown objects and ids that
    /// are not ids are `NOT_FOUND`, as Salesforce answers them.
    fn locate(&self, object: &str, id: &str) -> Result<(usize, RowRef), SfError> {
        let obj = self
            .schema
            .object_index(object)
            .ok_or_else(SfError::not_found)?;
        let id = SfId::parse(id).map_err(|_| {
            SfError::new(
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {id}"),
            )
        })?;
        let r = *self.index.get(&id).ok_or_else(SfError::not_found)?;
        if usize::from(r.object) != obj {
            return Err(SfError::not_found());
        }
        Ok((obj, r))
    }

    /// `GET /sobjects/{Type}/{id}`: every field, or only `fields`. Deleted records are
    /// `NOT_FOUND`. `api_version` goes into `attributes.url`.
    pub fn get(
        &self,
        object: &str,
        id: &str,
        fields: Option<&[String]>,
        api_version: &str,
    ) -> Result<serde_json::Value, SfError> {
        let (obj, r) = self.locate(object, id)?;
        let def = self.schema.object_at(obj);
        let row = self.row(r).ok_or_else(SfError::not_found)?;
        if row.is_deleted() {
            return Err(SfError::not_found());
        }
        let positions: Vec<usize> = match fields {
            None => (0..def.fields.len()).collect(),
            Some(names) => (names.iter())
                .filter(|n| !n.trim().is_empty())
                .map(|n| {
                    def.field_index(n.trim()).ok_or_else(|| {
                        SfError::new(
                            400,
                            "INVALID_FIELD",
                            render::no_such_column(n.trim(), &def.name),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(render::record(def, row, &positions, api_version))
    }

    /// `DELETE /sobjects/{Type}/{id}`: moves the record to the Recycle Bin (`IsDeleted = true`).
    pub fn delete(
        &mut self,
        object: &str,
        id: &str,
        user: SfId,
        now_ms: i64,
    ) -> Result<(), SfError> {
        let (obj, r) = self.locate(object, id)?;
        let def = self.schema.object_at(obj);
        if !def.deletable {
            return Err(SfError::read_only_object(&def.name, "deleted"));
        }
        let row = (self.tables.get_mut(obj))
            .and_then(|t| t.get_mut(r.row as usize))
            .ok_or_else(SfError::not_found)?;
        if row.is_deleted() {
            return Err(SfError::entity_is_deleted());
        }
        row.values[sys::IS_DELETED] = Value::Bool(true);
        touch(row, user, now_ms);
        Ok(())
    }

    fn insert_stages(&mut self, now_ms: i64) {
        let user = self.default_user;
        for (i, s) in DEFAULT_STAGES.iter().enumerate() {
            let fields = [
                ("MasterLabel", Value::text(s.label)),
                ("ApiName", Value::text(s.label)),
                ("IsActive", Value::Bool(true)),
                ("IsClosed", Value::Bool(s.is_closed)),
                ("IsWon", Value::Bool(s.is_won)),
                ("DefaultProbability", Value::Num(s.default_probability)),
                ("ForecastCategory", Value::text(s.forecast_category)),
                (
                    "ForecastCategoryName",
                    Value::text(s.forecast_category_name),
                ),
                ("SortOrder", Value::Int(i as i64 + 1)),
            ];
            self.insert_raw("OpportunityStage", &fields, user, now_ms);
        }
    }

    /// Stores a record without validation (the org's own data: users, stages, seeds), filling
    /// system fields and defaults and computing derived fields.
    pub(crate) fn insert_raw(
        &mut self,
        object: &str,
        fields: &[(&str, Value)],
        user: SfId,
        now_ms: i64,
    ) -> SfId {
        let Some(obj) = self.schema.object_index(object) else {
            return user;
        };
        let def = self.schema.object_at(obj);
        let mut values = vec![Value::Null; def.fields.len()];
        for (name, v) in fields {
            if let Some(i) = def.field_index(name) {
                values[i] = v.clone();
            }
        }
        write::apply_defaults(def, &mut values, user);
        // The org's own data satisfies the object rules by construction; a rule failure here
        // would only leave a derived field unset, never corrupt the row.
        let _ = derive::derive(self, obj, &mut values, &[], true, now_ms);
        self.store_new(obj, values, user, now_ms)
    }

    /// Assigns the id and audit fields and appends the row.
    fn store_new(&mut self, obj: usize, mut values: Vec<Value>, user: SfId, now_ms: i64) -> SfId {
        let prefix = self.schema.object_at(obj).key_prefix.clone();
        let id = self.ids.next_id(&prefix);
        values[sys::ID] = Value::Id(id);
        values[sys::IS_DELETED] = Value::Bool(false);
        values[sys::CREATED_DATE] = Value::DateTime(whole_seconds(now_ms));
        values[sys::CREATED_BY_ID] = Value::Id(user);
        let mut row = Row {
            values: values.into_boxed_slice(),
        };
        touch(&mut row, user, now_ms);
        let table = &mut self.tables[obj];
        let r = RowRef {
            object: obj as u16,
            row: table.len() as u32,
        };
        table.push(row);
        self.index.insert(id, r);
        id
    }
}

/// Salesforce keeps audit stamps to the second (they always read `.000`), and SOQL datetime
/// literals cannot name milliseconds: a client paging by `CreatedDate` relies on both.
fn whole_seconds(ms: i64) -> i64 {
    ms - ms.rem_euclid(1000)
}

/// Bumps the audit fields of a write.
pub(crate) fn touch(row: &mut Row, user: SfId, now_ms: i64) {
    let now_ms = whole_seconds(now_ms);
    row.values[sys::LAST_MODIFIED_DATE] = Value::DateTime(now_ms);
    row.values[sys::LAST_MODIFIED_BY_ID] = Value::Id(user);
    row.values[sys::SYSTEM_MODSTAMP] = Value::DateTime(now_ms);
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
