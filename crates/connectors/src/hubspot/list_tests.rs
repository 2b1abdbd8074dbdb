use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use patchbay_unified::{CursorCodec, ListParams, Resource, UnifiedError};

use super::*;
use crate::hubspot::search::{FilterGroup, RESULT_CEILING};

fn codec() -> CursorCodec {
    CursorCodec::new(&[7u8; 32]).expect("codec")
}

fn params(resource: Resource, pairs: &[(&str, &str)]) -> ListParams {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ListParams::parse(resource, &pairs).expect("params")
}

#[test]
fn no_filter_no_sort_uses_the_plain_list() {
    let p = params(Resource::Contacts, &[("limit", "150")]);
    let plan = plan_list(&p, &codec()).expect("plan");
    assert_eq!(plan.request.method, Method::Get);
    assert_eq!(plan.request.path, "/crm/v3/objects/contacts");
    assert!(plan.search.is_none());
    assert!(
        plan.request
            .query
            .contains(&("limit".to_owned(), "100".to_owned()))
    );
    assert!(
        plan.request
            .query
            .contains(&("associations".to_owned(), "companies".to_owned()))
    );
    // 100 collected of 150, HubSpot has more: ask the 50 left after HubSpot's `after`.
    let first = json!({"results": [], "paging": {"next": {"after": "ABC"}}});
    let next = plan.next_single(100, &first).expect("more");
    assert!(next.query.contains(&("limit".to_owned(), "50".to_owned())));
    assert!(next.query.contains(&("after".to_owned(), "ABC".to_owned())));
    assert!(plan.next_single(150, &first).is_none());
    assert!(plan.next_single(100, &json!({"results": []})).is_none());
    // The page's cursor carries HubSpot's `after` and brings it back.
    let records: Vec<Value> = (1..=3)
        .map(|i| json!({"id": i.to_string(), "properties": {}, "createdAt": null, "updatedAt": null}))
        .collect();
    let p3 = params(Resource::Contacts, &[("limit", "3")]);
    let plan3 = plan_list(&p3, &codec()).expect("plan");
    let page = plan3
        .finish(
            &p3,
            &codec(),
            &[json!({"results": records, "paging": {"next": {"after": "4"}}})],
        )
        .expect("page");
    assert_eq!(page.data.len(), 3);
    let cursor = page.next_cursor.expect("cursor");
    let again = params(Resource::Contacts, &[("limit", "3"), ("cursor", &cursor)]);
    let plan = plan_list(&again, &codec()).expect("plan");
    assert!(
        plan.request
            .query
            .contains(&("after".to_owned(), "4".to_owned()))
    );
}

#[test]
fn filters_become_a_typed_search_body() {
    let hostile = r#"x", "operator": "HAS_PROPERTY"}, {"propertyName": "email"#;
    let p = params(
        Resource::Contacts,
        &[
            ("filter[first_name]", hostile),
            ("filter[phone_number]", "+1 555"),
            ("filter[updated_since]", "2024-01-01T00:00:00Z"),
        ],
    );
    let plan = plan_list(&p, &codec()).expect("plan");
    assert_eq!(plan.request.method, Method::Post);
    assert_eq!(plan.request.path, "/crm/v3/objects/contacts/search");
    let body = plan.request.body.expect("body");
    // phone_number is phone OR mobilephone: two groups, each with the other filters.
    let groups = body["filterGroups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2);
    for g in groups {
        let filters = g["filters"].as_array().expect("filters");
        assert_eq!(filters.len(), 3);
        assert!(
            filters.contains(
                &json!({"propertyName": "firstname", "operator": "EQ", "value": hostile})
            )
        );
        assert!(filters.contains(&json!({"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1704067200000"})));
    }
    let phones: BTreeSet<&str> = groups
        .iter()
        .flat_map(|g| g["filters"].as_array().expect("f"))
        .filter(|f| f["value"] == "+1 555")
        .map(|f| f["propertyName"].as_str().expect("name"))
        .collect();
    assert_eq!(phones, BTreeSet::from(["mobilephone", "phone"]));
    assert_eq!(
        body["sorts"],
        json!([{"propertyName": "hs_object_id", "direction": "ASCENDING"}])
    );
    assert_eq!(body["limit"], 20);
    assert!(body.get("after").is_none(), "searches never page by offset");
    // The hostile text is one value: exactly the filters the plan built, no more.
    let all: usize = groups
        .iter()
        .map(|g| g["filters"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(all, 6);
}

#[test]
fn ids_in_filters_are_checked() {
    let p = params(Resource::Contacts, &[("filter[owner_id]", "1 OR 1=1")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "RequestValidationError"
    );
}

#[test]
fn unsupported_filters_and_sorts_are_named() {
    let p = params(Resource::Notes, &[("filter[title]", "Met")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err(),
        UnifiedError::UnsupportedFilters {
            filters: vec!["title".to_owned()]
        }
    );
    let p = params(Resource::Opportunities, &[("sort[by]", "win_probability")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "UnsupportedSortFieldError"
    );
    let p = params(Resource::Users, &[("filter[name]", "x")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "UnsupportedFiltersError"
    );
    // HubSpot has no object for the other activity types (emails are listed: `emails`).
    let p = params(Resource::Activities, &[("filter[type]", "deadline")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "UnsupportedFiltersError"
    );
    let p = params(Resource::Contacts, &[("pass_through[after]", "5")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "RequestValidationError"
    );
}

#[test]
fn leads_always_search_for_the_lead_stage() {
    let p = params(Resource::Leads, &[]);
    let plan = plan_list(&p, &codec()).expect("plan");
    let body = plan.request.body.expect("body");
    assert_eq!(
        body["filterGroups"],
        json!([{"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"}]}])
    );
}

#[test]
fn activities_pick_their_object_by_type() {
    for (t, path) in [
        ("call", "calls"),
        ("meeting", "meetings"),
        ("task", "tasks"),
        ("email", "emails"),
        ("EMAIL", "emails"),
    ] {
        let p = params(Resource::Activities, &[("filter[type]", t)]);
        let plan = plan_list(&p, &codec()).expect("plan");
        assert_eq!(plan.request.path, format!("/crm/v3/objects/{path}"), "{t}");
    }
    // Without a type the list reads all four, calls first (merge_tests.rs).
    let p = params(Resource::Activities, &[]);
    assert_eq!(
        plan_list(&p, &codec()).expect("plan").request.path,
        "/crm/v3/objects/calls"
    );
}

#[test]
fn owners_and_pipelines() {
    let p = params(Resource::Users, &[("filter[email]", "o@example.com")]);
    let plan = plan_list(&p, &codec()).expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/owners");
    assert!(
        plan.request
            .query
            .contains(&("email".to_owned(), "o@example.com".to_owned()))
    );
    let p = params(Resource::Pipelines, &[]);
    let plan = plan_list(&p, &codec()).expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/pipelines/deals");
    let page = plan
        .finish(
            &p,
            &codec(),
            &[json!({"results": [{"id": "default", "label": "Sales", "stages": []}]})],
        )
        .expect("page");
    assert_eq!(page.data[0]["id"], "default");
    assert_eq!(page.next_cursor, None);
}

#[test]
fn cursors_are_bound_to_their_query() {
    let p = params(
        Resource::Contacts,
        &[("filter[email]", "a@b.c"), ("limit", "1")],
    );
    let plan = plan_list(&p, &codec()).expect("plan");
    let body = json!({"total": 2, "results": [{"id": "1", "properties": {"hs_object_id": "1"}}], "paging": {"next": {"after": "1"}}});
    let cursor = plan
        .finish(&p, &codec(), &[body])
        .expect("page")
        .next_cursor
        .expect("cursor");
    let other = params(
        Resource::Contacts,
        &[("filter[email]", "x@y.z"), ("cursor", &cursor)],
    );
    assert_eq!(
        plan_list(&other, &codec()).unwrap_err(),
        UnifiedError::InvalidCursor
    );
    let same = params(
        Resource::Contacts,
        &[
            ("filter[email]", "a@b.c"),
            ("limit", "1"),
            ("cursor", &cursor),
        ],
    );
    let next = plan_list(&same, &codec())
        .expect("plan")
        .search
        .expect("search");
    let last = &next.filter_groups[0].filters;
    assert!(last.iter().any(|f| f.property == "hs_object_id"
        && f.operator == Operator::Gt
        && f.value.as_deref() == Some("1")));
}

// --- An in-memory search that follows docs/hubspot.md §9, with its ceiling ---

struct Account {
    records: Vec<Map<String, Value>>,
}

fn kind_of(property: &str) -> SortKind {
    match property {
        "hs_object_id" | "amount" => SortKind::Number,
        p if p.contains("date") => SortKind::DateTime,
        _ => SortKind::Text,
    }
}

fn compare(property: &str, a: &str, b: &str) -> Ordering {
    match kind_of(property) {
        SortKind::Number => {
            let n = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
            n(a).partial_cmp(&n(b)).unwrap_or(Ordering::Equal)
        }
        // Dates compare as instants, given as epoch milliseconds or ISO-8601.
        SortKind::DateTime => {
            let ms = |s: &str| {
                s.parse::<i128>().ok().or_else(|| {
                    crate::convert::parse_datetime(s).map(|d| d.unix_timestamp_nanos() / 1_000_000)
                })
            };
            ms(a).cmp(&ms(b))
        }
        SortKind::Text => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn value<'a>(r: &'a Map<String, Value>, p: &str) -> Option<&'a str> {
    r.get(p).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn matches(r: &Map<String, Value>, g: &FilterGroup) -> bool {
    g.filters.iter().all(|f| {
        let actual = value(r, f.property);
        if let Some(values) = &f.values {
            return actual.is_some_and(|a| values.iter().any(|v| v.eq_ignore_ascii_case(a)));
        }
        let Some(v) = f.value.as_deref() else {
            return actual.is_none();
        };
        let Some(a) = actual else { return false };
        let o = compare(f.property, a, v);
        match f.operator {
            Operator::Eq => o == Ordering::Equal,
            Operator::Gt => o == Ordering::Greater,
            Operator::Gte => o != Ordering::Less,
            Operator::Lt => o == Ordering::Less,
            Operator::NotHasProperty | Operator::In => false,
        }
    })
}

impl Account {
    /// Serves one search; `offset` plays HubSpot's `after`, refused at the ceiling.
    fn search(&self, body: &SearchBody, offset: u32) -> Result<Value, u16> {
        assert!(body.limit <= MAX_SEARCH_LIMIT && body.filter_groups.len() <= 5);
        if offset + body.limit > RESULT_CEILING {
            return Err(400);
        }
        let mut hits: Vec<&Map<String, Value>> = self
            .records
            .iter()
            .filter(|r| {
                body.filter_groups.is_empty() || body.filter_groups.iter().any(|g| matches(r, g))
            })
            .collect();
        let sort = &body.sorts[0];
        hits.sort_by(|a, b| {
            let by_key = match (value(a, sort.property), value(b, sort.property)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => match sort.direction {
                    Direction::Ascending => compare(sort.property, x, y),
                    Direction::Descending => compare(sort.property, y, x),
                },
            };
            by_key.then_with(|| {
                compare(
                    "hs_object_id",
                    value(a, "hs_object_id").unwrap_or("0"),
                    value(b, "hs_object_id").unwrap_or("0"),
                )
            })
        });
        let total = hits.len();
        let start = offset as usize;
        let end = (start + body.limit as usize).min(total);
        let results: Vec<Value> = hits[start.min(end)..end]
            .iter()
            .map(|r| {
                // Only the properties asked for, as HubSpot answers.
                let props: Map<String, Value> = r
                    .iter()
                    .filter(|(k, _)| body.properties.iter().any(|p| p == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                json!({"id": r["hs_object_id"], "properties": props})
            })
            .collect();
        let mut out = json!({"total": total, "results": results});
        if end < total {
            out["paging"] = json!({"next": {"after": end.to_string()}});
        }
        Ok(out)
    }
}

fn account(n: usize) -> Account {
    const NAMES: [&str; 7] = ["Adams", "baker", "Clark", "Baker", "Davis", "Evans", ""];
    let records = (1..=n)
        .map(|i| {
            let mut r = Map::new();
            r.insert("hs_object_id".to_owned(), json!(i.to_string()));
            // Many ties, mixed case, and missing values.
            r.insert("lastname".to_owned(), json!(NAMES[(i * 31) % NAMES.len()]));
            r.insert(
                "createdate".to_owned(),
                json!(format!("2024-01-01T00:00:{:02}Z", (i * 13) % 60)),
            );
            r.insert(
                "hubspot_owner_id".to_owned(),
                json!(if i % 3 == 0 { "7" } else { "8" }),
            );
            r
        })
        .collect();
    Account { records }
}

/// Pages through `account` with the given query until the cursor runs out; returns the ids.
fn drain(account: &Account, query: &[(&str, &str)]) -> Vec<String> {
    let codec = codec();
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    for _ in 0..1_000 {
        let mut pairs = query.to_vec();
        if let Some(c) = &cursor {
            pairs.push(("cursor", c.as_str()));
        }
        let p = params(Resource::Contacts, &pairs);
        let plan = plan_list(&p, &codec).expect("plan");
        let body = plan.search.clone().expect("a search");
        let answer = account.search(&body, 0).expect("never past the ceiling");
        let page = plan.finish(&p, &codec, &[answer]).expect("page");
        seen.extend(
            page.data
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_owned()),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return seen,
        }
    }
    panic!("paging did not end");
}

#[test]
fn the_simulated_search_enforces_its_ceiling() {
    let acc = account(10_500);
    let p = params(
        Resource::Contacts,
        &[("sort[by]", "last_name"), ("limit", "200")],
    );
    let body = plan_list(&p, &codec())
        .expect("plan")
        .search
        .expect("search");
    assert!(acc.search(&body, 9_800).is_ok());
    assert_eq!(acc.search(&body, 9_900).unwrap_err(), 400);
}

#[test]
fn keyset_paging_returns_every_record_once_past_the_ceiling() {
    let acc = account(10_500);
    let all: Vec<String> = (1..=10_500).map(|i| i.to_string()).collect();

    // A filter alone: default order by id.
    let ids = drain(&acc, &[("filter[owner_id]", "8"), ("limit", "200")]);
    let expected: Vec<String> = (1..=10_500)
        .filter(|i| i % 3 != 0)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(ids, expected);

    // A sort with ties, case variants and missing values, both directions.
    for direction in ["asc", "desc"] {
        let ids = drain(
            &acc,
            &[
                ("sort[by]", "last_name"),
                ("sort[direction]", direction),
                ("limit", "200"),
            ],
        );
        assert_eq!(ids.len(), 10_500, "{direction}");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), 10_500, "{direction}: duplicates");
        let mut sorted = ids.clone();
        sorted.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(sorted, want, "{direction}");
    }

    // A date sort, with a filter.
    let ids = drain(
        &acc,
        &[
            ("sort[by]", "created_at"),
            ("filter[owner_id]", "7"),
            ("limit", "200"),
        ],
    );
    assert_eq!(ids.len(), 10_500 / 3);
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Whatever text a filter carries, the body holds it as one `value` of the filter the
    /// plan built, and nothing else changes shape.
    #[test]
    fn any_filter_text_stays_one_value(text in "\\PC{1,60}") {
        let p = ListParams::parse(
            Resource::Contacts,
            &[("filter[email]".to_owned(), text.clone())],
        );
        // Text the unified parser refuses never reaches the builder.
        if let Ok(p) = p {
            let plan = plan_list(&p, &codec()).expect("plan");
            let body = plan.request.body.expect("body");
            let keys: BTreeSet<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
            proptest::prop_assert_eq!(keys, BTreeSet::from(["filterGroups", "limit", "properties", "sorts"]));
            proptest::prop_assert_eq!(
                &body["filterGroups"],
                &json!([{"filters": [{"propertyName": "email", "operator": "EQ", "value": text}]}])
            );
        }
    }
}

fn filter_json(plan: &ListPlan) -> Vec<Value> {
    let body = plan.search.as_ref().expect("a search").to_json();
    body["filterGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["filters"].clone())
        .collect()
}

#[test]
fn link_filters_search_on_the_association_pseudo_properties() {
    let cases = [
        (
            Resource::Contacts,
            "filter[company_id]",
            "associations.company",
        ),
        (
            Resource::Opportunities,
            "filter[company_id]",
            "associations.company",
        ),
        (
            Resource::Opportunities,
            "filter[primary_contact_id]",
            "associations.contact",
        ),
    ];
    for (resource, key, property) in cases {
        let plan = plan_list(&params(resource, &[(key, "901")]), &codec()).expect("plan");
        assert_eq!(
            filter_json(&plan),
            vec![json!([{"propertyName": property, "operator": "EQ", "value": "901"}])],
            "{key}"
        );
    }
    let p = params(
        Resource::Activities,
        &[("filter[type]", "call"), ("filter[contact_id]", "51")],
    );
    let plan = plan_list(&p, &codec()).expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/objects/calls/search");
    assert_eq!(
        filter_json(&plan),
        vec![json!([{"propertyName": "associations.contact", "operator": "EQ", "value": "51"}])]
    );
    // Ids are shape-checked before they reach a filter.
    let p = params(Resource::Contacts, &[("filter[company_id]", "9' OR 1")]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "RequestValidationError"
    );
}

#[test]
fn name_filter_splits_the_value_over_first_and_last_name() {
    // One word: only a first name or only a last name.
    let plan = plan_list(
        &params(Resource::Contacts, &[("filter[name]", "Ada")]),
        &codec(),
    )
    .expect("plan");
    assert_eq!(
        filter_json(&plan),
        vec![
            json!([{"propertyName": "firstname", "operator": "EQ", "value": "Ada"},
                   {"propertyName": "lastname", "operator": "NOT_HAS_PROPERTY"}]),
            json!([{"propertyName": "lastname", "operator": "EQ", "value": "Ada"},
                   {"propertyName": "firstname", "operator": "NOT_HAS_PROPERTY"}]),
        ]
    );
    // Several words: every split, in one group; leads keep their stage filter.
    let p = params(Resource::Leads, &[("filter[name]", "Mary  Ann Smith")]);
    let plan = plan_list(&p, &codec()).expect("plan");
    assert_eq!(
        filter_json(&plan),
        vec![json!([
            {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
            {"propertyName": "firstname", "operator": "IN", "values": ["mary", "mary ann"]},
            {"propertyName": "lastname", "operator": "IN", "values": ["ann smith", "smith"]},
        ])]
    );
    // A record that pairs one split's first name with another's last name is dropped, but the
    // cursor still moves past it.
    let record = |id: &str, first: &str, last: &str| json!({"id": id, "properties": {"hs_object_id": id, "firstname": first, "lastname": last}});
    let answer = json!({"results": [
        record("1", "Mary", "Ann Smith"),
        record("2", "Mary Ann", "Ann Smith"),
        record("3", "mary ann", "SMITH"),
    ], "paging": {"next": {"after": "3"}}});
    let p2 = params(
        Resource::Contacts,
        &[("filter[name]", "Mary Ann Smith"), ("limit", "3")],
    );
    let plan = plan_list(&p2, &codec()).expect("plan");
    // Search results have no links: one batch read of their companies follows.
    let read = plan
        .next_request(std::slice::from_ref(&answer))
        .expect("a link read");
    assert_eq!(
        read.path,
        "/crm/v4/associations/contacts/companies/batch/read"
    );
    assert_eq!(
        read.body,
        Some(json!({"inputs": [{"id": "1"}, {"id": "3"}]}))
    );
    let links = json!({"status": "COMPLETE", "results": [
        {"from": {"id": "3"}, "to": [{"toObjectId": 77, "associationTypes": []}]}]});
    assert!(
        plan.next_request(&[answer.clone(), links.clone()])
            .is_none()
    );
    let page = plan.finish(&p2, &codec(), &[answer, links]).expect("page");
    let ids: Vec<&str> = page
        .data
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["1", "3"]);
    assert_eq!(page.data[0]["company_id"], Value::Null);
    assert_eq!(page.data[1]["company_id"], "77");
    assert_eq!(page.sources.len(), 2);
    let next = params(
        Resource::Contacts,
        &[
            ("filter[name]", "Mary Ann Smith"),
            ("limit", "3"),
            ("cursor", page.next_cursor.as_deref().expect("more")),
        ],
    );
    let plan = plan_list(&next, &codec()).expect("plan");
    let groups = filter_json(&plan);
    assert!(
        groups[0]
            .as_array()
            .expect("filters")
            .contains(&json!({"propertyName": "hs_object_id", "operator": "GT", "value": "3"})),
        "{groups:?}"
    );
    let p = params(Resource::Contacts, &[("filter[name]", &"a ".repeat(17))]);
    assert_eq!(
        plan_list(&p, &codec()).unwrap_err().type_name(),
        "RequestValidationError"
    );
}

#[test]
fn name_sort_orders_by_first_name() {
    let plan = plan_list(
        &params(
            Resource::Contacts,
            &[("sort[by]", "name"), ("sort[direction]", "desc")],
        ),
        &codec(),
    )
    .expect("plan");
    let body = plan.search.expect("a search").to_json();
    assert_eq!(
        body["sorts"],
        json!([{"propertyName": "firstname", "direction": "DESCENDING"}])
    );
}

#[test]
fn plain_lists_read_links_with_the_records_and_make_no_batch_read() {
    let p = params(Resource::Opportunities, &[("limit", "2")]);
    let plan = plan_list(&p, &codec()).expect("plan");
    let answer = json!({"results": [{"id": "5", "properties": {"dealname": "A"},
        "associations": {"companies": {"results": [{"id": "9", "type": "deal_to_company"}]}}}]});
    assert!(plan.next_request(std::slice::from_ref(&answer)).is_none());
    let page = plan.finish(&p, &codec(), &[answer]).expect("page");
    assert_eq!(page.data[0]["company_id"], "9");
    assert_eq!(page.data[0]["primary_contact_id"], Value::Null);
}

#[test]
fn a_search_page_reads_each_associated_type_once() {
    let p = params(
        Resource::Opportunities,
        &[("sort[by]", "title"), ("limit", "5")],
    );
    let plan = plan_list(&p, &codec()).expect("plan");
    let answer = json!({"results": [
        {"id": "5", "properties": {"hs_object_id": "5", "dealname": "A"}},
        {"id": "6", "properties": {"hs_object_id": "6", "dealname": "B"}}]});
    let first = plan
        .next_request(std::slice::from_ref(&answer))
        .expect("companies");
    assert_eq!(
        first.path,
        "/crm/v4/associations/deals/companies/batch/read"
    );
    let companies = json!({"results": [
        {"from": {"id": "6"}, "to": [{"toObjectId": "9", "associationTypes": []}]}],
        "errors": [{"message": "No company is associated with deal 5."}], "numErrors": 1});
    let second = plan
        .next_request(&[answer.clone(), companies.clone()])
        .expect("contacts");
    assert_eq!(
        second.path,
        "/crm/v4/associations/deals/contacts/batch/read"
    );
    let contacts = json!({"results": [
        {"from": {"id": "5"}, "to": [{"toObjectId": 51, "associationTypes": []},
                                      {"toObjectId": 52, "associationTypes": []}]}]});
    let bodies = [answer, companies, contacts];
    assert!(plan.next_request(&bodies).is_none());
    let page = plan.finish(&p, &codec(), &bodies).expect("page");
    assert_eq!(page.data[0]["company_id"], Value::Null);
    assert_eq!(page.data[0]["primary_contact_id"], "51");
    assert_eq!(page.data[1]["company_id"], "9");
    assert_eq!(page.data[1]["primary_contact_id"], Value::Null);
    // A malformed link answer is the downstream's fault, not a panic.
    let bad = plan.finish(
        &p,
        &codec(),
        &[bodies[0].clone(), json!({"oops": 1}), json!({})],
    );
    assert_eq!(bad.unwrap_err().type_name(), "ConnectorExecutionError");
}
