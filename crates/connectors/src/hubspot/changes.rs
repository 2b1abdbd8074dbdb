//! Change polling for webhook events (docs/hubspot.md §9, §15): which HubSpot objects hold a
//! unified resource's records, the one search per object and poll that finds records created
//! or changed since the watermark, and reading its rows back.
//!
//! A poll is one search: last-modified `GTE` the watermark, sorted by it ascending, one page
//! of [`CHANGE_PAGE`]. It never pages, so the search's 10,000-result ceiling is never near: when
//! more changed than one page holds, the next poll searches again from the newest stamp it
//! reported (the poller's watermark rules keep the records of that stamp apart). Stamps are
//! milliseconds (HubSpot's dates are).
//!
//! Deletions: search never returns archived records, so a poll cannot see them. The poller
//! runs a deletion pass instead ([`plan_deletions`], at a slower cadence, docs/hubspot.md §15):
//! it walks the object's archived list (`archived=true`, ordered by id, no time filter) page by
//! page, and reads each row's `archivedAt` as its deletion time.

use serde_json::Value;

use patchbay_unified::Resource;

use super::ids::{Engagement, is_valid_id};
use super::records::LEAD_STAGE;
use super::request::{HubSpotRequest, Method, call, with_body};
use super::search::{Direction, FilterGroup, Operator, SearchBody, SearchFilter, SearchSort};
use crate::connector::{ChangedRow, NotPolled};
use crate::convert::parse_datetime;

/// Records asked for per poll: the search's largest page, so one poll is one call.
pub const CHANGE_PAGE: u32 = 200;
/// Records a first poll reads to learn the newest stamp and the ids that carry it.
pub const FIRST_POLL_PAGE: u32 = 100;

/// The poll key of unified leads: contacts in the lead stage (docs/hubspot.md §15). A key of
/// its own, so that leads keep a watermark apart from contacts'.
pub const LEADS_KEY: &str = "leads";

/// The HubSpot objects (poll keys) whose changes are a unified resource's changes; empty for
/// resources without change events.
pub fn change_objects(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Contacts => &["contacts"],
        Resource::Companies => &["companies"],
        Resource::Leads => &[LEADS_KEY],
        Resource::Opportunities => &["deals"],
        Resource::Activities => &["calls", "meetings", "tasks", "emails"],
        Resource::Notes => &["notes"],
        Resource::Users | Resource::Pipelines => &[],
    }
}

/// A polled key: the object searched, its last-modified and created properties, and whether
/// only leads count.
struct Polled {
    object: &'static str,
    modified: &'static str,
    created: &'static str,
    leads_only: bool,
}

fn polled(key: &str) -> Result<Polled, NotPolled> {
    let known = Resource::ALL
        .iter()
        .flat_map(|r| change_objects(*r).iter())
        .find(|k| **k == key)
        .ok_or_else(|| NotPolled(key.to_owned()))?;
    // Contacts name their dates without the `hs_` prefix (docs/hubspot.md §7).
    let (object, modified, created) = match *known {
        "contacts" | LEADS_KEY => ("contacts", "lastmodifieddate", "createdate"),
        "companies" => ("companies", "hs_lastmodifieddate", "createdate"),
        "deals" => ("deals", "hs_lastmodifieddate", "createdate"),
        other => (other, "hs_lastmodifieddate", "hs_createdate"),
    };
    Ok(Polled {
        object,
        modified,
        created,
        leads_only: *known == LEADS_KEY,
    })
}

fn search(
    p: &Polled,
    filters: Vec<SearchFilter>,
    direction: Direction,
    limit: u32,
) -> HubSpotRequest {
    let mut filters = filters;
    if p.leads_only {
        filters.push(SearchFilter::new(
            "lifecyclestage",
            Operator::Eq,
            LEAD_STAGE,
        ));
    }
    let body = SearchBody {
        filter_groups: if filters.is_empty() {
            Vec::new()
        } else {
            vec![FilterGroup { filters }]
        },
        sorts: vec![SearchSort {
            property: p.modified,
            direction,
        }],
        properties: vec![p.modified.to_owned(), p.created.to_owned()],
        limit,
    };
    with_body(
        call(Method::Post, format!("/crm/v3/objects/{}/search", p.object)),
        body.to_json(),
    )
}

/// The records of `key` changed at or after `since_ms`, oldest first, one page.
pub fn plan_changes(key: &str, since_ms: i64) -> Result<HubSpotRequest, NotPolled> {
    let p = polled(key)?;
    let since = since_ms.max(0).to_string();
    let filters = vec![SearchFilter::new(p.modified, Operator::Gte, since)];
    Ok(search(&p, filters, Direction::Ascending, CHANGE_PAGE))
}

/// A first poll: the most recently changed records of `key`, to set the watermark from
/// without reporting anything.
pub fn plan_newest(key: &str) -> Result<HubSpotRequest, NotPolled> {
    let p = polled(key)?;
    Ok(search(
        &p,
        Vec::new(),
        Direction::Descending,
        FIRST_POLL_PAGE,
    ))
}

/// The rows of a change search's answer for `key`, and whether it was complete (no next page).
/// Activity ids are typed (`call-42`), as the unified API shows them. Rows without an id or a
/// readable last-modified time cannot be placed after a watermark and are left out; a missing
/// creation time reads as the epoch (reported as updated, never lost).
pub fn read_changes(key: &str, answer: &Value) -> (Vec<ChangedRow>, bool) {
    let complete = answer
        .get("paging")
        .and_then(|p| p.get("next"))
        .is_none_or(Value::is_null);
    let Ok(p) = polled(key) else {
        return (Vec::new(), complete);
    };
    let engagement = Engagement::of_object(p.object);
    let rows = answer
        .get("results")
        .and_then(Value::as_array)
        .map(|records| {
            records
                .iter()
                .filter_map(|r| read_row(&p, engagement, r))
                .collect()
        })
        .unwrap_or_default();
    (rows, complete)
}

fn read_row(p: &Polled, engagement: Option<Engagement>, record: &Value) -> Option<ChangedRow> {
    let id = record.get("id")?.as_str().filter(|id| is_valid_id(id))?;
    let ms = |property: &str, top: &str| {
        let text = record
            .get("properties")
            .and_then(|props| props.get(property))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| record.get(top).and_then(Value::as_str))?;
        epoch_ms(text)
    };
    Some(ChangedRow {
        id: engagement.map_or_else(|| id.to_owned(), |e| e.unified_id(id)),
        created_ms: ms(p.created, "createdAt").unwrap_or(0),
        modstamp_ms: ms(p.modified, "updatedAt")?,
        // Search never returns archived records; deletions come from `read_deletions`.
        deleted: false,
    })
}

/// Records per page of the archived list: its largest page (docs/hubspot.md §8).
pub const DELETION_PAGE: u32 = 100;

/// The longest `after` cursor sent back; HubSpot's are short (an id), so a longer one is not
/// HubSpot's and ends the walk rather than grow a stored cursor without bound.
const MAX_CURSOR_LEN: usize = 256;

/// A page of `key`'s archived records: `GET /crm/v3/objects/{object}?archived=true`, the
/// largest page, only the properties a row needs (leads: the lifecycle stage as it was).
pub fn plan_deletions(key: &str, after: Option<&str>) -> Result<HubSpotRequest, NotPolled> {
    let p = polled(key)?;
    let mut properties = vec![p.created];
    if p.leads_only {
        properties.push("lifecyclestage");
    }
    let mut request = call(Method::Get, format!("/crm/v3/objects/{}", p.object));
    request.query = vec![
        ("archived".to_owned(), "true".to_owned()),
        ("limit".to_owned(), DELETION_PAGE.to_string()),
        ("properties".to_owned(), properties.join(",")),
    ];
    if let Some(after) = after {
        request.query.push(("after".to_owned(), after.to_owned()));
    }
    Ok(request)
}

/// The deleted rows of an archived-list answer for `key` (typed activity ids; leads: only
/// contacts that were in the lead stage when archived) and the next page's cursor. Rows without
/// an id or a readable `archivedAt` cannot be placed in time and are left out.
pub fn read_deletions(key: &str, answer: &Value) -> (Vec<ChangedRow>, Option<String>) {
    let next = answer
        .pointer("/paging/next/after")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty() && a.len() <= MAX_CURSOR_LEN)
        .map(str::to_owned);
    let Ok(p) = polled(key) else {
        return (Vec::new(), None);
    };
    let engagement = Engagement::of_object(p.object);
    let rows = answer
        .get("results")
        .and_then(Value::as_array)
        .map(|records| {
            records
                .iter()
                .filter(|r| !p.leads_only || is_lead(r))
                .filter_map(|r| read_deleted(&p, engagement, r))
                .collect()
        })
        .unwrap_or_default();
    (rows, next)
}

fn is_lead(record: &Value) -> bool {
    record
        .pointer("/properties/lifecyclestage")
        .and_then(Value::as_str)
        == Some(LEAD_STAGE)
}

fn read_deleted(p: &Polled, engagement: Option<Engagement>, record: &Value) -> Option<ChangedRow> {
    let id = record.get("id")?.as_str().filter(|id| is_valid_id(id))?;
    if record.get("archived").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    let archived_ms = epoch_ms(record.get("archivedAt")?.as_str()?)?;
    let created_ms = record
        .get("properties")
        .and_then(|props| props.get(p.created))
        .and_then(Value::as_str)
        .or_else(|| record.get("createdAt").and_then(Value::as_str))
        .and_then(epoch_ms)
        .unwrap_or(0);
    Some(ChangedRow {
        id: engagement.map_or_else(|| id.to_owned(), |e| e.unified_id(id)),
        created_ms,
        modstamp_ms: archived_ms,
        deleted: true,
    })
}

/// A HubSpot date (ISO 8601, or epoch milliseconds as HubSpot also writes them) in unix ms.
fn epoch_ms(text: &str) -> Option<i64> {
    if let Some(d) = parse_datetime(text) {
        return i64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok();
    }
    text.trim().parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_change_resource_has_objects_and_others_have_none() {
        assert_eq!(
            change_objects(Resource::Activities),
            &["calls", "meetings", "tasks", "emails"]
        );
        assert_eq!(change_objects(Resource::Opportunities), &["deals"]);
        assert_eq!(change_objects(Resource::Leads), &[LEADS_KEY]);
        assert!(change_objects(Resource::Users).is_empty());
        assert!(change_objects(Resource::Pipelines).is_empty());
        // Each key once, so each has its own watermark.
        let mut keys: Vec<&str> = Resource::ALL
            .iter()
            .flat_map(|r| change_objects(*r).iter().copied())
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn a_change_poll_is_one_ascending_search_from_the_watermark() {
        let r = plan_changes("contacts", 1_767_225_600_123).unwrap();
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.path, "/crm/v3/objects/contacts/search");
        assert_eq!(
            r.body.unwrap(),
            json!({
                "filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                    "operator": "GTE", "value": "1767225600123"}]}],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": ["lastmodifieddate", "createdate"],
                "limit": 200
            })
        );
        let deals = plan_changes("deals", -5).unwrap().body.unwrap();
        assert_eq!(
            deals["filterGroups"][0]["filters"][0]["value"], "0",
            "clamped"
        );
        assert_eq!(deals["sorts"][0]["propertyName"], "hs_lastmodifieddate");
        let calls = plan_changes("calls", 0).unwrap();
        assert_eq!(calls.path, "/crm/v3/objects/calls/search");
        assert_eq!(calls.body.unwrap()["properties"][1], "hs_createdate");
        // Leads: contacts in the lead stage, under their own key.
        let leads = plan_changes(LEADS_KEY, 7).unwrap();
        assert_eq!(leads.path, "/crm/v3/objects/contacts/search");
        assert_eq!(
            leads.body.unwrap()["filterGroups"][0]["filters"][1],
            json!({"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"})
        );
        let first = plan_newest("tasks").unwrap().body.unwrap();
        assert_eq!(first["filterGroups"], json!([]));
        assert_eq!(first["sorts"][0]["direction"], "DESCENDING");
        assert_eq!(first["limit"], 100);
        for bad in ["owners", "Contact", "contacts/../x", ""] {
            assert_eq!(plan_changes(bad, 0), Err(NotPolled(bad.to_owned())));
            assert!(plan_newest(bad).is_err());
        }
    }

    #[test]
    fn a_deletion_page_lists_the_archived_records() {
        let r = plan_deletions("deals", None).unwrap();
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/crm/v3/objects/deals");
        assert_eq!(
            r.query,
            vec![
                ("archived".to_owned(), "true".to_owned()),
                ("limit".to_owned(), "100".to_owned()),
                ("properties".to_owned(), "createdate".to_owned()),
            ]
        );
        assert!(r.body.is_none());
        let leads = plan_deletions(LEADS_KEY, Some("451")).unwrap();
        assert_eq!(leads.path, "/crm/v3/objects/contacts");
        assert_eq!(
            leads.query[2..],
            [
                (
                    "properties".to_owned(),
                    "createdate,lifecyclestage".to_owned()
                ),
                ("after".to_owned(), "451".to_owned()),
            ]
        );
        assert_eq!(
            plan_deletions("notes", None).unwrap().query[2].1,
            "hs_createdate"
        );
        for bad in ["owners", "", "deals?x"] {
            assert_eq!(plan_deletions(bad, None), Err(NotPolled(bad.to_owned())));
        }
    }

    #[test]
    fn deleted_rows_read_back_at_their_archive_time() {
        let answer = json!({
            "results": [
                {"id": "21", "archived": true, "archivedAt": "2026-01-01T00:00:09.500Z",
                 "createdAt": "2026-01-01T00:00:00Z", "properties": {}},
                {"id": "22", "archived": true, "archivedAt": "2026-01-01T00:00:10Z",
                 "properties": {"hs_createdate": "1767225601000"}},
                {"id": "23", "archived": true, "properties": {}},
                {"id": "24", "archived": false, "archivedAt": "2026-01-01T00:00:10Z"},
                {"id": "x", "archived": true, "archivedAt": "2026-01-01T00:00:10Z"},
            ],
            "paging": {"next": {"after": "25", "link": "…"}}
        });
        let (rows, next) = read_deletions("tasks", &answer);
        assert_eq!(next.as_deref(), Some("25"));
        assert_eq!(
            rows,
            vec![
                ChangedRow {
                    id: "task-21".to_owned(),
                    created_ms: 1_767_225_600_000,
                    modstamp_ms: 1_767_225_609_500,
                    deleted: true,
                },
                ChangedRow {
                    id: "task-22".to_owned(),
                    created_ms: 1_767_225_601_000,
                    modstamp_ms: 1_767_225_610_000,
                    deleted: true,
                },
            ]
        );
        // Leads: only contacts archived in the lead stage; the last page has no cursor.
        let contacts = json!({"results": [
            {"id": "1", "archived": true, "archivedAt": "2026-01-01T00:00:00Z",
             "properties": {"lifecyclestage": "lead"}},
            {"id": "2", "archived": true, "archivedAt": "2026-01-01T00:00:00Z",
             "properties": {"lifecyclestage": "customer"}},
        ]});
        let (leads, next) = read_deletions(LEADS_KEY, &contacts);
        assert_eq!(next, None);
        assert_eq!(leads.len(), 1);
        assert_eq!(leads[0].id, "1");
        assert_eq!(read_deletions("contacts", &contacts).0.len(), 2);
        let long = json!({"results": [], "paging": {"next": {"after": "9".repeat(300)}}});
        assert_eq!(read_deletions("deals", &long), (Vec::new(), None));
        assert_eq!(read_deletions("nope", &answer), (Vec::new(), None));
    }

    #[test]
    fn rows_read_back_with_their_times_and_typed_ids() {
        let answer = json!({
            "total": 5,
            "results": [
                {"id": "11", "properties": {"hs_createdate": "2026-01-01T00:00:00.000Z",
                  "hs_lastmodifieddate": "2026-01-01T00:00:05.250Z"}},
                {"id": "12", "properties": {"hs_lastmodifieddate": "1767225606000"},
                 "createdAt": "2026-01-01T00:00:01Z"},
                {"id": "13", "properties": {}, "updatedAt": "2026-01-01T00:00:07Z"},
                {"id": "14", "properties": {"hs_createdate": "2026-01-01T00:00:00Z"}},
                {"id": "x1", "properties": {"hs_lastmodifieddate": "2026-01-01T00:00:06Z"}},
            ],
            "paging": {"next": {"after": "5"}}
        });
        let (rows, complete) = read_changes("meetings", &answer);
        assert!(!complete);
        assert_eq!(
            rows,
            vec![
                ChangedRow {
                    id: "meeting-11".to_owned(),
                    created_ms: 1_767_225_600_000,
                    modstamp_ms: 1_767_225_605_250,
                    deleted: false,
                },
                ChangedRow {
                    id: "meeting-12".to_owned(),
                    created_ms: 1_767_225_601_000,
                    modstamp_ms: 1_767_225_606_000,
                    deleted: false,
                },
                ChangedRow {
                    id: "meeting-13".to_owned(),
                    created_ms: 0,
                    modstamp_ms: 1_767_225_607_000,
                    deleted: false,
                },
            ]
        );
        let (rows, complete) = read_changes(
            "companies",
            &json!({"results": [
            {"id": "7", "properties": {"createdate": "2026-01-01T00:00:00Z",
              "hs_lastmodifieddate": "2026-01-01T00:00:00Z"}}]}),
        );
        assert!(complete);
        assert_eq!(rows[0].id, "7");
        assert_eq!(read_changes("contacts", &json!({})), (Vec::new(), true));
        assert_eq!(read_changes("nope", &answer).0, Vec::new());
    }
}
