//! Every spec filter and sort of every resource against each provider's seeded emulator:
//! filters return only matching records, sorts return every record exactly once in order
//! across pages, and injection payloads through every text filter stay literals. A filter or
//! sort a provider does not offer answers the spec's unsupported error; the lists below say
//! which and why.

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::Value;

use crate::crm_support::{CrmApp, Provider, crm_app};
use crate::helpers::{Db, assert_error_envelope, urlencode};

crate::crm_provider_tests!(
    every_spec_filter_of_every_resource,
    injection_through_every_text_filter_stays_literal,
    every_spec_sort_pages_in_order_each_record_once,
);

const RESOURCES: [&str; 6] = [
    "contacts",
    "companies",
    "leads",
    "opportunities",
    "activities",
    "notes",
];

fn spec_filters(resource: &str) -> &'static [&'static str] {
    match resource {
        "contacts" => &[
            "name",
            "first_name",
            "last_name",
            "email",
            "phone_number",
            "company_id",
            "owner_id",
            "updated_since",
            "created_since",
        ],
        "companies" => &["name", "updated_since", "created_since"],
        "leads" => &["name", "first_name", "last_name", "email", "phone_number"],
        "opportunities" => &[
            "title",
            "status",
            "monetary_amount",
            "win_probability",
            "company_id",
            "owner_id",
            "primary_contact_id",
        ],
        "activities" => &[
            "company_id",
            "owner_id",
            "contact_id",
            "updated_since",
            "type",
        ],
        "notes" => &["title", "owner_id", "updated_since", "created_since"],
        "users" => &["email", "name"],
        _ => &[],
    }
}

fn spec_sorts(resource: &str) -> &'static [&'static str] {
    match resource {
        "contacts" | "leads" => &[
            "created_at",
            "updated_at",
            "name",
            "first_name",
            "last_name",
            "email",
        ],
        "companies" => &["created_at", "updated_at", "name"],
        "opportunities" => &[
            "created_at",
            "updated_at",
            "title",
            "win_probability",
            "monetary_amount",
            "status",
        ],
        "activities" => &["created_at", "updated_at"],
        _ => &[],
    }
}

/// Spec filters the provider answers with `UnsupportedFiltersError`.
fn unsupported_filters(provider: Provider, resource: &str) -> &'static [&'static str] {
    match (provider, resource) {
        (Provider::Salesforce, _) => &[],
        // A deal's probability is its stage's, not a property of the deal to search on.
        (Provider::HubSpot, "opportunities") => &["win_probability"],
        // HubSpot notes have no title.
        (Provider::HubSpot, "notes") => &["title"],
        // The owners API filters by email only.
        (Provider::HubSpot, "users") => &["name"],
        (Provider::HubSpot, _) => &[],
    }
}

/// Spec sorts the provider answers with `UnsupportedSortFieldError`.
fn unsupported_sorts(provider: Provider, resource: &str) -> &'static [&'static str] {
    match (provider, resource) {
        // A Salesforce opportunity's status is derived from its stage's flags, not a column.
        (Provider::Salesforce, "opportunities") => &["status"],
        (Provider::Salesforce, _) => &[],
        // No deal probability property.
        (Provider::HubSpot, "opportunities") => &["win_probability"],
        (Provider::HubSpot, _) => &[],
    }
}

/// The unified field a sort orders by. HubSpot sorts by one property only; its `name` sort is
/// by first name (docs/hubspot.md §15), so same first names come in id order, not by last name.
fn sorted_field(provider: Provider, resource: &str, field: &'static str) -> &'static str {
    match (provider, resource, field) {
        (Provider::HubSpot, "contacts" | "leads", "name") => "first_name",
        _ => field,
    }
}

/// The unified value a filter or sort reads from a record.
fn field_value(record: &Value, field: &str) -> Value {
    match field {
        "email" => record["emails"][0]["email"].clone(),
        "phone_number" => record["phone_numbers"][0]["number"].clone(),
        "updated_since" => record["updated_at"].clone(),
        "created_since" => record["created_at"].clone(),
        other => record[other].clone(),
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Does `record` satisfy `filter[field] = value`?
fn satisfies(record: &Value, field: &str, value: &str) -> bool {
    let want = value.to_lowercase();
    match field {
        "email" => record["emails"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| text(&e["email"]).as_deref() == Some(want.as_str())),
        "phone_number" => record["phone_numbers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| text(&p["number"]).as_deref() == Some(want.as_str())),
        "updated_since" | "created_since" => field_value(record, field)
            .as_str()
            .is_some_and(|at| at >= value),
        "monetary_amount" | "win_probability" => {
            record[field].as_f64() == value.parse::<f64>().ok()
        }
        // Opportunity status is derived from the stage; the filter names a stage value.
        "status" => true,
        "type" => true,
        other => text(&record[other]).as_deref() == Some(want.as_str()),
    }
}

async fn all_records(crm: &CrmApp, resource: &str, query: &str) -> Vec<Value> {
    let mut url = format!("{}/crm/{resource}?limit=200{query}", crm.app.base_url);
    let mut out = Vec::new();
    loop {
        let page = crm.get_url(&url).await.expect(200);
        out.extend(page.data().as_array().cloned().unwrap_or_default());
        match page.body["links"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => return out,
        }
    }
}

async fn every_spec_filter_of_every_resource(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 600).await else {
        return;
    };
    // The seed sets no opportunity's primary contact; give one a contact.
    let contact = all_records(&crm, "contacts", "").await[0]["id"].clone();
    crm.post(
        "/crm/opportunities",
        serde_json::json!({"title": "With contact", "close_date": "2025-03-01",
                           "pipeline_stage_id": provider.open_stage(), "primary_contact_id": contact}),
    )
    .await
    .expect(201);
    let mut checked = 0;
    for resource in RESOURCES.into_iter().chain(["users"]) {
        let records = all_records(&crm, resource, "").await;
        assert!(!records.is_empty(), "{resource} is not seeded");
        for &field in spec_filters(resource) {
            if unsupported_filters(provider, resource).contains(&field) {
                let r = crm
                    .get(&format!("/crm/{resource}?filter[{field}]=1"))
                    .await
                    .expect(400);
                assert_error_envelope(&r.body, 400, "UnsupportedFiltersError");
                assert_eq!(r.body["detail"]["unsupported_filters"][0], field);
                checked += 1;
                continue;
            }
            let value = if field == "type" {
                "meeting".to_owned()
            } else {
                let Some(v) = records
                    .iter()
                    .map(|r| field_value(r, field))
                    .find_map(|v| match v {
                        Value::String(s) if !s.is_empty() => Some(s),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                else {
                    panic!("no {resource} record has a value for filter {field}");
                };
                v
            };
            let q = format!("&filter[{field}]={}", urlencode(&value));
            let found = all_records(&crm, resource, &q).await;
            assert!(
                !found.is_empty(),
                "{resource} filter[{field}]={value} found nothing"
            );
            for r in &found {
                assert!(
                    satisfies(r, field, &value),
                    "{resource} filter[{field}]={value} returned {r}"
                );
            }
            if matches!(field, "updated_since" | "created_since") {
                let later = all_records(
                    &crm,
                    resource,
                    "&filter[updated_since]=2999-01-01T00:00:00Z",
                )
                .await;
                assert!(later.is_empty());
            } else if field != "type" && field != "status" {
                assert!(
                    found.len() < records.len(),
                    "{resource} filter[{field}] filters nothing"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 9 + 3 + 5 + 7 + 5 + 4 + 2);

    // activities: filter[type] picks the object
    for kind in ["task", "meeting"] {
        let found = all_records(&crm, "activities", &format!("&filter[type]={kind}")).await;
        assert!(!found.is_empty(), "no {kind}");
        for a in &found {
            provider.assert_native_id("activities", Some(kind), a["id"].as_str().expect("id"));
        }
    }

    // filters the spec does not define for a resource
    for (resource, field) in [
        ("companies", "email"),
        ("notes", "name"),
        ("users", "owner_id"),
    ] {
        let r = crm
            .get(&format!("/crm/{resource}?filter[{field}]=x"))
            .await
            .expect(400);
        assert_error_envelope(&r.body, 400, "UnsupportedFiltersError");
        assert_eq!(r.body["detail"]["unsupported_filters"][0], field);
    }
}

async fn injection_through_every_text_filter_stays_literal(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 200).await else {
        return;
    };
    let total = all_records(&crm, "contacts", "").await.len();
    let payloads = [
        "' OR Name != '",
        "\\' OR Id != null OR Name = '",
        "x' OR '1'='1",
        "%",
        "_",
        "x') OR (Name LIKE '%",
        "\u{2019} OR 1=1 --",
        "x\\",
        "x\nOR Id != null",
        "' LIMIT 1 --",
    ];
    for field in ["name", "first_name", "last_name", "email", "phone_number"] {
        if unsupported_filters(provider, "contacts").contains(&field) {
            let r = crm
                .get(&format!(
                    "/crm/contacts?filter[{field}]={}",
                    urlencode(payloads[0])
                ))
                .await
                .expect(400);
            assert_error_envelope(&r.body, 400, "UnsupportedFiltersError");
            continue;
        }
        for payload in payloads {
            let q = format!("&filter[{field}]={}", urlencode(payload));
            let r = crm.get(&format!("/crm/contacts?limit=200{q}")).await;
            assert_eq!(r.status.as_u16(), 200, "{field} {payload:?}: {}", r.body);
            let n = r.data().as_array().map(Vec::len).unwrap_or_default();
            assert_eq!(n, 0, "{field}={payload:?} matched {n} of {total}");
        }
    }
    // ids are shape-checked: no query is built from a malformed one
    for field in ["company_id", "owner_id"] {
        let r = crm
            .get(&format!(
                "/crm/contacts?filter[{field}]={}",
                urlencode("001' OR Id != '")
            ))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{field}: {}", r.body);
        let expected = if unsupported_filters(provider, "contacts").contains(&field) {
            "UnsupportedFiltersError"
        } else {
            "RequestValidationError"
        };
        assert_error_envelope(&r.body, 400, expected);
    }
}

/// Whether `a` may come before `b`: in order, with nulls where the provider puts them
/// (Salesforce first ascending and last descending, HubSpot last either way).
fn ordered(a: &Value, b: &Value, asc: bool, provider: Provider) -> bool {
    let nulls_last = provider.nulls_last_both_ways();
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (true, false) => asc && !nulls_last,
        (false, true) => nulls_last || !asc,
        (false, false) => {
            let order = compare(a, b);
            if asc {
                order != Ordering::Greater
            } else {
                order != Ordering::Less
            }
        }
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        _ => text(a).cmp(&text(b)),
    }
}

async fn every_spec_sort_pages_in_order_each_record_once(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 600).await else {
        return;
    };
    for resource in RESOURCES {
        let everything = all_records(&crm, resource, "").await;
        let expected: HashSet<String> = everything
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect();
        // Datetime sorts included: like Salesforce, the emulator keeps audit stamps to the
        // second, which is all a SOQL datetime literal in a keyset predicate can name.
        for &field in spec_sorts(resource) {
            for direction in ["asc", "desc"] {
                let q = format!("?limit=23&sort[by]={field}&sort[direction]={direction}");
                if unsupported_sorts(provider, resource).contains(&field) {
                    let r = crm.get(&format!("/crm/{resource}{q}")).await.expect(400);
                    assert_error_envelope(&r.body, 400, "UnsupportedSortFieldError");
                    continue;
                }
                let mut url = format!("{}/crm/{resource}{q}", crm.app.base_url);
                let mut got = Vec::new();
                loop {
                    let page = crm.get_url(&url).await.expect(200);
                    got.extend(page.data().as_array().cloned().unwrap_or_default());
                    match page.body["links"]["next"].as_str() {
                        Some(next) => url = next.to_owned(),
                        None => break,
                    }
                }
                let ids: Vec<String> = got
                    .iter()
                    .map(|r| r["id"].as_str().expect("id").to_owned())
                    .collect();
                let unique: HashSet<String> = ids.iter().cloned().collect();
                assert_eq!(
                    unique.len(),
                    ids.len(),
                    "{resource} {field} {direction}: duplicates"
                );
                assert_eq!(
                    unique, expected,
                    "{resource} {field} {direction}: wrong set"
                );
                let by = sorted_field(provider, resource, field);
                let keys: Vec<Value> = got.iter().map(|r| field_value(r, by)).collect();
                for w in keys.windows(2) {
                    assert!(
                        ordered(&w[0], &w[1], direction == "asc", provider),
                        "{resource} {field} {direction}: {} then {}",
                        w[0],
                        w[1]
                    );
                }
            }
        }
    }
    for (resource, field) in [
        ("notes", "created_at"),
        ("users", "name"),
        ("companies", "email"),
    ] {
        let r = crm
            .get(&format!("/crm/{resource}?sort[by]={field}"))
            .await
            .expect(400);
        assert_error_envelope(&r.body, 400, "UnsupportedSortFieldError");
    }
}
