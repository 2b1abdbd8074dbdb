//! The CRM API: CRUD on every object, paging, search and its ceiling, associations, owners,
//! pipelines, bad input and faults (`docs/hubspot.md §6–§12`).

use std::collections::BTreeSet;

use patchbay_fake_hubspot::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{assert_error, auto, start};

fn id_of(body: &Value) -> String {
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

#[tokio::test]
async fn associations_on_create_on_reads_and_through_v4() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let (_, company) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/companies",
            &json!({"properties": {"name": "Acme"}}),
        )
        .await;
    let company_id = id_of(&company);
    let (status, contact) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({
            "properties": {"email": "wile@acme.test"},
            "associations": [{"to": {"id": company_id}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279},
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contact}");
    let contact_id = id_of(&contact);
    let (_, read) = emu
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{contact_id}?associations=companies"),
        )
        .await;
    assert_eq!(
        read["associations"]["companies"]["results"][0]["id"],
        company_id.as_str()
    );
    assert_eq!(
        read["associations"]["companies"]["results"][0]["type"],
        "contact_to_company"
    );

    let (status, v4) = emu
        .get(
            &t,
            &format!("/crm/v4/objects/companies/{company_id}/associations/contacts"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v4}");
    assert_eq!(v4["results"][0]["toObjectId"].to_string(), contact_id);
    let types: Vec<i64> = v4["results"][0]["associationTypes"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["typeId"].as_i64().expect("id"))
        .collect();
    assert_eq!(types, vec![2, 280], "the reverse of 1 and 279");

    let (_, deal) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/deals",
            &json!({"properties": {"dealname": "Anvils", "dealstage": "contractsent"}}),
        )
        .await;
    let deal_id = id_of(&deal);
    let (_, note) = emu.send(Method::POST, &t, "/crm/v3/objects/notes", &json!({
        "properties": {"hs_timestamp": "2025-01-01"},
        "associations": [{"to": {"id": deal_id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 214}]}]})).await;
    let note_id = id_of(&note);
    let (status, put) = emu
        .send(
            Method::PUT,
            &t,
            &format!("/crm/v4/objects/deal/{deal_id}/associations/default/contact/{contact_id}"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    let (_, deal_read) = emu
        .get(
            &t,
            &format!("/crm/v3/objects/deals/{deal_id}?associations=contacts,notes"),
        )
        .await;
    assert_eq!(
        deal_read["associations"]["contacts"]["results"][0]["id"],
        contact_id.as_str()
    );
    assert_eq!(
        deal_read["associations"]["notes"]["results"][0]["id"],
        note_id.as_str()
    );

    let response = emu
        .http
        .delete(emu.url(&format!(
            "/crm/v4/objects/deals/{deal_id}/associations/contacts/{contact_id}"
        )))
        .bearer_auth(&t)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, after) = emu
        .get(
            &t,
            &format!("/crm/v4/objects/contacts/{contact_id}/associations/deals"),
        )
        .await;
    assert_eq!(after["results"], json!([]));

    let (status, body) = emu.send(Method::POST, &t, "/crm/v3/objects/contacts", &json!({
        "properties": {}, "associations": [{"to": {"id": "999999"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");
    let (status, _) = emu
        .send(
            Method::PUT,
            &t,
            &format!("/crm/v4/objects/notes/{note_id}/associations/default/calls/1"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn owners_and_deal_pipelines() {
    let emu = start(auto(50)).await;
    let t = emu.install().await.access;
    let (status, owners) = emu.get(&t, "/crm/v3/owners?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(owners["results"].as_array().expect("owners").len(), 2);
    assert_eq!(owners["results"][0]["email"], "admin@emulator.test");
    assert_eq!(owners["paging"]["next"]["after"], "2");
    let owner_id = owners["results"][1]["id"].as_str().expect("id").to_owned();
    let (status, owner) = emu.get(&t, &format!("/crm/v3/owners/{owner_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(owner["type"], "PERSON");
    assert!(owner["userId"].is_number());
    let (_, filtered) = emu
        .get(&t, "/crm/v3/owners?email=ADMIN@emulator.test")
        .await;
    assert_eq!(filtered["results"].as_array().expect("owners").len(), 1);
    let (status, body) = emu.get(&t, "/crm/v3/owners/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "OBJECT_NOT_FOUND");

    let (status, pipelines) = emu.get(&t, "/crm/v3/pipelines/deals").await;
    assert_eq!(status, StatusCode::OK);
    let default = &pipelines["results"][0];
    assert_eq!(default["id"], "default");
    let stages: Vec<&str> = default["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        stages,
        [
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost"
        ]
    );
    assert_eq!(default["stages"][5]["metadata"]["isClosed"], "true");
    let (status, one) = emu.get(&t, "/crm/v3/pipelines/deals/renewals").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["label"], "Renewals");
    // An owner can be assigned; a stranger cannot.
    let (status, _) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/companies",
            &json!({"properties": {"name": "X", "hubspot_owner_id": owner_id}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/companies",
            &json!({"properties": {"name": "Y", "hubspot_owner_id": "12"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("INVALID_OWNER_ID")
    );
}

#[tokio::test]
async fn bad_input_gets_hubspots_error_body_never_a_crash() {
    let emu = start(auto(10)).await;
    let t = emu.install().await.access;
    let raw = |method: Method, path: &str, body: &'static str| {
        emu.http
            .request(method, emu.url(path))
            .bearer_auth(&t)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(Method, &str, &'static str, u16, &str)> = vec![
        (
            Method::POST,
            "/crm/v3/objects/contacts",
            "{not json",
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/contacts",
            "[1,2]",
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/contacts",
            r#"{"properties":{"shoe_size":"9"}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/contacts",
            r#"{"properties":{"hs_object_id":"9"}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/deals",
            r#"{"properties":{"dealname":"no stage"}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/deals",
            r#"{"properties":{"dealname":"x","dealstage":"nope"}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/notes",
            r#"{"properties":{"hs_note_body":"no timestamp"}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/companies",
            r#"{"properties":{"numberofemployees":"many"}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/tickets",
            r#"{"properties":{}}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::PATCH,
            "/crm/v3/objects/contacts/abc",
            r#"{"properties":{}}"#,
            404,
            "OBJECT_NOT_FOUND",
        ),
        (
            Method::PATCH,
            "/crm/v3/objects/contacts/1",
            r#"{}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::GET,
            "/crm/v3/objects/contacts?limit=-1",
            "",
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::GET,
            "/crm/v3/objects/contacts?after=zz",
            "",
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::GET,
            "/crm/v3/objects/contacts?archived=maybe",
            "",
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::GET,
            "/crm/v3/objects/contacts/1?idProperty=nope",
            "",
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::GET,
            "/crm/v3/nothing/here",
            "",
            404,
            "OBJECT_NOT_FOUND",
        ),
        (
            Method::POST,
            "/crm/v3/objects/contacts/search",
            r#"{"filterGroups":[{"filters":[{"propertyName":"email","operator":"SOUNDS_LIKE","value":"x"}]}]}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::POST,
            "/crm/v3/objects/contacts/search",
            r#"{"limit":"ten"}"#,
            400,
            "VALIDATION_ERROR",
        ),
        (
            Method::GET,
            "/crm/v3/pipelines/contacts",
            "",
            400,
            "VALIDATION_ERROR",
        ),
    ];
    for (method, path, body, status, category) in cases {
        let response = raw(method.clone(), path, body).await.expect("call");
        assert_eq!(response.status().as_u16(), status, "{method} {path} {body}");
        assert!(response.headers().contains_key("x-hubspot-correlation-id"));
        let json: Value = response.json().await.expect("json body");
        assert_error(&json, category);
    }
    let (_, first) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "dup@example.com"}}),
        )
        .await;
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "DUP@example.com"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "CONFLICT");
    assert_eq!(
        body["message"],
        format!("Contact already exists. Existing ID: {}", id_of(&first))
    );
    let (_, unknown) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"shoe_size": "9"}}),
        )
        .await;
    assert!(
        unknown["message"]
            .as_str()
            .expect("message")
            .starts_with("Property values were not valid: [")
    );
    assert!(
        unknown["message"]
            .as_str()
            .expect("message")
            .contains("PROPERTY_DOESNT_EXIST")
    );
}

#[tokio::test]
async fn injected_faults_shape_the_next_calls_in_hubspots_shapes() {
    let emu = start(auto(5)).await;
    let tokens = emu.install().await;
    let t = tokens.access.clone();
    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "api", "kind": "status", "status": 503, "count": 2})),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = emu.get(&t, "/crm/v3/objects/contacts").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "error");
    }
    let (status, _) = emu.get(&t, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::OK, "the rule is used up");

    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "api", "kind": "error", "status": 403,
        "category": "MISSING_SCOPES", "message": "nope", "path_contains": "/deals"})),
    )
    .await;
    let (status, _) = emu.get(&t, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::OK, "the path filter skips contacts");
    let (status, body) = emu.get(&t, "/crm/v3/objects/deals").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["category"], "MISSING_SCOPES");

    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "token", "kind": "rate_limit", "grant_type": "refresh_token"})),
    )
    .await;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", emu.config.client_id.as_str()),
        ("client_secret", emu.config.client_secret.as_str()),
        ("refresh_token", tokens.refresh.as_str()),
    ];
    let (status, body) = emu.token(&form).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    let (status, _) = emu.token(&form).await;
    assert_eq!(status, StatusCode::OK);

    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "any", "kind": "latency", "ms": 300})),
    )
    .await;
    let started = std::time::Instant::now();
    let (status, _) = emu.get(&t, "/crm/v3/owners").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let log = emu.control(Method::GET, "/requests", None).await;
    let faults: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["fault"].as_str())
        .collect();
    assert_eq!(
        faults,
        ["status", "status", "error", "rate_limit", "latency"]
    );
}
