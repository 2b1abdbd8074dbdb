//! Tenants and consumers are isolated: another application's ids are 404 (never data), an API
//! key works only with its own application id, and a session JWT only for its own consumer and
//! application.

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::integrations::IntegrationInput;
use reqwest::{Method, StatusCode};

use crate::helpers::{REDIRECT_URI, assert_error_envelope, json_with, spawn_app};

#[tokio::test]
async fn another_tenants_ids_are_not_found() {
    let app = spawn_app().await;
    app.connect("shared-name").await;
    let a_conn = app.connection("shared-name").await;
    let instance_url = a_conn["settings"]["instance_url"]
        .as_str()
        .expect("instance url")
        .to_owned();

    // Tenant B in the same installation, with the same consumer id and its own integration.
    let b = app
        .vault
        .create_application("Tenant B", &[REDIRECT_URI.to_owned()])
        .await
        .expect("app b");
    let b_id = b.application.id.clone();
    app.vault
        .set_integration(
            &b_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                client_id: Some("3MVG9other".to_owned()),
                client_secret: Some(SecretString::new("other-secret")),
                login_url: Some(app.emulator.base_url()),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("integration b");
    let b_key = b.api_key.key.expose_secret().to_owned();
    let as_b = |method: Method, path: &str| {
        app.client
            .request(method, format!("{}{path}", app.base_url))
            .bearer_auth(&b_key)
            .header("x-apideck-app-id", b_id.as_str())
            .header("x-apideck-consumer-id", "shared-name")
    };
    let r = as_b(Method::GET, "/vault/consumers/shared-name")
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::NOT_FOUND).await,
        404,
        "EntityNotFoundError",
    );
    let r = as_b(Method::GET, "/vault/connections/crm/salesforce")
        .send()
        .await
        .expect("send");
    let body = json_with(r, StatusCode::OK).await;
    assert_eq!(
        body["data"]["state"], "available",
        "B sees only its own (empty) connection"
    );
    // B's own integration points at the same emulator, so its login-host option may name
    // that origin; A's org must not appear in B's connection settings.
    assert!(!body["data"]["settings"].to_string().contains(&instance_url));
    assert!(body["data"]["settings"].get("instance_url").is_none());
    for (m, p) in [
        (Method::DELETE, "/vault/connections/crm/salesforce"),
        (Method::PATCH, "/vault/connections/crm/salesforce"),
        (Method::POST, "/vault/connections/crm/salesforce/validate"),
    ] {
        let r = as_b(m.clone(), p)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("send");
        let v = json_with(r, StatusCode::NOT_FOUND).await;
        assert_error_envelope(&v, 404, "ConnectionNotFoundError");
    }
    // B's log holds only B's own calls, none of A's connect flow.
    let r = as_b(Method::GET, "/vault/logs?limit=200")
        .send()
        .await
        .expect("send");
    let logs = json_with(r, StatusCode::OK).await;
    let ops: Vec<&str> = logs["data"]
        .as_array()
        .expect("logs")
        .iter()
        .filter_map(|l| l["operation"]["id"].as_str())
        .collect();
    assert!(!ops.is_empty());
    assert!(
        !ops.iter()
            .any(|o| *o == "connectionsCallback" || *o == "connectionsAuthorize"),
        "{ops:?}"
    );
    // A's connection is untouched.
    assert_eq!(app.connection("shared-name").await["state"], "callable");
    // A's key with B's application id is simply unauthorized.
    let r = app
        .client
        .get(format!("{}/vault/consumers", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", b_id.as_str())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_reaches_only_its_own_consumer_and_application() {
    let app = spawn_app().await;
    app.connect("alice").await;
    app.connect("bob").await;
    let alice = app.session("alice").await;
    let with = |consumer: Option<&str>, app_id: &str, path: &str| {
        let mut r = app
            .client
            .get(format!("{}{path}", app.base_url))
            .bearer_auth(&alice)
            .header("x-apideck-app-id", app_id);
        if let Some(c) = consumer {
            r = r.header("x-apideck-consumer-id", c);
        }
        r.send()
    };
    let own = app.app_id.to_string();
    // Own consumer, with or without the header.
    for consumer in [Some("alice"), None] {
        let r = with(consumer, &own, "/vault/connections/crm/salesforce")
            .await
            .expect("send");
        assert_eq!(
            json_with(r, StatusCode::OK).await["data"]["state"],
            "callable"
        );
    }
    // Another consumer, another application, or an API-key-only endpoint: refused.
    let other_app = patchbay_core::ApplicationId::generate().to_string();
    for (consumer, app_id, path) in [
        (
            Some("bob"),
            own.as_str(),
            "/vault/connections/crm/salesforce",
        ),
        (Some("bob"), own.as_str(), "/vault/logs"),
        (
            Some("alice"),
            other_app.as_str(),
            "/vault/connections/crm/salesforce",
        ),
    ] {
        let r = with(consumer, app_id, path).await.expect("send");
        let v = json_with(r, StatusCode::UNAUTHORIZED).await;
        assert_error_envelope(&v, 401, "UnauthorizedError");
        assert!(!v.to_string().contains("bob") || consumer == Some("bob"));
    }
    // API-key-only endpoints tell a genuine session that they need an API key.
    for path in ["/vault/consumers", "/vault/consumers/alice"] {
        let r = with(Some("alice"), &own, path).await.expect("send");
        assert_error_envelope(
            &json_with(r, StatusCode::FORBIDDEN).await,
            403,
            "ForbiddenError",
        );
    }
    // A session cannot mint sessions or export.
    let r = app
        .client
        .post(format!("{}/vault/sessions", app.base_url))
        .bearer_auth(&alice)
        .header("x-apideck-app-id", own.as_str())
        .header("x-apideck-consumer-id", "alice")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&alice)
        .header("x-apideck-app-id", own.as_str())
        .header("x-apideck-consumer-id", "alice")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
