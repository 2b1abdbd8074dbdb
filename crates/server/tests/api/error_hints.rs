//! Errors that name the fix: a missing header is named, an unknown CRM resource gets the nearest
//! valid one, a bad cursor says to start over, a redirect URI off the allow-list gets the command
//! that adds it, and a service the consumer has not connected gets the ones it has (and only the
//! caller's own application's).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::crm_support::{CONSUMER, crm_app_on};
use crate::helpers::{Db, assert_error_envelope, json_with, spawn_app, urlencode};

fn detail(v: &Value) -> String {
    v["detail"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn missing_headers_are_named() {
    let app = spawn_app().await;
    let url = format!("{}/vault/consumers", app.base_url);

    // No application id, with a valid key: the 401 of Apideck's UnauthorizedError, but named.
    let r = app
        .client
        .get(&url)
        .bearer_auth(&app.api_key)
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::UNAUTHORIZED).await;
    assert_error_envelope(&v, 401, "UnauthorizedError");
    assert_eq!(
        v["message"], "Missing required header x-apideck-app-id",
        "{v}"
    );
    assert!(
        detail(&v).starts_with("Missing required header x-apideck-app-id"),
        "{v}"
    );
    // An empty one is missing too.
    let r = app
        .client
        .get(&url)
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", "")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::UNAUTHORIZED).await;
    assert!(detail(&v).contains("x-apideck-app-id"), "{v}");

    // No key at all.
    let r = app
        .client
        .get(&url)
        .header("x-apideck-app-id", app.app_id.as_str())
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::UNAUTHORIZED).await;
    assert_eq!(v["message"], "Missing required header Authorization", "{v}");
    assert!(detail(&v).contains("Bearer"), "{v}");
    assert!(!v.to_string().contains(&app.api_key));

    // A wrong key stays the one undistinguished answer.
    let r = app
        .client
        .get(&url)
        .bearer_auth("pbk_0000000000000000_garbage")
        .header("x-apideck-app-id", app.app_id.as_str())
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::UNAUTHORIZED).await;
    assert_eq!(v["message"], "Unauthorized Request", "{v}");

    // No consumer where one is required: 400, as the spec's header-validation error.
    for path in [
        "/vault/connections/crm/salesforce",
        "/crm/contacts",
        "/vault/logs",
    ] {
        let r = app.api(Method::GET, path).send().await.expect("send");
        let v = json_with(r, StatusCode::BAD_REQUEST).await;
        assert_error_envelope(&v, 400, "RequestValidationError");
        assert_eq!(
            v["message"], "Missing required header x-apideck-consumer-id",
            "{path}: {v}"
        );
        assert!(
            detail(&v).starts_with("Missing required header x-apideck-consumer-id"),
            "{path}: {v}"
        );
    }
}

#[tokio::test]
async fn an_unknown_crm_resource_suggests_the_nearest() {
    let app = spawn_app().await;
    let r = app
        .consumer_api(Method::GET, "/crm/contact", "c")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::NOT_FOUND).await;
    assert_error_envelope(&v, 404, "EntityNotFoundError");
    let d = detail(&v);
    assert!(d.contains("Did you mean `contacts`?"), "{d}");
    assert!(
        d.contains("Valid resources: contacts, companies, leads, opportunities, activities, notes, users, pipelines"),
        "{d}"
    );
    let r = app
        .consumer_api(Method::GET, "/crm/invoices/1", "c")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::NOT_FOUND).await;
    assert!(!detail(&v).contains("Did you mean"), "{v}");
    assert!(detail(&v).contains("Valid resources"), "{v}");
}

#[tokio::test]
async fn an_invalid_cursor_says_to_start_again_without_it() {
    let crm = crm_app_on(Db::Sqlite, 5).await.expect("sqlite");
    for path in ["/crm/contacts?cursor=garbage", "/vault/logs?cursor=garbage"] {
        let r = crm.get(path).await.expect(400);
        assert_error_envelope(&r.body, 400, "InvalidCursorError");
        let d = detail(&r.body);
        assert!(
            d.contains("first page") && d.contains("without `cursor`"),
            "{path}: {d}"
        );
    }
}

#[tokio::test]
async fn a_redirect_uri_off_the_allow_list_names_the_command_that_adds_it() {
    let app = spawn_app().await;
    let uri = "https://app.example.com/integrations/done";
    let expected = format!(
        "patchbay apps update --app {} --redirect-uri {uri}",
        app.app_id
    );
    let r = app
        .consumer_api(Method::POST, "/vault/sessions", "c")
        .json(&json!({ "redirect_uri": uri }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::BAD_REQUEST).await;
    assert_error_envelope(&v, 400, "OAuthRedirectUriError");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&expected),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("/admin/apps/"),
        "{v}"
    );

    // The same on the authorize step of the connect flow.
    let url = format!(
        "{}&redirect_uri={}",
        app.authorize_url("c").await,
        urlencode(uri)
    );
    let r = app.client.get(&url).send().await.expect("send");
    let v = json_with(r, StatusCode::BAD_REQUEST).await;
    assert_error_envelope(&v, 400, "OAuthRedirectUriError");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&expected),
        "{v}"
    );
}

#[tokio::test]
async fn a_service_the_consumer_has_not_connected_names_the_ones_it_has() {
    let crm = crm_app_on(Db::Sqlite, 5).await.expect("sqlite");
    let app = &crm.app;
    let r = crm
        .send(
            crm.request(Method::GET, "/crm/contacts")
                .header("x-apideck-service-id", "hubspot"),
        )
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "ConnectionNotFoundError");
    let d = detail(&r.body);
    assert!(
        d.starts_with(&format!(
            "consumer {CONSUMER} has no crm connection to `hubspot`; connected: salesforce"
        )),
        "{d}"
    );

    // Another application with a consumer of the same name sees only its own (none): the first
    // application's connection is never named to it.
    let other = app
        .vault
        .create_application("Other", &[])
        .await
        .expect("app");
    let r = app
        .client
        .get(format!("{}/crm/contacts", app.base_url))
        .bearer_auth(other.api_key.key.expose_secret())
        .header("x-apideck-app-id", other.application.id.as_str())
        .header("x-apideck-consumer-id", CONSUMER)
        .header("x-apideck-service-id", "hubspot")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::NOT_FOUND).await;
    let d = detail(&v);
    assert!(d.contains("connected: none"), "{d}");
    assert!(!d.contains("salesforce"), "{d}");
    let r = app
        .client
        .get(format!("{}/crm/contacts", app.base_url))
        .bearer_auth(other.api_key.key.expose_secret())
        .header("x-apideck-app-id", other.application.id.as_str())
        .header("x-apideck-consumer-id", CONSUMER)
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::NOT_FOUND).await;
    assert_error_envelope(&v, 404, "ConnectionNotFoundError");
    assert!(detail(&v).contains("has no crm connection"), "{v}");
}
