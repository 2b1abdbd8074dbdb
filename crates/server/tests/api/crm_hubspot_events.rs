//! CRM change events for a HubSpot connection: the poller searches each subscribed object by
//! last-modified time (docs/hubspot.md §15), so records created or updated at the emulator
//! become `crm.<object>.created` / `.updated` deliveries, as for Salesforce. Poll passes are
//! driven by hand (the server's own poller ticks once an hour here), so the test can say which
//! searches each pass makes.

use std::time::Duration;

use patchbay_server::service::webhooks::poller::PollerState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, json_with};
use crate::hubspot_support::{HubSpotApp, spawn_hubspot};
use crate::webhooks_support::{Receiver, summary};

crate::server_backend_tests!(hubspot_changes_become_crm_events_once);

const CONSUMER: &str = "events";

async fn subscribe(t: &HubSpotApp, url: &str, events: &[&str]) {
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
    json_with(r, StatusCode::CREATED).await;
}

async fn pass(t: &HubSpotApp, state: &mut PollerState) -> usize {
    t.app
        .vault
        .poll_crm_changes(state)
        .await
        .expect("poll pass")
}

/// The objects searched so far, in order (`contacts`, `calls`…).
async fn searched(t: &HubSpotApp) -> Vec<String> {
    t.requests()
        .await
        .iter()
        .filter(|r| r["method"] == "POST")
        .filter_map(|r| r["path"].as_str())
        .filter_map(|p| {
            p.strip_prefix("/crm/v3/objects/")?
                .strip_suffix("/search")
                .map(str::to_owned)
        })
        .collect()
}

async fn hubspot_changes_become_crm_events_once(db: Db) {
    let Some(t) = spawn_hubspot(
        db,
        20,
        CONSUMER,
        |o| o.webhooks.crm_poll_tick = Duration::from_secs(3600),
        |i| i.crm_poll_interval_s = Some(1),
    )
    .await
    else {
        return;
    };
    let rx = Receiver::start().await;
    subscribe(
        &t,
        &rx.url,
        &[
            "crm.contact.created",
            "crm.contact.updated",
            "crm.lead.created",
            "crm.activity.created",
            "crm.activity.updated",
        ],
    )
    .await;
    let mut node = PollerState::default();
    // The first pass only sets the watermarks: one search per object, newest first.
    assert_eq!(
        pass(&t, &mut node).await,
        6,
        "contacts, leads, calls, meetings, tasks, emails"
    );
    let mut first = searched(&t).await;
    first.sort();
    assert_eq!(
        first,
        [
            "calls", "contacts", "contacts", "emails", "meetings", "tasks"
        ]
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pass(&t, &mut node).await, 6);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        rx.events().is_empty(),
        "the account's existing records are not reported: {:?}",
        summary(&rx.events())
    );

    // Another client of the account changes records (here through Patchbay's own API).
    let existing = t
        .crm_with(Method::GET, "/crm/contacts?limit=1", None, StatusCode::OK)
        .await["data"][0]["id"]
        .as_str()
        .expect("a seeded contact")
        .to_owned();
    let created = |v: Value| v["data"]["id"].as_str().expect("id").to_owned();
    let contact = created(
        t.crm_with(
            Method::POST,
            "/crm/contacts",
            Some(json!({"first_name": "Ada", "last_name": "Lovelace"})),
            StatusCode::CREATED,
        )
        .await,
    );
    t.crm_with(
        Method::PATCH,
        &format!("/crm/contacts/{existing}"),
        Some(json!({"title": "Chief Engineer"})),
        StatusCode::OK,
    )
    .await;
    let lead = created(
        t.crm_with(
            Method::POST,
            "/crm/leads",
            Some(json!({"name": "Grace Hopper", "last_name": "Hopper", "company_name": "Navy"})),
            StatusCode::CREATED,
        )
        .await,
    );
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
    let email = created(
        t.crm_with(
            Method::POST,
            "/crm/activities",
            Some(json!({"type": "email", "title": "Intro email"})),
            StatusCode::CREATED,
        )
        .await,
    );
    assert!(email.starts_with("email-"), "{email}");

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pass(&t, &mut node).await, 6);
    let mut want = vec![
        ("crm.activity.created".to_owned(), call.clone()),
        ("crm.activity.created".to_owned(), email.clone()),
        ("crm.contact.created".to_owned(), contact.clone()),
        // A lead is a contact in the lead stage: both objects report it.
        ("crm.contact.created".to_owned(), lead.clone()),
        ("crm.contact.updated".to_owned(), existing.clone()),
        ("crm.lead.created".to_owned(), lead.clone()),
    ];
    want.sort();
    rx.wait_for(15, |d| d.len() >= want.len()).await;
    // Later passes report nothing again.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(pass(&t, &mut node).await, 6);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let events = rx.events();
    assert_eq!(summary(&events), want);
    for d in &events {
        let p = &d.body["payload"];
        crate::crm_support::assert_schema("CrmWebhookEvent", p);
        assert_eq!(p["service_id"], "hubspot");
        assert_eq!(p["consumer_id"], CONSUMER);
        let id = p["entity_id"].as_str().expect("id");
        let resource = match p["entity_type"].as_str().expect("type") {
            "Contact" => "contacts",
            "Lead" => "leads",
            "Activity" => "activities",
            other => panic!("{other}"),
        };
        assert_eq!(
            p["entity_url"],
            format!("{}/crm/{resource}/{id}", t.app.base_url).as_str()
        );
    }
    // The entity URL of the activity answers with it.
    let got = t
        .crm_with(
            Method::GET,
            &format!("/crm/activities/{call}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(got["data"]["title"], "Intro call");
    // Each change search asked for records modified since the watermark, oldest first.
    let requests = t.requests().await;
    assert!(
        requests
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/crm/v3/objects/calls/search")
    );
}
