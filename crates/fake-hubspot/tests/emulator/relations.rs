//! Associations, owners and deal pipelines (`docs/hubspot.md §10–§12`).

use reqwest::{Method, StatusCode};
use serde_json::json;

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
