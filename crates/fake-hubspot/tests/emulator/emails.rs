//! Logged emails (`docs/hubspot.md §7b`): seeded ones on contacts, companies and deals; the
//! object's reads, writes, search and associations; and the content scope, without which an
//! email's subject, bodies and headers are redacted.

use patchbay_fake_hubspot::EmulatorConfig;
use patchbay_fake_hubspot::config::DEFAULT_SCOPES;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::id_of;
use crate::support::{assert_error, auto, start};

fn scopes_without(scope: &str) -> Vec<String> {
    DEFAULT_SCOPES
        .split(' ')
        .filter(|s| *s != scope)
        .map(str::to_owned)
        .collect()
}

fn type_ids(v4: &Value) -> Vec<i64> {
    v4["results"][0]["associationTypes"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| t["typeId"].as_i64().expect("id"))
        .collect()
}

#[tokio::test]
async fn seeded_emails_sit_on_contacts_companies_and_deals() {
    let emu = start(auto(200)).await;
    let t = emu.install().await.access;
    let (status, page) = emu
        .get(
            &t,
            "/crm/v3/objects/emails?limit=100&properties=hs_email_subject,hs_email_direction,hs_timestamp&associations=contacts,companies,deals",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let emails = page["results"].as_array().expect("results");
    // 200 records seed 60 engagements, and a tenth as many emails.
    assert_eq!(emails.len(), 6, "{page}");
    for email in emails {
        let p = &email["properties"];
        assert!(p["hs_email_subject"].is_string(), "{email}");
        assert!(p["hs_timestamp"].is_string(), "{email}");
        assert!(
            ["EMAIL", "INCOMING_EMAIL"].contains(&p["hs_email_direction"].as_str().expect("dir")),
            "{email}"
        );
        let contact = &email["associations"]["contacts"]["results"][0];
        assert_eq!(contact["type"], "email_to_contact", "{email}");
        assert_eq!(
            email["associations"]["companies"]["results"][0]["type"],
            "email_to_company"
        );
        // The contact sees the email from its side, with the reverse type.
        let contact_id = contact["id"].as_str().expect("id");
        let (status, v4) = emu
            .get(
                &t,
                &format!("/crm/v4/objects/contacts/{contact_id}/associations/emails"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v4}");
        assert!(
            v4["results"]
                .as_array()
                .expect("results")
                .iter()
                .any(|r| r["toObjectId"].as_u64().map(|n| n.to_string()) == Some(id_of(email))),
            "{v4}"
        );
    }
    assert!(
        emails
            .iter()
            .any(|e| e["associations"]["deals"]["results"][0]["type"] == "email_to_deal"),
        "some seeded emails are on a deal"
    );
}

#[tokio::test]
async fn emails_are_created_searched_associated_and_archived() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let (_, contact) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "grace@navy.test"}}),
        )
        .await;
    let contact_id = id_of(&contact);
    let (status, created) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/emails",
            &json!({
                "properties": {"hs_timestamp": "2025-02-03T04:05:06Z", "hs_email_subject": "Compiler",
                    "hs_email_text": "The first one.", "hs_email_direction": "EMAIL"},
                "associations": [{"to": {"id": contact_id}, "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 198}]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    assert_eq!(created["properties"]["hs_email_subject"], "Compiler");

    // The contact sees it through v4 with the reverse type (197).
    let (_, v4) = emu
        .get(
            &t,
            &format!("/crm/v4/objects/contacts/{contact_id}/associations/emails"),
        )
        .await;
    assert_eq!(v4["results"][0]["toObjectId"].to_string(), id);
    assert_eq!(type_ids(&v4), vec![197]);
    // Object type id and singular name name the same object.
    let (status, by_type_id) = emu.get(&t, &format!("/crm/v3/objects/0-49/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{by_type_id}");

    // Search by the association pseudo-property, and by free text in the subject.
    for body in [
        json!({"filterGroups": [{"filters": [
            {"propertyName": "associations.contact", "operator": "EQ", "value": contact_id}]}]}),
        json!({"query": "compiler"}),
    ] {
        let (status, found) = emu
            .send(Method::POST, &t, "/crm/v3/objects/emails/search", &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        assert_eq!(found["total"], 1, "{body}: {found}");
        assert_eq!(found["results"][0]["id"], id.as_str());
    }

    // Direction and status are checked against HubSpot's values.
    let (status, bad) = emu
        .send(
            Method::PATCH,
            &t,
            &format!("/crm/v3/objects/emails/{id}"),
            &json!({"properties": {"hs_email_direction": "SIDEWAYS"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert_error(&bad, "VALIDATION_ERROR");
    // hs_timestamp is required, as on every engagement.
    let (status, bad) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/emails",
            &json!({"properties": {"hs_email_subject": "No time"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let (status, _) = emu
        .send(
            Method::DELETE,
            &t,
            &format!("/crm/v3/objects/emails/{id}"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = emu.get(&t, &format!("/crm/v3/objects/emails/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&gone, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn without_the_content_scope_an_emails_content_is_redacted() {
    let emu = start(EmulatorConfig {
        scopes: scopes_without("sales-email-read"),
        ..auto(100)
    })
    .await;
    let t = emu.install().await.access;
    let names = "hs_email_subject,hs_email_text,hs_email_html,hs_timestamp,hs_email_direction";
    let (status, page) = emu
        .get(&t, &format!("/crm/v3/objects/emails?properties={names}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let first = &page["results"][0]["properties"];
    for content in ["hs_email_subject", "hs_email_text", "hs_email_html"] {
        assert!(
            first[content]
                .as_str()
                .is_some_and(|v| v.contains("sales-email-read")),
            "{content} redacted: {first}"
        );
    }
    // What is not content still reads.
    assert!(
        first["hs_timestamp"]
            .as_str()
            .is_some_and(|v| v.ends_with('Z'))
    );
    assert!(
        first["hs_email_direction"]
            .as_str()
            .is_some_and(|v| v.contains("EMAIL"))
    );
    // Writes need only the contacts scope; the answer is redacted too, the record is not.
    let (status, created) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/emails",
            &json!({"properties": {"hs_timestamp": "2025-01-01", "hs_email_subject": "Secret"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_ne!(created["properties"]["hs_email_subject"], "Secret");
    let (_, found) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/emails/search",
            &json!({"properties": ["hs_email_subject"], "limit": 200}),
        )
        .await;
    assert!(
        found["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["properties"]["hs_email_subject"] != "Secret"),
        "{found}"
    );

    // With the scope the same record reads in full.
    let full = start(auto(0)).await;
    let t = full.install().await.access;
    let (_, created) = full
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/emails",
            &json!({"properties": {"hs_timestamp": "2025-01-01", "hs_email_subject": "Open"}}),
        )
        .await;
    let (_, read) = full
        .get(
            &t,
            &format!(
                "/crm/v3/objects/emails/{}?properties=hs_email_subject",
                id_of(&created)
            ),
        )
        .await;
    assert_eq!(read["properties"]["hs_email_subject"], "Open");
}

#[tokio::test]
async fn emails_need_the_contacts_scopes() {
    let emu = start(EmulatorConfig {
        scopes: vec!["oauth".to_owned(), "crm.objects.deals.read".to_owned()],
        ..auto(10)
    })
    .await;
    let t = emu.install().await.access;
    let (status, body) = emu.get(&t, "/crm/v3/objects/emails").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error(&body, "MISSING_SCOPES");
    assert_eq!(
        body["errors"][0]["context"]["requiredScopes"][0],
        "crm.objects.contacts.read"
    );
}
