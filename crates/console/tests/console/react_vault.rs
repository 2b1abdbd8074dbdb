//! Issue 11's "done", with the real thing: Apideck's published `@apideck/react-vault` 0.12.9
//! (vendored in `tests/fixtures/react-vault/`, unchanged, with its licences), mounted on a page
//! served from ANOTHER origin, pointed at Patchbay with `unifyBaseUrl` and nothing else, and
//! driven in headless Chromium as a customer would.

use std::time::{Duration, Instant};

use axum::response::{Html, IntoResponse};
use patchbay_core::ConsumerId;
use thirtyfour::prelude::*;

use crate::browser::{browser, login_and_consent, shot, wait_text};
use crate::embed::{popup_closes_itself, serve_origin, session_token, to_popup};
use crate::support::{Knobs, spawn};

const BUNDLE: &str = include_str!("../fixtures/react-vault/react-vault.bundle.js");
const CSS: &str = include_str!("../fixtures/react-vault/react-vault.css");

/// The customer's settings page: the component, opened, with Patchbay as its base URL.
fn page(base: &str, jwt: &str) -> String {
    format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Acme settings</title>
<link rel="stylesheet" href="/react-vault.css"></head>
<body><h1>Integrations</h1><div id="vault"></div>
<script src="/react-vault.bundle.js"></script>
<script>
window.changes = [];
window.deletes = [];
mountVault(document.getElementById('vault'), {{
  token: "{jwt}",
  unifyBaseUrl: "{base}",
  open: true,
  showAttribution: false,
  onConnectionChange: c => window.changes.push(c.state),
  onConnectionDelete: c => window.deletes.push(c.service_id),
}});
</script></body></html>"#
    )
}

/// Serves the page and the component on a port of their own: a different origin.
async fn serve(page: String) -> String {
    serve_origin(
        axum::Router::new()
            .route(
                "/",
                axum::routing::get(move || {
                    let page = page.clone();
                    async move { Html(page) }
                }),
            )
            .route(
                "/react-vault.bundle.js",
                axum::routing::get(|| async {
                    ([("content-type", "text/javascript")], BUNDLE).into_response()
                }),
            )
            .route(
                "/react-vault.css",
                axum::routing::get(|| async {
                    ([("content-type", "text/css")], CSS).into_response()
                }),
            ),
    )
    .await
}

/// Waits until the connection's status badge says `text`.
async fn badge(d: &WebDriver, text: &str) {
    wait_text(d, By::Css("[data-testid='status-badge']"), text).await;
}

/// The button whose text is `text`, once it is there.
async fn button(d: &WebDriver, text: &str) -> WebElement {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(found) = d
            .find(By::XPath(format!("//button[normalize-space()='{text}']")))
            .await
        {
            return found;
        }
        assert!(Instant::now() < deadline, "no {text:?} button");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the connection's menu and picks `item`. The component's toasts sit over the menu
/// button for a few seconds, so they are dismissed first, as a user would.
async fn menu(d: &WebDriver, item: &str) {
    dismiss_toasts(d).await;
    d.find(By::Css("[data-testid='dropdown'] button"))
        .await
        .expect("the connection menu")
        .click()
        .await
        .expect("open the menu");
    button(d, item)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("{item}: {e}"));
}

async fn dismiss_toasts(d: &WebDriver) {
    // A dismissed toast leaves with an animation and another may arrive meanwhile; the menu
    // button is clickable only once none is left (on a loaded machine a single pass was not
    // enough: the click landed on a toast still leaving).
    for _ in 0..50 {
        let toasts = d
            .find_all(By::Css("[data-testid='remove']"))
            .await
            .unwrap_or_default();
        if toasts.is_empty() {
            return;
        }
        for toast in toasts {
            let _ = toast.click().await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn apideck_react_vault_drives_patchbay_from_another_origin() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let jwt = session_token(&app, "react-vault-new").await;
    let origin = serve(page(&app.local_url, &jwt)).await;
    app.vault
        .set_cors_origins(&app.app_id, std::slice::from_ref(&origin))
        .await
        .expect("allow the page's origin");

    d.goto(format!("{origin}/")).await.unwrap();
    wait_text(d, By::Tag("body"), "Salesforce").await;
    shot(d, "react-vault-list.png").await;
    // Clicking an available connection adds it (`PATCH {"enabled": true}`).
    d.find(By::Id("react-vault-connection-crm+salesforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    badge(d, "Unauthorized").await;
    shot(d, "react-vault-added.png").await;

    // Authorize in the popup; the completion page closes it, the modal sees `window.closed`.
    button(d, "Authorize Salesforce")
        .await
        .click()
        .await
        .unwrap();
    let main = to_popup(d).await;
    login_and_consent(d, &app).await;
    d.find(By::Id("allow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    popup_closes_itself(d, main).await;
    badge(d, "Connected").await;
    shot(d, "react-vault-connected.png").await;

    menu(d, "Disable").await;
    badge(d, "Disabled").await;
    shot(d, "react-vault-disabled.png").await;
    menu(d, "Enable").await;
    badge(d, "Connected").await;

    // Disconnect opens `revoke_url` in a popup, which also closes itself.
    let main = d.window().await.expect("window");
    menu(d, "Disconnect").await;
    popup_closes_itself(d, main).await;
    badge(d, "Unauthorized").await;
    shot(d, "react-vault-disconnected.png").await;

    // Settings: the login host, from `form_fields`, switched to sandbox.
    menu(d, "Settings").await;
    let select = d
        .find(By::Css("#login_url input[role='combobox']"))
        .await
        .expect("the login host select");
    select.click().await.expect("open the select");
    let sandbox = By::XPath(
        "//div[contains(@id,'-option-') and normalize-space()='Sandbox (test.salesforce.com)']"
            .to_owned(),
    );
    d.find(sandbox)
        .await
        .expect("a sandbox option")
        .click()
        .await
        .unwrap();
    shot(d, "react-vault-settings.png").await;
    button(d, "Save").await.click().await.unwrap();
    let key = patchbay_server::service::connections::ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse("react-vault-new").expect("id"),
        unified_api: patchbay_core::UnifiedApi::crm(),
        service_id: patchbay_core::ServiceId::salesforce(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = app
            .vault
            .get_connection(&key)
            .await
            .expect("the connection");
        let login = view.settings.login_url;
        if login.as_deref() == Some("https://test.salesforce.com") {
            break;
        }
        assert!(Instant::now() < deadline, "login_url stayed {login:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Delete asks "Are you sure?" first.
    menu(d, "Delete").await;
    wait_text(d, By::Tag("body"), "Are you sure?").await;
    d.find(By::XPath(
        "//h3[normalize-space()='Are you sure?']/..//button[normalize-space()='Delete']".to_owned(),
    ))
    .await
    .expect("the confirmation's Delete")
    .click()
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let view = app
            .vault
            .get_connection(&key)
            .await
            .expect("the connection");
        if view.state.as_str() == "available" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {} after Delete",
            view.state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_text(d, By::Tag("body"), "Manage your integrations").await;
    shot(d, "react-vault-deleted.png").await;

    // The component's own callbacks saw the changes and the delete.
    let seen = d
        .execute("return [window.changes, window.deletes];", Vec::new())
        .await
        .expect("read the callbacks")
        .json()
        .clone();
    assert!(
        seen[0]
            .as_array()
            .is_some_and(|c| c.iter().any(|s| s == "callable")),
        "onConnectionChange never saw a callable connection: {seen}"
    );
    assert_eq!(seen[1], serde_json::json!(["salesforce"]), "{seen}");
    b.close().await;
}

#[tokio::test]
async fn apideck_react_vault_on_a_foreign_origin_gets_nothing() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let jwt = session_token(&app, "react-vault-foreign").await;
    // The page's origin is not one the application allows.
    let origin = serve(page(&app.local_url, &jwt)).await;
    d.goto(format!("{origin}/")).await.unwrap();
    // The component's own words when the browser refuses it the answer (no CORS allow).
    wait_text(d, By::Tag("body"), "Failed to fetch").await;
    let listed = d
        .find_all(By::Css("[id^='react-vault-connection-']"))
        .await
        .unwrap_or_default();
    assert!(listed.is_empty(), "a foreign origin read the connections");
    shot(d, "react-vault-foreign.png").await;
    b.close().await;
}
