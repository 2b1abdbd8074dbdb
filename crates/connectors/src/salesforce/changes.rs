//! Change polling for webhook events (docs/salesforce.md on `queryAll`, `IsDeleted` and
//! `SystemModstamp`): which objects hold a unified resource's records, the one `queryAll`
//! statement per object and poll that finds created, updated and deleted rows together, and
//! reading its rows back.
//!
//! `queryAll` (not `query`) so that rows in the Recycle Bin come back with `IsDeleted = true`:
//! one statement per object covers all three kinds of change, which keeps polling at one API
//! call per object and interval. Salesforce keeps datetimes to the second, so the condition is
//! `SystemModstamp >=` the watermark second; the caller drops the rows it already reported.

use patchbay_unified::Resource;
use serde_json::Value;

use super::request::{Method, SalesforceRequest};
use super::soql::{Condition, FieldName, Literal, Op, Order, Select};
use crate::convert::parse_datetime;

/// Rows asked for per poll: one full `queryAll` batch, so one poll is one API call.
pub const CHANGE_PAGE: u32 = 2000;

/// Rows a first poll reads to learn the newest `SystemModstamp` and the ids that carry it.
pub const FIRST_POLL_PAGE: u32 = 200;

/// The Salesforce objects whose changes are a unified resource's changes (activities are
/// Events and Tasks); empty for resources without change events.
pub fn change_objects(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Contacts => &["Contact"],
        Resource::Companies => &["Account"],
        Resource::Leads => &["Lead"],
        Resource::Opportunities => &["Opportunity"],
        Resource::Activities => &["Event", "Task"],
        Resource::Notes => &["Note"],
        Resource::Users | Resource::Pipelines => &[],
    }
}

/// Whether `object` is one of the objects [`change_objects`] names.
fn is_change_object(object: &str) -> bool {
    Resource::ALL
        .iter()
        .any(|r| change_objects(*r).contains(&object))
}

pub use crate::connector::NotPolled;

fn fields() -> Vec<FieldName> {
    ["Id", "CreatedDate", "SystemModstamp", "IsDeleted"]
        .into_iter()
        .map(FieldName::trusted)
        .collect()
}

fn object_name(object: &str) -> Result<FieldName, NotPolled> {
    if !is_change_object(object) {
        return Err(NotPolled(object.to_owned()));
    }
    FieldName::new(object).map_err(|_| NotPolled(object.to_owned()))
}

/// The rows of `object` changed at or after `since_ms` (live and deleted), oldest first:
/// `SELECT Id, CreatedDate, SystemModstamp, IsDeleted FROM {object} WHERE SystemModstamp >=
/// {second} ORDER BY SystemModstamp, Id LIMIT 2000` through `queryAll`.
pub fn plan_changes(object: &str, since_ms: i64) -> Result<SalesforceRequest, NotPolled> {
    let select = Select {
        object: object_name(object)?,
        fields: fields(),
        condition: Some(Condition::Compare(
            FieldName::trusted("SystemModstamp"),
            Op::Ge,
            Literal::DateTime(datetime_second(since_ms)),
        )),
        order_by: vec![
            (FieldName::trusted("SystemModstamp"), Order::Asc),
            (FieldName::trusted("Id"), Order::Asc),
        ],
        limit: Some(CHANGE_PAGE),
    };
    Ok(query_all(select.to_soql()))
}

/// A first poll: the newest rows of `object` (deleted ones too), to set the watermark from
/// without reporting anything.
pub fn plan_newest(object: &str) -> Result<SalesforceRequest, NotPolled> {
    let select = Select {
        object: object_name(object)?,
        fields: fields(),
        condition: None,
        order_by: vec![
            (FieldName::trusted("SystemModstamp"), Order::Desc),
            (FieldName::trusted("Id"), Order::Desc),
        ],
        limit: Some(FIRST_POLL_PAGE),
    };
    Ok(query_all(select.to_soql()))
}

fn query_all(soql: String) -> SalesforceRequest {
    SalesforceRequest {
        method: Method::Get,
        path: "queryAll".to_owned(),
        query: vec![("q".to_owned(), soql)],
        body: None,
        ignored: Vec::new(),
    }
}

/// `since_ms` down to its second (SOQL datetime literals have no fraction), as a datetime;
/// out-of-range values clamp to the epoch.
fn datetime_second(since_ms: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(since_ms.div_euclid(1000).max(0))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

pub use crate::connector::ChangedRow;

/// The rows of a change query's answer, and whether it was complete (`done`). Rows without an
/// `Id` or a readable `SystemModstamp` cannot be placed after a watermark and are left out; a
/// missing `CreatedDate` reads as the epoch (the row is reported as updated, never lost).
pub fn read_changes(response: &Value) -> (Vec<ChangedRow>, bool) {
    let done = response.get("done").and_then(Value::as_bool) != Some(false);
    let rows = response
        .get("records")
        .and_then(Value::as_array)
        .map(|records| records.iter().filter_map(read_row).collect())
        .unwrap_or_default();
    (rows, done)
}

fn read_row(record: &Value) -> Option<ChangedRow> {
    let id = record.get("Id")?.as_str()?;
    if !super::ids::is_valid_id(id) {
        return None;
    }
    let ms = |field: &str| {
        let d = parse_datetime(record.get(field)?.as_str()?)?;
        i64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok()
    };
    Some(ChangedRow {
        id: id.to_owned(),
        created_ms: ms("CreatedDate").unwrap_or(0),
        modstamp_ms: ms("SystemModstamp")?,
        deleted: record.get("IsDeleted").and_then(Value::as_bool) == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_change_resource_has_objects_and_others_have_none() {
        assert_eq!(change_objects(Resource::Activities), &["Event", "Task"]);
        assert_eq!(change_objects(Resource::Companies), &["Account"]);
        assert!(change_objects(Resource::Users).is_empty());
        assert!(change_objects(Resource::Pipelines).is_empty());
    }

    #[test]
    fn the_change_query_is_one_query_all_from_the_watermark_second() {
        let r = plan_changes("Contact", 1_767_225_600_999).unwrap();
        assert_eq!(r.path, "queryAll");
        assert_eq!(
            r.query,
            vec![(
                "q".to_owned(),
                "SELECT Id, CreatedDate, SystemModstamp, IsDeleted FROM Contact \
                 WHERE SystemModstamp >= 2026-01-01T00:00:00Z \
                 ORDER BY SystemModstamp ASC NULLS FIRST, Id ASC NULLS FIRST LIMIT 2000"
                    .to_owned()
            )]
        );
        let first = plan_newest("Task").unwrap();
        assert_eq!(first.path, "queryAll");
        assert!(first.query[0].1.ends_with(
            "FROM Task ORDER BY SystemModstamp DESC NULLS LAST, Id DESC NULLS LAST LIMIT 200"
        ));
        assert_eq!(
            plan_changes("User", 0),
            Err(NotPolled("User".to_owned())),
            "only the resources' own objects"
        );
        assert!(plan_changes("Contact WHERE", 0).is_err());
        assert!(plan_changes("Contact", -5).is_ok(), "clamped to the epoch");
    }

    #[test]
    fn rows_read_back_with_their_times_and_deletion() {
        let answer = json!({
            "done": false,
            "records": [
                {"Id": "003000000000001AAA", "CreatedDate": "2026-01-01T00:00:00.000+0000",
                 "SystemModstamp": "2026-01-01T00:00:05.000+0000", "IsDeleted": true},
                {"Id": "003000000000002AAA", "SystemModstamp": "2026-01-01T00:00:06.000+0000",
                 "IsDeleted": false},
                {"Id": "003000000000003AAA", "CreatedDate": "2026-01-01T00:00:00.000+0000"},
                {"Id": "not an id", "SystemModstamp": "2026-01-01T00:00:06.000+0000"},
            ]
        });
        let (rows, done) = read_changes(&answer);
        assert!(!done);
        assert_eq!(
            rows,
            vec![
                ChangedRow {
                    id: "003000000000001AAA".to_owned(),
                    created_ms: 1_767_225_600_000,
                    modstamp_ms: 1_767_225_605_000,
                    deleted: true,
                },
                ChangedRow {
                    id: "003000000000002AAA".to_owned(),
                    created_ms: 0,
                    modstamp_ms: 1_767_225_606_000,
                    deleted: false,
                },
            ]
        );
        assert_eq!(read_changes(&json!({"done": true})), (Vec::new(), true));
    }
}
