//! The console's webhooks page over plain HTTP, against a real local receiver: create (the
//! signing secret shown once, the API key checked), "Send test event" and its outcome, edit,
//! the delivery log, delete, and CSRF on every form.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_server::service::Scope;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use patchbay_webhooks::signature::{DEFAULT_TOLERANCE_SECS, verify_apideck, verify_patchbay};
use reqwest::StatusCode;

use crate::http::sign_in;
use crate::support::{Knobs, TestApp, csrf_of, spawn};

/// What the receiver got: event type, raw body, both signature headers.
#[derive(Clone, Debug)]
pub struct Got {
    pub event_type: String,
    pub raw: Vec<u8>,
    pub apideck: String,
    pub patchbay: String,
}

#[derive(Default)]
struct Inner {
    got: Mutex<Vec<Got>>,
    /// The status to answer with; 200 unless set.
    answer: AtomicU16,
}

/// A webhook receiver on 127.0.0.1:0.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        inner.answer.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inner }
    }

    pub fn answer_with(&self, status: u16) {
        self.inner.answer.store(status, Ordering::SeqCst);
    }

    pub fn got(&self) -> Vec<Got> {
        self.inner.got.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Got> {
        for _ in 0..400 {
            if self.got().len() >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.got()
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, raw: Bytes) -> AxumStatus {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    inner.got.lock().unwrap().push(Got {
        event_type: h("x-apideck-event-type"),
        raw: raw.to_vec(),
        apideck: h("x-apideck-signature"),
        patchbay: h("x-patchbay-signature"),
    });
    AxumStatus::from_u16(inner.answer.load(Ordering::SeqCst)).unwrap_or(AxumStatus::OK)
}

fn now_secs() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The value of the input with this id.
fn input_value(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    Some(rest[start..].split('"').next()?.to_owned())
}

async fn post(
    client: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = client.post(url).form(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhooks_page_manages_subscriptions_and_sends_test_events() {
    let app = spawn(Knobs::default()).await;
    let rx = Receiver::start().await;
    let key = app
        .vault
        .create_api_key(&app.app_id, "hooks", Scope::DEFAULT)
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();
    let key = key.as_str();
    let url = rx.url.as_str();
    let (client, _) = sign_in(&app).await;
    let page = format!("{}/admin/apps/{}/webhooks", app.local_url, app.app_id);
    let html = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("No subscriptions yet"), "{html}");
    assert!(html.contains("id=\"tab-webhooks\""));
    let csrf_owned = csrf_of(&html);
    let csrf = csrf_owned.as_str();

    // Without a key, or with one that is not this application's, nothing is created.
    for bad_key in ["", "pk_live_not-a-key"] {
        let (status, html) = post(
            &client,
            page.clone(),
            &[
                ("csrf", csrf),
                ("delivery_url", url),
                ("events", "*"),
                ("api_key", bad_key),
                ("enabled", "on"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains(url), "the form keeps what was typed");
    }
    assert!(
        app.vault
            .list_webhooks(&app.app_id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(rx.got().is_empty());
    // A form without the CSRF token is refused.
    let (status, _) = post(
        &client,
        page.clone(),
        &[("delivery_url", url), ("events", "*"), ("api_key", key)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Created: validated with a signed event, the signing secret shown once.
    let (status, html) = post(
        &client,
        page.clone(),
        &[
            ("csrf", csrf),
            ("delivery_url", url),
            ("events", "*"),
            ("description", "ops"),
            ("api_key", key),
            ("enabled", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let secret = input_value(&html, "new-secret").expect("secret shown");
    assert!(secret.starts_with("whsec_"), "{secret}");
    let subs = app.vault.list_webhooks(&app.app_id).await.unwrap();
    assert_eq!(subs.len(), 1);
    let id = subs[0].id.clone();
    assert_eq!(subs[0].status, "enabled");
    let got = rx.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event_type, "webhook.validation");
    assert!(verify_apideck(key, &got[0].raw, &got[0].apideck));
    verify_patchbay(
        &secret,
        &got[0].patchbay,
        &got[0].raw,
        now_secs(),
        DEFAULT_TOLERANCE_SECS,
    )
    .expect("patchbay signature");
    // Shown once: the next view has neither the secret nor the key.
    let html = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&secret) && !html.contains(key));
    assert!(html.contains(&format!("id=\"sub-{id}\"")) && html.contains("ops"));

    // "Send test event": sent now, signed with the stored key copy, the outcome shown.
    let test_url = format!("{page}/{id}/test");
    let (_, html) = post(&client, test_url.clone(), &[("csrf", csrf)]).await;
    assert!(html.contains("id=\"test-result\""), "{html}");
    assert!(html.contains("answered 200"), "{html}");
    let got = rx.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert!(verify_apideck(key, &got[1].raw, &got[1].apideck));
    rx.answer_with(503);
    let (_, html) = post(&client, test_url.clone(), &[("csrf", csrf)]).await;
    assert!(html.contains("answered 503, not 2xx"), "{html}");
    rx.answer_with(200);

    // Edit without a key: the events change, the stored signing key stays.
    let (_, html) = post(
        &client,
        format!("{page}/{id}"),
        &[
            ("csrf", csrf),
            ("delivery_url", url),
            (
                "events",
                "vault.connection.created vault.connection.deleted",
            ),
            ("enabled", "on"),
        ],
    )
    .await;
    assert!(html.contains("saved (enabled)"), "{html}");
    let sub = app.vault.get_webhook(&app.app_id, &id).await.unwrap();
    assert_eq!(
        sub.events,
        vec!["vault.connection.created", "vault.connection.deleted"]
    );
    // An unknown event name is the API's validation error, shown on the page.
    let (_, html) = post(
        &client,
        format!("{page}/{id}"),
        &[
            ("csrf", csrf),
            ("delivery_url", url),
            ("events", "vault.connection.exploded"),
            ("enabled", "on"),
        ],
    )
    .await;
    assert!(html.contains("role=\"alert\""), "{html}");

    // A real event reaches the receiver, signed with the same key, and shows in the log.
    let conn = ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse("hooked").unwrap(),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    };
    app.vault
        .add_connection(&conn, ConnectionInput::default(), &Actor::Admin)
        .await
        .unwrap();
    let got = rx.wait_for(4).await;
    let created = got
        .iter()
        .find(|g| g.event_type == "vault.connection.created")
        .expect("created delivered");
    assert!(verify_apideck(key, &created.raw, &created.apideck));
    let mut html = String::new();
    for _ in 0..100 {
        html = client
            .get(&page)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if html.contains(">delivered<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(html.contains("class=\"delivery\""), "{html}");
    assert!(
        html.contains("vault.connection.created") && html.contains("hooked"),
        "{html}"
    );
    assert!(html.contains(">delivered<"), "{html}");

    // Delete.
    let (_, html) = post(&client, format!("{page}/{id}/delete"), &[("csrf", csrf)]).await;
    assert!(html.contains("deleted"), "{html}");
    assert!(
        app.vault
            .list_webhooks(&app.app_id)
            .await
            .unwrap()
            .is_empty()
    );
    // Another application's subscription id, or an unknown one, is a clear error, not a 500.
    let (status, html) = post(&client, format!("{page}/{id}/test"), &[("csrf", csrf)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("role=\"alert\""), "{html}");
}

/// A receiver on a private address that is not allowed is refused by the same rule as the API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_delivery_urls_are_refused_on_the_page() {
    let app: TestApp = spawn(Knobs::default()).await;
    let key = app
        .vault
        .create_api_key(&app.app_id, "hooks", Scope::DEFAULT)
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();
    let (client, _) = sign_in(&app).await;
    let page = format!("{}/admin/apps/{}/webhooks", app.local_url, app.app_id);
    let html = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf_owned = csrf_of(&html);
    let csrf = csrf_owned.as_str();
    let key = key.as_str();
    let (_, html) = post(
        &client,
        page.clone(),
        &[
            ("csrf", csrf),
            ("delivery_url", "http://10.1.2.3/hook"),
            ("events", "*"),
            ("api_key", key),
            ("enabled", "on"),
        ],
    )
    .await;
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(
        app.vault
            .list_webhooks(&app.app_id)
            .await
            .unwrap()
            .is_empty()
    );
}
