//! Issue 11's "done": a page served from ANOTHER origin embeds a minimal Vault modal that
//! speaks the protocol of Apideck's `@apideck/react-vault` (the same calls and headers, the
//! same popup handling) against Patchbay, in headless Chromium. It lists connections, adds
//! Salesforce for a brand-new consumer with `PATCH {"enabled": true}`, authorizes it in a popup
//! that closes itself, disables and enables, disconnects in a popup, switches the login host to
//! sandbox in Settings and deletes. A page from an origin the application does not allow gets
//! nothing.

use std::time::{Duration, Instant};

use axum::response::Html;
use patchbay_core::ConsumerId;
use patchbay_server::service::sessions::SessionRequest;
use thirtyfour::WindowHandle;
use thirtyfour::prelude::*;

use crate::browser::{browser, login_and_consent, shot, wait_text};
use crate::support::{Knobs, TestApp, spawn};

/// The modal: every call carries the headers the component sends, so the browser preflights
/// each one; popups get `&redirect_uri=` + the token's `redirect_uri`, and the modal learns
/// they are done only by polling `window.closed`, as the component does.
const MODAL: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Acme settings</title></head>
<body><h1>Integrations</h1>
<p>State: <span id="state">loading</span> <span id="enabled"></span> <span id="login"></span></p>
<p id="error"></p>
<button id="add">Add</button> <button id="authorize">Authorize</button>
<button id="disable">Disable</button> <button id="enable">Enable</button>
<button id="settings">Settings</button> <select id="login_url"></select> <button id="save">Save</button>
<button id="disconnect">Disconnect</button> <button id="delete">Delete</button>
<script>
const BASE = "__BASE__", JWT = "__JWT__";
const claims = JSON.parse(atob(JWT.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
const headers = {
  'Authorization': 'Bearer ' + JWT,
  'X-APIDECK-APP-ID': claims.application_id,
  'X-APIDECK-CONSUMER-ID': claims.consumer_id,
  'X-APIDECK-AUTH-TYPE': 'JWT',
  'Content-Type': 'application/json',
};
const ONE = '/vault/connections/crm/salesforce';
let conn = null;
async function call(method, path, body) {
  const r = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}
function show(c) {
  conn = c;
  document.getElementById('state').textContent = c ? c.state : 'gone';
  document.getElementById('enabled').textContent = c && c.enabled ? 'on' : 'off';
  document.getElementById('login').textContent = (c && c.settings && c.settings.login_url) || '';
}
async function refresh() {
  try {
    const list = await call('GET', '/vault/connections?api=crm');
    show(list.body.data.find(c => c.service_id === 'salesforce'));
  } catch (e) { document.getElementById('error').textContent = 'Failed to fetch: ' + e; }
}
function popup(url) {
  return new Promise(resolve => {
    const w = window.open(url + '&redirect_uri=' + encodeURIComponent(claims.redirect_uri), 'vault', 'width=600,height=700');
    const t = setInterval(() => { if (w.closed) { clearInterval(t); resolve(); } }, 200);
  });
}
async function patch(body) {
  const r = await call('PATCH', ONE, body);
  if (r.status !== 200) { document.getElementById('error').textContent = JSON.stringify(r.body); }
  await refresh();
}
document.getElementById('add').onclick = () => patch({ enabled: true });
document.getElementById('authorize').onclick = async () => { await popup(conn.authorize_url); await refresh(); };
document.getElementById('disable').onclick = () => patch({ enabled: false });
document.getElementById('enable').onclick = () => patch({ enabled: true });
document.getElementById('settings').onclick = async () => {
  const r = await call('GET', ONE);
  const field = r.body.data.form_fields.find(f => f.id === 'login_url');
  const select = document.getElementById('login_url');
  select.innerHTML = '';
  for (const o of field.options) { const opt = document.createElement('option'); opt.value = o.value; opt.textContent = o.label; select.appendChild(opt); }
};
document.getElementById('save').onclick = () => patch({ settings: { login_url: document.getElementById('login_url').value } });
document.getElementById('disconnect').onclick = async () => { await popup(conn.revoke_url); await refresh(); };
document.getElementById('delete').onclick = async () => {
  const r = await call('DELETE', ONE);
  document.getElementById('error').textContent = r.status === 204 ? '' : 'delete ' + r.status;
  await refresh();
};
refresh();
</script></body></html>"#;

/// Serves `router` on a port of its own: a different origin from Patchbay's.
pub(crate) async fn serve_origin(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    origin
}

/// Serves `page` at `/` on a port of its own.
pub(crate) async fn serve_page(page: String) -> String {
    serve_origin(axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { Html(page) }
        }),
    ))
    .await
}

async fn click(d: &WebDriver, id: &str) {
    d.find(By::Id(id))
        .await
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {id}: {e}"));
}

/// Waits for a second window, switches to it and returns the opener's handle.
pub(crate) async fn to_popup(d: &WebDriver) -> WindowHandle {
    let main = d.window().await.expect("window");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let handles = d.windows().await.expect("windows");
        if let Some(popup) = handles.iter().find(|h| **h != main) {
            d.switch_to_window(popup.clone()).await.expect("switch");
            return main;
        }
        assert!(Instant::now() < deadline, "no popup opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the popup closed itself, then goes back to the opener.
pub(crate) async fn popup_closes_itself(d: &WebDriver, main: WindowHandle) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let handles = d.windows().await.expect("windows");
        if handles.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the popup did not close itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.switch_to_window(main).await.expect("back to the modal");
}

/// Waits until the element's text is something other than `old`.
async fn wait_until_not(d: &WebDriver, id: &str, old: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = d.find(By::Id(id)).await.unwrap().text().await.unwrap();
        if text != old {
            return;
        }
        assert!(Instant::now() < deadline, "{id} stayed {old}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn modal_page(app: &TestApp, jwt: &str) -> String {
    MODAL
        .replace("__BASE__", &app.local_url)
        .replace("__JWT__", jwt)
}

pub(crate) async fn session_token(app: &TestApp, consumer: &str) -> String {
    app.vault
        .create_session(
            &app.app_id,
            &ConsumerId::parse(consumer).expect("id"),
            SessionRequest::default(),
        )
        .await
        .expect("session")
        .session_token
}

#[tokio::test]
async fn an_embedded_modal_on_another_origin_drives_the_whole_vault() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let jwt = session_token(&app, "embedded-new").await;
    let origin = serve_page(modal_page(&app, &jwt)).await;
    app.vault
        .set_cors_origins(&app.app_id, std::slice::from_ref(&origin))
        .await
        .expect("allow the page's origin");

    d.goto(format!("{origin}/")).await.unwrap();
    wait_text(d, By::Id("state"), "available").await;
    shot(d, "embed-modal-available.png").await;

    click(d, "add").await;
    wait_text(d, By::Id("state"), "added").await;

    click(d, "authorize").await;
    let main = to_popup(d).await;
    login_and_consent(d, &app).await;
    d.find(By::Id("allow"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    popup_closes_itself(d, main).await;
    wait_text(d, By::Id("state"), "callable").await;
    shot(d, "embed-modal-callable.png").await;

    click(d, "disable").await;
    wait_text(d, By::Id("enabled"), "off").await;
    click(d, "enable").await;
    wait_text(d, By::Id("enabled"), "on").await;

    // No sign-in here: the popup may open and close itself faster than a poll can see it, so
    // the proof is that it is gone and the modal re-read a connection that is no longer
    // callable.
    let main = d.window().await.expect("window");
    click(d, "disconnect").await;
    wait_until_not(d, "state", "callable").await;
    popup_closes_itself(d, main).await;

    click(d, "settings").await;
    let select = d.find(By::Id("login_url")).await.unwrap();
    select
        .find(By::Css("option[value='https://test.salesforce.com']"))
        .await
        .expect("a sandbox option")
        .click()
        .await
        .unwrap();
    click(d, "save").await;
    wait_text(d, By::Id("login"), "https://test.salesforce.com").await;

    click(d, "delete").await;
    wait_text(d, By::Id("state"), "available").await;
    let error = d.find(By::Id("error")).await.unwrap().text().await.unwrap();
    assert!(error.is_empty(), "{error}");
    b.close().await;
}

#[tokio::test]
async fn a_modal_on_a_foreign_origin_cannot_read_anything() {
    let Some(b) = browser().await else { return };
    let app = spawn(Knobs::default()).await;
    let d = b.d();
    let jwt = session_token(&app, "foreign").await;
    let origin = serve_page(modal_page(&app, &jwt)).await;
    d.goto(format!("{origin}/")).await.unwrap();
    wait_text(d, By::Id("error"), "Failed to fetch").await;
    assert_eq!(
        d.find(By::Id("state")).await.unwrap().text().await.unwrap(),
        "loading"
    );
    b.close().await;
}
