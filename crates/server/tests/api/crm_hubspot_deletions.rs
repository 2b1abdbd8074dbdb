//! `crm.*.deleted` events for a HubSpot connection: search never returns archived records, so the
//! poller walks each subscribed object's archived list in a deletion pass (docs/hubspot.md §15)
//! and reports each record archived since the pass's mark once. Passes are driven by hand (the
//! server's own poller ticks once an hour here) with a deletion pass every interval.

use std::time::Duration;

use patchbay_server::service::webhooks::poller::PollerState;
use patchbay_webhooks::signature::{DEFAULT_TOLERANCE_SECS, verify_apideck, verify_patchbay};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, json_with};
use crate::hubspot_support::{HubSpotApp, spawn_hubspot};
use crate::webhooks_support::{Receiver, summary};

crate::server_backend_tests!(hubspot_deletions_become_crm_deleted_events_once);

const CONSUMER: &str = "deletions";

/// Subscribes to `events`; returns the signing secret.
async fn subscribe(t: &HubSpotApp, url: &str, events: &[&str]) -> String {
    let r = t
        .app
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({
            "unified_api": "crm",
            "status": "enabled",
            "delivery_url": url,
            "events": events,
        }))
        .send()
        .await
        .expect("send");
    json_with(r, StatusCode::CREATED).await["data"]["signing_secret"]
        .as_str()
        .expect("signing secret")
        .to_owned()
}

async fn pass(t: &HubSpotApp, state: &mut PollerState) -> usize {
    t.app
        .vault
        .poll_crm_changes(state)
        .await
        .expect("poll pass")
}

/// The objects whose archived list was read so far, one entry per page read.
async fn archived_reads(t: &HubSpotApp) -> Vec<String> {
    t.requests()
        .await
        .iter()
        .filter(|r| r["method"] == "GET")
        .filter(|r| {
            r["query"]
                .as_str()
                .is_some_and(|q| q.split('&').any(|p| p == "archived=true"))
        })
        .filter_map(|r| r["path"].as_str()?.strip_prefix("/crm/v3/objects/"))
        .map(str::to_owned)
        .collect()
}

fn now_secs() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch");
    i64::try_from(now.as_secs()).expect("fits")
}

async fn first_id(t: &HubSpotApp, resource: &str) -> String {
    t.crm_with(
        Method::GET,
        &format!("/crm/{resource}?limit=1"),
        None,
        StatusCode::OK,
    )
    .await["data"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a seeded {resource} record"))
        .to_owned()
}

async fn delete(t: &HubSpotApp, resource: &str, id: &str) {
    t.crm_with(
        Method::DELETE,
        &format!("/crm/{resource}/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
}

async fn hubspot_deletions_become_crm_deleted_events_once(db: Db) {
    let Some(t) = spawn_hubspot(
        db,
        20,
        CONSUMER,
        |o| {
            o.webhooks.crm_poll_tick = Duration::from_secs(3600);
            o.webhooks.crm_deletion_every = 1;
        },
        |i| i.crm_poll_interval_s = Some(1),
    )
    .await
    else {
        return;
    };
    let rx = Receiver::start().await;
    let secret = subscribe(
        &t,
        &rx.url,
        &[
            "crm.contact.deleted",
            "crm.lead.deleted",
            "crm.opportunity.deleted",
            "crm.activity.deleted",
            "crm.note.deleted",
        ],
    )
    .await;
    // Archived before the poller's first pass: older than its mark, never reported.
    let old = first_id(&t, "contacts").await;
    delete(&t, "contacts", &old).await;

    let mut node = PollerState::default();
    let polled = pass(&t, &mut node).await;
    let mut first = archived_reads(&t).await;
    first.sort();
    // One page per object's deletion pass (the account holds few archived records), beside its
    // change search; activities' objects follow the connector's list.
    assert!(
        ["calls", "contacts", "contacts", "deals", "notes"]
            .iter()
            .all(|o| first.iter().any(|f| f == o)),
        "{first:?}"
    );
    assert_eq!(polled, 2 * first.len(), "a change poll and a pass per key");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    pass(&t, &mut node).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.events().is_empty(), "{:?}", summary(&rx.events()));

    // Another client of the account deletes records (here through Patchbay's own API).
    let contact = first_id(&t, "contacts").await;
    delete(&t, "contacts", &contact).await;
    let deal = first_id(&t, "opportunities").await;
    delete(&t, "opportunities", &deal).await;
    let note = first_id(&t, "notes").await;
    delete(&t, "notes", &note).await;
    let created = |v: Value| v["data"]["id"].as_str().expect("id").to_owned();
    let lead = created(
        t.crm_with(
            Method::POST,
            "/crm/leads",
            Some(json!({"name": "Grace Hopper", "last_name": "Hopper", "company_name": "Navy"})),
            StatusCode::CREATED,
        )
        .await,
    );
    delete(&t, "leads", &lead).await;
    let call = created(
        t.crm_with(
            Method::POST,
            "/crm/activities",
            Some(json!({"type": "call", "title": "Intro call"})),
            StatusCode::CREATED,
        )
        .await,
    );
    assert!(call.starts_with("call-"), "{call}");
    delete(&t, "activities", &call).await;

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    pass(&t, &mut node).await;
    let mut want = vec![
        ("crm.activity.deleted".to_owned(), call.clone()),
        ("crm.contact.deleted".to_owned(), contact.clone()),
        // A lead is a contact in the lead stage: both objects report its archiving.
        ("crm.contact.deleted".to_owned(), lead.clone()),
        ("crm.lead.deleted".to_owned(), lead.clone()),
        ("crm.note.deleted".to_owned(), note.clone()),
        ("crm.opportunity.deleted".to_owned(), deal.clone()),
    ];
    want.sort();
    rx.wait_for(15, |d| d.len() >= want.len()).await;
    // Later passes read the same archived rows again and report nothing.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        pass(&t, &mut node).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let events = rx.events();
    assert_eq!(summary(&events), want);
    assert!(
        !events
            .iter()
            .any(|d| d.body["payload"]["entity_id"] == old.as_str())
    );
    for d in &events {
        assert!(
            verify_apideck(&t.app.api_key, &d.raw, &d.apideck_signature),
            "apideck signature"
        );
        verify_patchbay(
            &secret,
            &d.patchbay_signature,
            &d.raw,
            now_secs(),
            DEFAULT_TOLERANCE_SECS,
        )
        .expect("patchbay signature");
        let p = &d.body["payload"];
        crate::crm_support::assert_schema("CrmWebhookEvent", p);
        assert_eq!(p["event_type"], d.event_type.as_str());
        assert_eq!(p["service_id"], "hubspot");
        assert_eq!(p["consumer_id"], CONSUMER);
        assert!(p["occurred_at"].as_str().is_some_and(|s| s.ends_with('Z')));
    }
    // A fresh node (no memory) reads the stored marks: still nothing new.
    let mut other = PollerState::default();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    pass(&t, &mut other).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(summary(&rx.events()), want);
}
