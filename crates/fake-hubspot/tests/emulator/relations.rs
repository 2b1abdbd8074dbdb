//! Associations, owners and deal pipelines (`docs/hubspot.md §10–§12`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::id_of;
use crate::support::{assert_error, auto, start};

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

/// `POST /crm/v4/associations/{from}/{to}/batch/read` and search filters on the
/// `associations.{object}` pseudo-property (`docs/hubspot.md §9`, `§10`).
#[tokio::test]
async fn batch_association_reads_and_association_search_filters() {
    // Six searches in a row: above the default search rate (§13), which is not under test.
    let emu = start(patchbay_fake_hubspot::EmulatorConfig {
        search_rate_limit_per_sec: 100,
        ..auto(0)
    })
    .await;
    let t = emu.install().await.access;
    let mut companies = Vec::new();
    for name in ["Acme", "Globex"] {
        let (_, c) = emu
            .send(
                Method::POST,
                &t,
                "/crm/v3/objects/companies",
                &json!({"properties": {"name": name}}),
            )
            .await;
        companies.push(id_of(&c));
    }
    let mut contacts = Vec::new();
    for (i, company) in [Some(0), Some(0), Some(1), None].into_iter().enumerate() {
        let associations = match company {
            Some(c) => json!([{"to": {"id": companies[c]}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]),
            None => json!([]),
        };
        let (status, c) = emu
            .send(
                Method::POST,
                &t,
                "/crm/v3/objects/contacts",
                &json!({"properties": {"email": format!("c{i}@x.test")},
                        "associations": associations}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        contacts.push(id_of(&c));
    }

    // One result per contact with a company; the one without is an error entry and a 207.
    let inputs: Vec<_> = contacts.iter().map(|id| json!({"id": id})).collect();
    let (status, read) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v4/associations/contacts/companies/batch/read",
            &json!({"inputs": inputs}),
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{read}");
    assert_eq!(read["status"], "COMPLETE");
    let results = read["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[2]["from"]["id"], contacts[2].as_str());
    assert_eq!(results[2]["to"][0]["toObjectId"].to_string(), companies[1]);
    assert_eq!(results[2]["to"][0]["associationTypes"][0]["typeId"], 279);
    assert_eq!(read["numErrors"], 1);
    let (status, read) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v4/associations/contact/company/batch/read",
            &json!({"inputs": [{"id": contacts[0]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v4/associations/contacts/companies/batch/read",
            &json!({"inputs": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");

    // Search: EQ, IN and NOT_HAS_PROPERTY on the pseudo-property.
    let search =
        |filter: serde_json::Value| json!({"filterGroups": [{"filters": [filter]}], "limit": 10});
    let found = |body: &serde_json::Value| -> Vec<String> {
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts/search",
            &search(
                json!({"propertyName": "associations.company", "operator": "EQ",
                           "value": companies[0]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(found(&body), contacts[..2].to_vec());
    let (_, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts/search",
            &search(
                json!({"propertyName": "associations.company", "operator": "IN",
                           "values": [companies[1]]}),
            ),
        )
        .await;
    assert_eq!(found(&body), vec![contacts[2].clone()]);
    let (_, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts/search",
            &search(json!({"propertyName": "associations.company",
                           "operator": "NOT_HAS_PROPERTY"})),
        )
        .await;
    assert_eq!(found(&body), vec![contacts[3].clone()]);
    // The reverse direction, and objects that cannot be associated.
    let (_, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/companies/search",
            &search(
                json!({"propertyName": "associations.contact", "operator": "EQ",
                           "value": contacts[2]}),
            ),
        )
        .await;
    assert_eq!(found(&body), vec![companies[1].clone()]);
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/notes/search",
            &search(json!({"propertyName": "associations.call", "operator": "EQ", "value": "1"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");
    let (status, body) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts/search",
            &search(
                json!({"propertyName": "associations.company", "operator": "GT",
                           "value": "1"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");
}

/// `GET /crm/v3/properties/{object}` (`docs/hubspot.md §7a`): HubSpot's own properties are
/// `hubspotDefined`, the account's custom ones are not; custom ones read and write like any.
#[tokio::test]
async fn the_properties_api_tells_custom_properties_apart() {
    let emu = start(auto(6)).await;
    let t = emu.install().await.access;
    let (status, body) = emu.get(&t, "/crm/v3/properties/contacts").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let results = body["results"].as_array().expect("results");
    let find = |name: &str| {
        results
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(find("firstname")["hubspotDefined"], true);
    assert_eq!(find("hs_object_id")["hubspotDefined"], true);
    let custom = find("preferred_language");
    assert!(custom.get("hubspotDefined").is_none(), "{custom}");
    assert_eq!(custom["type"], "enumeration");
    assert_eq!(custom["options"][1]["value"], "fr");
    let customs: Vec<&str> = results
        .iter()
        .filter(|p| p.get("hubspotDefined").is_none())
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(customs, ["preferred_language"]);
    let (_, deals) = emu.get(&t, "/crm/v3/properties/0-3").await;
    assert!(
        deals["results"]
            .as_array()
            .expect("results")
            .iter()
            .any(|p| p["name"] == "renewal_risk" && p.get("hubspotDefined").is_none())
    );
    let (status, body) = emu.get(&t, "/crm/v3/properties/tickets").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, "VALIDATION_ERROR");

    // Seeded values, and a write of a custom property.
    let (_, list) = emu
        .get(
            &t,
            "/crm/v3/objects/contacts?properties=preferred_language&limit=6",
        )
        .await;
    let seeded = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["properties"]["preferred_language"].is_string())
        .count();
    assert!(seeded > 0, "{list}");
    let (status, made) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"lastname": "Custom", "preferred_language": "de"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (status, bad) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"lastname": "Custom", "preferred_language": "klingon"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
}

/// `POST`, `PATCH` and `DELETE` on `/crm/v3/pipelines/deals` (`docs/hubspot.md §12`): checked
/// bodies, generated ids, 404 for an unknown pipeline, and deals can use the new stages.
#[tokio::test]
async fn deal_pipelines_are_created_changed_and_deleted() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let body = json!({"label": "Partners", "displayOrder": 5, "stages": [
        {"label": "Open", "displayOrder": 0, "metadata": {"probability": "0.3"}},
        {"label": "Won", "displayOrder": 1, "metadata": {"probability": 1, "isClosed": true}},
    ]});
    let (status, created) = emu
        .send(Method::POST, &t, "/crm/v3/pipelines/deals", &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert!(id.parse::<u64>().is_ok(), "{created}");
    assert_eq!(created["label"], "Partners");
    assert_eq!(created["displayOrder"], 5);
    assert_eq!(created["stages"][0]["metadata"]["probability"], "0.3");
    assert_eq!(created["stages"][1]["metadata"]["probability"], "1.0");
    assert_eq!(created["stages"][1]["metadata"]["isClosed"], "true");
    let stage = created["stages"][0]["id"].as_str().expect("stage id");
    let (_, listed) = emu.get(&t, "/crm/v3/pipelines/deals").await;
    let ids: Vec<&str> = listed["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["default", "renewals", id.as_str()]);
    // A deal may sit in a stage of the new pipeline.
    let (status, deal) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/deals",
            &json!({"properties": {"dealname": "D", "pipeline": id, "dealstage": stage}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deal}");

    let path = format!("/crm/v3/pipelines/deals/{id}");
    let (status, patched) = emu
        .send(Method::PATCH, &t, &path, &json!({"label": "Channel"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["label"], "Channel");
    assert_eq!(patched["displayOrder"], 5);
    assert_eq!(patched["stages"].as_array().expect("stages").len(), 2);
    let (_, read) = emu.get(&t, &path).await;
    assert_eq!(read["label"], "Channel");

    let (status, _) = emu.send(Method::DELETE, &t, &path, &Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let (status, body) = emu
            .send(method.clone(), &t, &path, &json!({"label": "x"}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {body}");
        assert_error(&body, "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn pipeline_writes_are_checked() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let stage = json!({"label": "Open", "displayOrder": 0, "metadata": {"probability": 0.5}});
    let bad = [
        json!({"displayOrder": 0, "stages": [stage]}),
        json!({"label": "  ", "displayOrder": 0, "stages": [stage]}),
        json!({"label": "P", "stages": [stage]}),
        json!({"label": "P", "displayOrder": 0}),
        json!({"label": "P", "displayOrder": 0, "stages": []}),
        json!({"label": "P", "displayOrder": 0, "stages": [{"label": "S", "displayOrder": 0}]}),
        json!({"label": "P", "displayOrder": 0, "stages": [
            {"label": "S", "displayOrder": 0, "metadata": {"probability": 1.5}}]}),
        json!({"label": "P", "displayOrder": 0, "stages": [stage, stage]}),
        json!(["not", "an", "object"]),
    ];
    for body in bad {
        let (status, answer) = emu
            .send(Method::POST, &t, "/crm/v3/pipelines/deals", &body)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} {answer}");
        assert_error(&answer, "VALIDATION_ERROR");
    }
    let (status, answer) = emu
        .send(
            Method::PATCH,
            &t,
            "/crm/v3/pipelines/deals/default",
            &json!({"label": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_error(&answer, "VALIDATION_ERROR");
    let (_, listed) = emu.get(&t, "/crm/v3/pipelines/deals").await;
    assert_eq!(listed["results"].as_array().expect("results").len(), 2);
}
