//! Paging past each provider's ceiling (Salesforce's 2,000-row OFFSET, HubSpot's 10,000-result
//! search): keyset cursors return every record exactly once, at any limit, in any supported
//! order, following `links.next` like a client. Written once, run for both providers.

use std::collections::HashSet;

use serde_json::Value;

use crate::crm_support::{CrmApp, Provider, assert_schema, crm_app};
use crate::helpers::Db;

crate::crm_provider_tests!(
    ten_thousand_contacts_each_exactly_once_at_any_limit,
    small_pages_over_more_than_two_thousand_records,
);

/// Follows `links.next` from `first` to the end; returns every record in order and the page
/// count. Checks every page's envelope against the spec.
async fn walk(crm: &CrmApp, first: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut url = format!("{}{first}", crm.app.base_url);
    let mut records = Vec::new();
    let mut pages = 0;
    loop {
        let page = crm.get_url(&url).await.expect(200);
        pages += 1;
        let data = page.data().as_array().expect("data").clone();
        assert!(data.len() <= limit);
        assert_eq!(page.body["meta"]["items_on_page"], data.len());
        if pages <= 2 {
            assert_schema("GetContactsResponse", &page.body);
        }
        records.extend(data);
        match page.body["links"]["next"].as_str() {
            Some(next) => {
                assert!(page.body["meta"]["cursors"]["next"].is_string());
                // a full page precedes every next link
                assert_eq!(page.body["meta"]["items_on_page"], limit);
                url = next.to_owned();
            }
            None => {
                assert!(page.body["meta"]["cursors"]["next"].is_null());
                break;
            }
        }
        assert!(pages < 100_000, "paging does not end");
    }
    (records, pages)
}

fn assert_each_once(records: &[Value], expected: &HashSet<String>, what: &str) {
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{what}: a record came twice");
    let missing = expected
        .iter()
        .filter(|id| !unique.contains(id.as_str()))
        .count();
    assert_eq!(missing, 0, "{what}: {missing} records never came");
    assert_eq!(ids.len(), expected.len(), "{what}: unexpected records");
}

/// Sort key as both providers order text: case-insensitive.
fn key(r: &Value, field: &str) -> Option<String> {
    r[field].as_str().map(str::to_lowercase)
}

/// Whether `keys` are in `asc`ending (or descending) order, with nulls where the provider puts
/// them: Salesforce first ascending and last descending, HubSpot last either way.
fn in_order(keys: &[Option<String>], asc: bool, provider: Provider) -> bool {
    let nulls_last = provider.nulls_last_both_ways();
    keys.windows(2).all(|w| match (&w[0], &w[1]) {
        (Some(a), Some(b)) => {
            if asc {
                a <= b
            } else {
                a >= b
            }
        }
        (None, None) => true,
        (None, Some(_)) => asc && !nulls_last,
        (Some(_), None) => nulls_last || !asc,
    })
}

async fn ten_thousand_contacts_each_exactly_once_at_any_limit(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 0).await else {
        return;
    };
    // Few distinct last names, a third without first name: many ties and nulls for the keyset.
    let seeded = crm.seed_contacts(
        10_000,
        &["Smith", "smith", "Jones", "O'Brien", "Ng", "Ångström"],
    );
    let expected: HashSet<String> = seeded.into_iter().collect();
    assert_eq!(expected.len(), 10_000);

    // Default order (Id) at the maximum page size and at an odd one.
    for limit in [200, 173] {
        let (records, pages) = walk(&crm, &format!("/crm/contacts?limit={limit}"), limit).await;
        assert_each_once(&records, &expected, &format!("limit {limit}"));
        assert_eq!(pages, 10_000usize.div_ceil(limit));
    }

    // Sorted by a text field with ties, both directions, with another filter-free query.
    let (records, _) = walk(
        &crm,
        "/crm/contacts?limit=199&sort[by]=last_name&sort[direction]=desc",
        199,
    )
    .await;
    assert_each_once(&records, &expected, "last_name desc");
    let keys: Vec<Option<String>> = records.iter().map(|r| key(r, "last_name")).collect();
    assert!(
        in_order(&keys, false, provider),
        "not in last_name desc order"
    );

    let (records, _) = walk(
        &crm,
        "/crm/contacts?limit=157&sort[by]=first_name&sort[direction]=asc&fields=id,first_name",
        157,
    )
    .await;
    assert_each_once(&records, &expected, "first_name asc (nulls)");
    let keys: Vec<Option<String>> = records.iter().map(|r| key(r, "first_name")).collect();
    assert!(
        in_order(&keys, true, provider),
        "not in first_name asc order"
    );
    if provider.nulls_last_both_ways() {
        assert!(keys.last().is_some_and(Option::is_none), "nulls come last");
    } else {
        assert!(
            keys.first().is_some_and(Option::is_none),
            "nulls come first"
        );
    }
    assert!(records[0].as_object().is_some_and(|o| o.len() <= 2));
}

async fn small_pages_over_more_than_two_thousand_records(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 0).await else {
        return;
    };
    let seeded = crm.seed_contacts(2_500, &["Alpha", "Beta", "Gamma"]);
    let expected: HashSet<String> = seeded.into_iter().collect();
    // Small pages make many round trips; rows past 2,000 are where Salesforce's OFFSET paging
    // breaks.
    let (records, pages) = walk(&crm, "/crm/contacts?limit=37", 37).await;
    assert_each_once(&records, &expected, "limit 37");
    assert_eq!(pages, 2_500usize.div_ceil(37));
    let (records, _) = walk(
        &crm,
        "/crm/contacts?limit=113&sort[by]=created_at&sort[direction]=desc",
        113,
    )
    .await;
    assert_each_once(&records, &expected, "created_at desc");
    let keys: Vec<Option<String>> = records.iter().map(|r| key(r, "created_at")).collect();
    assert!(
        in_order(&keys, false, provider),
        "not in created_at desc order"
    );
    assert!(
        keys.first() != keys.last(),
        "the seed spreads creation times"
    );
    let (records, _) = walk(
        &crm,
        "/crm/contacts?limit=71&sort[by]=updated_at&sort[direction]=asc",
        71,
    )
    .await;
    assert_each_once(&records, &expected, "updated_at asc");
    let keys: Vec<Option<String>> = records.iter().map(|r| key(r, "updated_at")).collect();
    assert!(
        in_order(&keys, true, provider),
        "not in updated_at asc order"
    );
    // A filter keeps its cursor bound to the filtered query.
    let (records, _) = walk(&crm, "/crm/contacts?limit=50&filter[last_name]=Beta", 50).await;
    // `seed_contacts` names contact i after `last_names[i % 3]`: Beta is every i with i % 3 == 1.
    let betas = (0..2_500).filter(|i| i % 3 == 1).count();
    assert_eq!(records.len(), betas);
    assert!(records.iter().all(|r| r["last_name"] == "Beta"));
}
