//! The replication helpers `/sobjects/{Type}/deleted` and `/sobjects/{Type}/updated`.

use super::Org;
use crate::error::SfError;
use crate::ids::SfId;
use crate::schema::sys;
use crate::value::Value;

impl Org {
    fn changes(
        &self,
        object: &str,
        start_ms: i64,
        end_ms: i64,
        deleted: bool,
    ) -> Result<Vec<(SfId, i64)>, SfError> {
        let obj = self
            .schema
            .object_index(object)
            .ok_or_else(SfError::not_found)?;
        Ok((self.tables[obj].iter())
            .filter(|r| r.is_deleted() == deleted)
            .filter_map(|r| match r.get(sys::SYSTEM_MODSTAMP) {
                Value::DateTime(at) if (start_ms..=end_ms).contains(at) => Some((r.id()?, *at)),
                _ => None,
            })
            .collect())
    }

    /// Records of `object` moved to the Recycle Bin between `start_ms` and `end_ms`
    /// (inclusive), with their deletion time, in storage order.
    pub fn deleted_between(
        &self,
        object: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(SfId, i64)>, SfError> {
        self.changes(object, start_ms, end_ms, true)
    }

    /// Live records of `object` whose `SystemModstamp` falls between `start_ms` and `end_ms`.
    pub fn updated_between(
        &self,
        object: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<SfId>, SfError> {
        Ok(self
            .changes(object, start_ms, end_ms, false)?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Org, OrgOptions};
    use serde_json::json;

    #[test]
    fn reports_deletes_and_updates_in_a_window() {
        let mut org = Org::new(&OrgOptions::default(), 0).unwrap();
        let u = org.default_user_id();
        let a = org
            .create("Account", &json!({"Name": "A"}), u, 1_000)
            .unwrap();
        let b = org
            .create("Account", &json!({"Name": "B"}), u, 2_000)
            .unwrap();
        org.update("Account", &a.to_string(), &json!({"Name": "A2"}), u, 5_000)
            .unwrap();
        org.delete("Account", &b.to_string(), u, 6_000).unwrap();
        assert_eq!(
            org.updated_between("Account", 4_000, 7_000).unwrap(),
            vec![a]
        );
        assert_eq!(org.updated_between("Account", 0, 4_000).unwrap(), vec![]);
        assert_eq!(
            org.deleted_between("Account", 0, 10_000).unwrap(),
            vec![(b, 6_000)]
        );
        assert!(org.deleted_between("Account", 0, 5_999).unwrap().is_empty());
        assert_eq!(org.deleted_between("Nope", 0, 1).unwrap_err().status, 404);
    }
}
