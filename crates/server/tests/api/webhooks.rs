//! Issue #12's done-means for subscriptions, Vault events and delivery, against a real local
//! receiver (`webhooks_support::Receiver`) with the test retry schedule (200 ms, 400 ms).

use std::time::Duration;

use patchbay_webhooks::signature::{DEFAULT_TOLERANCE_SECS, verify_apideck, verify_patchbay};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, Options, TestApp, assert_error_envelope, json_with, spawn_with};
use crate::webhooks_support::{Delivery, Receiver};

crate::server_backend_tests!(
    first_oauth_fires_created_updated_callable_then_disable_and_delete_fire_once,
    a_failing_receiver_gets_the_event_again_with_the_same_idempotency_key,
    exhausted_retries_disable_the_subscription_with_retry_limit
);

async fn app(db: Db) -> Option<TestApp> {
    spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
}

async fn subscribe(t: &TestApp, url: &str, events: &[&str]) -> Value {
    let r = t
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({
            "unified_api": "vault",
            "status": "enabled",
            "delivery_url": url,
            "events": events,
            "description": "test receiver",
        }))
        .send()
        .await
        .unwrap();
    json_with(r, StatusCode::CREATED).await["data"].clone()
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

fn assert_signed(d: &Delivery, api_key: &str, secret: &str) {
    assert!(
        verify_apideck(api_key, &d.raw, &d.apideck_signature),
        "apideck signature"
    );
    verify_patchbay(
        secret,
        &d.patchbay_signature,
        &d.raw,
        now_secs(),
        DEFAULT_TOLERANCE_SECS,
    )
    .expect("patchbay signature");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_event_is_signed_both_ways_and_a_tampered_body_fails_both() {
    let t = app(Db::Sqlite).await.unwrap();
    let rx = Receiver::start().await;
    let created = subscribe(&t, &rx.url, &["*"]).await;
    assert_eq!(created["status"], "enabled");
    assert_eq!(created["disabled_reason"], "none");
    assert_eq!(created["events"], json!(["*"]));
    let secret = created["signing_secret"].as_str().unwrap().to_owned();
    let got = rx.deliveries();
    assert_eq!(got.len(), 1, "validation is sent synchronously on create");
    let v = &got[0];
    assert_eq!(v.event_type, "webhook.validation");
    assert_eq!(v.body["payload"]["event_type"], "webhook.validation");
    assert_signed(v, &t.api_key, &secret);
    let mut tampered = v.raw.clone();
    let at = tampered.iter().position(|b| *b == b'w').unwrap();
    tampered[at] = b'W';
    assert!(!verify_apideck(&t.api_key, &tampered, &v.apideck_signature));
    assert!(verify_patchbay(&secret, &v.patchbay_signature, &tampered, now_secs(), 300).is_err());
    // The secret is shown once: reads never carry it, nor the API key.
    let id = created["id"].as_str().unwrap();
    let r = t
        .api(Method::GET, &format!("/webhook/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(!text.contains(&secret) && !text.contains(&t.api_key));
    assert!(text.contains(&rx.url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_validation_saves_the_subscription_disabled() {
    let t = app(Db::Sqlite).await.unwrap();
    let rx = Receiver::start().await;
    rx.fail_next(1);
    let created = subscribe(&t, &rx.url, &["vault.connection.created"]).await;
    assert_eq!(created["status"], "disabled");
    assert_eq!(created["disabled_reason"], "delivery_url_validation_failed");
    let id = created["id"].as_str().unwrap();
    // Enabling it again with a URL change validates again; now the receiver answers.
    let r = t
        .api(Method::PATCH, &format!("/webhook/webhooks/{id}"))
        .json(&json!({"status": "enabled", "delivery_url": format!("{}?v=2", rx.url)}))
        .send()
        .await
        .unwrap();
    let updated = json_with(r, StatusCode::OK).await["data"].clone();
    assert_eq!(updated["status"], "enabled");
    assert_eq!(updated["disabled_reason"], "none");
    assert_eq!(rx.deliveries().len(), 2);
    let r = t
        .api(Method::GET, "/webhook/webhooks")
        .send()
        .await
        .unwrap();
    let list = json_with(r, StatusCode::OK).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let r = t
        .api(Method::DELETE, &format!("/webhook/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(json_with(r, StatusCode::OK).await["data"]["id"], id);
    let r = t
        .api(Method::GET, &format!("/webhook/webhooks/{id}"))
        .send()
        .await
        .unwrap();
    assert_error_envelope(
        &json_with(r, StatusCode::NOT_FOUND).await,
        404,
        "EntityNotFoundError",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_receivers_and_bad_input_are_refused() {
    let t = app(Db::Sqlite).await.unwrap();
    for (url, events) in [
        ("http://localhost:9/hook", json!(["*"])),
        ("http://10.1.2.3/hook", json!(["*"])),
        ("http://169.254.169.254/latest/meta-data", json!(["*"])),
        ("ftp://example.com/x", json!(["*"])),
        (
            "https://hooks.example.com/in",
            json!(["vault.connection.exploded"]),
        ),
        ("https://hooks.example.com/in", json!([])),
    ] {
        let r = t
            .api(Method::POST, "/webhook/webhooks")
            .json(&json!({"unified_api": "vault", "status": "enabled", "delivery_url": url, "events": events}))
            .send()
            .await
            .unwrap();
        let body = json_with(r, StatusCode::BAD_REQUEST).await;
        assert_error_envelope(&body, 400, "RequestValidationError");
    }
    let r = t
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({"unified_api": "vault", "status": "enabled", "delivery_url": "https://x.example.com", "events": ["*"], "extra": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = t
        .client
        .get(format!("{}/webhook/webhooks", t.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

fn types(events: &[Delivery]) -> Vec<String> {
    events.iter().map(|d| d.event_type.clone()).collect()
}

async fn first_oauth_fires_created_updated_callable_then_disable_and_delete_fire_once(db: Db) {
    let Some(t) = app(db).await else { return };
    let rx = Receiver::start().await;
    let created = subscribe(&t, &rx.url, &["*"]).await;
    let secret = created["signing_secret"].as_str().unwrap().to_owned();
    t.connect("acme").await;
    let got = rx.wait_for(10, |d| d.len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = rx.events();
    assert_eq!(
        types(&events),
        vec![
            "vault.connection.created",
            "vault.connection.updated",
            "vault.connection.callable"
        ],
        "{got:?}"
    );
    for d in &events {
        assert_signed(d, &t.api_key, &secret);
        let p = &d.body["payload"];
        assert_eq!(p["event_type"], d.event_type);
        assert_eq!(p["event_id"], d.idempotency_key);
        assert_eq!(p["entity_type"], "Connection");
        assert_eq!(p["entity"]["consumer_id"], "acme");
        assert_eq!(p["entity"]["service_id"], "salesforce");
        assert_eq!(p["execution_attempt"], 1);
    }
    assert_eq!(events[2].body["payload"]["entity"]["state"], "callable");
    // Reading does not fire anything; disabling fires `disabled` only, deleting `deleted` only.
    t.connection("acme").await;
    let r = t
        .consumer_api(Method::PATCH, "/vault/connections/crm/salesforce", "acme")
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    rx.wait_for(10, |d| d.len() >= 5).await;
    let r = t
        .consumer_api(Method::DELETE, "/vault/connections/crm/salesforce", "acme")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    rx.wait_for(10, |d| d.len() >= 6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        types(&rx.events()),
        vec![
            "vault.connection.created",
            "vault.connection.updated",
            "vault.connection.callable",
            "vault.connection.disabled",
            "vault.connection.deleted"
        ]
    );
    // The event log shows each delivery as succeeded.
    let r = t.api(Method::GET, "/webhook/logs").send().await.unwrap();
    let logs = json_with(r, StatusCode::OK).await;
    let items = logs["data"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(
        items
            .iter()
            .all(|l| l["success"] == true && l["status_code"] == 200)
    );
    assert_eq!(items[0]["event_type"], "vault.connection.deleted");
    assert_eq!(items[0]["consumer_id"], "acme");
}

async fn a_failing_receiver_gets_the_event_again_with_the_same_idempotency_key(db: Db) {
    let Some(t) = app(db).await else { return };
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, &["vault.connection.created"]).await;
    rx.fail_next(2);
    let r = t
        .consumer_api(Method::POST, "/vault/connections/crm/salesforce", "acme")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let got = rx
        .wait_for(30, |d| {
            d.iter()
                .any(|x| x.answered == 200 && x.event_type != "webhook.validation")
        })
        .await;
    let events: Vec<_> = got
        .iter()
        .filter(|d| d.event_type == "vault.connection.created")
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        events.iter().map(|d| d.answered).collect::<Vec<_>>(),
        vec![500, 500, 200]
    );
    assert!(
        events
            .iter()
            .all(|d| d.idempotency_key == events[0].idempotency_key)
    );
    assert_eq!(
        events
            .iter()
            .map(|d| d.body["payload"]["execution_attempt"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1), json!(2), json!(3)]
    );
    // The receiver has answered, but the worker records the outcome just after: wait for it.
    let mut logs = Value::Null;
    for _ in 0..200 {
        let r = t
            .api(
                Method::GET,
                "/webhook/logs?filter[event_type]=vault.connection.created",
            )
            .send()
            .await
            .unwrap();
        logs = json_with(r, StatusCode::OK).await;
        if logs["data"][0]["success"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = &logs["data"][0];
    assert_eq!(log["success"], true, "{logs}");
    assert_eq!(log["execution_attempt"], 3);
    assert_eq!(log["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(log["attempts"][0]["status_code"], 500);
}

async fn exhausted_retries_disable_the_subscription_with_retry_limit(db: Db) {
    let Some(t) = app(db).await else { return };
    let rx = Receiver::start().await;
    let created = subscribe(&t, &rx.url, &["vault.connection.created"]).await;
    let id = created["id"].as_str().unwrap().to_owned();
    rx.fail_next(1000);
    let r = t
        .consumer_api(Method::POST, "/vault/connections/crm/salesforce", "acme")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    rx.wait_for(10, |d| {
        d.iter()
            .filter(|x| x.event_type != "webhook.validation")
            .count()
            >= 3
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let webhook = loop {
        let r = t
            .api(Method::GET, &format!("/webhook/webhooks/{id}"))
            .send()
            .await
            .unwrap();
        let w = json_with(r, StatusCode::OK).await["data"].clone();
        if w["status"] == "disabled" || tokio::time::Instant::now() > deadline {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(webhook["status"], "disabled");
    assert_eq!(webhook["disabled_reason"], "retry_limit");
    // Three tries in all (the test schedule has two retries), then nothing more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rx.events().len(), 3);
}

/// Two nodes (two servers with their own pools and workers) on one PostgreSQL database:
/// a slow receiver never sees one event twice at the same time, and every event arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_on_postgres_never_deliver_one_event_concurrently() {
    let Some(t) = app(Db::Postgres).await else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, &["vault.connection.created"]).await;
    rx.set_delay(150);
    let mut config = patchbay_server::ServerConfig::new(t.data_dir.path());
    config.database_url = Some(t.db.url().to_owned());
    config.master_key = Some(t.keyring_json.clone());
    config.refresh_interval = None;
    config.webhooks = Options::default().webhooks;
    let second = patchbay_server::Application::build(config).await.unwrap();
    tokio::spawn(second.run_until_stopped());
    for i in 0..12 {
        let r = t
            .consumer_api(
                Method::POST,
                "/vault/connections/crm/salesforce",
                &format!("c{i}"),
            )
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let got = rx
        .wait_for(20, |d| {
            d.iter()
                .filter(|x| x.event_type != "webhook.validation")
                .count()
                >= 12
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: Vec<_> = rx.events();
    let mut keys: Vec<_> = events.iter().map(|d| d.idempotency_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12, "{got:?}");
    assert_eq!(
        events.len(),
        12,
        "each event delivered exactly once when nothing fails"
    );
    assert!(!rx.overlapped());
}

/// A receiver that holds its try until the timeout must not hold up other subscriptions: the
/// worker claims more deliveries while a try is in flight. (It once sent in passes and waited
/// for the whole pass, so one slow endpoint delayed every webhook of the node by its timeout.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_does_not_hold_up_other_subscriptions() {
    let mut options = Options::default();
    // Longer than the test waits: the held try is still in flight when it ends.
    options.webhooks.timeout = Duration::from_secs(60);
    let t = spawn_with(options).await.unwrap();
    let slow = Receiver::start().await;
    let fast = Receiver::start().await;
    subscribe(&t, &slow.url, &["vault.connection.created"]).await;
    subscribe(&t, &fast.url, &["vault.connection.created"]).await;
    slow.set_delay(60_000);
    for consumer in ["first", "second", "third"] {
        let r = t
            .consumer_api(Method::POST, "/vault/connections/crm/salesforce", consumer)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        // Each event after the first is claimed while the slow receiver holds a try.
        fast.wait_for(20, |d| {
            d.iter()
                .any(|x| x.body["payload"]["entity"]["consumer_id"] == consumer)
        })
        .await;
    }
    let got = fast.events();
    let mut consumers: Vec<_> = got
        .iter()
        .map(|d| {
            d.body["payload"]["entity"]["consumer_id"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    consumers.sort();
    assert_eq!(consumers, ["first", "second", "third"], "{got:?}");
    assert!(
        slow.events().is_empty(),
        "the slow receiver's tries are all still held"
    );
}
