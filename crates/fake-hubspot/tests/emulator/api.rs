//! The CRM objects: CRUD on every object, list paging, search and its ceiling
//! (`docs/hubspot.md §7–§9`).

use std::collections::BTreeSet;

use patchbay_fake_hubspot::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{assert_error, auto, start};

pub fn id_of(body: &Value) -> String {
    body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn every_object_supports_create_read_update_archive() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let samples = [
        (
            "contacts",
            json!({"firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com"}),
            ("firstname", "Augusta"),
        ),
        (
            "companies",
            json!({"name": "Analytical Engines", "domain": "engines.test", "numberofemployees": 12}),
            ("name", "Engines Ltd"),
        ),
        (
            "deals",
            json!({"dealname": "Big one", "dealstage": "qualifiedtobuy", "amount": "1500.50", "closedate": "2025-03-01"}),
            ("dealstage", "closedwon"),
        ),
        (
            "notes",
            json!({"hs_timestamp": "2025-01-02T03:04:05Z", "hs_note_body": "Met at the fair"}),
            ("hs_note_body", "Met again"),
        ),
        (
            "calls",
            json!({"hs_timestamp": 1735787045000_i64, "hs_call_title": "Intro", "hs_call_direction": "OUTBOUND", "hs_call_duration": 60000}),
            ("hs_call_title", "Follow-up"),
        ),
        (
            "meetings",
            json!({"hs_timestamp": "2025-01-02", "hs_meeting_title": "Kick-off", "hs_meeting_outcome": "SCHEDULED"}),
            ("hs_meeting_outcome", "COMPLETED"),
        ),
        (
            "tasks",
            json!({"hs_timestamp": "2025-01-02", "hs_task_subject": "Send quote", "hs_task_status": "NOT_STARTED", "hs_task_priority": "HIGH"}),
            ("hs_task_status", "COMPLETED"),
        ),
        (
            "emails",
            json!({"hs_timestamp": "2025-01-02T03:04:05Z", "hs_email_subject": "Quote", "hs_email_text": "Attached.", "hs_email_direction": "EMAIL", "hs_email_status": "SENT"}),
            ("hs_email_subject", "Quote v2"),
        ),
    ];
    for (object, properties, (field, new_value)) in samples {
        let path = format!("/crm/v3/objects/{object}");
        let (status, created) = emu
            .send(Method::POST, &t, &path, &json!({"properties": properties}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{object}: {created}");
        let id = id_of(&created);
        assert_eq!(created["archived"], false);
        assert_eq!(created["properties"]["hs_object_id"], id.as_str());
        assert!(
            created["createdAt"]
                .as_str()
                .is_some_and(|c| c.ends_with('Z'))
        );
        let names: Vec<&str> = properties
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        let (status, read) = emu
            .get(&t, &format!("{path}/{id}?properties={}", names.join(",")))
            .await;
        assert_eq!(status, StatusCode::OK, "{object}: {read}");
        for name in &names {
            assert!(
                read["properties"][name].is_string(),
                "{object}.{name} is a string: {read}"
            );
        }
        let (status, updated) = emu
            .send(
                Method::PATCH,
                &t,
                &format!("{path}/{id}"),
                &json!({"properties": {field: new_value}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{object}: {updated}");
        assert_eq!(updated["properties"][field], new_value);
        let response = emu
            .http
            .delete(emu.url(&format!("{path}/{id}")))
            .bearer_auth(&t)
            .send()
            .await
            .expect("delete");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let (status, body) = emu.get(&t, &format!("{path}/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "OBJECT_NOT_FOUND");
        let (status, body) = emu.get(&t, &format!("{path}/{id}?archived=true")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["archived"], true);
        assert!(body["archivedAt"].is_string());
        // The archived list holds it with the same `archivedAt` (docs/hubspot.md §8); the live
        // list no longer does.
        let (status, page) = emu
            .get(&t, &format!("{path}?archived=true&limit=100"))
            .await;
        assert_eq!(status, StatusCode::OK, "{object}: {page}");
        let listed = page["results"].as_array().expect("results");
        assert!(listed.iter().all(|r| r["archived"] == true), "{page}");
        assert!(
            listed
                .iter()
                .any(|r| r["id"] == id.as_str() && r["archivedAt"] == body["archivedAt"]),
            "{object}: {page}"
        );
        let (_, live) = emu.get(&t, &format!("{path}?limit=100")).await;
        assert!(
            !live["results"]
                .as_array()
                .expect("results")
                .iter()
                .any(|r| r["id"] == id.as_str())
        );
    }
    // Dates come back in ISO form, numbers as strings.
    let (_, deal) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/deals",
            &json!({"properties": {"dealname": "D", "dealstage": "closedlost", "amount": 10}}),
        )
        .await;
    assert_eq!(deal["properties"]["amount"], "10");
    assert_eq!(deal["properties"]["pipeline"], "default");
    let (_, call) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/calls",
            &json!({"properties": {"hs_timestamp": 1735787045000_i64}}),
        )
        .await;
    assert_eq!(
        call["properties"]["hs_timestamp"],
        "2025-01-02T03:04:05.000Z"
    );
    let (_, by_email) = emu
        .get(
            &t,
            "/crm/v3/objects/contacts/ADA@example.com?idProperty=email&archived=true",
        )
        .await;
    assert_eq!(by_email["properties"]["email"], "ada@example.com");
}

#[tokio::test]
async fn list_paging_returns_every_record_exactly_once() {
    let emu = start(auto(300)).await;
    let t = emu.install().await.access;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/crm/v3/objects/contacts?limit=7&after={a}&properties=email"),
            None => "/crm/v3/objects/contacts?limit=7&properties=email".to_owned(),
        };
        let (status, body) = emu.get(&t, &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let results = body["results"].as_array().expect("results");
        assert!(results.len() <= 7);
        seen.extend(results.iter().map(id_of));
        pages += 1;
        match body["paging"]["next"]["after"].as_str() {
            Some(next) => {
                assert!(
                    body["paging"]["next"]["link"]
                        .as_str()
                        .is_some_and(|l| l.contains(next))
                );
                after = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 120, "40% of 300 records are contacts");
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len(),
        seen.len(),
        "no duplicates"
    );
    assert_eq!(pages, 120_usize.div_ceil(7));
    let (_, big) = emu.get(&t, "/crm/v3/objects/contacts?limit=1000").await;
    assert_eq!(
        big["results"].as_array().expect("results").len(),
        100,
        "limit caps at 100"
    );
}

#[tokio::test]
async fn search_filters_sorts_and_stops_at_the_10000_ceiling() {
    let config = EmulatorConfig {
        rate_limit_per_10s: 0,
        search_rate_limit_per_sec: 0,
        ..auto(25_200)
    };
    let emu = start(config).await;
    let t = emu.install().await.access;
    let path = "/crm/v3/objects/contacts/search";
    let (status, body) = emu
        .send(Method::POST, &t, path, &json!({
            "filterGroups": [{"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]}],
            "sorts": [{"propertyName": "email", "direction": "ASCENDING"}],
            "properties": ["email", "lifecyclestage"], "limit": 50}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 50);
    assert!(body["total"].as_u64().is_some_and(|n| n > 50));
    assert!(
        results
            .iter()
            .all(|r| r["properties"]["lifecyclestage"] == "customer")
    );
    let emails: Vec<String> = results
        .iter()
        .map(|r| {
            r["properties"]["email"]
                .as_str()
                .expect("email")
                .to_lowercase()
        })
        .collect();
    assert!(emails.windows(2).all(|w| w[0] <= w[1]));

    let (status, page) = emu
        .send(
            Method::POST,
            &t,
            path,
            &json!({"limit": 200, "after": "9800"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page["total"].as_u64().is_some_and(|n| n > 10_000),
        "{}",
        page["total"]
    );
    assert_eq!(page["paging"]["next"]["after"], "10000");
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            path,
            &json!({"limit": 10, "after": "10000"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");
    // Past the ceiling, a moving lower bound on hs_object_id still reaches every record.
    let (_, last) = emu
        .send(Method::POST, &t, path, &json!({
            "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": "0"}]}],
            "sorts": [{"propertyName": "hs_object_id", "direction": "DESCENDING"}], "limit": 1}))
        .await;
    let max_id: u64 = last["results"][0]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("number");
    let (_, tail) = emu
        .send(Method::POST, &t, path, &json!({
            "filterGroups": [{"filters": [{"propertyName": "hs_object_id", "operator": "GTE", "value": max_id.to_string()}]}]}))
        .await;
    assert_eq!(tail["total"], 1);
}
