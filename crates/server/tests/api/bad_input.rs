//! Bad input: unknown, replayed and expired states; tampered redirect URIs and links; wrong or
//! missing headers; malformed and oversized bodies; unknown routes and methods. Every answer is
//! an Apideck error envelope, and nothing redirects to a caller-chosen place.

use std::sync::Arc;

use patchbay_core::{Clock, ManualClock, SystemClock};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{
    Db, Options, REDIRECT_URI, assert_error_envelope, json_with, spawn_app, spawn_with, urlencode,
};

#[tokio::test]
async fn unknown_state_is_refused_without_redirect() {
    let app = spawn_app().await;
    let (status, location, headers, body) = app
        .get_raw(&format!(
            "{}/vault/callback?code=aPrx123&state=made-up-state",
            app.base_url
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none());
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_error_envelope(
        &serde_json::from_str(&body).expect("json"),
        400,
        "OAuthInvalidStateError",
    );
    for q in [
        "",
        "code=x",
        "state=a&state=b&code=c",
        "code=a&error=b&state=c",
    ] {
        let (status, location, _, body) = app
            .get_raw(&format!("{}/vault/callback?{q}", app.base_url))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert!(location.is_none());
    }
}

#[tokio::test]
async fn replayed_callback_is_refused_on_sqlite() {
    replayed_callback_is_refused(Db::Sqlite).await;
}

#[tokio::test]
async fn replayed_callback_is_refused_on_postgres() {
    replayed_callback_is_refused(Db::Postgres).await;
}

async fn replayed_callback_is_refused(db: Db) {
    let Some(app) = spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let walk = app.connect("c").await;
    let callback = walk
        .hops
        .iter()
        .find(|h| h.contains("/vault/callback"))
        .expect("callback hop")
        .clone();
    let (status, location, _, body) = app.get_raw(&callback).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none());
    assert_error_envelope(
        &serde_json::from_str(&body).expect("json"),
        400,
        "OAuthInvalidStateError",
    );
}

#[tokio::test]
async fn expired_state_is_refused_on_sqlite() {
    expired_state_is_refused(Db::Sqlite).await;
}

#[tokio::test]
async fn expired_state_is_refused_on_postgres() {
    expired_state_is_refused(Db::Postgres).await;
}

async fn expired_state_is_refused(db: Db) {
    let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
    let Some(app) = spawn_with(Options {
        db,
        clock: Some(Arc::clone(&clock)),
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let start = format!(
        "{}&redirect_uri={}",
        app.authorize_url("c").await,
        urlencode(REDIRECT_URI)
    );
    let (_, to_provider, _, _) = app.get_raw(&start).await;
    let (_, to_callback, _, _) = app.get_raw(&to_provider.expect("provider")).await;
    clock.advance(11 * 60 * 1000);
    let (status, location, _, body) = app.get_raw(&to_callback.expect("callback")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none());
    assert_error_envelope(
        &serde_json::from_str(&body).expect("json"),
        400,
        "OAuthInvalidStateError",
    );
    assert_eq!(app.connection("c").await["state"], "available");
}

#[tokio::test]
async fn redirect_uri_must_be_on_the_allow_list() {
    let app = spawn_app().await;
    let authorize = app.authorize_url("c").await;
    for evil in [
        "https://evil.example.com/cb",
        "//evil.example.com",
        "http://127.0.0.1:9/after-connect.evil",
        "http://127.0.0.1:9/after-connect/../x",
        "https://127.0.0.1:9@evil.example.com/after-connect",
        "javascript:alert(1)",
        "HTTP://127.0.0.1:9/after-connect",
    ] {
        let (status, location, _, body) = app
            .get_raw(&format!("{authorize}&redirect_uri={}", urlencode(evil)))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{evil}");
        assert!(location.is_none(), "{evil} produced a redirect");
        assert_error_envelope(
            &serde_json::from_str(&body).expect("json"),
            400,
            "OAuthRedirectUriError",
        );
    }
    // A session can only name an allow-listed redirect URI too.
    let r = app
        .consumer_api(Method::POST, "/vault/sessions", "c")
        .json(&serde_json::json!({ "redirect_uri": "https://evil.example.com" }))
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::BAD_REQUEST).await,
        400,
        "OAuthRedirectUriError",
    );
}

#[tokio::test]
async fn tampered_link_state_is_refused() {
    let app = spawn_app().await;
    let authorize = app.authorize_url("c").await;
    let (prefix, state) = authorize.split_once("state=").expect("state");
    let mut chars: Vec<char> = state.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    for url in [
        format!(
            "{prefix}state={tampered}&redirect_uri={}",
            urlencode(REDIRECT_URI)
        ),
        format!("{prefix}redirect_uri={}", urlencode(REDIRECT_URI)),
        // The link of one application used on another's path.
        format!(
            "{}/vault/authorize/salesforce/{}?state={state}&redirect_uri={}",
            app.base_url,
            patchbay_core::ApplicationId::generate(),
            urlencode(REDIRECT_URI)
        ),
    ] {
        let (status, location, _, body) = app.get_raw(&url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert!(location.is_none());
        assert_error_envelope(
            &serde_json::from_str(&body).expect("json"),
            400,
            "OAuthInvalidStateError",
        );
    }
    // The session JWT is not a link state (different audience).
    let session = app.session("c").await;
    let (status, _, _, _) = app
        .get_raw(&format!(
            "{}/vault/authorize/salesforce/{}?state={session}&redirect_uri={}",
            app.base_url,
            app.app_id,
            urlencode(REDIRECT_URI)
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn wrong_or_missing_headers() {
    let app = spawn_app().await;
    let url = format!("{}/vault/consumers", app.base_url);
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (app.client.get(&url), 401, "UnauthorizedError"),
        (
            app.client.get(&url).bearer_auth(&app.api_key),
            401,
            "UnauthorizedError",
        ),
        (
            app.client
                .get(&url)
                .header("x-apideck-app-id", app.app_id.as_str()),
            401,
            "UnauthorizedError",
        ),
        (
            app.client
                .get(&url)
                .header("authorization", app.api_key.as_str())
                .header("x-apideck-app-id", app.app_id.as_str()),
            401,
            "UnauthorizedError",
        ),
        (
            app.client
                .get(&url)
                .bearer_auth("pbk_0000000000000000_garbage")
                .header("x-apideck-app-id", app.app_id.as_str()),
            401,
            "UnauthorizedError",
        ),
        (
            app.client.get(&url).bearer_auth(&app.api_key).header(
                "x-apideck-app-id",
                patchbay_core::ApplicationId::generate().as_str(),
            ),
            401,
            "UnauthorizedError",
        ),
        (
            app.client
                .get(&url)
                .bearer_auth(&app.api_key)
                .header("x-apideck-app-id", "not-an-id"),
            401,
            "UnauthorizedError",
        ),
        (
            app.api(Method::GET, "/vault/connections/crm/salesforce"),
            400,
            "RequestValidationError",
        ),
        (
            app.api(Method::POST, "/vault/sessions"),
            400,
            "RequestValidationError",
        ),
        (
            app.consumer_api(
                Method::GET,
                "/vault/connections/crm/salesforce",
                &"x".repeat(300),
            ),
            400,
            "RequestValidationError",
        ),
    ];
    for (i, (req, status, type_name)) in cases.into_iter().enumerate() {
        let r = req.send().await.expect("send");
        let got = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "case {i}: {v}");
        assert_error_envelope(&v, status, type_name);
    }
    // A key with one changed character in the secret (checksum fails) and a revoked key.
    let mut wrong = app.api_key.clone();
    wrong.replace_range(30..31, if &wrong[30..31] == "a" { "b" } else { "a" });
    let r = app
        .client
        .get(&url)
        .bearer_auth(&wrong)
        .header("x-apideck-app-id", app.app_id.as_str())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let extra = app
        .vault
        .create_api_key(
            &app.app_id,
            "temp",
            patchbay_server::service::Scope::DEFAULT,
        )
        .await
        .expect("key");
    app.vault
        .revoke_api_key(&app.app_id, &extra.row.id)
        .await
        .expect("revoke");
    let r = app
        .client
        .get(&url)
        .bearer_auth(extra.key.expose_secret())
        .header("x-apideck-app-id", app.app_id.as_str())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_and_oversized_bodies() {
    let app = spawn_app().await;
    let post = |body: Vec<u8>, ct: &str| {
        app.api(Method::POST, "/vault/consumers")
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let v = json_with(
        post(b"{nope".to_vec(), "application/json")
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error_envelope(&v, 400, "RequestValidationError");
    let v = json_with(
        post(b"{\"consumer_id\": 5}".to_vec(), "application/json")
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error_envelope(&v, 400, "RequestValidationError");
    let v = json_with(
        post(
            b"{\"consumer_id\":\"a\",\"extra\":1}".to_vec(),
            "application/json",
        )
        .await
        .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error_envelope(&v, 400, "RequestValidationError");
    let v = json_with(
        post(b"{\"consumer_id\":\"a\"}".to_vec(), "text/plain")
            .await
            .expect("send"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    assert_error_envelope(&v, 415, "RequestValidationError");
    let big = format!("{{\"consumer_id\":\"{}\"}}", "x".repeat(400 * 1024)).into_bytes();
    let v = json_with(
        post(big, "application/json").await.expect("send"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_error_envelope(&v, 413, "RequestValidationError");
    let v = json_with(
        post(Vec::new(), "application/json").await.expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error_envelope(&v, 400, "RequestValidationError");
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = spawn_app().await;
    let v = json_with(
        app.api(Method::GET, "/vault/nope")
            .send()
            .await
            .expect("send"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error_envelope(&v, 404, "EntityNotFoundError");
    let v = json_with(
        app.api(Method::PUT, "/vault/consumers")
            .send()
            .await
            .expect("send"),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_error_envelope(&v, 405, "MethodNotAllowedError");
    let v = json_with(
        app.consumer_api(Method::GET, "/vault/connections/CRM/sales_force", "c")
            .send()
            .await
            .expect("send"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error_envelope(&v, 404, "ConnectionNotFoundError");
    let v = json_with(
        app.api(Method::GET, "/vault/consumers?limit=0")
            .send()
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error_envelope(&v, 400, "RequestValidationError");
    let v = json_with(
        app.api(Method::GET, "/vault/consumers?cursor=%%%")
            .send()
            .await
            .expect("send"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error_envelope(&v, 400, "InvalidCursorError");
    // The Vault operations with no Salesforce meaning answer the spec's 422 with a reason;
    // the others are implemented. Nothing answers 501.
    for (m, p, status) in [
        (
            Method::POST,
            "/vault/connections/crm/salesforce/migrate",
            422,
        ),
        (Method::POST, "/vault/connections/crm/salesforce/token", 422),
        (
            Method::GET,
            "/vault/connections/crm/salesforce/leads/schema",
            422,
        ),
        (
            Method::GET,
            "/vault/connections/crm/salesforce/leads/example",
            422,
        ),
        (Method::GET, "/vault/oauth/disconnect/x.y.z/salesforce", 422),
        (
            Method::POST,
            "/vault/oauth/disconnect/x.y.z/salesforce",
            422,
        ),
        (
            Method::GET,
            "/vault/connections/crm/salesforce/leads/config",
            200,
        ),
        (Method::GET, "/vault/custom-mappings/crm/salesforce", 200),
        (
            Method::GET,
            "/vault/connections/crm/salesforce/nope/config",
            404,
        ),
    ] {
        let r = app
            .consumer_api(m.clone(), p, "x")
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("send");
        let got = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        assert_eq!(got, status, "{m} {p}: {v}");
        if status == 422 {
            assert_error_envelope(&v, 422, "UnprocessableEntityError");
            assert!(v["detail"].as_str().is_some_and(|d| d.len() > 20), "{v}");
        }
    }
    let r = app
        .client
        .get(format!("{}/health", app.base_url))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_foreign_issuer_is_refused_before_any_exchange() {
    let app = spawn_app().await;
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/callback-state",
            "iss",
        )
        .send()
        .await
        .expect("send");
    let state = json_with(r, StatusCode::OK).await["data"]["state"]
        .as_str()
        .expect("state")
        .to_owned();
    let before = app.emulator_requests().await.len();
    let url = format!(
        "{}/vault/callback?code=aPrx1&state={state}&iss={}",
        app.base_url,
        urlencode("https://login.salesforce.com.evil.example")
    );
    let (status, location, _, _) = app.get_raw(&url).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.is_some_and(|l| l.contains("error=invalid_issuer")));
    assert_eq!(
        app.emulator_requests().await.len(),
        before,
        "no code exchange was attempted"
    );
    assert_eq!(app.connection("iss").await["state"], "available");
}

#[tokio::test]
async fn connection_settings_cannot_redirect_tokens() {
    let app = spawn_app().await;
    let post = |body: serde_json::Value| {
        app.consumer_api(Method::POST, "/vault/connections/crm/salesforce", "s")
            .json(&body)
            .send()
    };
    for body in [
        serde_json::json!({ "settings": { "instance_url": "https://evil.example.com" } }),
        serde_json::json!({ "settings": { "login_url": "https://evil.example.com" } }),
        serde_json::json!({ "settings": { "login_url": "ftp://x" } }),
        serde_json::json!({ "enabled": "yes" }),
    ] {
        let r = post(body.clone()).await.expect("send");
        let v = json_with(r, StatusCode::BAD_REQUEST).await;
        assert_error_envelope(&v, 400, "RequestValidationError");
    }
    let r = post(serde_json::json!({ "metadata": { "plan": "gold" } }))
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "added");
    assert_eq!(v["data"]["metadata"]["plan"], "gold");
    let r = post(serde_json::json!({})).await.expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::CONFLICT).await,
        409,
        "ConflictError",
    );
    for body in [
        serde_json::json!({ "settings": { "instance_url": "https://evil.example.com" } }),
        serde_json::json!({ "settings": { "login_url": "https://evil.example.com" } }),
    ] {
        let r = app
            .consumer_api(Method::PATCH, "/vault/connections/crm/salesforce", "s")
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    // A Salesforce login host can be chosen after adding (the Settings form field).
    let r = app
        .consumer_api(Method::PATCH, "/vault/connections/crm/salesforce", "s")
        .json(&serde_json::json!({ "settings": { "login_url": "https://test.salesforce.com" } }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(
        v["data"]["settings"]["login_url"],
        "https://test.salesforce.com"
    );
}

#[tokio::test]
async fn browsers_get_an_escaped_page_instead_of_json() {
    let app = spawn_app().await;
    let url = format!(
        "{}/vault/callback?error={}&error_description={}",
        app.base_url,
        urlencode("<script>alert(1)</script>"),
        urlencode("<img src=x onerror=alert(2)>")
    );
    let r = app
        .client
        .get(&url)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/html"))
    );
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|c| c.contains("default-src 'none'"))
    );
    let body = r.text().await.expect("body");
    assert!(
        !body.contains("<script>") && !body.contains("<img"),
        "{body}"
    );
    // askama's HTML escaping writes `<` and `>` as numeric references.
    assert!(body.contains("&#60;script&#62;"), "{body}");
    // Programs still get the envelope.
    let r = app.client.get(&url).send().await.expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::BAD_REQUEST).await,
        400,
        "OAuthConnectorError",
    );
}
