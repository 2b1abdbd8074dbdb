//! The merged activities list against a small in-memory HubSpot: plain lists page with `after`,
//! searches filter, sort (records without the property last, ties by id) and cut at `limit`.
//! Every page is planned from the previous page's cursor, as a client pages.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use patchbay_unified::{CursorCodec, CursorScope, ListParams, Resource, UnifiedError};

use super::super::list::{ListPage, plan_list};
use super::super::request::{HubSpotRequest, Method};
use crate::convert::{format_datetime, parse_datetime};

fn codec() -> CursorCodec {
    CursorCodec::new(&[9u8; 32]).expect("codec")
}

fn params(pairs: &[(&str, &str)]) -> ListParams {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ListParams::parse(Resource::Activities, &pairs).expect("params")
}

/// Calls, meetings, tasks and emails by object name.
struct Hub {
    objects: BTreeMap<&'static str, Vec<Value>>,
    /// Object calls (lists and searches); link reads are counted apart.
    calls_made: usize,
    link_reads: Vec<String>,
}

fn iso(minute: i64) -> String {
    format_datetime(
        time::OffsetDateTime::from_unix_timestamp(1_767_225_600 + minute * 60).expect("time"),
    )
}

/// A record with id `id`, created at minute `created` (none when `None`), owned by `owner`.
fn record(object: &str, id: u64, created: Option<i64>, owner: &str) -> Value {
    let title = match object {
        "calls" => "hs_call_title",
        "meetings" => "hs_meeting_title",
        "emails" => "hs_email_subject",
        _ => "hs_task_subject",
    };
    let mut props = json!({
        "hs_object_id": id.to_string(),
        "hubspot_owner_id": owner,
        "hs_lastmodifieddate": iso(1000),
        title: format!("{object} {id}"),
    });
    if let Some(m) = created {
        props["hs_createdate"] = json!(iso(m));
    }
    // `created_at` reads `createdAt`; kept in step with the sort property, absent with it.
    json!({"id": id.to_string(), "properties": props,
           "createdAt": created.map(iso), "updatedAt": iso(1000), "archived": false})
}

fn number(v: &str) -> Option<f64> {
    v.parse::<f64>()
        .ok()
        .or_else(|| parse_datetime(v).map(|d| (d.unix_timestamp_nanos() / 1_000_000) as f64))
}

fn prop<'a>(r: &'a Value, name: &str) -> Option<&'a str> {
    r["properties"][name].as_str().filter(|s| !s.is_empty())
}

fn matches(r: &Value, f: &Value) -> bool {
    let name = f["propertyName"].as_str().expect("property");
    let have = prop(r, name);
    let want = f["value"].as_str().unwrap_or("");
    let cmp = || number(have?)?.partial_cmp(&number(want)?);
    match f["operator"].as_str().expect("operator") {
        "NOT_HAS_PROPERTY" => have.is_none(),
        "EQ" => {
            have.is_some_and(|h| h.eq_ignore_ascii_case(want) || cmp().is_some_and(|o| o.is_eq()))
        }
        "GT" => cmp().is_some_and(|o| o.is_gt()),
        "GTE" => cmp().is_some_and(|o| o.is_ge()),
        "LT" => cmp().is_some_and(|o| o.is_lt()),
        other => panic!("operator {other}"),
    }
}

impl Hub {
    fn new() -> Self {
        Self {
            objects: BTreeMap::new(),
            calls_made: 0,
            link_reads: Vec::new(),
        }
    }

    fn add(&mut self, object: &'static str, records: Vec<Value>) {
        self.objects.insert(object, records);
    }

    fn answer(&mut self, r: &HubSpotRequest) -> Value {
        let parts: Vec<&str> = r.path.split('/').collect();
        if parts[2] == "v4" {
            // This hub holds no associations: a searched page's link read finds none.
            assert_eq!(
                r.path,
                format!("/crm/v4/associations/{}/{}/batch/read", parts[4], parts[5])
            );
            self.link_reads.push(r.path.clone());
            return json!({"status": "COMPLETE", "results": []});
        }
        self.calls_made += 1;
        let object = parts[4];
        let mut records = self.objects.get(object).cloned().unwrap_or_default();
        records.sort_by_key(|r| r["id"].as_str().expect("id").parse::<u64>().expect("n"));
        let q = |k: &str| r.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if r.method == Method::Get {
            assert_eq!(parts.len(), 5, "{}", r.path);
            let limit: usize = q("limit").expect("limit").parse().expect("n");
            assert!(limit <= 100, "plain lists serve 100 at most");
            let after: u64 = q("after").map_or(0, |a| a.parse().expect("after"));
            let rest: Vec<Value> = records
                .into_iter()
                .filter(|r| r["id"].as_str().expect("id").parse::<u64>().expect("n") >= after)
                .collect();
            let page: Vec<Value> = rest.iter().take(limit).cloned().collect();
            let mut body = json!({ "results": page });
            if let Some(next) = rest.get(limit) {
                body["paging"] = json!({"next": {"after": next["id"]}});
            }
            return body;
        }
        assert_eq!(parts[5], "search");
        let body = r.body.as_ref().expect("search body");
        let groups = body["filterGroups"].as_array().expect("groups");
        let mut hits: Vec<Value> = records
            .into_iter()
            .filter(|rec| {
                groups.is_empty()
                    || groups.iter().any(|g| {
                        g["filters"]
                            .as_array()
                            .expect("filters")
                            .iter()
                            .all(|f| matches(rec, f))
                    })
            })
            .collect();
        let sort = &body["sorts"][0];
        let property = sort["propertyName"].as_str().expect("sort property");
        let descending = sort["direction"] == "DESCENDING";
        // Stable: ties stay in id order; records without the property go last.
        hits.sort_by(|a, b| {
            match (
                prop(a, property).and_then(number),
                prop(b, property).and_then(number),
            ) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (Some(x), Some(y)) => {
                    let o = x.partial_cmp(&y).expect("finite");
                    if descending { o.reverse() } else { o }
                }
            }
        });
        let limit = usize::try_from(body["limit"].as_u64().expect("limit")).expect("n");
        assert!(limit <= 200);
        let page: Vec<Value> = hits.iter().take(limit).cloned().collect();
        let mut out = json!({"total": hits.len(), "results": page});
        if hits.len() > limit {
            out["paging"] = json!({"next": {"after": limit.to_string()}});
        }
        out
    }

    /// One page as the server runs it: the plan's calls, then `finish`.
    fn page(&mut self, query: &[(&str, &str)]) -> Result<ListPage, UnifiedError> {
        let p = params(query);
        let plan = plan_list(&p, &codec())?;
        let (calls, links) = (self.calls_made, self.link_reads.len());
        let mut bodies = vec![self.answer(&plan.request)];
        while let Some(next) = plan.next_request(&bodies) {
            bodies.push(self.answer(&next));
            assert!(self.calls_made - calls <= 6, "too many calls for one page");
        }
        // At most one link read per engagement object and associated type, each once.
        let page_links = &self.link_reads[links..];
        // Four engagement objects, three associated types each.
        assert!(page_links.len() <= 12, "{page_links:?}");
        let mut unique = page_links.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), page_links.len(), "{page_links:?}");
        let page = plan.finish(&p, &codec(), &bodies)?;
        for record in &page.data {
            // Plain lists read links with the records; searched pages get them by batch read.
            for link in ["contact_id", "company_id", "opportunity_id"] {
                assert!(record.get(link).is_some(), "{record}");
            }
        }
        Ok(page)
    }

    /// Every page of a list, following cursors.
    fn drain(&mut self, query: &[(&str, &str)], limit: usize) -> Vec<Vec<Value>> {
        let limit_text = limit.to_string();
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..200 {
            let mut q = query.to_vec();
            q.push(("limit", &limit_text));
            if let Some(c) = &cursor {
                q.push(("cursor", c));
            }
            let page = self.page(&q).expect("page");
            assert!(page.data.len() <= limit, "limit honoured");
            assert_eq!(page.sources.len(), page.data.len(), "one source per record");
            pages.push(page.data);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return pages,
            }
        }
        panic!("paging did not end");
    }
}

fn ids(pages: &[Vec<Value>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

fn expected_ids(hub: &Hub, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    for (object, prefix) in [
        ("calls", "call"),
        ("meetings", "meeting"),
        ("tasks", "task"),
        ("emails", "email"),
    ] {
        let mut records: Vec<&Value> = hub
            .objects
            .get(object)
            .map(|r| r.iter().filter(|r| keep(r)).collect())
            .unwrap_or_default();
        records.sort_by_key(|r| r["id"].as_str().expect("id").parse::<u64>().expect("n"));
        out.extend(
            records
                .iter()
                .map(|r| format!("{prefix}-{}", r["id"].as_str().expect("id"))),
        );
    }
    out
}

/// Calls, meetings, tasks and emails with overlapping ids (HubSpot ids are unique per object only),
/// creation minutes that interleave and tie across objects, some without a creation time, and
/// two owners.
fn seeded() -> Hub {
    let mut hub = Hub::new();
    let owner = |i: u64| if i.is_multiple_of(3) { "7" } else { "8" };
    hub.add(
        "calls",
        (1..=7)
            .map(|i| record("calls", i, (i != 4).then_some((i as i64) * 3), owner(i)))
            .collect(),
    );
    hub.add(
        "meetings",
        (1..=4)
            .map(|i| record("meetings", i, Some((i as i64) * 5), owner(i + 1)))
            .collect(),
    );
    hub.add(
        "tasks",
        (3..=11)
            .map(|i| record("tasks", i, (i != 9).then_some((i as i64) * 2), owner(i + 2)))
            .collect(),
    );
    hub.add(
        "emails",
        (2..=6)
            .map(|i| {
                record(
                    "emails",
                    i,
                    (i != 5).then_some((i as i64) * 4 + 1),
                    owner(i),
                )
            })
            .collect(),
    );
    hub
}

#[test]
fn without_a_type_every_call_meeting_and_task_comes_once_in_object_order() {
    for limit in [1, 2, 3, 4, 5, 7, 11, 19, 20, 100, 200] {
        let mut hub = seeded();
        let pages = hub.drain(&[], limit);
        assert_eq!(ids(&pages), expected_ids(&hub, |_| true), "limit {limit}");
        // Every page but the last is full.
        for page in &pages[..pages.len() - 1] {
            assert_eq!(page.len(), limit, "limit {limit}");
        }
        // Plain lists: link fields are known, and `type` names the object.
        let first = &pages[0][0];
        assert_eq!(first["type"], "call");
        assert!(first.get("contact_id").is_some(), "{first}");
    }
}

#[test]
fn an_empty_object_in_the_middle_or_everywhere_ends_cleanly() {
    let mut hub = seeded();
    hub.add("meetings", Vec::new());
    let pages = hub.drain(&[], 7);
    assert_eq!(ids(&pages), expected_ids(&hub, |_| true));
    let mut empty = Hub::new();
    let pages = empty.drain(&[], 5);
    assert_eq!(pages, vec![Vec::<Value>::new()]);
    assert_eq!(empty.calls_made, 4, "one call per object, then the end");
}

#[test]
fn a_shared_filter_searches_each_object_and_still_pages_exactly_once() {
    for limit in [1, 2, 4, 6, 50] {
        let mut hub = seeded();
        let pages = hub.drain(&[("filter[owner_id]", "7")], limit);
        assert_eq!(
            ids(&pages),
            expected_ids(&hub, |r| r["properties"]["hubspot_owner_id"] == "7"),
            "limit {limit}"
        );
    }
}

/// The records of a sorted drain, each with its creation time (`None` when it has none).
fn created(pages: &[Vec<Value>]) -> Vec<Option<i128>> {
    pages
        .iter()
        .flatten()
        .map(|r| {
            r["created_at"]
                .as_str()
                .and_then(parse_datetime)
                .map(|d| d.unix_timestamp_nanos())
        })
        .collect()
}

#[test]
fn a_sort_merges_the_three_objects_by_the_key_with_missing_keys_last() {
    for direction in ["asc", "desc"] {
        for limit in [1, 2, 3, 5, 8, 13, 200] {
            let mut hub = seeded();
            let pages = hub.drain(
                &[("sort[by]", "created_at"), ("sort[direction]", direction)],
                limit,
            );
            let mut got = ids(&pages);
            let mut want = expected_ids(&hub, |_| true);
            assert_eq!(got.len(), want.len(), "{direction} {limit}: {got:?}");
            got.sort();
            want.sort();
            assert_eq!(got, want, "{direction} {limit}: each record once");
            let keys = created(&pages);
            let present: Vec<i128> = keys.iter().flatten().copied().collect();
            let first_missing = keys.iter().position(Option::is_none).unwrap_or(keys.len());
            assert!(
                keys[first_missing..].iter().all(Option::is_none),
                "{direction} {limit}: records without the key come last: {keys:?}"
            );
            let ordered = present.windows(2).all(|w| match direction {
                "asc" => w[0] <= w[1],
                _ => w[0] >= w[1],
            });
            assert!(ordered, "{direction} {limit}: {keys:?}");
            for page in &pages[..pages.len() - 1] {
                assert_eq!(page.len(), limit, "{direction} {limit}");
            }
        }
    }
}

#[test]
fn a_sort_with_a_filter_and_an_object_running_out_early() {
    let mut hub = seeded();
    hub.add("meetings", vec![record("meetings", 99, Some(1), "7")]);
    let pages = hub.drain(
        &[
            ("filter[owner_id]", "7"),
            ("sort[by]", "created_at"),
            ("sort[direction]", "desc"),
        ],
        2,
    );
    let mut got = ids(&pages);
    let mut want = expected_ids(&hub, |r| r["properties"]["hubspot_owner_id"] == "7");
    got.sort();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_done_object_is_not_asked_again() {
    let mut hub = seeded();
    hub.add("calls", vec![record("calls", 1, Some(1), "7")]);
    hub.add("meetings", vec![record("meetings", 1, Some(2), "7")]);
    hub.add("emails", Vec::new());
    // Sorted, limit 2: page 1 takes the call and the meeting and finds no email; all three are
    // done after it, so page 2 searches tasks only.
    let q = [("sort[by]", "created_at"), ("limit", "2")];
    let first = hub.page(&q).expect("page");
    assert_eq!(ids(&[first.data]), ["call-1", "meeting-1"]);
    let cursor = first.next_cursor.expect("tasks are left");
    let before = hub.calls_made;
    let mut q2 = q.to_vec();
    q2.push(("cursor", &cursor));
    let second = hub.page(&q2).expect("page");
    assert_eq!(hub.calls_made - before, 1, "only tasks are searched");
    assert_eq!(second.data.len(), 2);
}

#[test]
fn filters_and_sorts_the_three_objects_do_not_share_are_refused() {
    let c = codec();
    let refused = |q: &[(&str, &str)]| plan_list(&params(q), &c).expect_err("refused");
    assert_eq!(
        refused(&[("pass_through[limit]", "3")]).type_name(),
        "RequestValidationError"
    );
}

#[test]
fn cursors_are_checked_before_any_call() {
    let c = codec();
    let p = params(&[("limit", "3")]);
    let fingerprint = p.query_fingerprint();
    let scope = CursorScope {
        service: "hubspot",
        resource: Resource::Activities,
        query: &fingerprint,
    };
    let bad_places = [
        json!({}),
        json!({"kinds": [null, null]}),
        // A cursor from before emails were merged in: three places.
        json!({"kinds": [null, null, null]}),
        json!({"kinds": [null, null, null, null, null]}),
        json!({"kinds": [1, null, null, null]}),
        json!({"kinds": ["later", null, null, null]}),
        json!({"kinds": ["done", "done", "done", "done"]}),
        // A plain list's place must carry HubSpot's `after`.
        json!({"kinds": [{"id": "5"}, null, null, null]}),
        json!({"after": "5"}),
    ];
    for position in bad_places {
        let cursor = c.seal(&scope, &position);
        let q = params(&[("limit", "3"), ("cursor", &cursor)]);
        assert_eq!(
            plan_list(&q, &c).expect_err("refused"),
            UnifiedError::InvalidCursor,
            "{position}"
        );
    }
    // A sorted list's places are keyset bounds: an id that is not HubSpot's is refused.
    let sorted = params(&[("limit", "3"), ("sort[by]", "updated_at")]);
    let fingerprint = sorted.query_fingerprint();
    let scope = CursorScope {
        service: "hubspot",
        resource: Resource::Activities,
        query: &fingerprint,
    };
    let cursor = c.seal(
        &scope,
        &json!({"kinds": [{"id": "../1", "k": null}, null, null, null]}),
    );
    let q = params(&[
        ("limit", "3"),
        ("sort[by]", "updated_at"),
        ("cursor", &cursor),
    ]);
    assert_eq!(
        plan_list(&q, &c).expect_err("refused"),
        UnifiedError::InvalidCursor
    );
    // A cursor of a typed list does not open for the merged one (another query).
    let mut hub = seeded();
    let typed = hub
        .page(&[("filter[type]", "call"), ("limit", "2")])
        .expect("page")
        .next_cursor
        .expect("cursor");
    assert_eq!(
        plan_list(&params(&[("limit", "2"), ("cursor", &typed)]), &c).expect_err("refused"),
        UnifiedError::InvalidCursor
    );
}
