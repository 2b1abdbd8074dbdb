//! An org's records as plain data and back, so the HTTP side can keep an org across restarts.
//! The data engine stays IO-free: the caller owns the file, its version and its location.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::{Org, OrgOptions, Row, RowRef};
use crate::datetime;
use crate::ids::{IdGenerator, SfId};
use crate::schema::{FieldDef, FieldType, Schema, sys};
use crate::value::Value;

/// Every record of an org, deleted ones included (they stay in the Recycle Bin, which
/// `queryAll` reads), by object name and in storage order, which is the order queries see them
/// in. A record maps field names to values; null fields are left out. Dates, datetimes and ids
/// are tagged (`{"date": "2024-05-01"}`, `{"datetime": "2024-05-01T10:00:00.000+0000"}`,
/// `{"id": "001…"}`) and numbers keep their kind (`3` is an integer, `3.0` a double), so each
/// value comes back with exactly the type it was stored with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSnapshot {
    pub org_id: String,
    pub default_user_id: String,
    /// The id generator's next counter; ids already in use win if they are higher.
    pub next_id: u64,
    pub records: BTreeMap<String, Vec<Map<String, Json>>>,
}

/// Why a snapshot cannot become an org. The message names the object, record and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SnapshotError(String);

impl Org {
    /// Every record as plain data (see [`OrgSnapshot`]).
    pub fn to_snapshot(&self) -> OrgSnapshot {
        let mut records = BTreeMap::new();
        for (def, table) in self.schema.objects().iter().zip(&self.tables) {
            if table.is_empty() {
                continue;
            }
            let rows = table
                .iter()
                .map(|row| {
                    (def.fields.iter().zip(row.values.iter()))
                        .filter_map(|(f, v)| Some((f.name.clone(), encode(v)?)))
                        .collect()
                })
                .collect();
            records.insert(def.name.clone(), rows);
        }
        OrgSnapshot {
            org_id: self.org_id.to_18(),
            default_user_id: self.default_user.to_18(),
            next_id: self.ids.next_counter(),
            records,
        }
    }

    /// Rebuilds an org from [`Org::to_snapshot`]'s output. `options` supplies the schema (its
    /// custom fields); the org id, users and records come from the snapshot. Derived fields are
    /// taken as stored, not recomputed, so the org reads exactly as it did.
    pub fn from_snapshot(
        options: &OrgOptions,
        snapshot: &OrgSnapshot,
    ) -> Result<Org, SnapshotError> {
        let schema = Schema::new(&options.custom_fields)
            .map_err(|e| SnapshotError(format!("schema: {e}")))?;
        let org_id = parse_id(&snapshot.org_id, "org_id")?;
        if org_id.key_prefix() != "00D" {
            return Err(SnapshotError(format!(
                "org_id {} is not an org id",
                snapshot.org_id
            )));
        }
        let mut tables = vec![Vec::new(); schema.objects().len()];
        let mut index = HashMap::new();
        let mut highest = 0;
        for (object, rows) in &snapshot.records {
            let obj = schema
                .object_index(object)
                .ok_or_else(|| SnapshotError(format!("unknown object {object}")))?;
            let def = schema.object_at(obj);
            for (n, fields) in rows.iter().enumerate() {
                let at = |what: String| SnapshotError(format!("{object} record {n}: {what}"));
                let mut values = vec![Value::Null; def.fields.len()];
                for (name, json) in fields {
                    let i = def
                        .field_index(name)
                        .ok_or_else(|| at(format!("unknown field {name}")))?;
                    values[i] =
                        decode(&def.fields[i], json).map_err(|e| at(format!("{name}: {e}")))?;
                }
                let id = values[sys::ID]
                    .as_id()
                    .ok_or_else(|| at("no Id".to_owned()))?;
                if id.key_prefix() != def.key_prefix {
                    return Err(at(format!("Id {id} is not a {object} id")));
                }
                let r = RowRef {
                    object: obj as u16,
                    row: tables[obj].len() as u32,
                };
                if index.insert(id, r).is_some() {
                    return Err(at(format!("Id {id} appears twice")));
                }
                highest = highest.max(id.counter());
                tables[obj].push(Row {
                    values: values.into_boxed_slice(),
                });
            }
        }
        let default_user = parse_id(&snapshot.default_user_id, "default_user_id")?;
        let is_user = |r: &RowRef| schema.object_at(usize::from(r.object)).name == "User";
        if !index.get(&default_user).is_some_and(is_user) {
            return Err(SnapshotError(format!(
                "default_user_id {default_user} is not one of the org's users"
            )));
        }
        let type_names = schema
            .objects()
            .iter()
            .map(|o| Value::text(&o.name))
            .collect();
        Ok(Org {
            org_id,
            // A lower counter would hand out ids that already exist.
            ids: IdGenerator::starting_at(snapshot.next_id.max(highest.saturating_add(1))),
            schema,
            tables,
            index,
            type_names,
            default_user,
        })
    }
}

fn parse_id(text: &str, what: &str) -> Result<SfId, SnapshotError> {
    SfId::parse(text).map_err(|e| SnapshotError(format!("{what} {text}: {e}")))
}

/// `None` for null: absent fields read as null.
fn encode(value: &Value) -> Option<Json> {
    let tagged =
        |tag: &str, text: String| Json::Object(Map::from_iter([(tag.to_owned(), text.into())]));
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        // Stored numbers come from JSON or from arithmetic on them, so they are finite.
        Value::Num(n) => Json::Number(serde_json::Number::from_f64(*n)?),
        Value::Text(s) => Json::String(s.to_string()),
        Value::Date(d) => tagged("date", datetime::format_date(*d)),
        Value::DateTime(ms) => tagged("datetime", datetime::format_datetime(*ms)),
        Value::Id(id) => tagged("id", id.to_18()),
    })
}

fn decode(field: &FieldDef, json: &Json) -> Result<Value, String> {
    let value = match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::String(s) => Value::text(s),
        Json::Number(n) if n.is_f64() => Value::Num(n.as_f64().unwrap_or_default()),
        Json::Number(n) => Value::Int(n.as_i64().ok_or("integer out of range")?),
        Json::Object(map) if map.len() == 1 => {
            let (tag, text) = map.iter().next().ok_or("empty tagged value")?;
            let text = text.as_str().ok_or("a tagged value holds a string")?;
            match tag.as_str() {
                "date" => Value::Date(datetime::parse_date(text).ok_or("bad date")?),
                "datetime" => {
                    Value::DateTime(datetime::parse_datetime_input(text).ok_or("bad datetime")?)
                }
                "id" => Value::Id(SfId::parse(text).map_err(|e| e.to_string())?),
                _ => return Err(format!("unknown tag {tag}")),
            }
        }
        _ => return Err("not a field value".to_owned()),
    };
    if fits(field.field_type, &value) {
        Ok(value)
    } else {
        Err(format!(
            "a {} field cannot hold {json}",
            field.field_type.api_name()
        ))
    }
}

/// Whether a stored value has a type the field can hold, so a hand-edited file cannot give the
/// engine a value it never produces.
fn fits(field_type: FieldType, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(_) => field_type == FieldType::Boolean,
        Value::Int(_) | Value::Num(_) => field_type.is_number(),
        Value::Text(_) => field_type.is_text(),
        Value::Date(_) => field_type == FieldType::Date,
        Value::DateTime(_) => field_type == FieldType::DateTime,
        Value::Id(_) => matches!(field_type, FieldType::Id | FieldType::Reference),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeedOptions;
    use serde_json::json;

    const NOW: i64 = 1_727_433_541_000;
    const V: &str = "66.0";

    /// A seeded org after a create, an update and a delete: every kind of value and a record in
    /// the Recycle Bin.
    fn worked_org() -> (Org, SfId, SfId) {
        let mut org = Org::seeded(
            &SeedOptions {
                records: 300,
                ..SeedOptions::default()
            },
            NOW,
        )
        .unwrap();
        let user = org.default_user_id();
        let kept = org
            .create(
                "Opportunity",
                &json!({"Name": "Big", "StageName": "Prospecting", "CloseDate": "2024-12-01",
                        "Amount": 1250.5, "Probability": 10}),
                user,
                NOW,
            )
            .unwrap();
        org.update(
            "Opportunity",
            &kept.to_18(),
            &json!({"Amount": 3}),
            user,
            NOW + 5_123,
        )
        .unwrap();
        let gone = org
            .create("Contact", &json!({"LastName": "Gone"}), user, NOW)
            .unwrap();
        org.delete("Contact", &gone.to_18(), user, NOW + 7_000)
            .unwrap();
        (org, kept, gone)
    }

    fn through_json(snapshot: &OrgSnapshot) -> OrgSnapshot {
        let text = serde_json::to_string(snapshot).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_snapshot_round_trips_through_json_exactly() {
        let (org, kept, gone) = worked_org();
        let snapshot = org.to_snapshot();
        let back = Org::from_snapshot(&OrgOptions::default(), &through_json(&snapshot)).unwrap();
        assert_eq!(back.to_snapshot(), snapshot);
        assert_eq!(back.tables.len(), org.tables.len());
        for (a, b) in back.tables.iter().zip(&org.tables) {
            let a: Vec<_> = a.iter().map(|r| &r.values).collect();
            let b: Vec<_> = b.iter().map(|r| &r.values).collect();
            assert_eq!(a, b, "rows keep their values, types and order");
        }
        assert_eq!(
            back.get("Opportunity", &kept.to_18(), None, V).unwrap(),
            org.get("Opportunity", &kept.to_18(), None, V).unwrap()
        );
        assert!(back.get("Contact", &gone.to_18(), None, V).is_err());
        let soql = "SELECT Id, IsDeleted, SystemModstamp FROM Contact WHERE LastName = 'Gone'";
        let result = back.query(soql, true, NOW).unwrap();
        let rows = result.records(&back, 0..10, V);
        assert_eq!(rows[0]["IsDeleted"], true);
        assert_eq!(rows[0]["SystemModstamp"], "2024-09-27T10:39:08.000+0000");
        assert_eq!(back.query(soql, false, NOW).unwrap().total_size(), 0);
    }

    #[test]
    fn a_restored_org_hands_out_the_ids_the_original_would() {
        let (mut org, _, _) = worked_org();
        let mut back = Org::from_snapshot(&OrgOptions::default(), &org.to_snapshot()).unwrap();
        let user = org.default_user_id();
        let body = json!({"LastName": "Next"});
        assert_eq!(
            back.create("Contact", &body, user, NOW).unwrap(),
            org.create("Contact", &body, user, NOW).unwrap()
        );
    }

    #[test]
    fn a_low_next_id_cannot_reuse_an_existing_id() {
        let (org, _, _) = worked_org();
        let mut snapshot = org.to_snapshot();
        snapshot.next_id = 1;
        let mut back = Org::from_snapshot(&OrgOptions::default(), &snapshot).unwrap();
        let before = back.index.len();
        let user = back.default_user_id();
        back.create("Contact", &json!({"LastName": "New"}), user, NOW)
            .unwrap();
        assert_eq!(back.index.len(), before + 1);
    }

    fn refused(edit: impl FnOnce(&mut OrgSnapshot)) -> String {
        let mut snapshot = Org::new(&OrgOptions::default(), NOW).unwrap().to_snapshot();
        edit(&mut snapshot);
        Org::from_snapshot(&OrgOptions::default(), &snapshot)
            .expect_err("refused")
            .to_string()
    }

    fn first_user(s: &mut OrgSnapshot) -> &mut Map<String, Json> {
        s.records
            .get_mut("User")
            .and_then(|r| r.first_mut())
            .unwrap()
    }

    #[test]
    fn bad_snapshots_are_refused_with_a_reason() {
        let e = refused(|s| {
            first_user(s).insert("Nope__c".into(), json!(1));
        });
        assert_eq!(e, "User record 0: unknown field Nope__c");
        let e = refused(|s| {
            first_user(s).insert("IsActive".into(), json!("yes"));
        });
        assert_eq!(
            e,
            "User record 0: IsActive: a boolean field cannot hold \"yes\""
        );
        let e = refused(|s| {
            first_user(s).insert("CreatedDate".into(), json!({"datetime": "never"}));
        });
        assert_eq!(e, "User record 0: CreatedDate: bad datetime");
        let e = refused(|s| {
            let users = s.records.get_mut("User").unwrap();
            users.push(users[0].clone());
        });
        assert!(
            e.starts_with("User record 1: Id 005") && e.ends_with("appears twice"),
            "{e}"
        );
        let e = refused(|s| {
            s.records.insert("Widget".into(), vec![]);
        });
        assert_eq!(e, "unknown object Widget");
        let e = refused(|s| s.default_user_id = s.org_id.clone());
        assert!(e.contains("is not one of the org's users"), "{e}");
    }
}
