//! The setup guide's troubleshooting cases: each ends in an error whose message names the
//! Salesforce setting to change, and none leaves a connection behind.

use patchbay_fake_salesforce::EmulatorConfig;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Options, REDIRECT_URI, TestApp, spawn_with, urlencode};

async fn app_with(f: impl FnOnce(&mut Options)) -> TestApp {
    let mut o = Options::default();
    f(&mut o);
    spawn_with(o).await.expect("sqlite app")
}

async fn start(app: &TestApp, consumer: &str) -> String {
    format!(
        "{}&redirect_uri={}",
        app.authorize_url(consumer).await,
        urlencode(REDIRECT_URI)
    )
}

async fn assert_no_connection(app: &TestApp, consumer: &str) {
    let conn = app.connection(consumer).await;
    assert_eq!(
        conn["state"], "available",
        "a failed flow must leave nothing: {conn}"
    );
}

#[tokio::test]
async fn app_not_active_yet() {
    let app = app_with(|o| o.emulator.activation_delay_secs = 600).await;
    let walk = app.walk(&start(&app, "c").await).await;
    assert_eq!(walk.status, StatusCode::BAD_REQUEST, "{walk:?}");
    assert_eq!(
        walk.hops.len(),
        1,
        "the browser must not be sent to a login host that refuses the app"
    );
    let v: Value = serde_json::from_str(&walk.body).expect("json");
    assert_eq!(v["type_name"], "OAuthConnectorError");
    let msg = v["message"].as_str().expect("message");
    assert!(
        msg.contains("10 minutes") && msg.contains("not active"),
        "{msg}"
    );
    assert_no_connection(&app, "c").await;
}

#[tokio::test]
async fn pkce_required_but_not_sent() {
    let app = app_with(|o| o.pkce = false).await;
    let walk = app.walk(&start(&app, "c").await).await;
    assert_eq!(walk.status, StatusCode::SEE_OTHER);
    assert!(
        walk.location
            .as_deref()
            .is_some_and(|l| l.starts_with(REDIRECT_URI))
    );
    assert_eq!(
        walk.location_param("error").as_deref(),
        Some("invalid_request")
    );
    let d = walk
        .location_param("error_description")
        .expect("description");
    assert!(
        d.contains("Require Proof Key for Code Exchange (PKCE)"),
        "{d}"
    );
    assert_no_connection(&app, "c").await;
}

#[tokio::test]
async fn redirect_uri_mismatch() {
    let app = app_with(|o| o.register_callback = false).await;
    let walk = app.walk(&start(&app, "c").await).await;
    assert_eq!(walk.status, StatusCode::BAD_REQUEST, "{walk:?}");
    let v: Value = serde_json::from_str(&walk.body).expect("json");
    let msg = v["message"].as_str().expect("message");
    assert!(
        msg.contains("Callback URL") && msg.contains(&format!("{}/vault/callback", app.base_url)),
        "{msg}"
    );
    assert_no_connection(&app, "c").await;
}

#[tokio::test]
async fn invalid_scope() {
    let app = app_with(|o| o.scopes = Some("api refresh_token not_a_scope".to_owned())).await;
    let walk = app.walk(&start(&app, "c").await).await;
    assert_eq!(
        walk.location_param("error").as_deref(),
        Some("invalid_scope")
    );
    let d = walk
        .location_param("error_description")
        .expect("description");
    assert!(d.contains("Selected OAuth Scopes"), "{d}");
    assert_no_connection(&app, "c").await;
}

/// Pulls `name="tx" value="..."` and the form action out of an emulator page.
fn form_of(html: &str) -> (String, String) {
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("action")
        .to_owned();
    let tx = html
        .split("name=\"tx\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("tx")
        .to_owned();
    (action, tx)
}

#[tokio::test]
async fn user_denied_access() {
    let app = app_with(|o| {
        o.emulator = EmulatorConfig {
            auto_approve: false,
            ..o.emulator.clone()
        }
    })
    .await;
    let walk = app.walk(&start(&app, "c").await).await;
    assert_eq!(walk.status, StatusCode::OK, "the login page");
    let base = app.emulator.base_url();
    let (action, tx) = form_of(&walk.body);
    let login = app
        .client
        .post(format!("{base}{action}"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", "admin@emulator.test"),
            ("password", "password123"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK, "the consent page");
    let (action, tx) = form_of(&login.text().await.expect("html"));
    let deny = app
        .client
        .post(format!("{base}{action}"))
        .form(&[("tx", tx.as_str()), ("decision", "deny")])
        .send()
        .await
        .expect("deny");
    let callback = deny.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(callback.starts_with(&format!("{}/vault/callback", app.base_url)));
    let back = app.walk(&callback).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(
        back.location_param("error").as_deref(),
        Some("access_denied")
    );
    let d = back
        .location_param("error_description")
        .expect("description");
    assert!(d.contains("Allow") && d.contains("Permitted Users"), "{d}");
    assert_no_connection(&app, "c").await;
}

#[tokio::test]
async fn refresh_needs_secret() {
    // "authorization succeeds, then token refresh fails": the app requires the secret on refresh.
    let app = app_with(|o| o.emulator.require_secret_for_refresh = true).await;
    app.connect("c").await;
    assert_eq!(app.connection("c").await["state"], "callable");
    let r = app
        .consumer_api(
            reqwest::Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "c",
        )
        .send()
        .await
        .expect("send");
    let v = crate::helpers::json_with(r, StatusCode::BAD_REQUEST).await;
    let msg = v["message"].as_str().expect("message");
    assert!(
        msg.contains("Require Secret for Refresh Token Flow"),
        "{msg}"
    );
}
