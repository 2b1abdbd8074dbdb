use serde_json::json;

use super::*;
use crate::seed::{SeedUser, seed};

const USER: SeedUser<'static> = SeedUser {
    email: "admin@emulator.test",
    first_name: "Admin",
    last_name: "User",
};

fn request(body: serde_json::Value) -> SearchRequest {
    serde_json::from_value(body).expect("request parses")
}

fn ids(page: &SearchPage<'_>) -> Vec<u64> {
    page.records.iter().map(|r| r.id).collect()
}

#[test]
fn filter_groups_are_ored_and_filters_anded() {
    let account = seed(3, 500, &USER);
    let req = request(json!({"filterGroups": [
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"},
                     {"propertyName": "country", "operator": "EQ", "value": "ireland"}]},
        {"filters": [{"propertyName": "jobtitle", "operator": "EQ", "value": "CEO"}]}],
        "limit": 200}));
    let page = search(&account, ObjectType::Contacts, &req).expect("search");
    let expected: Vec<u64> = account
        .all(ObjectType::Contacts)
        .filter(|r| {
            let p = |n: &str| r.properties.get(n).map(String::as_str);
            (p("lifecyclestage") == Some("customer") && p("country") == Some("Ireland"))
                || p("jobtitle") == Some("CEO")
        })
        .map(|r| r.id)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(page.total, expected.len());
    assert_eq!(ids(&page), expected[..expected.len().min(200)].to_vec());
}

#[test]
fn numbers_and_dates_compare_by_value_and_sorts_apply() {
    let account = seed(4, 300, &USER);
    let req = request(json!({
        "filterGroups": [{"filters": [
            {"propertyName": "amount", "operator": "BETWEEN", "value": "1000", "highValue": 50000},
            {"propertyName": "closedate", "operator": "GTE", "value": "2024-06-01"}]}],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}], "limit": 200}));
    let page = search(&account, ObjectType::Deals, &req).expect("search");
    assert!(page.total > 0);
    let amounts: Vec<f64> = page
        .records
        .iter()
        .map(|r| r.properties["amount"].parse::<f64>().expect("number"))
        .collect();
    assert!(amounts.iter().all(|a| (1000.0..=50000.0).contains(a)));
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");
    let june = crate::time::parse_ms("2024-06-01").expect("date");
    assert!(
        page.records
            .iter()
            .all(|r| { crate::time::parse_ms(&r.properties["closedate"]).expect("date") >= june })
    );
}

#[test]
fn tokens_presence_and_lists() {
    let account = seed(5, 200, &USER);
    let first = account.all(ObjectType::Contacts).next().expect("contact");
    let email = first.properties["email"].clone();
    let local = email.split('@').next().expect("local part").to_owned();
    let by_token = request(json!({"filterGroups": [{"filters": [
        {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": format!("{local}*")}]}]}));
    let page = search(&account, ObjectType::Contacts, &by_token).expect("search");
    assert!(ids(&page).contains(&first.id));
    let missing = request(json!({"filterGroups": [{"filters": [
        {"propertyName": "mobilephone", "operator": "NOT_HAS_PROPERTY"}]}]}));
    assert_eq!(
        search(&account, ObjectType::Contacts, &missing)
            .expect("search")
            .total,
        80
    );
    let listed = request(json!({"filterGroups": [{"filters": [
        {"propertyName": "hs_object_id", "operator": "IN", "values": [first.id.to_string(), "1"]}]}]}));
    assert_eq!(
        ids(&search(&account, ObjectType::Contacts, &listed).expect("search")),
        vec![first.id]
    );
}

#[test]
fn paging_stops_at_the_ceiling_with_an_error() {
    let account = seed(6, 25_200, &USER);
    assert!(account.count(ObjectType::Contacts) > RESULT_CEILING);
    let last = request(json!({"limit": 200, "after": "9800"}));
    let page = search(&account, ObjectType::Contacts, &last).expect("search");
    assert_eq!(page.records.len(), 200);
    assert_eq!(page.next_after.as_deref(), Some("10000"));
    assert!(page.total > RESULT_CEILING);
    let beyond = request(json!({"limit": 10, "after": "10000"}));
    match search(&account, ObjectType::Contacts, &beyond) {
        Err(DataError::Validation { message, .. }) => {
            assert!(message.contains("10000"), "{message}")
        }
        other => panic!(
            "expected the ceiling error, got {:?}",
            other.map(|p| p.total)
        ),
    }
}

#[test]
fn bad_requests_are_validation_errors() {
    let account = seed(7, 50, &USER);
    for body in [
        json!({"limit": 201}),
        json!({"limit": 0}),
        json!({"after": "x"}),
        json!({"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]}),
        json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "1"}]}]}),
        json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ"}]}]}),
        json!({"sorts": [{"propertyName": "email", "direction": "UP"}]}),
        json!({"sorts": ["email", "firstname"]}),
    ] {
        let req = request(body.clone());
        assert!(
            matches!(
                search(&account, ObjectType::Contacts, &req),
                Err(DataError::Validation { .. })
            ),
            "{body}"
        );
    }
}
