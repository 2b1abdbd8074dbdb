//! The unified CRM API against a seeded emulator: every resource and operation, list
//! parameters, envelopes checked against crm.yml, error mapping, rate-limit headers, the
//! one-refresh retry on `INVALID_SESSION_ID`, and request logging.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::crm_support::{CONSUMER, CrmApp, assert_schema, crm_app_on};
use crate::helpers::{Db, assert_error_envelope};

crate::server_backend_tests!(
    contacts_list_get_create_update_delete,
    every_resource_and_operation,
    filters_sorts_fields_pass_through_and_raw,
    errors_map_to_the_spec_types,
    a_dead_grant_is_a_credentials_error,
    invalid_session_refreshes_once_and_retries,
    downstream_rate_limit_headers,
    crm_calls_are_in_the_request_log,
    downstream_failures_and_raw_on_writes,
    a_second_refusal_after_the_refresh_is_a_credentials_error,
    concurrent_calls_on_a_revoked_token_share_one_refresh,
    salesforce_gotchas_are_handled_before_or_by_salesforce,
);

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

fn singular(resource: &str) -> &'static str {
    match resource {
        "contacts" => "Contact",
        "companies" => "Company",
        "leads" => "Lead",
        "opportunities" => "Opportunity",
        "activities" => "Activity",
        "notes" => "Note",
        "users" => "User",
        "pipelines" => "Pipeline",
        other => panic!("{other}"),
    }
}

fn plural(resource: &str) -> &'static str {
    match resource {
        "contacts" => "Contacts",
        "companies" => "Companies",
        "leads" => "Leads",
        "opportunities" => "Opportunities",
        "activities" => "Activities",
        "notes" => "Notes",
        "users" => "Users",
        "pipelines" => "Pipelines",
        other => panic!("{other}"),
    }
}

/// Lists a resource, checks the list envelope and every record against the spec, and returns
/// the body.
async fn list_checked(crm: &CrmApp, resource: &str, query: &str) -> Value {
    let a = crm
        .get(&format!("/crm/{resource}{query}"))
        .await
        .expect(200);
    let body = a.body;
    assert_schema(&format!("Get{}Response", plural(resource)), &body);
    assert_eq!(body["service"], "salesforce");
    assert_eq!(body["resource"], resource);
    assert_eq!(body["operation"], "all");
    assert_eq!(body["status"], "OK");
    for record in body["data"].as_array().expect("array") {
        assert_schema(singular(resource), record);
    }
    assert_eq!(
        body["meta"]["items_on_page"],
        body["data"].as_array().map(Vec::len).unwrap_or_default()
    );
    let current = body["links"]["current"].as_str().expect("links.current");
    assert!(
        current.starts_with(&format!("{}/crm/{resource}", crm.app.base_url)),
        "{current}"
    );
    body
}

async fn one_checked(crm: &CrmApp, resource: &str, id: &str) -> Value {
    let a = crm.get(&format!("/crm/{resource}/{id}")).await.expect(200);
    assert_schema(&format!("Get{}Response", singular(resource)), &a.body);
    assert_schema(singular(resource), a.data());
    assert_eq!(a.body["operation"], "one");
    assert_eq!(a.data()["id"], id);
    assert!(a.body.get("_raw").is_none());
    a.body["data"].clone()
}

async fn contacts_list_get_create_update_delete(db: Db) {
    let Some(crm) = crm_app_on(db, 200).await else {
        return;
    };
    let list = list_checked(&crm, "contacts", "?limit=5").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(5));
    assert!(list["meta"]["cursors"]["next"].is_string());
    assert!(
        list["links"]["next"]
            .as_str()
            .is_some_and(|l| l.contains("limit=5&cursor="))
    );

    let created = crm
        .post(
            "/crm/contacts",
            json!({
                "first_name": "Ada", "last_name": "Lovelace", "title": "Analyst",
                "emails": [{"email": "ada@example.com", "type": "primary"}],
                "phone_numbers": [{"number": "+44 20 1234", "type": "mobile"}],
                "addresses": [{"type": "primary", "city": "London", "country": "GB"}],
                "custom_fields": [{"id": "Tier__c", "value": "Gold"}],
            }),
        )
        .await
        .expect(201);
    assert_schema("CreateContactResponse", &created.body);
    assert_eq!(created.body["operation"], "add");
    assert_eq!(created.body["status"], "Created");
    let id = created.data()["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("003"), "{id}");

    let got = one_checked(&crm, "contacts", &id).await;
    assert_eq!(got["first_name"], "Ada");
    assert_eq!(got["last_name"], "Lovelace");
    assert_eq!(got["emails"][0]["email"], "ada@example.com");
    assert_eq!(got["addresses"][0]["city"], "London");
    let tier = |record: &Value| {
        record["custom_fields"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["id"] == "Tier__c")
            .map(|f| f["value"].clone())
    };
    assert_eq!(tier(&got), Some(json!("Gold")), "{got}");
    // lists select the object's custom fields too (from a cached describe)
    let listed = crm
        .get("/crm/contacts?filter[last_name]=Lovelace&limit=5")
        .await
        .expect(200);
    let mine = listed
        .data()
        .as_array()
        .expect("data")
        .iter()
        .find(|r| r["id"] == id.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(tier(&mine), Some(json!("Gold")), "{mine}");
    assert!(
        got["phone_numbers"]
            .as_array()
            .expect("phones")
            .iter()
            .any(|p| p["number"] == "+44 20 1234")
    );

    let updated = crm
        .patch(
            &format!("/crm/contacts/{id}"),
            json!({"title": "Countess", "phone_numbers": [{"number": "777", "type": "primary"}]}),
        )
        .await
        .expect(200);
    assert_schema("UpdateContactResponse", &updated.body);
    assert_eq!(updated.body["data"], json!({"id": id}));
    assert_eq!(updated.body["operation"], "update");
    let got = one_checked(&crm, "contacts", &id).await;
    assert_eq!(got["title"], "Countess");
    assert_eq!(got["first_name"], "Ada", "PATCH keeps absent fields");

    let deleted = crm.delete(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_schema("DeleteContactResponse", &deleted.body);
    assert_eq!(deleted.body["operation"], "delete");
    assert_eq!(deleted.body["data"], json!({"id": id}));
    let gone = crm.get(&format!("/crm/contacts/{id}")).await.expect(404);
    assert_error_envelope(&gone.body, 404, "EntityNotFoundError");

    // `_method` override, as Apideck allows for clients without PATCH
    let other = ids(&list)[0].clone();
    let r = crm
        .post(
            &format!("/crm/contacts/{other}?_method=PATCH"),
            json!({"department": "Ops"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["operation"], "update");
}

/// Create, read, update and delete one record of `resource`, checking every envelope.
async fn crud(crm: &CrmApp, resource: &str, create: Value, update: Value) -> String {
    let created = crm
        .post(&format!("/crm/{resource}"), create)
        .await
        .expect(201);
    assert_schema(
        &format!("Create{}Response", singular(resource)),
        &created.body,
    );
    let id = created.data()["id"].as_str().expect("id").to_owned();
    let before = one_checked(crm, resource, &id).await;
    let updated = crm
        .patch(&format!("/crm/{resource}/{id}"), update.clone())
        .await
        .expect(200);
    assert_schema(
        &format!("Update{}Response", singular(resource)),
        &updated.body,
    );
    let after = one_checked(crm, resource, &id).await;
    for (k, v) in update.as_object().expect("object") {
        assert_eq!(
            &after[k], v,
            "{resource}.{k} after update (before: {})",
            before[k]
        );
    }
    let listed = list_checked(crm, resource, "?limit=3").await;
    assert!(listed["data"].as_array().is_some_and(|d| !d.is_empty()));
    id
}

async fn every_resource_and_operation(db: Db) {
    let Some(crm) = crm_app_on(db, 300).await else {
        return;
    };

    let company = crud(
        &crm,
        "companies",
        json!({"name": "Acme Test Corp", "websites": [{"url": "https://acme.example"}],
               "addresses": [{"type": "billing", "city": "Ghent"}], "number_of_employees": "12"}),
        json!({"description": "Anvils and rockets"}),
    )
    .await;
    let lead = crud(
        &crm,
        "leads",
        json!({"name": "Grace Hopper", "company_name": "Navy", "emails": [{"email": "grace@navy.example"}]}),
        json!({"title": "Rear Admiral"}),
    )
    .await;
    let opportunity = crud(
        &crm,
        "opportunities",
        json!({"title": "Big deal", "close_date": "2025-01-31", "pipeline_stage_id": "Prospecting",
               "monetary_amount": 1000, "company_id": company}),
        json!({"title": "Bigger deal"}),
    )
    .await;
    let event = crud(
        &crm,
        "activities",
        json!({"type": "meeting", "title": "Kickoff", "activity_datetime": "2024-05-01T12:00:00Z",
               "duration_seconds": 1800, "company_id": company}),
        json!({"title": "Kickoff (moved)"}),
    )
    .await;
    assert!(event.starts_with("00U"), "meetings are Events: {event}");
    let task = crud(
        &crm,
        "activities",
        json!({"type": "task", "title": "Follow up", "lead_id": lead}),
        json!({"title": "Follow up today"}),
    )
    .await;
    assert!(task.starts_with("00T"), "tasks are Tasks: {task}");
    let note = crud(
        &crm,
        "notes",
        json!({"title": "Minutes", "content": "We met.", "opportunity_id": opportunity}),
        json!({"content": "We met twice."}),
    )
    .await;
    let got = one_checked(&crm, "notes", &note).await;
    assert_eq!(got["opportunity_id"], opportunity.as_str());

    // deletes of everything created above
    for (resource, id) in [
        ("notes", &note),
        ("activities", &task),
        ("activities", &event),
        ("opportunities", &opportunity),
        ("leads", &lead),
        ("companies", &company),
    ] {
        let d = crm
            .delete(&format!("/crm/{resource}/{id}"))
            .await
            .expect(200);
        assert_schema(&format!("Delete{}Response", singular(resource)), &d.body);
        crm.get(&format!("/crm/{resource}/{id}")).await.expect(404);
    }

    // users: list, get, update; Salesforce cannot delete users
    let users = list_checked(&crm, "users", "?limit=5").await;
    let user = ids(&users)[0].clone();
    one_checked(&crm, "users", &user).await;
    let u = crm
        .patch(&format!("/crm/users/{user}"), json!({"title": "Admin"}))
        .await
        .expect(200);
    assert_schema("UpdateUserResponse", &u.body);
    assert_eq!(one_checked(&crm, "users", &user).await["title"], "Admin");
    let d = crm.delete(&format!("/crm/users/{user}")).await.expect(501);
    assert_error_envelope(&d.body, 501, "ConnectorOperationUnsupportedError");
    let c = crm
        .post(
            "/crm/users",
            json!({"emails": [{"email": "new.user@example.com"}], "username": "new.user@example.com",
                   "first_name": "New", "last_name": "User"}),
        )
        .await;
    // Salesforce needs `Alias`, which the unified User cannot carry: derived as Salesforce's
    // New User page does ("nuser")...
    let c = c.expect(201);
    let derived = c.data()["id"].as_str().expect("id").to_owned();
    let raw: Value = crm
        .app
        .consumer_api(Method::GET, "/proxy", CONSUMER)
        .header("x-apideck-service-id", "salesforce")
        .header(
            "x-apideck-downstream-url",
            format!("/services/data/v66.0/sobjects/User/{derived}"),
        )
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(raw["Alias"], "nuser", "{raw:#}");
    // ...unless the body's pass_through supplies it, as Apideck's extend_object does.
    let c = crm
        .post(
            "/crm/users",
            json!({"emails": [{"email": "new.user@example.com"}], "username": "other.user@example.com",
                   "first_name": "New", "last_name": "User",
                   "pass_through": [{"service_id": "salesforce", "extend_object": {"Alias": "nu2"}}]}),
        )
        .await
        .expect(201);
    assert_schema("CreateUserResponse", &c.body);
    let new_user = one_checked(&crm, "users", c.data()["id"].as_str().expect("id")).await;
    assert_eq!(new_user["emails"][0]["email"], "new.user@example.com");
    assert_eq!(new_user["last_name"], "User");

    // pipelines: the one pipeline of opportunity stages, read-only
    let pipelines = list_checked(&crm, "pipelines", "").await;
    assert_eq!(ids(&pipelines), ["default"]);
    let pipeline = one_checked(&crm, "pipelines", "default").await;
    let stages = pipeline["stages"].as_array().expect("stages");
    assert!(
        stages.iter().any(|s| s["name"] == "Prospecting"),
        "{pipeline}"
    );
    crm.get("/crm/pipelines/other").await.expect(404);
    for r in [
        crm.post("/crm/pipelines", json!({"name": "x"})).await,
        crm.patch("/crm/pipelines/default", json!({"name": "x"}))
            .await,
        crm.delete("/crm/pipelines/default").await,
    ] {
        assert_error_envelope(&r.body, 501, "ConnectorOperationUnsupportedError");
    }

    // every seeded resource lists and reads back with valid shapes
    for resource in [
        "contacts",
        "companies",
        "leads",
        "opportunities",
        "activities",
        "notes",
    ] {
        let list = list_checked(&crm, resource, "?limit=4").await;
        for id in ids(&list).iter().take(2) {
            one_checked(&crm, resource, id).await;
        }
    }
    let tasks = list_checked(&crm, "activities", "?filter[type]=task&limit=4").await;
    for id in ids(&tasks) {
        assert!(id.starts_with("00T"), "{id}");
        one_checked(&crm, "activities", &id).await;
    }
}

async fn filters_sorts_fields_pass_through_and_raw(db: Db) {
    let Some(crm) = crm_app_on(db, 300).await else {
        return;
    };
    let all = list_checked(&crm, "contacts", "?limit=200").await;
    let records = all["data"].as_array().expect("data").clone();
    let with_email = records
        .iter()
        .find(|r| r["emails"][0]["email"].is_string())
        .expect("a contact with an email");
    let email = with_email["emails"][0]["email"].as_str().expect("email");

    // filter[email]
    let q = format!("?filter[email]={}", crate::helpers::urlencode(email));
    let found = list_checked(&crm, "contacts", &q).await;
    assert!(!ids(&found).is_empty());
    for r in found["data"].as_array().expect("data") {
        assert_eq!(r["emails"][0]["email"], email);
    }
    // filter[company_id]
    if let Some(company) = records.iter().find_map(|r| r["company_id"].as_str()) {
        let found = list_checked(
            &crm,
            "contacts",
            &format!("?filter[company_id]={company}&limit=200"),
        )
        .await;
        assert!(!ids(&found).is_empty());
        assert!(
            found["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|r| r["company_id"] == company)
        );
    }
    // filter[updated_since] in the future: nothing
    let none = list_checked(
        &crm,
        "contacts",
        "?filter[updated_since]=2999-01-01T00:00:00Z",
    )
    .await;
    assert!(ids(&none).is_empty());
    // injection attempts are literals: no match, no error, no widened query
    for payload in [
        "x' OR Name != '",
        "\\' OR Id != null OR Name = '",
        "%' OR '1'='1",
        "ʼ OR 1=1 --",
    ] {
        let q = format!("?filter[name]={}", crate::helpers::urlencode(payload));
        let r = list_checked(&crm, "contacts", &q).await;
        assert!(ids(&r).is_empty(), "{payload} matched {r}");
    }

    // sort[by]=last_name desc
    let sorted = list_checked(
        &crm,
        "contacts",
        "?sort[by]=last_name&sort[direction]=desc&limit=50",
    )
    .await;
    let names: Vec<String> = sorted["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| r["last_name"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let mut expected = names.clone();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, expected);

    // unsupported filters and sorts
    let r = crm.get("/crm/contacts?filter[title]=x").await.expect(400);
    assert_error_envelope(&r.body, 400, "UnsupportedFiltersError");
    let r = crm.get("/crm/contacts?sort[by]=status").await.expect(400);
    assert_error_envelope(&r.body, 400, "UnsupportedSortFieldError");
    let r = crm
        .get("/crm/opportunities?sort[by]=status")
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "UnsupportedSortFieldError");

    // fields: sparse, with dot notation
    let sparse = crm
        .get("/crm/contacts?limit=3&fields=id,last_name,emails.email")
        .await
        .expect(200);
    for r in sparse.data().as_array().expect("data") {
        let keys: Vec<&String> = r.as_object().expect("object").keys().collect();
        assert!(
            keys.iter()
                .all(|k| ["id", "last_name", "emails"].contains(&k.as_str())),
            "{r}"
        );
        for e in r["emails"].as_array().into_iter().flatten() {
            assert!(
                e.as_object()
                    .is_some_and(|o| o.keys().all(|k| k == "email")),
                "{e}"
            );
        }
    }
    let id = ids(&all)[0].clone();
    let one = crm
        .get(&format!("/crm/contacts/{id}?fields=id,first_name"))
        .await
        .expect(200);
    assert!(
        one.data()
            .as_object()
            .is_some_and(|o| o.keys().all(|k| k == "id" || k == "first_name"))
    );

    // raw=true adds the downstream payload; the header form works too
    let raw = crm.get("/crm/contacts?limit=2&raw=true").await.expect(200);
    assert_schema("GetContactsResponse", &raw.body);
    assert!(raw.body["_raw"]["records"].is_array(), "{}", raw.body);
    let raw_one = crm
        .send(
            crm.request(Method::GET, &format!("/crm/contacts/{id}"))
                .header("x-apideck-raw", "true"),
        )
        .await
        .expect(200);
    assert_eq!(raw_one.body["_raw"]["Id"], id.as_str());
    assert!(
        crm.get("/crm/contacts?limit=2")
            .await
            .body
            .get("_raw")
            .is_none()
    );

    // pass_through: forwarded verbatim as Salesforce query parameters
    let pt = crm
        .get(&format!(
            "/crm/contacts/{id}?raw=true&pass_through[fields]=Id,LastName"
        ))
        .await
        .expect(200);
    let raw_keys: Vec<&String> = pt.body["_raw"].as_object().expect("raw").keys().collect();
    assert!(
        raw_keys
            .iter()
            .all(|k| ["attributes", "Id", "LastName"].contains(&k.as_str())),
        "{raw_keys:?}"
    );
    let emu = crm.app.emulator.emulator();
    emu.clear_requests();
    crm.get("/crm/companies?limit=1&pass_through[marker]=seen")
        .await
        .expect(200);
    let logged = emu.requests();
    assert!(
        logged.iter().any(|e| e.path.ends_with("/query")
            && e.query
                .as_deref()
                .is_some_and(|q| q.contains("marker=seen"))),
        "{logged:?}"
    );
    let r = crm
        .get("/crm/contacts?pass_through[q]=SELECT+Id+FROM+User")
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
}

async fn errors_map_to_the_spec_types(db: Db) {
    let Some(crm) = crm_app_on(db, 100).await else {
        return;
    };

    // cursors: corrupt, from another resource, from another query
    let r = crm
        .get("/crm/contacts?cursor=v1.garbage.x")
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "InvalidCursorError");
    let page = crm.get("/crm/companies?limit=2").await.expect(200);
    let cursor = page.body["meta"]["cursors"]["next"]
        .as_str()
        .expect("next")
        .to_owned();
    let r = crm
        .get(&format!("/crm/contacts?cursor={cursor}"))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "InvalidCursorError");
    let r = crm
        .get(&format!("/crm/companies?cursor={cursor}&filter[name]=x"))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "InvalidCursorError");
    let mut tampered = cursor.clone();
    tampered.insert(5, 'A');
    let r = crm
        .get(&format!("/crm/companies?cursor={tampered}"))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "InvalidCursorError");

    // request validation
    for q in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "raw=maybe",
        "filter[updated_since]=yesterday",
    ] {
        let r = crm.get(&format!("/crm/contacts?{q}")).await.expect(400);
        assert_error_envelope(&r.body, 400, "RequestValidationError");
    }
    let r = crm
        .post("/crm/leads", json!({"last_name": "No name"}))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    let r = crm
        .send(
            crm.request(Method::POST, "/crm/contacts")
                .body("{nope")
                .header("content-type", "application/json"),
        )
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");

    // Salesforce validation errors: ConnectorExecutionError with downstream_errors
    let r = crm
        .post(
            "/crm/opportunities",
            json!({"title": "Deal", "close_date": "2025-01-31", "pipeline_stage_id": "No Such Stage"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_error_envelope(&r.body, 400, "ConnectorExecutionError");
    let downstream = r.body["downstream_errors"]
        .as_array()
        .expect("downstream_errors");
    assert!(!downstream.is_empty());
    assert!(
        downstream[0]["code"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(downstream[0]["message"].is_string());
    let long = "x".repeat(300);
    let r = crm
        .post("/crm/contacts", json!({"last_name": long}))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "ConnectorExecutionError");
    assert!(r.body["downstream_errors"][0]["code"].is_string());

    // unknown ids
    let r = crm
        .get("/crm/contacts/003000000000000AAA")
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm.get("/crm/contacts/not-an-id").await.expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm
        .patch("/crm/leads/00Q000000000000AAA", json!({"title": "x"}))
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm
        .delete("/crm/companies/001000000000000AAA")
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm.get("/crm/lists").await.expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");

    // rate limits: the org's daily limit, then a 429 from Salesforce
    let emu = crm.app.emulator.emulator();
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let usage = emu.api_usage();
    emu.set_api_limit(Some(usage.used + 1), None);
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let r = crm.get("/crm/contacts?limit=1").await.expect(429);
    assert_error_envelope(&r.body, 429, "ConnectorRateLimitError");
    emu.set_api_limit(Some(100_000), None);
    let rule: patchbay_fake_salesforce::control::faults::FaultRule = serde_json::from_value(
        json!({"target": "rest", "kind": "rate_limit", "retry_after_secs": 3, "count": 1}),
    )
    .expect("fault rule");
    emu.add_fault(rule);
    let r = crm.get("/crm/contacts?limit=1").await.expect(429);
    assert_error_envelope(&r.body, 429, "ConnectorRateLimitError");
    crm.get("/crm/contacts?limit=1").await.expect(200);

    // authentication and headers
    let r = crm
        .send(
            crm.app
                .client
                .get(format!("{}/crm/contacts", crm.app.base_url)),
        )
        .await
        .expect(401);
    assert_error_envelope(&r.body, 401, "UnauthorizedError");
    let r = crm
        .send(crm.app.api(Method::GET, "/crm/contacts"))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    let vault_only = crm
        .app
        .key_with(&[patchbay_server::service::Scope::Vault])
        .await;
    let r = crm
        .send(
            crm.app
                .client
                .get(format!("{}/crm/contacts", crm.app.base_url))
                .bearer_auth(vault_only)
                .header("x-apideck-app-id", crm.app.app_id.as_str())
                .header("x-apideck-consumer-id", CONSUMER),
        )
        .await
        .expect(403);
    assert_error_envelope(&r.body, 403, "ForbiddenError");
    let r = crm
        .send(
            crm.app
                .consumer_api(Method::GET, "/crm/contacts", "nobody-connected"),
        )
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "ConnectionNotFoundError");
    let r = crm
        .send(
            crm.request(Method::GET, "/crm/contacts")
                .header("x-apideck-service-id", "hubspot"),
        )
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "ConnectionNotFoundError");
    let r = crm
        .send(
            crm.request(Method::GET, "/crm/contacts")
                .header("x-apideck-service-id", "bad id!"),
        )
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");

    // a connection that is not callable
    crm.send(
        crm.request(Method::PATCH, "/vault/connections/crm/salesforce")
            .json(&json!({"enabled": false})),
    )
    .await
    .expect(200);
    let r = crm
        .send(
            crm.request(Method::GET, "/crm/contacts")
                .header("x-apideck-service-id", "salesforce"),
        )
        .await
        .expect(401);
    assert_error_envelope(&r.body, 401, "ConnectorCredentialsError");
}

async fn a_dead_grant_is_a_credentials_error(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    // Revoking the refresh token takes its grant, so the access token dies with it and the
    // one refresh fails.
    let emu = crm.app.emulator.emulator();
    let tokens = crm.all_tokens().await;
    let refresh = tokens
        .iter()
        .find(|t| t["kind"].as_str().is_some_and(|k| k.starts_with("refresh")))
        .and_then(|t| t["value"].as_str())
        .expect("refresh token")
        .to_owned();
    assert!(emu.revoke_token(&refresh));
    let r = crm.get("/crm/contacts?limit=1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_error_envelope(&r.body, 401, "ConnectorCredentialsError");
    assert_eq!(r.body["detail"]["type"], "refresh_token_connector_error");
    let text = r.body.to_string();
    assert!(!text.contains(&refresh), "the error leaks the token");
}

async fn invalid_session_refreshes_once_and_retries(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let emu = crm.app.emulator.emulator();
    let active = crm.active_access_tokens().await;
    assert!(!active.is_empty());
    for token in &active {
        emu.revoke_token(token);
    }
    emu.clear_requests();

    let r = crm.get("/crm/contacts?limit=3").await.expect(200);
    assert_eq!(r.data().as_array().map(Vec::len), Some(3));

    let log = emu.requests();
    let refreshes = log
        .iter()
        .filter(|e| e.grant_type.as_deref() == Some("refresh_token"))
        .count();
    assert_eq!(refreshes, 1, "{log:?}");
    let rest: Vec<Option<u16>> = log
        .iter()
        .filter(|e| e.path.starts_with("/services/data/"))
        .map(|e| e.status)
        .collect();
    assert_eq!(rest.first(), Some(&Some(401)), "{log:?}");
    assert_eq!(rest.last(), Some(&Some(200)), "{log:?}");
    assert_eq!(
        rest.iter().filter(|s| **s == Some(401)).count(),
        1,
        "exactly one retry: {log:?}"
    );

    // and the new token keeps working without another refresh
    emu.clear_requests();
    crm.get("/crm/companies?limit=1").await.expect(200);
    assert!(
        emu.requests()
            .iter()
            .all(|e| e.grant_type.as_deref() != Some("refresh_token"))
    );
}

async fn downstream_rate_limit_headers(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    let emu = crm.app.emulator.emulator();
    emu.set_api_limit(Some(15_000), Some(17));
    let r = crm.get("/crm/contacts?limit=1").await.expect(200);
    assert_eq!(r.header("x-downstream-ratelimit-limit"), Some("15000"));
    let remaining: u64 = r
        .header("x-downstream-ratelimit-remaining")
        .and_then(|v| v.parse().ok())
        .expect("remaining");
    let used = emu.api_usage().used;
    assert_eq!(remaining, 15_000 - used);
    assert!(remaining < 15_000 - 17);
    // on errors too
    let r = crm
        .get("/crm/contacts/003000000000000AAA")
        .await
        .expect(404);
    assert_eq!(r.header("x-downstream-ratelimit-limit"), Some("15000"));
    // and none when Salesforce was never called
    let r = crm.get("/crm/contacts?limit=0").await.expect(400);
    assert_eq!(r.header("x-downstream-ratelimit-limit"), None);
}

async fn crm_calls_are_in_the_request_log(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1&filter[email]=secret%40x.example")
        .await
        .expect(200);
    crm.get("/crm/contacts/003000000000000AAA")
        .await
        .expect(404);
    // Entries are queued before the response leaves; flushing makes them visible.
    crm.app.vault.flush_request_logs().await;
    let r = crm.get("/vault/logs?limit=50").await.expect(200);
    let logs = r.data().as_array().cloned().unwrap_or_default();
    let crm_logs: Vec<&Value> = logs.iter().filter(|l| l["unified_api"] == "crm").collect();
    assert_eq!(crm_logs.len(), 2, "{logs:#?}");
    let all = crm_logs
        .iter()
        .find(|l| l["operation"]["id"] == "contactsAll")
        .expect("contactsAll");
    assert_eq!(all["service"]["id"], "salesforce");
    assert_eq!(all["status_code"], 200);
    assert_eq!(all["path"], "/crm/contacts");
    assert_eq!(all["http_method"], "GET");
    let one = crm_logs
        .iter()
        .find(|l| l["operation"]["id"] == "contactsOne")
        .expect("contactsOne");
    assert_eq!(one["status_code"], 404);
    assert_eq!(one["success"], false);
    assert!(
        !serde_json::to_string(&logs)
            .unwrap_or_default()
            .contains("secret")
    );
}

fn fault(rule: Value) -> patchbay_fake_salesforce::control::faults::FaultRule {
    serde_json::from_value(rule).expect("fault rule")
}

async fn downstream_failures_and_raw_on_writes(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let emu = crm.app.emulator.emulator();

    // A Salesforce outage is a ConnectorExecutionError with a 5xx status, never a bare 500.
    emu.add_fault(fault(
        json!({"target": "rest", "kind": "status", "status": 503}),
    ));
    let r = crm.get("/crm/contacts?limit=1").await;
    assert_eq!(r.status.as_u16(), 502, "{}", r.body);
    assert_error_envelope(&r.body, 502, "ConnectorExecutionError");
    emu.add_fault(fault(json!({"target": "rest", "kind": "connection_reset"})));
    let r = crm.get("/crm/companies?limit=1").await;
    assert_eq!(r.status.as_u16(), 502, "{}", r.body);
    assert_error_envelope(&r.body, 502, "ConnectorExecutionError");
    crm.get("/crm/contacts?limit=1").await.expect(200);

    // raw=true on writes: the create answer, then Salesforce's empty 204s as null
    let created = crm
        .post("/crm/companies?raw=true", json!({"name": "Raw Corp"}))
        .await
        .expect(201);
    assert_schema("CreateCompanyResponse", &created.body);
    let id = created.data()["id"].as_str().expect("id").to_owned();
    assert_eq!(created.body["_raw"]["id"], id.as_str());
    assert_eq!(created.body["_raw"]["success"], true);
    let updated = crm
        .patch(
            &format!("/crm/companies/{id}?raw=true"),
            json!({"name": "Raw Corp 2"}),
        )
        .await
        .expect(200);
    assert_schema("UpdateCompanyResponse", &updated.body);
    assert!(updated.body.get("_raw").is_some_and(Value::is_null));
    let deleted = crm
        .delete(&format!("/crm/companies/{id}?raw=true"))
        .await
        .expect(200);
    assert!(deleted.body.get("_raw").is_some_and(Value::is_null));
    // a second delete of the same record: Salesforce says it is deleted, we say not found
    crm.delete(&format!("/crm/companies/{id}"))
        .await
        .expect(404);

    // bodies that are not objects, and fields the spec does not know
    let r = crm.post("/crm/companies", json!(["x"])).await.expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    let r = crm
        .send(
            crm.request(Method::POST, "/crm/companies")
                .header("content-type", "text/plain")
                .body("name=x"),
        )
        .await
        .expect(415);
    assert_error_envelope(&r.body, 415, "RequestValidationError");
    let r = crm.send(crm.request(Method::PUT, "/crm/companies/x")).await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.body);
}

async fn a_second_refusal_after_the_refresh_is_a_credentials_error(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let emu = crm.app.emulator.emulator();
    emu.clear_requests();
    // Salesforce refuses the token twice: before and after the one refresh.
    emu.add_fault(fault(
        json!({"target": "rest", "kind": "status", "status": 401, "count": 2}),
    ));
    let r = crm.get("/crm/contacts?limit=1").await.expect(401);
    assert_error_envelope(&r.body, 401, "ConnectorCredentialsError");
    let log = emu.requests();
    let refreshes = log
        .iter()
        .filter(|e| e.grant_type.as_deref() == Some("refresh_token"))
        .count();
    let rest = log
        .iter()
        .filter(|e| e.path.starts_with("/services/data/"))
        .count();
    assert_eq!((refreshes, rest), (1, 2), "one refresh, one retry: {log:?}");
    // the connection itself is fine: the next call succeeds
    crm.get("/crm/contacts?limit=1").await.expect(200);
}

async fn concurrent_calls_on_a_revoked_token_share_one_refresh(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let emu = crm.app.emulator.emulator();
    for token in crm.active_access_tokens().await {
        emu.revoke_token(&token);
    }
    emu.clear_requests();
    let calls = (0..20).map(|i| {
        let path = if i % 2 == 0 {
            "/crm/contacts?limit=2"
        } else {
            "/crm/companies?limit=2"
        };
        crm.get(path)
    });
    for answer in futures_join_all(calls).await {
        answer.expect(200);
    }
    let refreshes = emu
        .requests()
        .iter()
        .filter(|e| e.grant_type.as_deref() == Some("refresh_token"))
        .count();
    assert_eq!(refreshes, 1);
}

/// `join_all` without the futures crate: drive every future on this task.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

async fn salesforce_gotchas_are_handled_before_or_by_salesforce(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    // Event timing: a meeting needs a time (or a date when all-day) and a duration
    let r = crm
        .post(
            "/crm/activities",
            json!({"type": "meeting", "title": "No time"}),
        )
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    let all_day = crm
        .post(
            "/crm/activities",
            json!({"type": "meeting", "title": "Offsite", "all_day_event": true, "activity_date": "2024-05-01"}),
        )
        .await
        .expect(201);
    let id = all_day.data()["id"].as_str().expect("id").to_owned();
    let got = one_checked(&crm, "activities", &id).await;
    assert_eq!(got["all_day_event"], true);
    assert_eq!(got["activity_date"], "2024-05-01");
    // an opportunity needs a close date and a stage
    for body in [
        json!({"title": "Deal", "pipeline_stage_id": "Prospecting"}),
        json!({"title": "Deal", "close_date": "2025-01-31"}),
    ] {
        let r = crm.post("/crm/opportunities", body).await.expect(400);
        assert_error_envelope(&r.body, 400, "RequestValidationError");
    }
    // a note has exactly one parent, and needs one
    let r = crm
        .post("/crm/notes", json!({"title": "Orphan", "content": "x"}))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    // a validation failure costs no Salesforce call
    let emu = crm.app.emulator.emulator();
    emu.clear_requests();
    crm.post("/crm/leads", json!({"title": "no name"}))
        .await
        .expect(400);
    assert!(
        emu.requests()
            .iter()
            .all(|e| !e.path.starts_with("/services/data/")),
        "{:?}",
        emu.requests()
    );
}
