//! The Salesforce mapping tables: data only (docs/salesforce.md §13 fields,
//! spec/apideck/crm.yml names).
//!
//! Quirks that are not a field-to-field mapping live in `records.rs` and `writes.rs`: the polymorphic `WhoId` /
//! `WhatId` / `ParentId` lookups, the activity `type`, the Event-or-Task choice, and pipelines.

mod activities;
mod deals;
mod parties;

pub use activities::{EVENT, NOTE, TASK};
pub use deals::{OPPORTUNITY, PIPELINE_ID, STAGE};
pub use parties::{ACCOUNT, CONTACT, LEAD, USER};

use patchbay_unified::{FilterField as F, SortField as S};

use crate::table::{Access, FieldMap, FilterMap, FilterOp, Kind, ObjectMap, SortKind, SortMap};

pub(super) const fn rw(unified: &'static str, remote: &'static str, kind: Kind) -> FieldMap {
    FieldMap {
        unified,
        remote,
        kind,
        access: Access::ReadWrite,
    }
}
pub(super) const fn ro(unified: &'static str, remote: &'static str, kind: Kind) -> FieldMap {
    FieldMap {
        unified,
        remote,
        kind,
        access: Access::Read,
    }
}
pub(super) const fn wo(unified: &'static str, remote: &'static str, kind: Kind) -> FieldMap {
    FieldMap {
        unified,
        remote,
        kind,
        access: Access::Write,
    }
}
pub(super) const fn eq(filter: F, remote: &'static [&'static str]) -> FilterMap {
    FilterMap {
        filter,
        remote,
        op: FilterOp::Eq,
    }
}
pub(super) const UPDATED_SINCE: FilterMap = FilterMap {
    filter: F::UpdatedSince,
    remote: &["LastModifiedDate"],
    op: FilterOp::Gte,
};
pub(super) const CREATED_SINCE: FilterMap = FilterMap {
    filter: F::CreatedSince,
    remote: &["CreatedDate"],
    op: FilterOp::Gte,
};
pub(super) const fn sort(sort: S, remote: &'static str, kind: SortKind) -> SortMap {
    SortMap { sort, remote, kind }
}

pub(super) const CREATED: SortMap = sort(S::CreatedAt, "CreatedDate", SortKind::DateTime);
pub(super) const UPDATED: SortMap = sort(S::UpdatedAt, "LastModifiedDate", SortKind::DateTime);
pub(super) const TIMESTAMPS: [FieldMap; 3] = [
    ro("id", "Id", Kind::Id),
    ro("created_at", "CreatedDate", Kind::DateTime),
    ro("updated_at", "LastModifiedDate", Kind::DateTime),
];

/// Every table, for checks that must hold across all of them.
pub const ALL: [&ObjectMap; 9] = [
    &CONTACT,
    &ACCOUNT,
    &LEAD,
    &OPPORTUNITY,
    &EVENT,
    &TASK,
    &NOTE,
    &USER,
    &STAGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::soql::FieldName;

    #[test]
    fn every_remote_name_is_a_soql_identifier() {
        for map in ALL {
            assert!(FieldName::new(map.object).is_ok(), "{}", map.object);
            for f in map.read_fields() {
                assert!(FieldName::new(f).is_ok(), "{}.{f}", map.object);
            }
            for f in map.fields.iter().filter(|f| !f.remote.is_empty()) {
                assert!(
                    FieldName::new(f.remote).is_ok(),
                    "{}.{}",
                    map.object,
                    f.remote
                );
                if f.access != Access::Read {
                    assert!(
                        !f.remote.contains('.'),
                        "relationship paths are read-only: {}",
                        f.remote
                    );
                }
            }
            for fm in map.filters {
                fm.remote
                    .iter()
                    .for_each(|r| assert!(FieldName::new(r).is_ok(), "{r}"));
            }
            for sm in map.sorts {
                assert!(FieldName::new(sm.remote).is_ok(), "{}", sm.remote);
            }
        }
        for f in ["Id", "SortOrder", "TaskSubtype"] {
            assert!(FieldName::new(f).is_ok());
        }
    }

    #[test]
    fn each_unified_field_is_written_to_one_place() {
        for map in ALL {
            let mut written: Vec<&str> = Vec::new();
            for f in map.fields.iter().filter(|f| f.access != Access::Read) {
                assert!(
                    !written.contains(&f.unified),
                    "{}.{} written twice",
                    map.object,
                    f.unified
                );
                written.push(f.unified);
            }
        }
    }
}
