use std::sync::Arc;

use patchbay_core::{ApplicationId, Health};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{
    ConnectionEventHook, ConnectionRow, DeliveryOutcome, NewEvent, NewWebhook, Store,
    WebhookLogFilter, WebhookPatch,
};

use crate::fixtures::{T0, app, connection, sealed};

patchbay_store::backend_tests!(
    subscriptions_round_trip,
    events_are_written_with_the_change_for_matching_subscriptions_only,
    deliveries_of_one_connection_go_out_in_order,
    leases_expire_and_stale_outcomes_are_dropped,
    exhausted_retries_disable_the_subscription,
    concurrent_claims_never_share_a_row,
    watermarks_persist_and_never_move_back,
    deleting_a_consumer_records_a_deleted_event_per_connection,
    crm_polls_are_claimed_once_per_interval_and_finish_with_their_events,
    a_deletion_pass_is_written_only_by_its_latest_claim
);

/// Fires `vault.connection.updated` whenever health changes, with the new health as payload.
#[derive(Debug)]
struct HealthHook;

impl ConnectionEventHook for HealthHook {
    fn events(
        &self,
        before: Option<&ConnectionRow>,
        after: Option<&ConnectionRow>,
        _credentials_replaced: bool,
    ) -> Vec<NewEvent> {
        let (Some(b), Some(a)) = (before, after) else {
            return Vec::new();
        };
        if a.health == b.health {
            return Vec::new();
        }
        vec![NewEvent {
            event_id: format!("{}-{}-{}", a.id, a.health, a.updated_at),
            application_id: a.application_id.clone(),
            consumer_id: Some(a.consumer_id.to_string()),
            ordering_key: a.id.to_string(),
            event_type: "vault.connection.updated".to_owned(),
            entity_type: "Connection".to_owned(),
            unified_api: "vault".to_owned(),
            service_id: "apideck-vault".to_owned(),
            payload_json: format!(r#"{{"health":"{}"}}"#, a.health),
            now_ms: a.updated_at,
        }]
    }
}

async fn hooked(db: &TestDatabase) -> Store {
    db.store().await.with_event_hook(Arc::new(HealthHook))
}

pub(crate) async fn subscribe(store: &Store, app: &ApplicationId, events: &[&str]) -> String {
    let id = format!("wh-{}", events.join("-").len() + rand_suffix());
    store
        .create_webhook(&NewWebhook {
            id: id.clone(),
            application_id: app.clone(),
            description: Some("test".to_owned()),
            unified_api: "vault".to_owned(),
            status: "enabled".to_owned(),
            disabled_reason: "none".to_owned(),
            delivery_url: "https://hooks.example.com/in".to_owned(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            api_key_sealed: sealed("key"),
            secret_sealed: sealed("secret"),
            now_ms: T0,
        })
        .await
        .unwrap();
    id
}

/// Fires `vault.connection.deleted` when a connection row disappears.
#[derive(Debug)]
struct GoneHook;

impl ConnectionEventHook for GoneHook {
    fn events(
        &self,
        before: Option<&ConnectionRow>,
        after: Option<&ConnectionRow>,
        _credentials_replaced: bool,
    ) -> Vec<NewEvent> {
        let (Some(b), None) = (before, after) else {
            return Vec::new();
        };
        vec![NewEvent {
            event_id: format!("{}-gone", b.id),
            application_id: b.application_id.clone(),
            consumer_id: Some(b.consumer_id.to_string()),
            ordering_key: b.id.to_string(),
            event_type: "vault.connection.deleted".to_owned(),
            entity_type: "Connection".to_owned(),
            unified_api: "vault".to_owned(),
            service_id: "apideck-vault".to_owned(),
            payload_json: "{}".to_owned(),
            now_ms: b.updated_at,
        }]
    }
}

/// The foreign-key cascade alone would remove the rows without the hook seeing them; the
/// store reads them first and records their events in the deleting transaction.
async fn deleting_a_consumer_records_a_deleted_event_per_connection(db: TestDatabase) {
    let store = db.store().await.with_event_hook(Arc::new(GoneHook));
    let a = app(&store).await;
    let goes = connection(&store, &a, "goes").await;
    let stays = connection(&store, &a, "stays").await;
    subscribe(&store, &a, &["vault.connection.deleted"]).await;
    assert!(store.delete_consumer(&a, &goes.consumer_id).await.unwrap());
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 1);
    assert!(store.get_connection(&goes.id).await.unwrap().is_none());
    assert!(store.get_connection(&stays.id).await.unwrap().is_some());
    // Deleting it again finds nothing and records nothing.
    assert!(!store.delete_consumer(&a, &goes.consumer_id).await.unwrap());
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 1);
}

fn rand_suffix() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn subscriptions_round_trip(db: TestDatabase) {
    let store = db.store().await;
    let a = app(&store).await;
    let id = subscribe(&store, &a, &["vault.connection.created"]).await;
    let row = store.get_webhook(&a, &id).await.unwrap().unwrap();
    assert_eq!(row.events, vec!["vault.connection.created".to_owned()]);
    assert_eq!(row.api_key_sealed, sealed("key"));
    let other = app(&store).await;
    assert!(store.get_webhook(&other, &id).await.unwrap().is_none());
    let patch = WebhookPatch {
        description: Some(None),
        events: Some(vec!["*".to_owned()]),
        status: Some("disabled".to_owned()),
        disabled_reason: Some("delivery_url_validation_failed".to_owned()),
        ..WebhookPatch::default()
    };
    let updated = store
        .update_webhook(&a, &id, &patch, T0 + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.events, vec!["*".to_owned()]);
    assert_eq!(updated.description, None);
    assert_eq!(updated.status, "disabled");
    assert_eq!(updated.updated_at, T0 + 1);
    assert_eq!(store.list_webhooks(&a).await.unwrap().len(), 1);
    assert!(store.delete_webhook(&a, &id).await.unwrap());
    assert!(!store.delete_webhook(&a, &id).await.unwrap());
}

async fn events_are_written_with_the_change_for_matching_subscriptions_only(db: TestDatabase) {
    let store = hooked(&db).await;
    let a = app(&store).await;
    let c = connection(&store, &a, "acme").await;
    // Nobody listens: the change fires but nothing is stored.
    store
        .set_health(&c.id, Health::Degraded, T0 + 1)
        .await
        .unwrap();
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 0);
    subscribe(&store, &a, &["vault.connection.created"]).await;
    let listening = subscribe(&store, &a, &["vault.connection.updated"]).await;
    let star = subscribe(&store, &a, &["*"]).await;
    let off = subscribe(&store, &a, &["*"]).await;
    store
        .update_webhook(
            &a,
            &off,
            &WebhookPatch {
                status: Some("disabled".to_owned()),
                ..WebhookPatch::default()
            },
            T0,
        )
        .await
        .unwrap();
    store.set_health(&c.id, Health::Ok, T0 + 2).await.unwrap();
    // The same health again is no change: no event.
    store.set_health(&c.id, Health::Ok, T0 + 3).await.unwrap();
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 2);
    let logs = store
        .list_webhook_logs(&a, &WebhookLogFilter::default(), None, 50)
        .await
        .unwrap();
    let mut subs: Vec<_> = logs
        .items
        .iter()
        .map(|l| l.subscription_id.clone())
        .collect();
    subs.sort();
    let mut want = vec![listening, star];
    want.sort();
    assert_eq!(subs, want);
    assert!(
        logs.items
            .iter()
            .all(|l| l.event_id == logs.items[0].event_id)
    );
    assert_eq!(logs.items[0].consumer_id.as_deref(), Some("acme"));
    // A plain store (no hook) writes no events.
    let plain = db.store().await;
    plain
        .set_health(&c.id, Health::Degraded, T0 + 4)
        .await
        .unwrap();
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 2);
}

async fn deliveries_of_one_connection_go_out_in_order(db: TestDatabase) {
    let store = hooked(&db).await;
    let a = app(&store).await;
    subscribe(&store, &a, &["*"]).await;
    let c1 = connection(&store, &a, "one").await;
    let c2 = connection(&store, &a, "two").await;
    store
        .set_health(&c1.id, Health::Degraded, T0 + 1)
        .await
        .unwrap();
    store.set_health(&c1.id, Health::Ok, T0 + 2).await.unwrap();
    store
        .set_health(&c2.id, Health::Degraded, T0 + 3)
        .await
        .unwrap();
    let now = T0 + 10;
    let first = store.claim_deliveries(now, 60_000, 10).await.unwrap();
    // One per connection: c1's second event waits for its first.
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].payload_json, r#"{"health":"degraded"}"#);
    assert_eq!(first[0].attempt, 1);
    assert!(
        store
            .claim_deliveries(now, 60_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    for d in &first {
        let done = store
            .finish_delivery(&DeliveryOutcome {
                seq: d.seq,
                attempt: d.attempt,
                at_ms: now,
                status_code: 200,
                success: true,
                response_body: Some("ok".to_owned()),
                retry_at: None,
            })
            .await
            .unwrap();
        assert!(done);
    }
    let second = store.claim_deliveries(now, 60_000, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].payload_json, r#"{"health":"ok"}"#);
    assert!(second[0].seq > first[0].seq);
}

async fn leases_expire_and_stale_outcomes_are_dropped(db: TestDatabase) {
    let store = hooked(&db).await;
    let a = app(&store).await;
    subscribe(&store, &a, &["*"]).await;
    let c = connection(&store, &a, "one").await;
    store
        .set_health(&c.id, Health::Degraded, T0 + 1)
        .await
        .unwrap();
    let claimed = store.claim_deliveries(T0 + 10, 1_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        store
            .claim_deliveries(T0 + 500, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The claimer died: after the lease another try takes it, with the same event id.
    let again = store.claim_deliveries(T0 + 1_011, 1_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    assert_eq!(again[0].event_id, claimed[0].event_id);
    let stale = DeliveryOutcome {
        seq: claimed[0].seq,
        attempt: 1,
        at_ms: T0 + 1_100,
        status_code: 200,
        success: true,
        response_body: None,
        retry_at: None,
    };
    assert!(!store.finish_delivery(&stale).await.unwrap());
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 1);
    let fresh = DeliveryOutcome {
        attempt: 2,
        ..stale
    };
    assert!(store.finish_delivery(&fresh).await.unwrap());
    assert_eq!(store.pending_deliveries(&a).await.unwrap(), 0);
}

async fn exhausted_retries_disable_the_subscription(db: TestDatabase) {
    let store = hooked(&db).await;
    let a = app(&store).await;
    let sub = subscribe(&store, &a, &["*"]).await;
    let c = connection(&store, &a, "one").await;
    store
        .set_health(&c.id, Health::Degraded, T0 + 1)
        .await
        .unwrap();
    let d = store
        .claim_deliveries(T0 + 10, 1_000, 10)
        .await
        .unwrap()
        .remove(0);
    let retry = DeliveryOutcome {
        seq: d.seq,
        attempt: d.attempt,
        at_ms: T0 + 20,
        status_code: 500,
        success: false,
        response_body: Some("x".repeat(10_000)),
        retry_at: Some(T0 + 5_000),
    };
    assert!(store.finish_delivery(&retry).await.unwrap());
    assert!(
        store
            .claim_deliveries(T0 + 4_000, 1_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let d = store
        .claim_deliveries(T0 + 5_000, 1_000, 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(d.attempt, 2);
    let last = DeliveryOutcome {
        seq: d.seq,
        attempt: 2,
        at_ms: T0 + 5_100,
        status_code: 0,
        success: false,
        response_body: None,
        retry_at: None,
    };
    assert!(store.finish_delivery(&last).await.unwrap());
    let row = store.get_webhook(&a, &sub).await.unwrap().unwrap();
    assert_eq!(row.status, "disabled");
    assert_eq!(row.disabled_reason, "retry_limit");
    let log = store
        .list_webhook_logs(&a, &WebhookLogFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(log.items[0].state, "failed");
    assert_eq!(log.items[0].history.len(), 2);
    assert_eq!(log.items[0].history[0].status_code, 500);
    assert!(log.items[0].history.iter().all(|h| !h.success));
    let failed = store
        .list_webhook_logs(
            &a,
            &WebhookLogFilter {
                success: Some(true),
                ..WebhookLogFilter::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert!(failed.items.is_empty());
}

async fn concurrent_claims_never_share_a_row(db: TestDatabase) {
    let store = hooked(&db).await;
    let a = app(&store).await;
    subscribe(&store, &a, &["*"]).await;
    for i in 0..12 {
        let c = connection(&store, &a, &format!("c{i}")).await;
        store
            .set_health(&c.id, Health::Degraded, T0 + 1)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..6 {
                got.extend(s.claim_deliveries(T0 + 10, 60_000, 2).await.unwrap());
            }
            got
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.extend(t.await.unwrap().into_iter().map(|d| d.seq));
    }
    let total = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), total, "a row was claimed twice");
    assert_eq!(total, 12);
}

async fn watermarks_persist_and_never_move_back(db: TestDatabase) {
    let store = db.store().await;
    let a = app(&store).await;
    let c = connection(&store, &a, "one").await;
    assert_eq!(store.poll_watermark(&c.id, "contacts").await.unwrap(), None);
    store
        .set_poll_watermark(&c.id, "contacts", 500, T0)
        .await
        .unwrap();
    store
        .set_poll_watermark(&c.id, "contacts", 400, T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        store.poll_watermark(&c.id, "contacts").await.unwrap(),
        Some((500, T0 + 1))
    );
    let reopened = db.store().await;
    assert_eq!(
        reopened.poll_watermark(&c.id, "contacts").await.unwrap(),
        Some((500, T0 + 1))
    );
    assert_eq!(reopened.poll_watermark(&c.id, "leads").await.unwrap(), None);
}

fn crm_event(app: &ApplicationId, connection: &ConnectionRow, id: &str) -> NewEvent {
    NewEvent {
        event_id: format!("crm-{id}"),
        application_id: app.clone(),
        consumer_id: Some(connection.consumer_id.to_string()),
        ordering_key: connection.id.to_string(),
        event_type: "crm.contact.created".to_owned(),
        entity_type: "Contact".to_owned(),
        unified_api: "crm".to_owned(),
        service_id: "salesforce".to_owned(),
        payload_json: format!(r#"{{"entity_id":"{id}"}}"#),
        now_ms: T0,
    }
}

async fn crm_polls_are_claimed_once_per_interval_and_finish_with_their_events(db: TestDatabase) {
    let store = db.store().await;
    let a = app(&store).await;
    let c = connection(&store, &a, "acme").await;
    let quiet = app(&store).await;
    connection(&store, &quiet, "other").await;
    subscribe(&store, &quiet, &["vault.connection.created"]).await;
    assert!(store.crm_subscribed_events().await.unwrap().is_empty());
    assert!(store.crm_poll_connections().await.unwrap().is_empty());
    subscribe(&store, &a, &["crm.contact.created"]).await;
    assert_eq!(
        store.crm_subscribed_events().await.unwrap(),
        vec![(a.clone(), "crm.contact.created".to_owned())]
    );
    let polled: Vec<_> = store
        .crm_poll_connections()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        polled,
        vec![c.id.clone()],
        "only the subscribed application's"
    );

    let first = store
        .claim_crm_poll(&c.id, "Contact", T0, 1_000)
        .await
        .unwrap();
    assert_eq!(first.unwrap().watermark, None, "a first poll");
    assert!(
        store
            .poll_watermark(&c.id, "Contact")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .claim_crm_poll(&c.id, "Contact", T0 + 999, 1_000)
            .await
            .unwrap()
            .is_none(),
        "inside the interval"
    );
    // Racing claims for the next interval: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = db.store().await;
        let id = c.id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .claim_crm_poll(&id, "Contact", T0 + 1_000, 1_000)
                .await
                .unwrap()
        }));
    }
    let mut won = Vec::new();
    for t in tasks {
        won.extend(t.await.unwrap());
    }
    assert_eq!(won.len(), 1, "one claim per interval");
    assert_eq!(
        won[0].watermark, None,
        "the first poll has not finished yet"
    );
    assert_eq!(
        store
            .finish_crm_poll(
                &c.id,
                "Contact",
                5_000,
                &["b".to_owned(), "a".to_owned()],
                &[]
            )
            .await
            .unwrap(),
        0
    );
    let claim = store
        .claim_crm_poll(&c.id, "Contact", T0 + 2_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claim.watermark,
        Some((5_000, vec!["b".to_owned(), "a".to_owned()]))
    );
    // Events and the watermark commit together; one outbox row per matching subscription.
    let written = store
        .finish_crm_poll(
            &c.id,
            "Contact",
            6_000,
            &["c".to_owned()],
            &[crm_event(&a, &c, "c")],
        )
        .await
        .unwrap();
    assert_eq!(written, 1);
    store
        .finish_crm_poll(&c.id, "Contact", 4_000, &[], &[])
        .await
        .unwrap();
    let reopened = db.store().await;
    assert_eq!(
        reopened.poll_watermark(&c.id, "Contact").await.unwrap(),
        Some((6_000, T0 + 2_000)),
        "never backwards, and kept across a reopen"
    );
    let claim = reopened
        .claim_crm_poll(&c.id, "Contact", T0 + 3_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.watermark, Some((6_000, vec!["c".to_owned()])));
    assert!(
        reopened
            .claim_crm_poll(&c.id, "Task", T0 + 3_000, 1_000)
            .await
            .unwrap()
            .is_some(),
        "objects are claimed independently"
    );
}

async fn a_deletion_pass_is_written_only_by_its_latest_claim(db: TestDatabase) {
    let store = db.store().await;
    let a = app(&store).await;
    let c = connection(&store, &a, "acme").await;
    subscribe(&store, &a, &["crm.contact.created"]).await;
    let key = "contacts:deleted";
    let first = store
        .claim_crm_poll(&c.id, key, T0, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.watermark, None);
    assert_eq!(first.pass, "", "no pass under way");
    // A claim that outlasted its interval was taken over: it writes nothing, events included.
    let later = store
        .claim_crm_poll(&c.id, key, T0 + 1_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.watermark, None);
    assert_eq!(
        store
            .finish_crm_deletion_pass(
                &c.id,
                key,
                T0,
                5_000,
                &["9@5000".to_owned()],
                "b 5000 -",
                &[crm_event(&a, &c, "lost")],
            )
            .await
            .unwrap(),
        None
    );
    // The latest claim writes its mark, rows, pass and events together.
    assert_eq!(
        store
            .finish_crm_deletion_pass(
                &c.id,
                key,
                T0 + 1_000,
                5_000,
                &["7@5000".to_owned(), "8@6000".to_owned()],
                "r 6000 42",
                &[crm_event(&a, &c, "kept")],
            )
            .await
            .unwrap(),
        Some(1)
    );
    let claim = db
        .store()
        .await
        .claim_crm_poll(&c.id, key, T0 + 2_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        claim.watermark,
        Some((5_000, vec!["7@5000".to_owned(), "8@6000".to_owned()]))
    );
    assert_eq!(claim.pass, "r 6000 42");
    // The change poll of the same object keeps its own row.
    let poll = store
        .claim_crm_poll(&c.id, "contacts", T0 + 2_000, 1_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((poll.watermark, poll.pass.as_str()), (None, ""));
}
