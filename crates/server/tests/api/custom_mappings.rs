//! Custom fields and custom mappings (issue 11): the provider's custom fields; a mapping per
//! application with a per-consumer override; CRM reads carry `custom_mappings` and writes pass
//! them through to the mapped provider field. Written once, run for both providers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::crm_support::{CONSUMER, Provider, crm_app};
use crate::helpers::{Db, assert_error_envelope, json_with};

crate::crm_provider_tests!(custom_mappings_round_trip_through_contacts);

/// The provider field the application maps `tier` to, and the standard field a consumer
/// overrides it with (the unified field that shows it, and that field's value path).
struct Fields {
    application: &'static str,
    consumer: &'static str,
}

fn fields(provider: Provider) -> Fields {
    match provider {
        Provider::Salesforce => Fields {
            application: "Tier__c",
            consumer: "Title",
        },
        // The application maps a standard HubSpot property (shown in the unified record as
        // the address's city): the emulator's custom contact property takes only a few
        // language codes, not the tiers written below.
        Provider::HubSpot => Fields {
            application: "city",
            consumer: "jobtitle",
        },
    }
}

async fn custom_mappings_round_trip_through_contacts(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 10).await else {
        return;
    };
    let app = &crm.app;
    let service = crm.service();
    let target = format!("/vault/custom-mappings/crm/{service}/crm+contacts+tier");
    let target = target.as_str();
    let field = fields(provider);

    // The provider's custom fields: Salesforce's from describe, HubSpot's from its properties
    // API (the account's own properties, not HubSpot's).
    let r = app
        .consumer_api(
            Method::GET,
            &format!("/vault/connections/crm/{service}/contacts/custom-fields"),
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
    match provider {
        Provider::Salesforce => {
            assert!(ids.contains(&"Tier__c"), "{v}");
            assert_eq!(v["data"][0]["finder"], format!("$.{}", ids[0]));
        }
        Provider::HubSpot => {
            assert_eq!(ids, ["preferred_language"], "{v}");
            assert_eq!(v["data"][0]["finder"], "$.preferred_language");
        }
    }

    // The application maps custom_mappings.tier to a provider field (no consumer header).
    let r = app
        .api(Method::POST, target)
        .json(&json!({ "value": format!("$.{}", field.application) }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["id"], "crm+contacts+tier");
    assert_eq!(v["data"]["value"], field.application);
    assert!(v["data"]["consumer_id"].is_null());
    for bad in [
        json!({ "value": "a.b.c" }),
        json!({ "value": "X", "other": 1 }),
    ] {
        let r = app
            .api(Method::POST, target)
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
    // The same value in the unified record: the mapping wrote the real field.
    match provider {
        Provider::Salesforce => {
            let tier = got.data()["custom_fields"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| f["id"] == "Tier__c")
                .map(|f| f["value"].clone());
            assert_eq!(tier, Some(json!("Silver")));
        }
        Provider::HubSpot => {
            assert_eq!(
                got.data()["addresses"][0]["city"],
                "Silver",
                "{:#}",
                got.body
            );
        }
    }

    // The consumer overrides the key with a standard field; other consumers keep the
    // application's mapping.
    let r = app
        .consumer_api(Method::PATCH, target, CONSUMER)
        .json(&json!({ "value": field.consumer }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["consumer_id"], CONSUMER);
    let r = app
        .consumer_api(
            Method::GET,
            &format!("/vault/connections/crm/{service}/contacts/custom-mappings"),
            CONSUMER,
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["data"][0]["value"], field.consumer);
    let r = app.api(Method::GET, target).send().await.expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"]["value"],
        field.application
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
        .consumer_api(Method::DELETE, target, CONSUMER)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .consumer_api(Method::DELETE, target, CONSUMER)
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
        .api(
            Method::GET,
            &format!("/vault/custom-mappings/crm/{service}"),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"][0]["id"],
        "crm+contacts+tier"
    );
}
