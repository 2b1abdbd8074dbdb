//! A session token can do only what its session allows (issue 11). Every route a session JWT
//! may call is checked against `settings.allow_actions`, and every credential-changing or
//! application-level operation refuses a session with 403 `ForbiddenError`, leaving the
//! connection as it was.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, Options, TestApp, assert_error_envelope, json_with, spawn_with};

crate::server_backend_tests!(
    import_takes_an_api_key_and_leaves_tokens_alone,
    export_validate_sessions_and_consumers_take_an_api_key,
    delete_needs_the_delete_action,
    disable_needs_the_disable_action_and_metadata_an_api_key,
    links_follow_reauthorize_and_disconnect,
    callback_state_needs_reauthorize_once_connected,
    adding_and_settings_stay_open_to_a_session,
);

const SF: &str = "/vault/connections/crm/salesforce";

async fn app_on(db: Db) -> Option<TestApp> {
    spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
}

/// A session for `consumer` with the given `settings`.
async fn session(app: &TestApp, consumer: &str, settings: Value) -> String {
    let r = app
        .consumer_api(Method::POST, "/vault/sessions", consumer)
        .json(&json!({ "settings": settings }))
        .send()
        .await
        .expect("send");
    json_with(r, StatusCode::OK).await["data"]["session_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// A request exactly as Apideck's modal sends it.
fn as_session(
    app: &TestApp,
    token: &str,
    consumer: &str,
    method: Method,
    path: &str,
) -> reqwest::RequestBuilder {
    app.client
        .request(method, format!("{}{path}", app.base_url))
        .bearer_auth(token)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", consumer)
        .header("x-apideck-auth-type", "JWT")
}

async fn forbidden(r: reqwest::Response) -> Value {
    let v = json_with(r, StatusCode::FORBIDDEN).await;
    assert_error_envelope(&v, 403, "ForbiddenError");
    v
}

/// The contacts list works: the connection's tokens are the ones the flow stored.
async fn crm_works(app: &TestApp, consumer: &str) {
    let r = app
        .consumer_api(Method::GET, "/crm/contacts?limit=1", consumer)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

async fn import_takes_an_api_key_and_leaves_tokens_alone(db: Db) {
    let Some(app) = app_on(db).await else { return };
    app.connect("victim").await;
    // Even a session that allows everything cannot import.
    for settings in [json!({ "allow_actions": ["disable"] }), json!({})] {
        let token = session(&app, "victim", settings).await;
        let r = as_session(
            &app,
            &token,
            "victim",
            Method::POST,
            &format!("{SF}/import"),
        )
        .json(&json!({ "credentials": { "access_token": "forged", "refresh_token": "forged" } }))
        .send()
        .await
        .expect("send");
        let v = forbidden(r).await;
        assert!(
            v["detail"].as_str().is_some_and(|d| d.contains("API key")),
            "{v}"
        );
    }
    assert_eq!(app.connection("victim").await["state"], "callable");
    crm_works(&app, "victim").await;
}

async fn export_validate_sessions_and_consumers_take_an_api_key(db: Db) {
    let Some(app) = app_on(db).await else { return };
    app.connect("c1").await;
    let token = session(&app, "c1", json!({})).await;
    for (method, path) in [
        (Method::POST, format!("{SF}/export")),
        (Method::POST, format!("{SF}/validate")),
        (Method::POST, "/vault/sessions".to_owned()),
        (Method::GET, "/vault/consumers".to_owned()),
        (Method::GET, "/vault/consumers/c1".to_owned()),
        (Method::DELETE, "/vault/consumers/c1".to_owned()),
        (Method::GET, "/crm/contacts".to_owned()),
        (Method::GET, "/proxy".to_owned()),
    ] {
        let r = as_session(&app, &token, "c1", method.clone(), &path)
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        let v = forbidden(r).await;
        assert!(
            v["detail"].as_str().is_some_and(|d| d.contains("API key")),
            "{method} {path}: {v}"
        );
    }
    // The consumer and its connection are intact.
    assert_eq!(app.connection("c1").await["state"], "callable");
    crm_works(&app, "c1").await;
}

async fn delete_needs_the_delete_action(db: Db) {
    let Some(app) = app_on(db).await else { return };
    app.connect("d1").await;
    let limited = session(
        &app,
        "d1",
        json!({ "allow_actions": ["disable", "disconnect"] }),
    )
    .await;
    let r = as_session(&app, &limited, "d1", Method::DELETE, SF)
        .send()
        .await
        .expect("send");
    let v = forbidden(r).await;
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("delete")),
        "{v}"
    );
    assert_eq!(app.connection("d1").await["state"], "callable");
    let full = session(&app, "d1", json!({ "allow_actions": ["delete"] })).await;
    let r = as_session(&app, &full, "d1", Method::DELETE, SF)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.connection("d1").await["state"], "available");
}

async fn disable_needs_the_disable_action_and_metadata_an_api_key(db: Db) {
    let Some(app) = app_on(db).await else { return };
    app.connect("p1").await;
    let limited = session(&app, "p1", json!({ "allow_actions": ["delete"] })).await;
    let r = as_session(&app, &limited, "p1", Method::PATCH, SF)
        .json(&json!({ "enabled": false }))
        .send()
        .await
        .expect("send");
    forbidden(r).await;
    assert_eq!(app.connection("p1").await["enabled"], true);
    // Metadata is the application's own data: an API key only, whatever the session allows.
    let full = session(&app, "p1", json!({})).await;
    let r = as_session(&app, &full, "p1", Method::PATCH, SF)
        .json(&json!({ "metadata": { "plan": "free" } }))
        .send()
        .await
        .expect("send");
    forbidden(r).await;
    assert_eq!(app.connection("p1").await["metadata"], json!({}));
    // With `disable`, the session can disable and enable again.
    for enabled in [false, true] {
        let r = as_session(&app, &full, "p1", Method::PATCH, SF)
            .json(&json!({ "enabled": enabled }))
            .send()
            .await
            .expect("send");
        assert_eq!(
            json_with(r, StatusCode::OK).await["data"]["enabled"],
            enabled
        );
    }
}

async fn links_follow_reauthorize_and_disconnect(db: Db) {
    let Some(app) = app_on(db).await else { return };
    // Before connecting, any session may authorize (that is adding, not re-authorizing).
    let none = session(&app, "l1", json!({ "allow_actions": [] })).await;
    let get = |token: &str, path: &str| as_session(&app, token, "l1", Method::GET, path).send();
    let v = json_with(get(&none, SF).await.expect("send"), StatusCode::OK).await;
    assert!(v["data"]["authorize_url"].is_string(), "{v}");
    app.connect("l1").await;
    // Connected: no re-authorize link and no revoke link without the actions, in both the
    // single view and the list.
    let v = json_with(get(&none, SF).await.expect("send"), StatusCode::OK).await;
    assert!(v["data"]["authorize_url"].is_null(), "{v}");
    assert!(v["data"]["revoke_url"].is_null(), "{v}");
    let v = json_with(
        get(&none, "/vault/connections").await.expect("send"),
        StatusCode::OK,
    )
    .await;
    assert!(v["data"][0]["authorize_url"].is_null(), "{v}");
    assert!(v["data"][0]["revoke_url"].is_null(), "{v}");
    let both = session(
        &app,
        "l1",
        json!({ "allow_actions": ["reauthorize", "disconnect"] }),
    )
    .await;
    let v = json_with(get(&both, SF).await.expect("send"), StatusCode::OK).await;
    assert!(v["data"]["authorize_url"].is_string(), "{v}");
    assert!(v["data"]["revoke_url"].is_string(), "{v}");
}

async fn callback_state_needs_reauthorize_once_connected(db: Db) {
    let Some(app) = app_on(db).await else { return };
    let none = session(&app, "s1", json!({ "allow_actions": [] })).await;
    let post = |token: &str| {
        as_session(
            &app,
            token,
            "s1",
            Method::POST,
            &format!("{SF}/callback-state"),
        )
        .json(&json!({}))
        .send()
    };
    // Not connected yet: authorizing adds the connection, which any session may do.
    let v = json_with(post(&none).await.expect("send"), StatusCode::OK).await;
    assert!(v["data"]["state"].is_string(), "{v}");
    app.connect("s1").await;
    forbidden(post(&none).await.expect("send")).await;
    let re = session(&app, "s1", json!({ "allow_actions": ["reauthorize"] })).await;
    let v = json_with(post(&re).await.expect("send"), StatusCode::OK).await;
    assert!(v["data"]["state"].is_string(), "{v}");
    // `confirm` is the consumer's own step: a session reaches it (and a wrong token is a
    // state error, not an authorization error).
    let r = as_session(&app, &none, "s1", Method::POST, &format!("{SF}/confirm"))
        .json(&json!({ "confirm_token": "nope" }))
        .send()
        .await
        .expect("send");
    assert_ne!(r.status(), StatusCode::FORBIDDEN);
    assert_ne!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn adding_and_settings_stay_open_to_a_session(db: Db) {
    let Some(app) = app_on(db).await else { return };
    let none = session(&app, "a1", json!({ "allow_actions": [] })).await;
    let r = as_session(&app, &none, "a1", Method::POST, SF)
        .json(&json!({ "settings": { "login_url": "https://test.salesforce.com" } }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "added", "{v}");
    assert_eq!(
        v["data"]["settings"]["login_url"],
        "https://test.salesforce.com"
    );
    // Adding with metadata is the application's business.
    let r = as_session(&app, &none, "a1", Method::POST, SF)
        .json(&json!({ "metadata": { "x": 1 } }))
        .send()
        .await
        .expect("send");
    forbidden(r).await;
    // Settings other than the login host can be changed by the session.
    let r = as_session(&app, &none, "a1", Method::PATCH, SF)
        .json(&json!({ "settings": { "note": "hi" } }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["settings"]["note"], "hi", "{v}");
}
