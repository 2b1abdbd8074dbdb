//! Issue #12's CRM events: the poller turns records created, updated and deleted at the
//! emulator (through its REST API, with the connection's own token) into `crm.<resource>.<op>`
//! deliveries at a real local receiver, within one polling interval (set to 1 s here).
//!
//! The end-to-end test runs the server's own poller. The others drive poll passes by hand
//! (the server's poller ticks once an hour there), so they can say exactly which queries a pass
//! makes: a fresh `PollerState` on the same database is what a restarted node has, and two
//! states polling at once are two nodes.

use std::time::{Duration, Instant};

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::service::webhooks::poller::PollerState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, Options, TestApp, captured_logs, json_with, spawn_with};
use crate::webhooks_support::{Receiver, summary};

crate::server_backend_tests!(
    created_updated_and_deleted_contacts_each_fire_their_event_within_an_interval,
    a_first_poll_is_silent_and_a_restart_keeps_the_watermark,
    only_subscribed_resources_are_queried_once_per_interval_across_nodes,
    a_low_api_budget_pauses_polling_with_one_warning,
);

const CONSUMER: &str = "acme";
const V: &str = "v66.0";

/// A connected app whose integration polls every second; `tick` is the server poller's tick.
async fn app(db: Db, tick: Duration) -> Option<TestApp> {
    let mut options = Options {
        db,
        ..Options::default()
    };
    options.emulator.records = 3;
    options.webhooks.crm_poll_tick = tick;
    let t = spawn_with(options).await?;
    let walk = t.connect(CONSUMER).await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    t.vault
        .set_integration(
            &t.app_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                crm_poll_interval_s: Some(1),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("interval");
    Some(t)
}

async fn subscribe(t: &TestApp, url: &str, events: &[&str]) -> Value {
    let r = t
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({
            "unified_api": "crm",
            "status": "enabled",
            "delivery_url": url,
            "events": events,
        }))
        .send()
        .await
        .unwrap();
    json_with(r, StatusCode::CREATED).await["data"].clone()
}

/// The emulator's REST API with the connection's current access token, as another client of
/// the org would change its records.
async fn sf(t: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let tokens: Vec<String> = {
        let r = t
            .client
            .get(format!("{}/__emulator/tokens", t.emulator.base_url()))
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let list = v
            .as_array()
            .cloned()
            .or_else(|| v["tokens"].as_array().cloned())
            .unwrap_or_default();
        list.iter()
            .filter(|t| t["kind"].as_str().is_some_and(|k| k.starts_with("access")))
            .filter(|t| t["state"] == "active")
            .filter_map(|t| t["value"].as_str().map(str::to_owned))
            .collect()
    };
    let token = tokens.last().expect("an active access token").clone();
    let mut req = t
        .client
        .request(
            method,
            format!("{}/services/data/{V}/{path}", t.emulator.base_url()),
        )
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn contact_ids(t: &TestApp) -> Vec<String> {
    let q = "SELECT Id FROM Contact ORDER BY Id";
    let v = sf(
        t,
        Method::GET,
        &format!("query?q={}", crate::helpers::urlencode(q)),
        None,
    )
    .await;
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect()
}

/// The SOQL of every `queryAll` the emulator answered, in order.
async fn polls(t: &TestApp) -> Vec<String> {
    t.emulator_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/queryAll")))
        .filter_map(|r| r["query"].as_str().map(str::to_owned))
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

async fn wait_for_polls(t: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while polls(t).await.len() < n {
        assert!(
            Instant::now() < deadline,
            "no poll came: {:?}",
            polls(t).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn created_updated_and_deleted_contacts_each_fire_their_event_within_an_interval(db: Db) {
    let Some(t) = app(db, Duration::from_millis(100)).await else {
        return;
    };
    let rx = Receiver::start().await;
    for name in ["Before", "Earlier"] {
        sf(
            &t,
            Method::POST,
            "sobjects/Contact",
            Some(json!({"LastName": name})),
        )
        .await;
    }
    let hook = subscribe(
        &t,
        &rx.url,
        &[
            "crm.contact.created",
            "crm.contact.updated",
            "crm.contact.deleted",
        ],
    )
    .await;
    assert_eq!(hook["status"], "enabled");
    // The first poll only sets the watermark.
    wait_for_polls(&t, 1).await;
    // Changes in a later second than the first poll's: an update of a record seen in that very
    // second is indistinguishable from what was seen (Salesforce stamps to the second; see
    // `patchbay_webhooks::crm::Watermark`).
    let now_ms = t.emulator.emulator().now_ms();
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(1_000 - now_ms.rem_euclid(1_000)).unwrap() + 100,
    ))
    .await;
    let existing = contact_ids(&t).await;
    assert!(existing.len() >= 3, "{existing:?}");
    let (updated, deleted) = (existing[0].clone(), existing[1].clone());

    let started = Instant::now();
    let created = sf(
        &t,
        Method::POST,
        "sobjects/Contact",
        Some(json!({"LastName": "New"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sf(
        &t,
        Method::PATCH,
        &format!("sobjects/Contact/{updated}"),
        Some(json!({"Title": "Changed"})),
    )
    .await;
    sf(
        &t,
        Method::DELETE,
        &format!("sobjects/Contact/{deleted}"),
        None,
    )
    .await;

    let got = rx
        .wait_for(15, |d| {
            d.iter()
                .filter(|d| d.event_type != "webhook.validation")
                .count()
                >= 3
        })
        .await;
    let took = started.elapsed();
    // One interval (1 s), plus the poller's and the delivery worker's ticks and a loaded
    // machine's slack.
    assert!(took < Duration::from_secs(8), "took {took:?}");
    // Nothing more comes: no duplicates, nothing for the records that existed before.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let events = rx.events();
    let mut want = vec![
        ("crm.contact.created".to_owned(), created.clone()),
        ("crm.contact.deleted".to_owned(), deleted.clone()),
        ("crm.contact.updated".to_owned(), updated.clone()),
    ];
    want.sort();
    assert_eq!(summary(&events), want, "{got:?}");
    for d in &events {
        let p = &d.body["payload"];
        crate::crm_support::assert_schema("CrmWebhookEvent", p);
        let id = p["entity_id"].as_str().unwrap();
        assert_eq!(p["event_type"], d.event_type.as_str());
        assert_eq!(p["unified_api"], "crm");
        assert_eq!(p["service_id"], "salesforce");
        assert_eq!(p["consumer_id"], CONSUMER);
        assert_eq!(p["entity_type"], "Contact");
        assert_eq!(
            p["entity_url"],
            format!("{}/crm/contacts/{id}", t.base_url).as_str()
        );
        assert!(p.get("entity").is_none(), "no record body");
        assert!(p["occurred_at"].as_str().is_some_and(|s| s.ends_with('Z')));
        assert!(!d.idempotency_key.is_empty());
    }
    // The entity_url answers with the record (the created one, at least).
    let r = t
        .consumer_api(Method::GET, &format!("/crm/contacts/{created}"), CONSUMER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Runs one poll pass as a node with `state`.
async fn pass(t: &TestApp, state: &mut PollerState) -> usize {
    t.vault.poll_crm_changes(state).await.expect("poll pass")
}

async fn a_first_poll_is_silent_and_a_restart_keeps_the_watermark(db: Db) {
    let Some(t) = app(db, Duration::from_secs(3600)).await else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, &["crm.company.created", "crm.company.updated"]).await;
    let mut node = PollerState::default();
    assert_eq!(pass(&t, &mut node).await, 1, "one object: Account");
    let first = polls(&t).await;
    assert_eq!(first.len(), 1);
    assert!(
        first[0].contains("FROM Account ORDER BY SystemModstamp DESC"),
        "{first:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pass(&t, &mut node).await, 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        rx.events().is_empty(),
        "the org's existing companies are not reported"
    );

    let created = sf(
        &t,
        Method::POST,
        "sobjects/Account",
        Some(json!({"Name": "Fresh"})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pass(&t, &mut node).await, 1);
    rx.wait_for(10, |d| d.len() > 1).await;
    assert_eq!(
        summary(&rx.events()),
        vec![("crm.company.created".to_owned(), created.clone())]
    );

    // A restarted node: nothing in memory, the watermark in the database.
    let mut restarted = PollerState::default();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pass(&t, &mut restarted).await, 1);
    let last = polls(&t).await;
    assert!(
        last.last().unwrap().contains("WHERE SystemModstamp >="),
        "the restarted node polls from the stored watermark: {last:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        rx.events().len(),
        1,
        "nothing is reported again after a restart"
    );
}

async fn only_subscribed_resources_are_queried_once_per_interval_across_nodes(db: Db) {
    let Some(t) = app(db, Duration::from_secs(3600)).await else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, &["crm.lead.deleted", "crm.activity.created"]).await;
    let (mut a, mut b) = (PollerState::default(), PollerState::default());
    for round in 0..3 {
        // Two nodes at once: each pair is claimed by exactly one of them.
        let (x, y) = tokio::join!(pass(&t, &mut a), pass(&t, &mut b));
        assert_eq!(x + y, 3, "round {round}: Lead, Event and Task, once each");
        // Within the same interval, nobody polls again.
        let (x, y) = tokio::join!(pass(&t, &mut a), pass(&t, &mut b));
        assert_eq!(x + y, 0, "round {round}");
        tokio::time::sleep(Duration::from_millis(1_100)).await;
    }
    let soql = polls(&t).await;
    assert_eq!(soql.len(), 9, "{soql:?}");
    for object in ["Lead", "Event", "Task"] {
        let n = soql
            .iter()
            .filter(|q| q.contains(&format!("FROM {object} ")))
            .count();
        assert_eq!(n, 3, "{object}: {soql:?}");
    }
    for object in ["Contact", "Account", "Opportunity", "Note"] {
        assert!(
            !soql.iter().any(|q| q.contains(&format!("FROM {object} "))),
            "{object} has no subscription: {soql:?}"
        );
    }
    let queried: Vec<Value> = t
        .emulator_requests()
        .await
        .into_iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .collect();
    assert!(
        queried.is_empty(),
        "changes are read with queryAll only: {queried:?}"
    );
}

async fn a_low_api_budget_pauses_polling_with_one_warning(db: Db) {
    let Some(t) = app(db, Duration::from_secs(3600)).await else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe(&t, &rx.url, &["crm.contact.created"]).await;
    let emu = t.emulator.emulator();
    // 95 % used: less than the 10 % reserve left.
    emu.set_api_limit(Some(10_000), Some(9_500));
    let mut node = PollerState::default();
    assert_eq!(
        pass(&t, &mut node).await,
        1,
        "the first poll reads the usage"
    );
    sf(
        &t,
        Method::POST,
        "sobjects/Contact",
        Some(json!({"LastName": "Unseen"})),
    )
    .await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert_eq!(
            pass(&t, &mut node).await,
            0,
            "paused while the budget is low"
        );
    }
    assert_eq!(polls(&t).await.len(), 1);
    assert!(rx.events().is_empty());
    let connection = t
        .vault
        .store()
        .list_connections(&t.app_id, None)
        .await
        .unwrap()
        .remove(0)
        .id;
    let warnings = captured_logs()
        .lines()
        .filter(|l| l.contains("CRM polling paused") && l.contains(connection.as_str()))
        .count();
    assert_eq!(warnings, 1, "the pause is logged once");
    // A restarted node (no memory of the pause) reads the usage again with one poll, and the
    // budget having recovered, reports the change.
    emu.set_api_limit(None, Some(10));
    let mut restarted = PollerState::default();
    assert_eq!(pass(&t, &mut restarted).await, 1);
    let got = rx.wait_for(10, |d| d.len() > 1).await;
    assert_eq!(
        rx.events()
            .iter()
            .map(|d| d.event_type.as_str())
            .collect::<Vec<_>>(),
        vec!["crm.contact.created"],
        "{got:?}"
    );
}
