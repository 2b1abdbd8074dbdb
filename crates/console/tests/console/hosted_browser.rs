//! The hosted connect page in headless Chromium: the login-host choice before Connect (sandbox,
//! and a bad My Domain shown on the card), and one screenshot per card state with a full theme
//! (`docs/screenshots/hosted-*.png`, compared in `docs/connect-page.md`).
//!
//! Real Salesforce hosts resolve to nothing in these browsers (see `browser.rs`), so choosing
//! sandbox is followed up to the moment the browser leaves for `test.salesforce.com`; the
//! whole OAuth round trip through the page is covered with the emulator's own host.

use std::time::{Duration, Instant};

use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use patchbay_server::service::credentials::ImportRequest;
use patchbay_server::service::sessions::SessionRequest;
use thirtyfour::prelude::*;

use crate::browser::{
    browser, browser_with, login_and_consent, shot, type_into, wait_for, wait_text,
};
use crate::support::{Knobs, REDIRECT_URI, TestApp, spawn};

fn key(app: &TestApp, consumer: &str) -> ConnectionKey {
    ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse(consumer).unwrap(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    }
}

/// A session with every theme field a page can show without loading a remote image.
fn full_theme(account: &str) -> SessionRequest {
    serde_json::from_value(serde_json::json!({
        "redirect_uri": REDIRECT_URI,
        "consumer_metadata": {"account_name": account, "email": "it@globex.example"},
        "theme": {
            "vault_name": "Acme Connect",
            "primary_color": "#0a7d4f",
            "sidepanel_background_color": "#0f2a22",
            "sidepanel_text_color": "#e8f5ef",
            "privacy_url": "https://acme.example/privacy",
            "terms_url": "https://acme.example/terms",
        },
        "settings": {"unified_apis": ["crm"]}
    }))
    .unwrap()
}

async fn wait_url(d: &WebDriver, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let at = d
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        if at.starts_with(prefix) {
            return at;
        }
        if Instant::now() > deadline {
            panic!("the browser did not go to {prefix}; it is at {at}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn pick(d: &WebDriver, value: &str) {
    d.find(By::Css(format!(
        "input[name='login_host'][value='{value}']"
    )))
    .await
    .unwrap_or_else(|_| panic!("a {value} option"))
    .click()
    .await
    .unwrap();
}

async fn click(d: &WebDriver, id: &str) {
    d.find(By::Id(id)).await.expect(id).click().await.unwrap();
}

#[tokio::test]
async fn consumer_chooses_the_login_host_on_the_hosted_page() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let uri = app
        .session_uri("globex", full_theme("Globex Corporation"))
        .await;
    d.goto(&uri).await.unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Not connected").await;
    // Without My Domain chosen, its field stays out of the way.
    let row = d
        .find(By::Id("my-domain-row-crm-salesforce"))
        .await
        .unwrap();
    assert!(!row.is_displayed().await.unwrap());

    // A bad My Domain comes back on the card, with the field shown and marked.
    pick(d, "mydomain").await;
    assert!(row.is_displayed().await.unwrap());
    type_into(d, "my-domain-crm-salesforce", "evil.example").await;
    click(d, "connect-crm-salesforce").await;
    let error = wait_text(d, By::Id("host-error-crm-salesforce"), "my.salesforce.com").await;
    assert!(error.contains("My Domain"), "{error}");
    assert!(
        d.find(By::Id("my-domain-row-crm-salesforce"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    shot(d, "hosted-my-domain-error.png").await;

    // Sandbox: the form's answer sends the browser on to test.salesforce.com (allowed by the
    // page's form-action), with this integration's client id.
    pick(d, "https://test.salesforce.com").await;
    click(d, "connect-crm-salesforce").await;
    let at = wait_url(d, "https://test.salesforce.com/services/oauth2/authorize?").await;
    assert!(at.contains(&format!("client_id={}", app.client_id)), "{at}");
    let conn = app
        .vault
        .get_connection(&key(&app, "globex"))
        .await
        .unwrap();
    assert_eq!(
        conn.settings.login_url.as_deref(),
        Some("https://test.salesforce.com")
    );

    // Back on the page, sandbox is the stored choice; the emulator's own host completes the
    // whole round trip through the same form.
    d.goto(&uri).await.unwrap();
    let sandbox = wait_for(
        d,
        By::Css("input[name='login_host'][value='https://test.salesforce.com']"),
    )
    .await;
    assert!(
        sandbox.is_selected().await.unwrap(),
        "the stored choice is checked"
    );
    pick(d, &app.emulator.base_url()).await;
    click(d, "connect-crm-salesforce").await;
    login_and_consent(d, &app).await;
    click(d, "allow").await;
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;
    let conn = app
        .vault
        .get_connection(&key(&app, "globex"))
        .await
        .unwrap();
    assert_eq!(conn.state.as_str(), "callable");
    // Connected: Settings holds the host choice, behind a disclosure.
    let settings = d.find(By::Id("settings-crm-salesforce")).await.unwrap();
    assert!(settings.attr("open").await.unwrap().is_none());
    b.close().await;
}

/// One screenshot per card state, with a full theme.
#[tokio::test]
async fn hosted_page_states_look_right() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    for consumer in ["live", "off"] {
        let req: ImportRequest = serde_json::from_value(serde_json::json!({
            "credentials": {"access_token": "00Dshot!token", "refresh_token": "5Aepshot"},
            "settings": {"instance_url": app.emulator.base_url()},
        }))
        .unwrap();
        app.vault
            .import_connection(&key(&app, consumer), req, &Actor::Admin)
            .await
            .unwrap();
    }
    app.vault
        .update_connection(
            &key(&app, "off"),
            ConnectionInput {
                enabled: Some(false),
                ..ConnectionInput::default()
            },
        )
        .await
        .unwrap();
    for (consumer, account, badge, file) in [
        (
            "fresh",
            "Globex Corporation",
            "Not connected",
            "hosted-available.png",
        ),
        ("live", "Initech", "Connected", "hosted-callable.png"),
        ("off", "Umbrella", "Disabled", "hosted-disabled.png"),
    ] {
        let uri = app.session_uri(consumer, full_theme(account)).await;
        d.goto(&uri).await.unwrap();
        wait_text(d, By::Id("state-crm-salesforce"), badge).await;
        // The side panel takes the theme's colours.
        let side = d
            .execute(
                "return getComputedStyle(document.querySelector('.connect-side')).backgroundColor",
                Vec::new(),
            )
            .await
            .unwrap();
        assert_eq!(side.json().as_str(), Some("rgb(15, 42, 34)"));
        shot(d, file).await;
    }
    // The default look, without a theme, and the phone width.
    let uri = app.session_uri("fresh", SessionRequest::default()).await;
    d.goto(&uri).await.unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Not connected").await;
    shot(d, "hosted-default.png").await;
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    let uri = app.session_uri("live", full_theme("Initech")).await;
    d.goto(&uri).await.unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;
    let width = d
        .execute("return document.documentElement.scrollWidth", Vec::new())
        .await
        .unwrap();
    let w = width.json().as_i64().unwrap_or(9999);
    assert!(w <= 400, "page is {w}px wide at phone width");
    shot(d, "hosted-phone.png").await;

    b.close().await;

    // A dark system theme: dark cards, the theme's side panel kept.
    let Some(b) = browser_with(&["--force-dark-mode"]).await else {
        return;
    };
    let d = b.d();
    let uri = app.session_uri("live", full_theme("Initech")).await;
    d.goto(&uri).await.unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;
    let colours = d
        .execute(
            "return [getComputedStyle(document.body).backgroundColor, \
             getComputedStyle(document.querySelector('.connect-side')).backgroundColor]",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        colours.json(),
        &serde_json::json!(["rgb(13, 17, 23)", "rgb(15, 42, 34)"])
    );
    shot(d, "hosted-dark.png").await;
    b.close().await;
}
