//! Browser end-to-end tests in headless Chromium (Debian's `chromium` + `chromium-driver`,
//! driven over WebDriver). Each test starts its own chromedriver on a free port, its own
//! Patchbay server and its own emulator, and saves screenshots of the main screens: into
//! `target/screenshots/` normally, into `docs/screenshots/` with `PATCHBAY_UPDATE_SCREENSHOTS=1`
//! (so a test run does not rewrite tracked files).
//!
//! Without a browser the tests print a notice and pass, except under `CI=true`, where a missing
//! browser is a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_server::service::connections::ConnectionKey;
use patchbay_server::service::sessions::SessionRequest;
use thirtyfour::prelude::*;

use crate::support::{ADMIN_PASSWORD, ADMIN_USER, Knobs, REDIRECT_URI, TestApp, spawn};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session; chromedriver is killed when this is dropped.
pub(crate) struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

impl Browser {
    pub(crate) fn d(&self) -> &WebDriver {
        self.driver.as_ref().expect("driver")
    }

    pub(crate) async fn close(mut self) {
        if let Some(d) = self.driver.take() {
            let _ = d.quit().await;
        }
    }
}

/// Starts chromedriver and a browser, or `None` (with a notice) when Chromium is not installed
/// and this is not CI.
pub(crate) async fn browser() -> Option<Browser> {
    browser_with(&[]).await
}

/// [`browser`] with extra Chromium flags (e.g. `--force-dark-mode`).
pub(crate) async fn browser_with(extra: &[&str]) -> Option<Browser> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        let msg = format!(
            "browser tests need {CHROMIUM} and {CHROMEDRIVER} (apt-get install -y chromium chromium-driver)"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let chromedriver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).expect("binary");
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--window-size=1280,900",
        // Tests never reach the real Salesforce: a page that sends the browser there (the
        // hosted page's sandbox choice) ends at a failed lookup, not on the internet.
        "--host-resolver-rules=MAP *.salesforce.com ~NOTFOUND",
        &format!("--user-data-dir={}", profile.path().display()),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    {
        caps.add_arg(arg).expect("arg");
    }
    let mut browser = Browser {
        driver: None,
        chromedriver,
        _profile: profile,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match WebDriver::new(format!("http://127.0.0.1:{port}"), caps.clone()).await {
            Ok(d) => {
                browser.driver = Some(d);
                return Some(browser);
            }
            Err(e) if Instant::now() > deadline => panic!("chromedriver did not start: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn screenshot_path(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = if std::env::var_os("PATCHBAY_UPDATE_SCREENSHOTS").is_some_and(|v| v == "1") {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir.join(name)
}

pub(crate) async fn shot(d: &WebDriver, name: &str) {
    d.screenshot(&screenshot_path(name))
        .await
        .expect("screenshot");
}

/// Waits until the element's text contains `want`; returns the text.
pub(crate) async fn wait_text(d: &WebDriver, by: By, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    loop {
        if let Ok(el) = d.find(by.clone()).await
            && let Ok(text) = el.text().await
        {
            if text.contains(want) {
                return text;
            }
            last = text;
        }
        if Instant::now() > deadline {
            let url = d
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = d.source().await.unwrap_or_default();
            panic!("waited for {by:?} to contain {want:?}; last text {last:?} at {url}\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn wait_for(d: &WebDriver, by: By) -> WebElement {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(el) = d.find(by.clone()).await {
            return el;
        }
        if Instant::now() > deadline {
            let url = d
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            panic!("{by:?} did not appear at {url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn type_into(d: &WebDriver, id: &str, text: &str) {
    let el = d.find(By::Id(id)).await.expect(id);
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

async fn sign_in_admin(d: &WebDriver, app: &TestApp, screenshot: Option<&str>) {
    d.goto(format!("{}/admin/login", app.base_url))
        .await
        .unwrap();
    wait_for(d, By::Id("username")).await;
    if let Some(name) = screenshot {
        shot(d, name).await;
    }
    type_into(d, "username", ADMIN_USER).await;
    type_into(d, "password", ADMIN_PASSWORD).await;
    d.find(By::Id("sign-in"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Tag("h1"), "Applications").await;
}

/// Connect → the emulator's login page → consent. Leaves the browser on the consent page.
async fn to_consent_page(d: &WebDriver, app: &TestApp, session_uri: &str) {
    d.goto(session_uri).await.unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Not connected").await;
    d.find(By::Id("connect-crm-salesforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    login_and_consent(d, app).await;
}

/// On the emulator's login page: sign in and wait for the consent page.
pub(crate) async fn login_and_consent(d: &WebDriver, app: &TestApp) {
    wait_for(d, By::Id("Login")).await;
    let at = d.current_url().await.unwrap().to_string();
    assert!(
        at.starts_with(&app.emulator.base_url()),
        "the real login page of the emulator: {at}"
    );
    type_into(d, "username", &app.emulator_user).await;
    type_into(d, "password", &app.emulator_password).await;
    d.find(By::Id("Login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(d, By::Id("allow")).await;
}

fn key(app: &TestApp, consumer: &str) -> ConnectionKey {
    ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse(consumer).unwrap(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    }
}

fn themed_session() -> SessionRequest {
    serde_json::from_value(serde_json::json!({
        "redirect_uri": REDIRECT_URI,
        "consumer_metadata": {"account_name": "Globex Corporation", "email": "it@globex.example"},
        "theme": {"vault_name": "Acme Connect", "primary_color": "#0a7d4f"},
        "settings": {"unified_apis": ["crm"]}
    }))
    .unwrap()
}

/// Done-means 1: sign in, configure Salesforce against the emulator, Test Vault passes.
#[tokio::test]
async fn admin_configures_salesforce_and_test_vault_passes() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs {
        integration: false,
        ..Knobs::default()
    })
    .await;
    let d = b.d();
    sign_in_admin(d, &app, Some("admin-sign-in.png")).await;
    d.find(By::ClassName("app-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.find(By::Id("tab-salesforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Tag("h1"), "Salesforce").await;
    let callback = d.find(By::Id("callback-url")).await.unwrap();
    assert_eq!(
        callback.prop("value").await.unwrap().as_deref(),
        Some(format!("{}/vault/callback", app.base_url).as_str())
    );
    assert!(d.find(By::Id("copy-callback")).await.is_ok(), "copy button");
    // The guide's defaults: api, refresh_token/offline_access, openid; PKCE on; secret on
    // refresh off.
    for (id, on) in [
        ("scope_api", true),
        ("scope_refresh", true),
        ("scope_openid", true),
        ("scope_full", false),
        ("pkce", true),
        ("send_secret_on_refresh", false),
    ] {
        assert_eq!(
            d.find(By::Id(id))
                .await
                .unwrap()
                .is_selected()
                .await
                .unwrap(),
            on,
            "{id}"
        );
    }
    type_into(d, "client_id", &app.client_id).await;
    type_into(d, "client_secret", &app.client_secret).await;
    d.find(By::Id("login-custom"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(d, "custom_url", &app.emulator.base_url()).await;
    d.find(By::Id("save-settings"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("notice"), "Settings saved").await;
    wait_text(d, By::Id("integration-state"), "configured").await;
    let source = d.source().await.unwrap();
    assert!(
        !source.contains(&app.client_secret),
        "the secret is write-only"
    );
    assert_eq!(
        d.find(By::Id("client_secret"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    d.find(By::Id("test-vault"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let summary = wait_for(d, By::Id("test-vault-summary")).await;
    let failed = d
        .find_all(By::Css("li[data-status='failed']"))
        .await
        .unwrap();
    let mut failures = Vec::new();
    for f in &failed {
        failures.push(f.text().await.unwrap_or_default());
    }
    assert_eq!(
        summary.text().await.unwrap(),
        "passed",
        "failed checks: {failures:#?}"
    );
    let passed = d
        .find_all(By::Css("li[data-status='passed']"))
        .await
        .unwrap();
    assert!(
        passed.len() >= 3,
        "login host, consumer key and more pass: {}",
        passed.len()
    );
    shot(d, "admin-salesforce-test-vault.png").await;
    let integration = app
        .vault
        .get_integration(&app.app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .unwrap();
    assert_eq!(
        integration.client_id.as_deref(),
        Some(app.client_id.as_str())
    );
    assert!(integration.has_client_secret);
    b.close().await;
}

/// Done-means 2: "Require Secret for Refresh Token Flow" at the emulator is named as the fix.
#[tokio::test]
async fn test_vault_names_require_secret_for_refresh() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs {
        require_secret_for_refresh: true,
        ..Knobs::default()
    })
    .await;
    let d = b.d();
    sign_in_admin(d, &app, None).await;
    d.goto(format!(
        "{}/admin/apps/{}/integrations/salesforce",
        app.base_url, app.app_id
    ))
    .await
    .unwrap();
    d.find(By::Id("test-vault"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("test-vault-summary"), "failed").await;
    let mut named = None;
    for el in d
        .find_all(By::Css("li[data-status='failed'] .fix-text"))
        .await
        .unwrap()
    {
        let fix = el.text().await.unwrap();
        if fix.contains("Require Secret for Refresh Token Flow") {
            named = Some(el);
        }
    }
    let Some(fix) = named else {
        panic!(
            "a failed check names the setting:\n{}",
            d.source().await.unwrap()
        );
    };
    fix.scroll_into_view().await.unwrap();
    shot(d, "admin-test-vault-refresh-secret.png").await;
    b.close().await;
}

/// Done-means 3: the customer connects through the emulator's real login and consent pages.
#[tokio::test]
async fn consumer_connects_through_the_hosted_page() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let uri = app.session_uri("globex", themed_session()).await;
    d.goto(&uri).await.unwrap();
    wait_text(d, By::Id("vault-name"), "Acme Connect").await;
    wait_text(d, By::Id("consumer-label"), "Globex Corporation").await;
    // The theme's primary colour reaches the page through the session's stylesheet.
    let bg = d
        .execute(
            "return getComputedStyle(document.getElementById('connect-crm-salesforce')).backgroundColor",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(bg.json().as_str(), Some("rgb(10, 125, 79)"));
    shot(d, "connect-page.png").await;
    to_consent_page(d, &app, &uri).await;
    shot(d, "emulator-consent.png").await;
    d.find(By::Id("allow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;
    wait_text(d, By::Id("notice-title"), "Connected").await;
    let at = d.current_url().await.unwrap().to_string();
    assert!(
        at.starts_with(&format!("{}/session/", app.base_url)),
        "back on the hosted page: {at}"
    );
    assert!(d.find(By::Id("disconnect-crm-salesforce")).await.is_ok());
    shot(d, "connect-connected.png").await;
    let conn = app
        .vault
        .get_connection(&key(&app, "globex"))
        .await
        .unwrap();
    assert_eq!(conn.state.as_str(), "callable");
    // Phone width: nothing overflows sideways.
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    let width = d
        .execute("return document.documentElement.scrollWidth", Vec::new())
        .await
        .unwrap();
    let w = width.json().as_i64().unwrap_or(9999);
    assert!(w <= 400, "page is {w}px wide at phone width");
    shot(d, "connect-phone.png").await;
    // Disconnect (allowed by default) revokes at Salesforce and says so.
    d.set_window_rect(0, 0, 1280, 900).await.unwrap();
    d.find(By::Id("disconnect-crm-salesforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.accept_alert().await.unwrap();
    wait_text(d, By::Id("notice-title"), "Disconnected").await;
    let conn = app
        .vault
        .get_connection(&key(&app, "globex"))
        .await
        .unwrap();
    assert_ne!(
        conn.state.as_str(),
        "callable",
        "tokens are gone after disconnect"
    );
    assert!(
        d.find(By::Id("connect-crm-salesforce")).await.is_ok(),
        "can connect again"
    );
    b.close().await;
}

/// Done-means 4: Deny leads to a clear message and no connection.
#[tokio::test]
async fn consumer_who_denies_gets_a_clear_message() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let uri = app.session_uri("initech", themed_session()).await;
    // Keyboard only: Tab to the Connect button and press Enter.
    d.goto(&uri).await.unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Not connected").await;
    let mut reached = false;
    for _ in 0..15 {
        d.action_chain()
            .send_keys(Key::Tab)
            .perform()
            .await
            .unwrap();
        let focused = d.active_element().await.unwrap();
        if focused.id().await.unwrap().as_deref() == Some("connect-crm-salesforce") {
            reached = true;
            break;
        }
    }
    assert!(reached, "the Connect button is reachable with Tab");
    d.action_chain()
        .send_keys(Key::Enter)
        .perform()
        .await
        .unwrap();
    login_and_consent(d, &app).await;
    d.find(By::Id("deny")).await.unwrap().click().await.unwrap();
    wait_text(d, By::Id("notice-title"), "Access was denied").await;
    let text = d
        .find(By::Id("notice-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("nothing was connected"), "{text}");
    wait_text(d, By::Id("state-crm-salesforce"), "Not connected").await;
    shot(d, "connect-denied.png").await;
    let conn = app
        .vault
        .get_connection(&key(&app, "initech"))
        .await
        .unwrap();
    assert_eq!(conn.state.as_str(), "available", "no half-made connection");
    b.close().await;
}

/// Done-means 5: the admin sees the new connection, validates it and deletes it.
#[tokio::test]
async fn admin_validates_and_deletes_the_new_connection() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let uri = app.session_uri("umbrella", themed_session()).await;
    to_consent_page(d, &app, &uri).await;
    d.find(By::Id("allow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;

    sign_in_admin(d, &app, None).await;
    d.find(By::ClassName("app-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.find(By::Id("tab-consumers"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    shot(d, "admin-consumers.png").await;
    d.find(By::LinkText("umbrella"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;
    d.find(By::Id("validate-crm-salesforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("notice"), "Validated crm+salesforce").await;
    wait_text(d, By::Id("state-crm-salesforce"), "Connected").await;
    shot(d, "admin-consumer-connection.png").await;
    d.find(By::Id("delete-crm-salesforce"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The page asks for confirmation first.
    d.accept_alert().await.unwrap();
    wait_text(d, By::Id("notice"), "Deleted crm+salesforce").await;
    wait_for(d, By::Id("no-connections")).await;
    let conn = app
        .vault
        .get_connection(&key(&app, "umbrella"))
        .await
        .unwrap();
    assert_eq!(conn.state.as_str(), "available");
    // The deletion is in the audit log.
    d.goto(format!("{}/admin/audit?app={}", app.base_url, app.app_id))
        .await
        .unwrap();
    let actions = d.find_all(By::ClassName("audit-action")).await.unwrap();
    let mut seen = Vec::new();
    for a in actions {
        seen.push(a.text().await.unwrap());
    }
    assert!(seen.iter().any(|a| a == "connection.create"), "{seen:?}");
    assert!(seen.iter().any(|a| a == "connection.delete"), "{seen:?}");
    shot(d, "admin-audit.png").await;

    // API keys: the secret is shown once, then only its id; revoking asks first.
    d.goto(format!(
        "{}/admin/apps/{}/api-keys",
        app.base_url, app.app_id
    ))
    .await
    .unwrap();
    type_into(d, "key-name", "reporting job").await;
    d.find(By::Id("create-key"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let secret = wait_for(d, By::Id("new-key"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(secret.len() > 20, "the new key is shown");
    shot(d, "admin-api-keys.png").await;
    d.refresh().await.unwrap();
    wait_text(d, By::Tag("h1"), "API keys").await;
    assert!(!d.source().await.unwrap().contains(&secret), "shown once");
    let keys = app.vault.list_api_keys(&app.app_id).await.unwrap();
    let created = keys
        .iter()
        .find(|k| k.name == "reporting job")
        .expect("key row");
    d.find(By::Id(format!("revoke-{}", created.id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.accept_alert().await.unwrap();
    wait_text(d, By::Id("notice"), "Revoked").await;
    let keys = app.vault.list_api_keys(&app.app_id).await.unwrap();
    assert!(
        keys.iter()
            .any(|k| k.name == "reporting job" && k.revoked_at.is_some())
    );

    d.goto(format!(
        "{}/admin/apps/{}/logs?consumer=umbrella",
        app.base_url, app.app_id
    ))
    .await
    .unwrap();
    wait_text(d, By::Tag("h1"), "Logs").await;
    shot(d, "admin-logs.png").await;
    d.goto(format!("{}/admin/keys", app.base_url))
        .await
        .unwrap();
    wait_text(d, By::Tag("h1"), "Encryption keys").await;
    shot(d, "admin-encryption-keys.png").await;
    b.close().await;
}

#[tokio::test]
async fn admin_subscribes_a_webhook_and_sends_a_test_event() {
    let Some(b) = browser().await else { return };
    let d = b.d();
    let app = spawn(Knobs::default()).await;
    let rx = crate::webhooks::Receiver::start().await;
    let key = app
        .vault
        .create_api_key(
            &app.app_id,
            "webhooks",
            patchbay_server::service::Scope::DEFAULT,
        )
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();
    sign_in_admin(d, &app, None).await;
    d.goto(format!("{}/admin/apps/{}", app.base_url, app.app_id))
        .await
        .unwrap();
    d.find(By::Id("tab-webhooks"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Tag("h1"), "Webhooks").await;
    type_into(d, "delivery-url", &rx.url).await;
    type_into(d, "description", "browser receiver").await;
    type_into(d, "api-key", &key).await;
    d.find(By::Id("create-webhook"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("notice"), "accepted the validation event").await;
    let secret = wait_for(d, By::Id("new-secret"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let subs = app.vault.list_webhooks(&app.app_id).await.unwrap();
    assert_eq!(subs.len(), 1);
    let id = subs[0].id.clone();
    wait_text(d, By::Id(format!("status-{id}")), "enabled").await;
    shot(d, "admin-webhooks.png").await;
    d.find(By::Id(format!("test-{id}")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(d, By::Id("test-result"), "answered 200").await;
    let got = rx.wait_for(2).await;
    assert_eq!(got.len(), 2, "validation on create, then the test event");
    assert!(got.iter().all(|g| g.event_type == "webhook.validation"));
    for g in &got {
        assert!(patchbay_webhooks::signature::verify_apideck(
            &key, &g.raw, &g.apideck
        ));
    }
    assert!(
        !d.source().await.unwrap().contains(&secret),
        "the secret is shown once"
    );
    b.close().await;
}
