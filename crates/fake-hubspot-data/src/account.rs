//! One HubSpot account (portal): its records per object type, the associations between them,
//! and its owners. Writes are checked by [`crate::write`]; ids come from one counter, so they
//! grow with creation order as HubSpot's do (`docs/hubspot.md §7, §8, §10`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::assoc;
use crate::error::DataError;
use crate::owners::Owner;
use crate::pipelines::StoredPipeline;
use crate::record::Record;
use crate::schema::ObjectType;
use crate::write;

/// An association from one record: `(to type, to id, type id)`.
pub type Link = (ObjectType, u64, u32);

/// One page of a list: records in id order and the cursor of the next page.
#[derive(Debug)]
pub struct Page<'a> {
    pub records: Vec<&'a Record>,
    pub next_after: Option<String>,
}

/// An association named in a create's body: target id and type id.
#[derive(Clone, Debug)]
pub struct AssociationInput {
    pub to_id: String,
    pub type_id: u32,
}

pub struct Account {
    pub hub_id: u64,
    pub created_ms: i64,
    pub(crate) records: BTreeMap<ObjectType, BTreeMap<u64, Record>>,
    pub(crate) links: BTreeMap<(ObjectType, u64), BTreeSet<Link>>,
    pub(crate) owners: Vec<Owner>,
    pub(crate) next_id: u64,
    pub(crate) pipelines: Vec<StoredPipeline>,
}

impl Account {
    pub fn new(hub_id: u64, created_ms: i64) -> Self {
        Self {
            hub_id,
            created_ms,
            records: BTreeMap::new(),
            links: BTreeMap::new(),
            owners: Vec::new(),
            next_id: 101,
            pipelines: crate::pipelines::seed_pipelines(created_ms),
        }
    }

    pub fn owners(&self) -> &[Owner] {
        &self.owners
    }

    pub fn add_owner(&mut self, owner: Owner) {
        self.owners.push(owner);
    }

    fn owner_exists(&self, id: u64) -> bool {
        self.owners.iter().any(|o| o.id == id && !o.archived)
    }

    pub(crate) fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        // Ids step unevenly, as HubSpot's do, so clients cannot treat them as a row count.
        self.next_id += 1 + id % 3;
        id
    }

    /// Adds a record without checks (seed data); returns its id.
    pub fn insert_raw(
        &mut self,
        object: ObjectType,
        properties: BTreeMap<String, String>,
        created_ms: i64,
        updated_ms: i64,
    ) -> u64 {
        let id = self.take_id();
        let record = Record {
            id,
            properties,
            created_ms,
            updated_ms,
            archived_ms: None,
        };
        self.records.entry(object).or_default().insert(id, record);
        id
    }

    pub fn count(&self, object: ObjectType) -> usize {
        self.records.get(&object).map_or(0, BTreeMap::len)
    }

    /// Every record of a type, archived ones included, in id order.
    pub fn all(&self, object: ObjectType) -> impl Iterator<Item = &Record> {
        self.records
            .get(&object)
            .into_iter()
            .flat_map(|m| m.values())
    }

    pub fn get(&self, object: ObjectType, id: &str, archived: bool) -> Result<&Record, DataError> {
        let id: u64 = id.parse().map_err(|_| DataError::NotFound)?;
        self.records
            .get(&object)
            .and_then(|m| m.get(&id))
            .filter(|r| r.archived() == archived)
            .ok_or(DataError::NotFound)
    }

    /// `after`: the cursor of a previous page (the id to start at); `archived`: list only
    /// archived records instead of live ones.
    pub fn list(
        &self,
        object: ObjectType,
        after: Option<&str>,
        limit: usize,
        archived: bool,
    ) -> Result<Page<'_>, DataError> {
        let start = match after {
            None => 0,
            Some(a) => a.parse::<u64>().map_err(|_| {
                DataError::validation(format!(
                    "Invalid input JSON : 'after' must be a number, got {a}"
                ))
            })?,
        };
        let mut iter = self
            .records
            .get(&object)
            .into_iter()
            .flat_map(|m| m.range(start..))
            .map(|(_, r)| r)
            .filter(|r| r.archived() == archived);
        let records: Vec<&Record> = iter.by_ref().take(limit).collect();
        let next_after = iter.next().map(|r| r.id.to_string());
        Ok(Page {
            records,
            next_after,
        })
    }

    pub fn create(
        &mut self,
        object: ObjectType,
        input: &Map<String, Value>,
        associations: &[AssociationInput],
        now_ms: i64,
    ) -> Result<u64, DataError> {
        let changes = write::check(object, input, &|id| self.owner_exists(id))?;
        let mut properties: BTreeMap<String, String> = changes
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        let missing: Vec<&str> = object
            .required()
            .iter()
            .copied()
            .filter(|r| !properties.contains_key(*r))
            .collect();
        if !missing.is_empty() {
            let items: Vec<(String, &str, String)> = missing
                .iter()
                .map(|m| {
                    (
                        (*m).to_owned(),
                        "REQUIRED_FIELD",
                        format!("Property \"{m}\" is required"),
                    )
                })
                .collect();
            return Err(DataError::invalid_properties(&items));
        }
        if object == ObjectType::Deals {
            properties
                .entry("pipeline".to_owned())
                .or_insert_with(|| "default".to_owned());
            write::check_deal_stage(&properties, &self.pipelines)?;
        }
        if object == ObjectType::Contacts {
            self.check_unique_email(properties.get("email"), None)?;
        }
        let targets = self.check_association_inputs(object, associations)?;
        let id = self.insert_raw(object, properties, now_ms, now_ms);
        for (to, to_id, type_id) in targets {
            self.link(object, id, to, to_id, type_id);
        }
        Ok(id)
    }

    pub fn update(
        &mut self,
        object: ObjectType,
        id: &str,
        input: &Map<String, Value>,
        now_ms: i64,
    ) -> Result<u64, DataError> {
        let record_id = self.get(object, id, false)?.id;
        let changes = write::check(object, input, &|o| self.owner_exists(o))?;
        let mut merged = self.get(object, id, false)?.properties.clone();
        for (k, v) in changes {
            match v {
                Some(v) => merged.insert(k, v),
                None => merged.remove(&k),
            };
        }
        for required in object.required() {
            if !merged.contains_key(*required) {
                return Err(DataError::invalid_properties(&[(
                    (*required).to_owned(),
                    "REQUIRED_FIELD",
                    format!("Property \"{required}\" is required"),
                )]));
            }
        }
        if object == ObjectType::Deals {
            write::check_deal_stage(&merged, &self.pipelines)?;
        }
        if object == ObjectType::Contacts {
            self.check_unique_email(merged.get("email"), Some(record_id))?;
        }
        if let Some(record) = self
            .records
            .get_mut(&object)
            .and_then(|m| m.get_mut(&record_id))
        {
            record.properties = merged;
            record.updated_ms = now_ms;
        }
        Ok(record_id)
    }

    /// Archives a record (HubSpot's DELETE). Its associations stay, hidden while it is archived.
    pub fn archive(&mut self, object: ObjectType, id: &str, now_ms: i64) -> Result<(), DataError> {
        let record_id = self.get(object, id, false)?.id;
        if let Some(record) = self
            .records
            .get_mut(&object)
            .and_then(|m| m.get_mut(&record_id))
        {
            record.archived_ms = Some(now_ms);
            record.updated_ms = now_ms;
        }
        Ok(())
    }

    fn check_unique_email(
        &self,
        email: Option<&String>,
        except: Option<u64>,
    ) -> Result<(), DataError> {
        let Some(email) = email else { return Ok(()) };
        let clash = self.all(ObjectType::Contacts).find(|r| {
            !r.archived()
                && Some(r.id) != except
                && r.properties
                    .get("email")
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        match clash {
            Some(r) => Err(DataError::Conflict(format!(
                "Contact already exists. Existing ID: {}",
                r.id
            ))),
            None => Ok(()),
        }
    }

    fn check_association_inputs(
        &self,
        object: ObjectType,
        inputs: &[AssociationInput],
    ) -> Result<Vec<Link>, DataError> {
        inputs
            .iter()
            .map(|input| {
                let to = assoc::target_of(object, input.type_id).ok_or_else(|| {
                    DataError::validation(format!(
                        "{} is not a valid association type id from {}",
                        input.type_id,
                        object.name()
                    ))
                })?;
                let target = self.get(to, &input.to_id, false).map_err(|_| {
                    DataError::validation(format!(
                        "No {} with id {} exists to associate with",
                        to.singular(),
                        input.to_id
                    ))
                })?;
                Ok((to, target.id, input.type_id))
            })
            .collect()
    }

    fn link(&mut self, from: ObjectType, from_id: u64, to: ObjectType, to_id: u64, type_id: u32) {
        self.links
            .entry((from, from_id))
            .or_default()
            .insert((to, to_id, type_id));
        if let Some(back) = assoc::reverse(from, to, type_id) {
            self.links
                .entry((to, to_id))
                .or_default()
                .insert((from, from_id, back));
        }
    }

    /// Creates the default (unlabeled) association between two live records, both directions.
    pub fn associate_default(
        &mut self,
        from: ObjectType,
        from_id: &str,
        to: ObjectType,
        to_id: &str,
    ) -> Result<(u64, u64, u32), DataError> {
        let type_id = assoc::default_type(from, to).ok_or_else(|| {
            DataError::validation(format!(
                "{} records cannot be associated with {} records",
                from.singular(),
                to.singular()
            ))
        })?;
        let a = self.get(from, from_id, false)?.id;
        let b = self.get(to, to_id, false)?.id;
        self.link(from, a, to, b, type_id);
        Ok((a, b, type_id))
    }

    /// Removes every association type between two records, both directions.
    pub fn dissociate(
        &mut self,
        from: ObjectType,
        from_id: &str,
        to: ObjectType,
        to_id: &str,
    ) -> Result<(), DataError> {
        let a = self.get(from, from_id, false)?.id;
        let b = self.get(to, to_id, false)?.id;
        if let Some(set) = self.links.get_mut(&(from, a)) {
            set.retain(|(t, id, _)| !(*t == to && *id == b));
        }
        if let Some(set) = self.links.get_mut(&(to, b)) {
            set.retain(|(t, id, _)| !(*t == from && *id == a));
        }
        Ok(())
    }

    /// The live records of type `to` associated with a record, each with its type ids, in id
    /// order.
    pub fn associations(
        &self,
        from: ObjectType,
        from_id: u64,
        to: ObjectType,
    ) -> Vec<(u64, Vec<u32>)> {
        let mut out: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for (t, id, type_id) in self.links.get(&(from, from_id)).into_iter().flatten() {
            let live = self
                .records
                .get(t)
                .and_then(|m| m.get(id))
                .is_some_and(|r| !r.archived());
            if *t == to && live {
                out.entry(*id).or_default().push(*type_id);
            }
        }
        out.into_iter().collect()
    }
}
