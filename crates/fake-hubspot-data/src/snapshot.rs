//! The account's changeable data as plain values: records (archived ones included), the
//! associations between them, the deal pipelines, the owners (users are provisioned and
//! removed) and the id counter. The emulator's state file keeps this; the hub id and the
//! account's creation time are not in it, because they follow from the seed and never change.
//!
//! Restoring checks what a hand-edited or damaged file could get wrong (duplicate ids, ids the
//! counter has not reached, associations to missing records or of a type the pair does not
//! have) and refuses the whole snapshot rather than serve an account that breaks its own rules.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::assoc;
use crate::owners::Owner;
use crate::pipelines::StoredPipeline;
use crate::record::Record;
use crate::schema::ObjectType;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSnapshot {
    /// The next id a created record gets.
    pub next_id: u64,
    /// Every record, in type then id order.
    pub records: Vec<RecordSnapshot>,
    /// Every association, each direction its own entry, as the account holds them.
    pub associations: Vec<AssociationSnapshot>,
    /// The deal pipelines; absent in files written before pipelines became writable, which
    /// then keep the seeded ones.
    #[serde(default)]
    pub pipelines: Option<Vec<StoredPipeline>>,
    /// The owners, archived ones included; absent in files written before users became
    /// writable, which then keep the seeded ones.
    #[serde(default)]
    pub owners: Option<Vec<Owner>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSnapshot {
    pub object: ObjectType,
    pub id: u64,
    pub properties: BTreeMap<String, String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    #[serde(default)]
    pub archived_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssociationSnapshot {
    pub from: ObjectType,
    pub from_id: u64,
    pub to: ObjectType,
    pub to_id: u64,
    pub type_id: u32,
}

impl Account {
    pub fn snapshot(&self) -> AccountSnapshot {
        let records = (self.records.iter())
            .flat_map(|(object, by_id)| {
                by_id.values().map(|r| RecordSnapshot {
                    object: *object,
                    id: r.id,
                    properties: r.properties.clone(),
                    created_ms: r.created_ms,
                    updated_ms: r.updated_ms,
                    archived_ms: r.archived_ms,
                })
            })
            .collect();
        let associations = (self.links.iter())
            .flat_map(|((from, from_id), links)| {
                links
                    .iter()
                    .map(|(to, to_id, type_id)| AssociationSnapshot {
                        from: *from,
                        from_id: *from_id,
                        to: *to,
                        to_id: *to_id,
                        type_id: *type_id,
                    })
            })
            .collect();
        AccountSnapshot {
            next_id: self.next_id,
            records,
            associations,
            pipelines: Some(self.pipelines.clone()),
            owners: Some(self.owners.clone()),
        }
    }

    /// Replaces this account's records, associations and id counter with the snapshot's, or
    /// leaves it untouched and says what is wrong with the snapshot.
    pub fn restore_snapshot(&mut self, snapshot: AccountSnapshot) -> Result<(), String> {
        let mut records: BTreeMap<ObjectType, BTreeMap<u64, Record>> = BTreeMap::new();
        let mut ids = BTreeSet::new();
        for r in snapshot.records {
            if r.id >= snapshot.next_id {
                return Err(format!(
                    "record {} is not below the id counter {}",
                    r.id, snapshot.next_id
                ));
            }
            if !ids.insert(r.id) {
                return Err(format!("record id {} appears twice", r.id));
            }
            records.entry(r.object).or_default().insert(
                r.id,
                Record {
                    id: r.id,
                    properties: r.properties,
                    created_ms: r.created_ms,
                    updated_ms: r.updated_ms,
                    archived_ms: r.archived_ms,
                },
            );
        }
        let exists =
            |object: ObjectType, id: u64| records.get(&object).is_some_and(|m| m.contains_key(&id));
        let mut links: BTreeMap<(ObjectType, u64), BTreeSet<_>> = BTreeMap::new();
        for a in snapshot.associations {
            if !exists(a.from, a.from_id) || !exists(a.to, a.to_id) {
                return Err(format!(
                    "an association names a missing record ({} {} to {} {})",
                    a.from.name(),
                    a.from_id,
                    a.to.name(),
                    a.to_id
                ));
            }
            if !assoc::is_valid(a.from, a.to, a.type_id) {
                return Err(format!(
                    "{} is not an association type from {} to {}",
                    a.type_id,
                    a.from.name(),
                    a.to.name()
                ));
            }
            links
                .entry((a.from, a.from_id))
                .or_default()
                .insert((a.to, a.to_id, a.type_id));
        }
        if let Some(pipelines) = &snapshot.pipelines {
            check_pipelines(pipelines, snapshot.next_id)?;
        }
        if let Some(owners) = &snapshot.owners {
            check_owners(owners)?;
        }
        self.records = records;
        self.links = links;
        if let Some(pipelines) = snapshot.pipelines {
            self.pipelines = pipelines;
        }
        if let Some(owners) = snapshot.owners {
            self.owners = owners;
        }
        self.next_id = snapshot.next_id;
        Ok(())
    }
}

/// Owner ids and user ids are unique, and no two live users share an email.
fn check_owners(owners: &[Owner]) -> Result<(), String> {
    if owners.is_empty() {
        return Err("the account has no owner".to_owned());
    }
    let mut ids = BTreeSet::new();
    let mut user_ids = BTreeSet::new();
    let mut emails = BTreeSet::new();
    for o in owners {
        if !ids.insert(o.id) {
            return Err(format!("owner id {} appears twice", o.id));
        }
        if !user_ids.insert(o.user_id) {
            return Err(format!("user id {} appears twice", o.user_id));
        }
        if !o.archived && !emails.insert(o.email.to_ascii_lowercase()) {
            return Err(format!("two live users have the email {}", o.email));
        }
    }
    Ok(())
}

/// Pipeline and stage ids are unique across the account, generated ones are below the
/// counter, and every pipeline has a stage.
fn check_pipelines(pipelines: &[StoredPipeline], next_id: u64) -> Result<(), String> {
    if pipelines.is_empty() {
        return Err("the account has no deal pipeline".to_owned());
    }
    let mut ids = BTreeSet::new();
    for p in pipelines {
        if p.stages.is_empty() {
            return Err(format!("pipeline {} has no stage", p.id));
        }
        for id in std::iter::once(&p.id).chain(p.stages.iter().map(|s| &s.id)) {
            if !ids.insert(id.as_str()) {
                return Err(format!("pipeline or stage id {id} appears twice"));
            }
            if id.parse::<u64>().is_ok_and(|n| n >= next_id) {
                return Err(format!(
                    "pipeline or stage id {id} is not below the id counter {next_id}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::seed::{SeedUser, seed};

    const USER: SeedUser<'static> = SeedUser {
        email: "admin@emulator.test",
        first_name: "Admin",
        last_name: "User",
    };

    fn changed_account() -> Account {
        let mut account = seed(3, 60, &USER);
        let company = account.all(ObjectType::Companies).next().unwrap().id;
        let input = json!({"email": "new@example.com", "firstname": "New"});
        let id = account
            .create(ObjectType::Contacts, input.as_object().unwrap(), &[], 1_000)
            .unwrap();
        account
            .associate_default(
                ObjectType::Contacts,
                &id.to_string(),
                ObjectType::Companies,
                &company.to_string(),
            )
            .unwrap();
        let first = account.all(ObjectType::Deals).next().unwrap().id;
        account
            .archive(ObjectType::Deals, &first.to_string(), 2_000)
            .unwrap();
        let pipeline = json!({"label": "New", "displayOrder": 2, "stages": [
            {"label": "Open", "displayOrder": 0, "metadata": {"probability": 0.25}}]});
        account
            .create_pipeline(pipeline.as_object().unwrap(), 2_500)
            .unwrap();
        let user = json!({"email": "kept@example.com", "firstName": "Kept"});
        account
            .provision_user(user.as_object().unwrap(), 2_600)
            .unwrap();
        let gone = json!({"email": "gone@example.com"});
        let gone = account
            .provision_user(gone.as_object().unwrap(), 2_700)
            .unwrap();
        account
            .remove_user(&gone.to_string(), crate::users::UserKey::UserId, 2_800)
            .unwrap();
        account
    }

    #[test]
    fn a_restored_account_is_the_same_account_and_keeps_counting() {
        let before = changed_account();
        let snapshot = before.snapshot();
        let text = serde_json::to_string(&snapshot).unwrap();
        let mut after = seed(3, 60, &USER);
        assert_ne!(after.snapshot(), snapshot);
        after
            .restore_snapshot(serde_json::from_str(&text).unwrap())
            .unwrap();
        assert_eq!(after.snapshot(), snapshot);
        assert_eq!(after.pipelines().len(), 3);
        // A file from before pipelines were kept restores with the seeded ones.
        let mut old = snapshot;
        old.pipelines = None;
        let mut from_old = seed(3, 60, &USER);
        from_old.restore_snapshot(old).unwrap();
        assert_eq!(from_old.pipelines().len(), 2);
        // Users provisioned and removed come back as they were; a file from before users were
        // kept restores the seeded owners.
        assert_eq!(after.owners(), before.owners());
        assert_eq!(after.owners().len(), 7);
        assert!(
            after
                .owners()
                .iter()
                .any(|o| o.email == "gone@example.com" && o.archived)
        );
        let mut old = before.snapshot();
        old.owners = None;
        let mut from_old = seed(3, 60, &USER);
        from_old.restore_snapshot(old).unwrap();
        assert_eq!(from_old.owners().len(), 5);
        // The archived deal stays archived, the new association is seen from both ends.
        let deal = before.all(ObjectType::Deals).next().unwrap();
        assert!(deal.archived());
        assert!(
            after
                .get(ObjectType::Deals, &deal.id.to_string(), true)
                .is_ok()
        );
        let contact = after
            .all(ObjectType::Contacts)
            .find(|r| r.properties.get("email").map(String::as_str) == Some("new@example.com"))
            .unwrap()
            .id;
        let companies = after.associations(ObjectType::Contacts, contact, ObjectType::Companies);
        assert_eq!(companies.len(), 1);
        let back = after.associations(ObjectType::Companies, companies[0].0, ObjectType::Contacts);
        assert!(back.iter().any(|(id, _)| *id == contact));
        // New ids carry on from the saved counter, not from the seed's.
        let mut a = before;
        let input = json!({"email": "next@example.com"});
        let x = a
            .create(ObjectType::Contacts, input.as_object().unwrap(), &[], 3_000)
            .unwrap();
        let y = after
            .create(ObjectType::Contacts, input.as_object().unwrap(), &[], 3_000)
            .unwrap();
        assert_eq!(x, y);
    }

    #[test]
    fn a_damaged_snapshot_is_refused_and_the_account_left_alone() {
        let good = changed_account().snapshot();
        let mut cases = Vec::new();
        let mut twice = good.clone();
        twice.records.push(twice.records[0].clone());
        cases.push((twice, "appears twice"));
        let mut ahead = good.clone();
        ahead.next_id = 1;
        cases.push((ahead, "id counter"));
        let mut dangling = good.clone();
        dangling.associations[0].to_id = u64::MAX;
        cases.push((dangling, "missing record"));
        let mut bad_type = good.clone();
        bad_type.associations[0].type_id = 999_999;
        cases.push((bad_type, "not an association type"));
        let mut no_pipeline = good.clone();
        no_pipeline.pipelines = Some(Vec::new());
        cases.push((no_pipeline, "no deal pipeline"));
        let mut same_pipeline = good.clone();
        if let Some(p) = same_pipeline.pipelines.as_mut() {
            p.push(p[0].clone());
        }
        cases.push((same_pipeline, "appears twice"));
        let mut same_email = good.clone();
        if let Some(o) = same_email.owners.as_mut() {
            o[1].email = o[0].email.to_uppercase();
        }
        cases.push((same_email, "two live users"));
        let mut same_user = good.clone();
        if let Some(o) = same_user.owners.as_mut() {
            o[1].user_id = o[0].user_id;
        }
        cases.push((same_user, "user id"));
        let mut no_stage = good;
        if let Some(p) = no_stage.pipelines.as_mut() {
            p[0].stages.clear();
        }
        cases.push((no_stage, "has no stage"));
        for (snapshot, expected) in cases {
            let mut account = seed(3, 60, &USER);
            let untouched = account.snapshot();
            let err = account.restore_snapshot(snapshot).unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert_eq!(account.snapshot(), untouched);
        }
    }
}
