//! The unified CRM API against each provider's seeded emulator, written once and run for
//! Salesforce and HubSpot on both backends: every resource and operation, list parameters,
//! envelopes checked against crm.yml, error mapping, rate-limit headers, the one-refresh retry
//! on a refused token, and request logging. Where a provider truly cannot do something the
//! test asserts the spec's unsupported error for it, and says why.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::crm_support::{CONSUMER, CrmApp, Provider, assert_schema, crm_app, crm_app_on};
use crate::helpers::{Db, assert_error_envelope};

crate::crm_provider_tests!(
    contacts_list_get_create_update_delete,
    every_resource_and_operation,
    activities_of_each_type,
    filters_sorts_fields_pass_through_and_raw,
    errors_map_to_the_spec_types,
    a_dead_grant_is_a_credentials_error,
    invalid_token_refreshes_once_and_retries,
    downstream_rate_limit_headers,
    crm_calls_are_in_the_request_log,
    downstream_failures_and_raw_on_writes,
    a_second_refusal_after_the_refresh_is_a_credentials_error,
    concurrent_calls_on_a_revoked_token_share_one_refresh,
);

crate::server_backend_tests!(salesforce_gotchas_are_handled_before_or_by_salesforce);

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
    assert_eq!(body["service"], crm.service());
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
    assert_eq!(a.body["service"], crm.service());
    assert_eq!(a.body["operation"], "one");
    assert_eq!(a.data()["id"], id);
    assert!(a.body.get("_raw").is_none());
    a.body["data"].clone()
}

/// A custom field each provider's emulator defines on contacts, and a value it accepts:
/// Salesforce's `Tier__c`, a HubSpot account's own `preferred_language` (docs/hubspot.md §7a).
fn custom_field(provider: Provider) -> (&'static str, &'static str) {
    match provider {
        Provider::Salesforce => ("Tier__c", "Gold"),
        Provider::HubSpot => ("preferred_language", "fr"),
    }
}

fn tier(provider: Provider, record: &Value) -> Option<Value> {
    let (id, _) = custom_field(provider);
    record["custom_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["id"] == id)
        .map(|f| f["value"].clone())
}

async fn contacts_list_get_create_update_delete(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 200).await else {
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
                "custom_fields": [{"id": custom_field(provider).0, "value": custom_field(provider).1}],
            }),
        )
        .await
        .expect(201);
    assert_schema("CreateContactResponse", &created.body);
    assert_eq!(created.body["operation"], "add");
    assert_eq!(created.body["status"], "Created");
    assert_eq!(created.body["service"], crm.service());
    let id = created.data()["id"].as_str().expect("id").to_owned();
    provider.assert_native_id("contacts", None, &id);
    let ignored = created
        .header("x-patchbay-ignored-fields")
        .unwrap_or_default()
        .to_owned();
    assert!(ignored.is_empty(), "{ignored}");

    let got = one_checked(&crm, "contacts", &id).await;
    assert_eq!(got["first_name"], "Ada");
    assert_eq!(got["last_name"], "Lovelace");
    assert_eq!(got["title"], "Analyst");
    assert_eq!(got["emails"][0]["email"], "ada@example.com");
    assert_eq!(got["addresses"][0]["city"], "London");
    assert!(
        got["phone_numbers"]
            .as_array()
            .expect("phones")
            .iter()
            .any(|p| p["number"] == "+44 20 1234")
    );
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
    let value = json!(custom_field(provider).1);
    assert_eq!(tier(provider, &got), Some(value.clone()), "{got}");
    // lists select the object's custom fields too (from a cached describe: Salesforce's
    // describe, HubSpot's properties API)
    assert_eq!(tier(provider, &mine), Some(value), "{mine}");

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
    assert!(
        got["phone_numbers"]
            .as_array()
            .expect("phones")
            .iter()
            .any(|p| p["number"] == "777"),
        "{got}"
    );

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
            json!({"title": "Ops"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["operation"], "update");
    assert_eq!(one_checked(&crm, "contacts", &other).await["title"], "Ops");
}

/// Create, read, update and delete one record of `resource`, checking every envelope.
async fn crud(crm: &CrmApp, resource: &str, create: Value, update: Value) -> String {
    let created = crm
        .post(&format!("/crm/{resource}"), create.clone())
        .await
        .expect(201);
    assert_schema(
        &format!("Create{}Response", singular(resource)),
        &created.body,
    );
    let id = created.data()["id"].as_str().expect("id").to_owned();
    crm.provider
        .assert_native_id(resource, create["type"].as_str(), &id);
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

async fn every_resource_and_operation(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 300).await else {
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
        json!({"title": "Big deal", "close_date": "2025-01-31", "pipeline_stage_id": provider.open_stage(),
               "monetary_amount": 1000, "company_id": company}),
        json!({"title": "Bigger deal"}),
    )
    .await;
    let got = one_checked(&crm, "opportunities", &opportunity).await;
    assert_eq!(got["company_id"], company.as_str(), "{got}");
    assert_eq!(got["monetary_amount"].as_f64(), Some(1000.0), "{got}");
    let event = crud(
        &crm,
        "activities",
        json!({"type": "meeting", "title": "Kickoff", "activity_datetime": "2024-05-01T12:00:00Z",
               "duration_seconds": 1800, "company_id": company}),
        json!({"title": "Kickoff (moved)"}),
    )
    .await;
    let task = crud(
        &crm,
        "activities",
        json!({"type": "task", "title": "Follow up", "lead_id": lead}),
        json!({"title": "Follow up today"}),
    )
    .await;
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

    // users: list and get everywhere; Salesforce's API does not delete users
    let users = list_checked(&crm, "users", "?limit=5").await;
    let user = ids(&users)[0].clone();
    one_checked(&crm, "users", &user).await;
    match provider {
        Provider::Salesforce => {
            let d = crm.delete(&format!("/crm/users/{user}")).await.expect(501);
            assert_error_envelope(&d.body, 501, "ConnectorOperationUnsupportedError");
            users_are_written_on_salesforce(&crm, &user).await;
        }
        Provider::HubSpot => {
            // HubSpot writes users through its settings API, with a scope that is not among
            // the defaults (docs/hubspot.md §15 "Users"): without it, each write is a clear
            // 403 naming the scope (crm_hubspot.rs writes users with it).
            for r in [
                crm.delete(&format!("/crm/users/{user}")).await,
                crm.patch(&format!("/crm/users/{user}"), json!({"first_name": "Admin"}))
                    .await,
                crm.post(
                    "/crm/users",
                    json!({"emails": [{"email": "new.user@example.com"}], "username": "new.user@example.com",
                           "first_name": "New", "last_name": "User"}),
                )
                .await,
            ] {
                assert_eq!(r.status.as_u16(), 403, "{}", r.body);
                assert_error_envelope(&r.body, 403, "ConnectorExecutionError");
                assert!(
                    r.body["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("settings.users.write")),
                    "{}",
                    r.body
                );
            }
            // Nothing was written: the user is still there, unchanged.
            assert_eq!(one_checked(&crm, "users", &user).await["id"], user.as_str());
        }
    }

    // pipelines: the opportunity stages, read-only in Salesforce (HubSpot's writes are tested
    // in crm_hubspot.rs)
    let pipelines = list_checked(&crm, "pipelines", "").await;
    match provider {
        // Salesforce has one set of opportunity stages.
        Provider::Salesforce => assert_eq!(ids(&pipelines), ["default"]),
        Provider::HubSpot => assert!(ids(&pipelines).contains(&"default".to_owned())),
    }
    let pipeline = one_checked(&crm, "pipelines", "default").await;
    let stages = pipeline["stages"].as_array().expect("stages");
    assert!(
        stages
            .iter()
            .any(|s| s["id"] == provider.open_stage() && s["name"] == provider.open_stage_name()),
        "{pipeline}"
    );
    let r = crm.get("/crm/pipelines/other").await.expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    if provider == Provider::Salesforce {
        for r in [
            crm.post("/crm/pipelines", json!({"name": "x"})).await,
            crm.patch("/crm/pipelines/default", json!({"name": "x"}))
                .await,
            crm.delete("/crm/pipelines/default").await,
        ] {
            assert_error_envelope(&r.body, 501, "ConnectorOperationUnsupportedError");
        }
    }

    // every seeded resource lists and reads back with valid shapes
    for resource in [
        "contacts",
        "companies",
        "leads",
        "opportunities",
        "notes",
        "users",
        "pipelines",
    ] {
        let list = list_checked(&crm, resource, "?limit=4").await;
        assert!(!ids(&list).is_empty(), "{resource} is not seeded");
        for id in ids(&list).iter().take(2) {
            one_checked(&crm, resource, id).await;
        }
    }
}

/// Salesforce users can be updated and created (not deleted: above).
async fn users_are_written_on_salesforce(crm: &CrmApp, user: &str) {
    let u = crm
        .patch(&format!("/crm/users/{user}"), json!({"title": "Admin"}))
        .await
        .expect(200);
    assert_schema("UpdateUserResponse", &u.body);
    assert_eq!(one_checked(crm, "users", user).await["title"], "Admin");
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
    let raw = crm
        .proxy_get(&format!("/services/data/v66.0/sobjects/User/{derived}"))
        .await;
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
    let new_user = one_checked(crm, "users", c.data()["id"].as_str().expect("id")).await;
    assert_eq!(new_user["emails"][0]["email"], "new.user@example.com");
    assert_eq!(new_user["last_name"], "User");
}

/// `filter[type]` picks the activity object in both CRMs: every type lists only its own
/// records, each reads back, and the types that can be created are created (emails too:
/// Salesforce's are Tasks of the Email subtype, HubSpot's its `emails` object). The unfiltered
/// list is another helper's test (HubSpot merges three objects there).
async fn activities_of_each_type(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 300).await else {
        return;
    };
    for kind in ["call", "meeting", "task", "email"] {
        let created = crm
            .post(
                "/crm/activities",
                json!({"type": kind, "title": format!("A {kind}"),
                       "activity_datetime": "2024-05-01T12:00:00Z", "duration_seconds": 600}),
            )
            .await
            .expect(201);
        let id = created.data()["id"].as_str().expect("id").to_owned();
        provider.assert_native_id("activities", Some(kind), &id);
        let got = one_checked(&crm, "activities", &id).await;
        assert_eq!(got["title"], format!("A {kind}"), "{got}");
        assert_eq!(got["type"], kind, "{got}");

        let list = list_checked(
            &crm,
            "activities",
            &format!("?filter[type]={kind}&limit=50"),
        )
        .await;
        let found = ids(&list);
        assert!(!found.is_empty(), "no {kind}");
        // Known gap (reported): Salesforce's `filter[type]=task` lists the Task object, whose
        // records also carry the email and call subtypes; everywhere else a type lists itself.
        let only_its_type = !(provider == Provider::Salesforce && kind == "task");
        for record in list["data"].as_array().expect("data") {
            provider.assert_native_id("activities", Some(kind), record["id"].as_str().expect("id"));
            if only_its_type {
                assert_eq!(record["type"], kind, "filter[type]={kind}: {record}");
            }
        }
        for id in found.iter().take(3) {
            let got = one_checked(&crm, "activities", id).await;
            if only_its_type {
                assert_eq!(got["type"], kind);
            }
        }
        crm.delete(&format!("/crm/activities/{id}"))
            .await
            .expect(200);
    }
}

async fn filters_sorts_fields_pass_through_and_raw(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 300).await else {
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
    let company = records
        .iter()
        .find_map(|r| r["company_id"].as_str())
        .expect("a contact with a company");
    // Salesforce's AccountId; HubSpot's `associations.company` search filter, with the link
    // read back for the search's page by one batch association read.
    let q = format!("?filter[company_id]={company}&limit=200");
    let found = list_checked(&crm, "contacts", &q).await;
    assert!(!ids(&found).is_empty());
    assert!(
        found["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|r| r["company_id"] == company),
        "{found}"
    );
    // filter[updated_since] in the future: nothing
    let none = list_checked(
        &crm,
        "contacts",
        "?filter[updated_since]=2999-01-01T00:00:00Z",
    )
    .await;
    assert!(ids(&none).is_empty());
    // injection attempts are literals: no match, no error, no widened query
    let text_filter = "name";
    for payload in [
        "x' OR Name != '",
        "\\' OR Id != null OR Name = '",
        "%' OR '1'='1",
        "ʼ OR 1=1 --",
    ] {
        let q = format!(
            "?filter[{text_filter}]={}",
            crate::helpers::urlencode(payload)
        );
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
    let r = crm.get("/crm/opportunities?sort[by]=status").await;
    match provider {
        // A Salesforce opportunity's status is derived from its stage's flags, which SOQL
        // cannot order by as the spec's status.
        Provider::Salesforce => {
            assert_eq!(r.status.as_u16(), 400, "{}", r.body);
            assert_error_envelope(&r.body, 400, "UnsupportedSortFieldError");
        }
        // HubSpot's status is the deal stage, a property it sorts by.
        Provider::HubSpot => {
            assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        }
    }

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
    let (raw_list, raw_id) = match provider {
        Provider::Salesforce => ("records", "Id"),
        Provider::HubSpot => ("results", "id"),
    };
    let raw = crm.get("/crm/contacts?limit=2&raw=true").await.expect(200);
    assert_schema("GetContactsResponse", &raw.body);
    assert!(raw.body["_raw"][raw_list].is_array(), "{}", raw.body);
    let raw_one = crm
        .send(
            crm.request(Method::GET, &format!("/crm/contacts/{id}"))
                .header("x-apideck-raw", "true"),
        )
        .await
        .expect(200);
    assert_eq!(raw_one.body["_raw"][raw_id], id.as_str());
    assert!(
        crm.get("/crm/contacts?limit=2")
            .await
            .body
            .get("_raw")
            .is_none()
    );

    // pass_through: forwarded verbatim as the provider's query parameters, on lists and gets
    if provider == Provider::Salesforce {
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
    }
    for path in [
        "/crm/companies?limit=1&pass_through[marker]=seen".to_owned(),
        format!("/crm/contacts/{id}?pass_through[marker]=seen"),
    ] {
        crm.clear_downstream_log();
        crm.get(&path).await.expect(200);
        let logged = crm.downstream_log();
        assert!(
            logged.iter().any(|e| e.api
                && e.query
                    .as_deref()
                    .is_some_and(|q| q.contains("marker=seen"))),
            "{path}: {logged:?}"
        );
    }
    // a key the connector sets itself cannot be replaced
    let (key, value) = match provider {
        Provider::Salesforce => ("q", "SELECT+Id+FROM+User"),
        Provider::HubSpot => ("properties", "email"),
    };
    let r = crm
        .get(&format!("/crm/contacts?pass_through[{key}]={value}"))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
}

async fn errors_map_to_the_spec_types(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 100).await else {
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
        .send(
            crm.request(Method::POST, "/crm/contacts")
                .body("{nope")
                .header("content-type", "application/json"),
        )
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    if provider == Provider::Salesforce {
        // A Salesforce lead needs a last name and a company; a HubSpot lead (a contact in the
        // `lead` stage) needs no property at all.
        let r = crm
            .post("/crm/leads", json!({"last_name": "No name"}))
            .await
            .expect(400);
        assert_error_envelope(&r.body, 400, "RequestValidationError");
    }

    // The provider's validation errors: ConnectorExecutionError with downstream_errors
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
    if provider == Provider::Salesforce {
        // Salesforce caps LastName at 80 characters; HubSpot's text properties take 65,536.
        let long = "x".repeat(300);
        let r = crm
            .post("/crm/contacts", json!({"last_name": long}))
            .await
            .expect(400);
        assert_error_envelope(&r.body, 400, "ConnectorExecutionError");
        assert!(r.body["downstream_errors"][0]["code"].is_string());
    }

    // unknown ids
    let r = crm
        .get(&format!(
            "/crm/contacts/{}",
            provider.unknown_id("contacts")
        ))
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm.get("/crm/contacts/not-an-id").await.expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    for resource in [
        "companies",
        "leads",
        "opportunities",
        "activities",
        "notes",
        "users",
    ] {
        let r = crm
            .get(&format!(
                "/crm/{resource}/{}",
                provider.unknown_id(resource)
            ))
            .await
            .expect(404);
        assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    }
    let r = crm
        .patch(
            &format!("/crm/leads/{}", provider.unknown_id("leads")),
            json!({"title": "x"}),
        )
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm
        .delete(&format!(
            "/crm/companies/{}",
            provider.unknown_id("companies")
        ))
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");
    let r = crm.get("/crm/lists").await.expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");

    // rate limits: the provider's own limit, then a 429 it answers
    crm.get("/crm/contacts?limit=1").await.expect(200);
    crm.allow_calls(1);
    crm.get("/crm/contacts?limit=1").await.expect(200);
    let r = crm.get("/crm/contacts?limit=1").await.expect(429);
    assert_error_envelope(&r.body, 429, "ConnectorRateLimitError");
    crm.lift_limit();
    crm.fault(json!({"kind": "rate_limit", "retry_after_secs": 3, "count": 1}));
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
                .header("x-apideck-service-id", provider.other_service()),
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
        crm.request(
            Method::PATCH,
            &format!("/vault/connections/crm/{}", crm.service()),
        )
        .json(&json!({"enabled": false})),
    )
    .await
    .expect(200);
    let r = crm
        .send(
            crm.request(Method::GET, "/crm/contacts")
                .header("x-apideck-service-id", crm.service()),
        )
        .await
        .expect(401);
    assert_error_envelope(&r.body, 401, "ConnectorCredentialsError");
}

async fn a_dead_grant_is_a_credentials_error(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    // The grant ends at the provider, so the access token dies with it and the one refresh
    // fails.
    let refresh = crm.kill_grant().await;
    let r = crm.get("/crm/contacts?limit=1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_error_envelope(&r.body, 401, "ConnectorCredentialsError");
    assert_eq!(r.body["detail"]["type"], "refresh_token_connector_error");
    let text = r.body.to_string();
    assert!(!text.contains(&refresh), "the error leaks the token");
}

async fn invalid_token_refreshes_once_and_retries(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    crm.revoke_access_tokens().await;
    crm.clear_downstream_log();

    let r = crm.get("/crm/contacts?limit=3").await.expect(200);
    assert_eq!(r.data().as_array().map(Vec::len), Some(3));

    let log = crm.downstream_log();
    assert_eq!(crm.refresh_count(), 1, "{log:?}");
    let api: Vec<Option<u16>> = log.iter().filter(|e| e.api).map(|e| e.status).collect();
    assert_eq!(api.first(), Some(&Some(401)), "{log:?}");
    assert_eq!(api.last(), Some(&Some(200)), "{log:?}");
    assert_eq!(
        api.iter().filter(|s| **s == Some(401)).count(),
        1,
        "exactly one retry: {log:?}"
    );

    // and the new token keeps working without another refresh
    crm.clear_downstream_log();
    crm.get("/crm/companies?limit=1").await.expect(200);
    assert_eq!(crm.refresh_count(), 0);
}

async fn downstream_rate_limit_headers(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    let limit = crm.set_budget();
    let r = crm.get("/crm/contacts?limit=1").await.expect(200);
    assert_eq!(
        r.header("x-downstream-ratelimit-limit"),
        Some(limit.to_string().as_str())
    );
    let remaining: u64 = r
        .header("x-downstream-ratelimit-remaining")
        .and_then(|v| v.parse().ok())
        .expect("remaining");
    let used = crm.budget_used();
    assert!(used > 0);
    assert_eq!(remaining, limit - used);
    if provider == Provider::Salesforce {
        // the 17 calls `set_budget` counted before this one
        assert!(remaining < limit - 17);
    }
    // on errors too
    let r = crm
        .get(&format!(
            "/crm/contacts/{}",
            provider.unknown_id("contacts")
        ))
        .await
        .expect(404);
    assert_eq!(
        r.header("x-downstream-ratelimit-limit"),
        Some(limit.to_string().as_str())
    );
    // and none when the provider was never called
    let r = crm.get("/crm/contacts?limit=0").await.expect(400);
    assert_eq!(r.header("x-downstream-ratelimit-limit"), None);
}

async fn crm_calls_are_in_the_request_log(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1&filter[email]=secret%40x.example")
        .await
        .expect(200);
    crm.get(&format!(
        "/crm/contacts/{}",
        provider.unknown_id("contacts")
    ))
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
    assert_eq!(all["service"]["id"], crm.service());
    assert_eq!(all["status_code"], 200);
    assert_eq!(all["path"], "/crm/contacts");
    assert_eq!(all["http_method"], "GET");
    let one = crm_logs
        .iter()
        .find(|l| l["operation"]["id"] == "contactsOne")
        .expect("contactsOne");
    assert_eq!(one["service"]["id"], crm.service());
    assert_eq!(one["status_code"], 404);
    assert_eq!(one["success"], false);
    assert!(
        !serde_json::to_string(&logs)
            .unwrap_or_default()
            .contains("secret")
    );
}

async fn downstream_failures_and_raw_on_writes(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);

    // An outage is a ConnectorExecutionError with a 5xx status, never a bare 500.
    crm.fault(json!({"kind": "status", "status": 503}));
    let r = crm.get("/crm/contacts?limit=1").await;
    assert_eq!(r.status.as_u16(), 502, "{}", r.body);
    assert_error_envelope(&r.body, 502, "ConnectorExecutionError");
    match provider {
        Provider::Salesforce => {
            crm.fault(json!({"kind": "connection_reset"}));
        }
        // The HubSpot emulator cannot reset a connection; its 500 is the other outage shape.
        Provider::HubSpot => crm.fault(json!({"kind": "status", "status": 500})),
    }
    let r = crm.get("/crm/companies?limit=1").await;
    assert_eq!(r.status.as_u16(), 502, "{}", r.body);
    assert_error_envelope(&r.body, 502, "ConnectorExecutionError");
    crm.get("/crm/contacts?limit=1").await.expect(200);

    // raw=true on writes: the provider's answers as they came
    let created = crm
        .post("/crm/companies?raw=true", json!({"name": "Raw Corp"}))
        .await
        .expect(201);
    assert_schema("CreateCompanyResponse", &created.body);
    let id = created.data()["id"].as_str().expect("id").to_owned();
    assert_eq!(created.body["_raw"]["id"], id.as_str());
    let updated = crm
        .patch(
            &format!("/crm/companies/{id}?raw=true"),
            json!({"name": "Raw Corp 2"}),
        )
        .await
        .expect(200);
    assert_schema("UpdateCompanyResponse", &updated.body);
    match provider {
        Provider::Salesforce => {
            assert_eq!(created.body["_raw"]["success"], true);
            // Salesforce answers updates with an empty 204: null
            assert!(updated.body.get("_raw").is_some_and(Value::is_null));
        }
        Provider::HubSpot => {
            // HubSpot answers an update with the record
            assert_eq!(updated.body["_raw"]["id"], id.as_str(), "{}", updated.body);
            assert_eq!(updated.body["_raw"]["properties"]["name"], "Raw Corp 2");
        }
    }
    let deleted = crm
        .delete(&format!("/crm/companies/{id}?raw=true"))
        .await
        .expect(200);
    // both answer a delete with an empty 204
    assert!(deleted.body.get("_raw").is_some_and(Value::is_null));
    // a second delete of the same record: the provider says it is gone, we say not found
    let r = crm
        .delete(&format!("/crm/companies/{id}"))
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");

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

async fn a_second_refusal_after_the_refresh_is_a_credentials_error(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    crm.clear_downstream_log();
    // The provider refuses the token twice: before and after the one refresh.
    crm.fault(json!({"kind": "status", "status": 401, "count": 2}));
    let r = crm.get("/crm/contacts?limit=1").await.expect(401);
    assert_error_envelope(&r.body, 401, "ConnectorCredentialsError");
    let log = crm.downstream_log();
    let api = log.iter().filter(|e| e.api).count();
    assert_eq!(
        (crm.refresh_count(), api),
        (1, 2),
        "one refresh, one retry: {log:?}"
    );
    // the connection itself is fine: the next call succeeds
    crm.get("/crm/contacts?limit=1").await.expect(200);
}

async fn concurrent_calls_on_a_revoked_token_share_one_refresh(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 20).await else {
        return;
    };
    crm.get("/crm/contacts?limit=1").await.expect(200);
    crm.revoke_access_tokens().await;
    crm.clear_downstream_log();
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
    assert_eq!(crm.refresh_count(), 1);
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

/// Salesforce's own rules (Event timing, an opportunity's close date and stage, a note's one
/// parent), checked before any call.
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
    crm.clear_downstream_log();
    crm.post("/crm/leads", json!({"title": "no name"}))
        .await
        .expect(400);
    let log = crm.downstream_log();
    assert!(log.iter().all(|e| !e.api), "{log:?}");
}
