//! Bad input gets HubSpot's error body (`docs/hubspot.md §6`), never a crash.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::id_of;
use crate::support::{assert_error, auto, start};

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
