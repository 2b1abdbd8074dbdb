//! Issue #12: each Vault event type beyond the connect/disable/delete sequence fires exactly
//! when it should and never otherwise, against a real receiver. The emulator's fault injection
//! drives them: token-endpoint failures (`token_refresh.pending` → `recovered`), a revoked grant
//! (`token_refresh.failed`), the revoke link (`revoked`), REST 5xx (`downstream.degraded` →
//! `recovered`, on the CRM and the proxy path); deleting a consumer fires `deleted` for its
//! connections.
//!
//! Each test subscribes to `*`, so any event that should not fire shows up in the list.

use std::time::Duration;

use patchbay_core::ConsumerId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, json_with};
use crate::proxy_support::{ClockedApp, EXPIRE_ALL_MS, clocked, exported};
use crate::webhooks_support::{Delivery, Receiver};

crate::server_backend_tests!(
    token_refresh_pending_then_recovered_fire_once_each,
    a_dead_grant_fires_token_refresh_failed_once,
    the_revoke_link_fires_revoked,
    three_downstream_failures_in_a_row_degrade_and_the_next_answer_recovers,
    deleting_a_consumer_fires_deleted_for_its_connections_only,
    proxy_outages_degrade_and_recover_too,
);

const FIRST_OAUTH: [&str; 3] = [
    "vault.connection.created",
    "vault.connection.updated",
    "vault.connection.callable",
];

/// An app on a moved clock with `consumer` connected and a receiver subscribed to `*`, once the
/// first OAuth's own events have gone out (they are not what these tests are about).
async fn connected_and_subscribed(db: Db, consumer: &str) -> Option<(ClockedApp, Receiver)> {
    let t = clocked(db, |_| {}).await?;
    let rx = Receiver::start().await;
    subscribe_all(&t, &rx.url).await;
    t.connect(consumer).await;
    assert_eq!(settled(&rx, 3).await, expected(&[]));
    Some((t, rx))
}

async fn subscribe_all(t: &TestApp, url: &str) {
    let r = t
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({
            "unified_api": "vault",
            "status": "enabled",
            "delivery_url": url,
            "events": ["*"],
        }))
        .send()
        .await
        .unwrap();
    let created = json_with(r, StatusCode::CREATED).await;
    assert_eq!(created["data"]["status"], "enabled", "{created}");
}

fn types(events: &[Delivery]) -> Vec<String> {
    events.iter().map(|d| d.event_type.clone()).collect()
}

/// The non-validation events once `n` have arrived, plus a pause in which no extra one may
/// arrive.
async fn settled(rx: &Receiver, n: usize) -> Vec<String> {
    rx.wait_for(20, |d| {
        d.iter()
            .filter(|x| x.event_type != "webhook.validation")
            .count()
            >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    types(&rx.events())
}

fn expected(extra: &[&str]) -> Vec<String> {
    FIRST_OAUTH
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
}

fn consumer(s: &str) -> ConsumerId {
    ConsumerId::parse(s).unwrap()
}

async fn emulator_faults(t: &TestApp, method: Method, rule: Option<Value>) {
    let mut r = t.client.request(
        method,
        format!("{}/__emulator/faults", t.emulator.base_url()),
    );
    if let Some(rule) = rule {
        r = r.json(&rule);
    }
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

async fn token_refresh_pending_then_recovered_fire_once_each(db: Db) {
    let Some((t, rx)) = connected_and_subscribed(db, "acme").await else {
        return;
    };

    // The token endpoint is down: the due refresh fails transiently → pending, once.
    emulator_faults(
        &t,
        Method::POST,
        Some(
            json!({"target": "token", "kind": "status", "status": 503, "count": 20,
                    "grant_type": "refresh_token"}),
        ),
    )
    .await;
    t.clock.advance(EXPIRE_ALL_MS);
    let crm = patchbay_core::UnifiedApi::crm();
    t.vault
        .connection_token(&t.app_id, &consumer("acme"), &crm, None)
        .await
        .expect_err("the token endpoint is down");
    let health = t.connection("acme").await["health"].clone();
    assert_eq!(health, "pending_refresh");
    // Still failing while it backs off: no second `pending`.
    t.clock.advance(120_000);
    let _ = t
        .vault
        .connection_token(&t.app_id, &consumer("acme"), &crm, None)
        .await;
    assert_eq!(
        settled(&rx, 4).await,
        expected(&["vault.connection.token_refresh.pending"])
    );

    // The endpoint is back: the next refresh succeeds → recovered, once.
    emulator_faults(&t, Method::DELETE, None).await;
    t.clock.advance(600_000);
    t.vault
        .connection_token(&t.app_id, &consumer("acme"), &crm, None)
        .await
        .expect("the refresh succeeds again");
    t.vault
        .connection_token(&t.app_id, &consumer("acme"), &crm, None)
        .await
        .expect("fresh");
    assert_eq!(t.connection("acme").await["health"], "ok");
    let got = settled(&rx, 5).await;
    assert_eq!(
        got,
        expected(&[
            "vault.connection.token_refresh.pending",
            "vault.connection.token_refresh.recovered",
        ])
    );
    let last = rx.events().pop().unwrap();
    assert_eq!(last.body["payload"]["entity"]["health"], "ok");
}

async fn a_dead_grant_fires_token_refresh_failed_once(db: Db) {
    let Some((t, rx)) = connected_and_subscribed(db, "gone").await else {
        return;
    };
    let (_, refresh) = exported(&t, "gone").await;
    assert!(t.emulator.emulator().revoke_token(&refresh.unwrap()));
    t.clock.advance(EXPIRE_ALL_MS);
    let crm = patchbay_core::UnifiedApi::crm();
    for _ in 0..2 {
        t.vault
            .connection_token(&t.app_id, &consumer("gone"), &crm, None)
            .await
            .expect_err("a revoked grant gives no token");
    }
    let got = settled(&rx, 4).await;
    assert_eq!(got, expected(&["vault.connection.token_refresh.failed"]));
    let last = rx.events().pop().unwrap();
    assert_eq!(last.body["payload"]["entity"]["health"], "needs_auth");
    assert_eq!(last.body["payload"]["entity"]["state"], "invalid");
}

async fn the_revoke_link_fires_revoked(db: Db) {
    let Some((t, rx)) = connected_and_subscribed(db, "leaving").await else {
        return;
    };
    let conn = t.connection("leaving").await;
    let revoke_url = conn["revoke_url"].as_str().expect("revoke_url").to_owned();
    let (status, _, _, body) = t.get_raw(&revoke_url).await;
    assert!(
        status.is_redirection() || status.is_success(),
        "{status}: {body}"
    );
    assert_eq!(t.connection("leaving").await["health"], "revoked");
    let got = settled(&rx, 4).await;
    assert_eq!(got, expected(&["vault.connection.revoked"]));
    let last = rx.events().pop().unwrap();
    assert_eq!(last.body["payload"]["entity"]["health"], "revoked");
}

async fn crm_list(t: &TestApp) -> StatusCode {
    t.consumer_api(Method::GET, "/crm/contacts?limit=1", "acme")
        .send()
        .await
        .unwrap()
        .status()
}

async fn three_downstream_failures_in_a_row_degrade_and_the_next_answer_recovers(db: Db) {
    let Some((t, rx)) = connected_and_subscribed(db, "acme").await else {
        return;
    };
    let rest_503 = |count: u32| {
        Some(json!({"target": "rest", "kind": "status", "status": 503, "count": count}))
    };

    // Two failures and an answer: a blip, not an outage.
    assert_eq!(crm_list(&t).await, StatusCode::OK);
    emulator_faults(&t, Method::POST, rest_503(2)).await;
    for _ in 0..2 {
        assert_eq!(crm_list(&t).await, StatusCode::BAD_GATEWAY);
    }
    assert_eq!(crm_list(&t).await, StatusCode::OK);
    assert_eq!(settled(&rx, 3).await, expected(&[]));
    assert_eq!(t.connection("acme").await["health"], "ok");

    // Three in a row: degraded, once, though a fourth fails too; still callable.
    emulator_faults(&t, Method::POST, rest_503(4)).await;
    for _ in 0..4 {
        assert_eq!(crm_list(&t).await, StatusCode::BAD_GATEWAY);
    }
    let conn = t.connection("acme").await;
    assert_eq!(conn["health"], "degraded", "{conn}");
    assert_eq!(conn["state"], "callable", "{conn}");
    assert!(conn["last_downstream_error_at"].as_i64().unwrap_or(0) > 0);
    assert_eq!(
        settled(&rx, 4).await,
        expected(&["vault.connection.downstream.degraded"])
    );

    // Salesforce answers again: recovered, once, however many calls succeed.
    for _ in 0..3 {
        assert_eq!(crm_list(&t).await, StatusCode::OK);
    }
    assert_eq!(t.connection("acme").await["health"], "ok");
    let got = settled(&rx, 5).await;
    assert_eq!(
        got,
        expected(&[
            "vault.connection.downstream.degraded",
            "vault.connection.downstream.recovered",
        ])
    );
    let events = rx.events();
    assert_eq!(events[3].body["payload"]["entity"]["health"], "degraded");
    assert_eq!(events[4].body["payload"]["entity"]["health"], "ok");
}

async fn deleting_a_consumer_fires_deleted_for_its_connections_only(db: Db) {
    let Some(t) = clocked(db, |_| {}).await else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe_all(&t, &rx.url).await;
    t.connect("stays").await;
    t.connect("goes").await;
    settled(&rx, 6).await;
    let r = t
        .api(Method::DELETE, "/vault/consumers/goes")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    settled(&rx, 7).await;
    let events = rx.events();
    assert_eq!(events.len(), 7, "{:?}", types(&events));
    let last = &events[6];
    assert_eq!(last.event_type, "vault.connection.deleted");
    assert_eq!(last.body["payload"]["entity"]["consumer_id"], "goes");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "vault.connection.deleted")
            .count(),
        1
    );
    // The consumer and its connection are gone (the Vault API shows the integration as
    // available to connect again); the other consumer's connection is untouched.
    let r = t
        .api(Method::GET, "/vault/consumers/goes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.connection("goes").await["state"], "available");
    assert_eq!(t.connection("stays").await["state"], "callable");
}

/// The proxy path counts its own attempts: one GET retried on 503 until it gives up is three
/// unanswered calls; the next answered one recovers.
async fn proxy_outages_degrade_and_recover_too(db: Db) {
    let Some((t, rx)) = connected_and_subscribed(db, "acme").await else {
        return;
    };
    let limits = || {
        crate::proxy_support::proxy(&t, Method::GET, "acme")
            .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
            .send()
    };
    emulator_faults(
        &t,
        Method::POST,
        Some(json!({"target": "rest", "kind": "status", "status": 503, "count": 6})),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            limits().await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert_eq!(t.connection("acme").await["health"], "degraded");
    assert_eq!(limits().await.unwrap().status(), StatusCode::OK);
    assert_eq!(limits().await.unwrap().status(), StatusCode::OK);
    assert_eq!(t.connection("acme").await["health"], "ok");
    assert_eq!(
        settled(&rx, 5).await,
        expected(&[
            "vault.connection.downstream.degraded",
            "vault.connection.downstream.recovered",
        ])
    );
}
