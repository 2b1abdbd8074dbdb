//! Custom fields and custom mappings (issue 11): the org's custom fields from describe; a
//! mapping per application with a per-consumer override; CRM reads carry `custom_mappings`
//! and writes pass them through to the mapped Salesforce field.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::crm_support::{CONSUMER, crm_app_on};
use crate::helpers::{Db, assert_error_envelope, json_with};

crate::server_backend_tests!(custom_mappings_round_trip_through_contacts);

const TARGET: &str = "/vault/custom-mappings/crm/salesforce/crm+contacts+tier";

async fn custom_mappings_round_trip_through_contacts(db: Db) {
    let Some(crm) = crm_app_on(db, 10).await else {
        return;
    };
    let app = &crm.app;

    // The org's custom fields, from describe.
    let r = app
        .consumer_api(
            Method::GET,
            "/vault/connections/crm/salesforce/contacts/custom-fields",
            CONSUMER,
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"Tier__c"), "{v}");
    assert_eq!(v["data"][0]["finder"], format!("$.{}", ids[0]));

    // The application maps custom_mappings.tier to Tier__c (no consumer header).
    let r = app
        .api(Method::POST, TARGET)
        .json(&json!({ "value": "$.Tier__c" }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["id"], "crm+contacts+tier");
    assert_eq!(v["data"]["value"], "Tier__c");
    assert!(v["data"]["consumer_id"].is_null());
    for bad in [
        json!({ "value": "a.b.c" }),
        json!({ "value": "X", "other": 1 }),
    ] {
        let r = app
            .api(Method::POST, TARGET)
            .json(&bad)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // A write passes custom_mappings through to Tier__c; the read carries it back.
    let c = crm
        .post(
            "/crm/contacts",
            json!({"first_name": "Map", "last_name": "Ping", "custom_mappings": {"tier": "Gold"}}),
        )
        .await
        .expect(201);
    let id = c.data()["id"].as_str().expect("id").to_owned();
    let got = crm.get(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_eq!(
        got.data()["custom_mappings"],
        json!({"tier": "Gold"}),
        "{:#}",
        got.body
    );
    let listed = crm
        .get("/crm/contacts?filter[last_name]=Ping&limit=5")
        .await
        .expect(200);
    assert_eq!(
        listed.data()[0]["custom_mappings"]["tier"],
        "Gold",
        "{:#}",
        listed.body
    );
    let u = crm
        .patch(
            &format!("/crm/contacts/{id}"),
            json!({"custom_mappings": {"tier": "Silver", "unknown_key": "x"}}),
        )
        .await
        .expect(200);
    assert!(
        u.header("x-patchbay-ignored-fields")
            .is_some_and(|h| h.contains("custom_mappings.unknown_key")),
        "{:?}",
        u.headers
    );
    let got = crm.get(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_eq!(got.data()["custom_mappings"]["tier"], "Silver");
    // The same value as a custom field: the mapping wrote the real field.
    let tier = got.data()["custom_fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["id"] == "Tier__c")
        .map(|f| f["value"].clone());
    assert_eq!(tier, Some(json!("Silver")));

    // The consumer overrides the key with a standard field; other consumers keep the
    // application's mapping.
    let r = app
        .consumer_api(Method::PATCH, TARGET, CONSUMER)
        .json(&json!({ "value": "Title" }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["consumer_id"], CONSUMER);
    let r = app
        .consumer_api(
            Method::GET,
            "/vault/connections/crm/salesforce/contacts/custom-mappings",
            CONSUMER,
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["data"][0]["value"], "Title");
    let r = app.api(Method::GET, TARGET).send().await.expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"]["value"],
        "Tier__c"
    );
    crm.patch(
        &format!("/crm/contacts/{id}"),
        json!({"custom_mappings": {"tier": "Chief Mapper"}}),
    )
    .await
    .expect(200);
    let got = crm.get(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_eq!(got.data()["title"], "Chief Mapper");
    assert_eq!(got.data()["custom_mappings"]["tier"], "Chief Mapper");

    // Deleting the override brings the application's mapping back; deleting twice is a 404.
    let r = app
        .consumer_api(Method::DELETE, TARGET, CONSUMER)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .consumer_api(Method::DELETE, TARGET, CONSUMER)
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::NOT_FOUND).await,
        404,
        "EntityNotFoundError",
    );
    let got = crm.get(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_eq!(got.data()["custom_mappings"]["tier"], "Silver");
    let r = app
        .api(Method::GET, "/vault/custom-mappings/crm/salesforce")
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"][0]["id"],
        "crm+contacts+tier"
    );
}
