use patchbay_core::Health;
use patchbay_store::testing::TestDatabase;
use patchbay_store::{RefreshFailure, RefreshedTokens};

use crate::fixtures::{T0, app, authorized_connection, connection, sealed};

patchbay_store::backend_tests!(
    lease_acquire_release,
    refreshed_tokens_are_version_guarded,
    missing_refresh_token_keeps_old_one,
    failure_is_version_guarded,
    sweeper_claims_due_rows_once,
    two_nodes_share_leases,
    refresh_keeps_unrelated_health
);

const TTL: i64 = 30_000;

fn refreshed(
    id: &patchbay_core::ConnectionId,
    version: i64,
    access: &str,
    refresh: Option<&str>,
) -> RefreshedTokens {
    RefreshedTokens {
        connection_id: id.clone(),
        expected_version: version,
        access_token: sealed(access),
        refresh_token: refresh.map(sealed),
        issued_at: Some(T0 + 100),
        expires_at: Some(T0 + 7_200_000),
        next_refresh_at: Some(T0 + 6_000_000),
        instance_url: None,
        granted_scopes: None,
        lease_owner: Some("node-a#1".to_owned()),
        now_ms: T0 + 100,
    }
}

async fn lease_acquire_release(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = authorized_connection(&store, &app_id, "c1").await;
    let won = store
        .try_acquire_refresh_lease(&c.id, "node-a#1", T0, TTL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(won.lease_owner.as_deref(), Some("node-a#1"));
    assert_eq!(won.lease_until, Some(T0 + TTL));
    assert_eq!(
        won.refresh_token_sealed,
        Some(sealed("r1")),
        "winner gets the fresh row"
    );
    assert!(
        store
            .try_acquire_refresh_lease(&c.id, "node-b#1", T0 + 1, TTL)
            .await
            .unwrap()
            .is_none()
    );
    // A non-owner cannot release it.
    assert!(
        !store
            .release_refresh_lease(&c.id, "node-b#1")
            .await
            .unwrap()
    );
    assert!(
        store
            .release_refresh_lease(&c.id, "node-a#1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .release_refresh_lease(&c.id, "node-a#1")
            .await
            .unwrap()
    );
    // Free again.
    let b = store
        .try_acquire_refresh_lease(&c.id, "node-b#1", T0 + 2, TTL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.lease_owner.as_deref(), Some("node-b#1"));
    // An expired lease can be taken over (a crashed node), and the old owner can no longer
    // release the new owner's lease.
    let c2 = store
        .try_acquire_refresh_lease(&c.id, "node-c#1", T0 + 2 + TTL + 1, TTL)
        .await
        .unwrap();
    assert!(c2.is_some());
    assert!(
        !store
            .release_refresh_lease(&c.id, "node-b#1")
            .await
            .unwrap()
    );
    assert!(
        store
            .try_acquire_refresh_lease(&patchbay_core::ConnectionId::generate(), "x", T0, TTL)
            .await
            .unwrap()
            .is_none()
    );
}

async fn refreshed_tokens_are_version_guarded(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = authorized_connection(&store, &app_id, "c1").await;
    let leased = store
        .try_acquire_refresh_lease(&c.id, "node-a#1", T0, TTL)
        .await
        .unwrap()
        .unwrap();
    let v = leased.token_version;
    assert!(
        store
            .store_refreshed_tokens(&refreshed(&c.id, v, "a2", Some("r2")))
            .await
            .unwrap()
    );
    let after = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(after.token_version, v + 1);
    assert_eq!(after.access_token_sealed, Some(sealed("a2")));
    assert_eq!(after.refresh_token_sealed, Some(sealed("r2")));
    assert_eq!(
        after.lease_owner, None,
        "the write released the writer's lease"
    );
    assert_eq!(after.lease_until, None);
    assert_eq!(after.health, Health::Ok);
    assert_eq!(after.last_refresh_at, Some(T0 + 100));
    assert_eq!(after.token_expires_at, Some(T0 + 7_200_000));
    assert_eq!(
        after.instance_url.as_deref(),
        Some("https://acme.my.salesforce.com"),
        "None keeps it"
    );

    // A stale writer (old version) is rejected and changes nothing.
    assert!(
        !store
            .store_refreshed_tokens(&refreshed(&c.id, v, "a-stale", Some("r-stale")))
            .await
            .unwrap()
    );
    let still = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(still, after);
}

async fn missing_refresh_token_keeps_old_one(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = authorized_connection(&store, &app_id, "c1").await;
    let mut t = refreshed(&c.id, c.token_version, "a2", None);
    t.lease_owner = None;
    t.instance_url = Some("https://acme2.my.salesforce.com".to_owned());
    assert!(store.store_refreshed_tokens(&t).await.unwrap());
    let after = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(after.access_token_sealed, Some(sealed("a2")));
    assert_eq!(after.refresh_token_sealed, Some(sealed("r1")));
    assert_eq!(
        after.instance_url.as_deref(),
        Some("https://acme2.my.salesforce.com")
    );
}

async fn failure_is_version_guarded(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = authorized_connection(&store, &app_id, "c1").await;
    store
        .try_acquire_refresh_lease(&c.id, "node-a#1", T0, TTL)
        .await
        .unwrap()
        .unwrap();
    let failure = RefreshFailure {
        connection_id: c.id.clone(),
        expected_version: c.token_version,
        health: Health::PendingRefresh,
        error_code: "timeout".to_owned(),
        next_refresh_at: Some(T0 + 60_000),
        credentials_expire_at: None,
        lease_owner: Some("node-a#1".to_owned()),
        now_ms: T0 + 5,
    };
    assert!(store.record_refresh_failure(&failure).await.unwrap());
    let after = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(after.health, Health::PendingRefresh);
    assert_eq!(after.refresh_failure_count, 1);
    assert_eq!(after.last_refresh_failed_at, Some(T0 + 5));
    assert_eq!(after.last_refresh_error.as_deref(), Some("timeout"));
    assert_eq!(after.lease_owner, None);
    assert_eq!(
        after.token_version, c.token_version,
        "a failure does not bump the version"
    );
    assert_eq!(
        after.refresh_token_sealed,
        Some(sealed("r1")),
        "a failure never wipes credentials"
    );

    // Permanent failure starts the retention window once; a later one keeps the first window.
    let permanent = RefreshFailure {
        health: Health::NeedsAuth,
        error_code: "invalid_grant".to_owned(),
        credentials_expire_at: Some(T0 + 1_000),
        lease_owner: None,
        ..failure.clone()
    };
    assert!(store.record_refresh_failure(&permanent).await.unwrap());
    let later = RefreshFailure {
        credentials_expire_at: Some(T0 + 9_999),
        ..permanent.clone()
    };
    assert!(store.record_refresh_failure(&later).await.unwrap());
    let after = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(after.health, Health::NeedsAuth);
    assert_eq!(after.credentials_expire_at, Some(T0 + 1_000));
    assert_eq!(after.refresh_failure_count, 3);

    // A sibling refreshed meanwhile: the stale failure is ignored.
    assert!(
        store
            .store_refreshed_tokens(&refreshed(&c.id, c.token_version, "a2", Some("r2")))
            .await
            .unwrap()
    );
    assert!(!store.record_refresh_failure(&permanent).await.unwrap());
    let healed = store.get_connection(&c.id).await.unwrap().unwrap();
    assert_eq!(healed.health, Health::Ok);
    assert_eq!(healed.refresh_failure_count, 0);
    assert_eq!(healed.credentials_expire_at, None);
    assert_eq!(healed.last_refresh_error, None);
}

async fn sweeper_claims_due_rows_once(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let mut due = Vec::new();
    for i in 0..5 {
        due.push(
            authorized_connection(&store, &app_id, &format!("due-{i}"))
                .await
                .id,
        );
    }
    // Not due: no tokens, needs_auth, disabled.
    connection(&store, &app_id, "no-tokens").await;
    let dead = authorized_connection(&store, &app_id, "dead").await;
    store
        .set_health(&dead.id, Health::NeedsAuth, T0)
        .await
        .unwrap();
    let off = authorized_connection(&store, &app_id, "off").await;
    store
        .update_connection(
            &app_id,
            &off.id,
            &patchbay_store::ConnectionPatch {
                enabled: Some(false),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();

    let now = T0 + 3_000_000;
    assert!(
        store.due_for_refresh(T0, 100).await.unwrap().is_empty(),
        "nothing due yet"
    );
    let mut ids = store.due_for_refresh(now, 100).await.unwrap();
    ids.sort();
    let mut expected = due.clone();
    expected.sort();
    assert_eq!(ids, expected);

    let a = store
        .claim_due_for_refresh("sweep-a", now, TTL, 3)
        .await
        .unwrap();
    let b = store
        .claim_due_for_refresh("sweep-b", now, TTL, 100)
        .await
        .unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b.len(), 2);
    let mut all: Vec<_> = a.iter().chain(b.iter()).map(|r| r.id.clone()).collect();
    all.sort();
    all.dedup();
    assert_eq!(
        all, expected,
        "every due row claimed by exactly one sweeper"
    );
    assert!(
        store
            .claim_due_for_refresh("sweep-c", now, TTL, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Once the leases expire, the rows are claimable again.
    assert_eq!(
        store
            .claim_due_for_refresh("sweep-c", now + TTL + 1, TTL, 100)
            .await
            .unwrap()
            .len(),
        5
    );
}

/// Two `Store`s (two pools, as on two nodes) on one database.
async fn two_nodes_share_leases(db: TestDatabase) {
    let node_a = db.store().await;
    let node_b = db.store().await;
    let app_id = app(&node_a).await;
    for i in 0..6 {
        authorized_connection(&node_a, &app_id, &format!("c{i}")).await;
    }
    let now = T0 + 3_000_000;
    let (a, b) = tokio::join!(
        node_a.claim_due_for_refresh("node-a", now, TTL, 100),
        node_b.claim_due_for_refresh("node-b", now, TTL, 100)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 6, "each row claimed by exactly one node");
    for row in &a {
        assert!(b.iter().all(|r| r.id != row.id));
        assert!(
            node_b
                .try_acquire_refresh_lease(&row.id, "node-b", now, TTL)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            node_b
                .get_connection(&row.id)
                .await
                .unwrap()
                .unwrap()
                .lease_owner
                .as_deref()
                == Some("node-a")
        );
    }
}

async fn refresh_keeps_unrelated_health(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = authorized_connection(&store, &app_id, "c1").await;
    store
        .set_health(&c.id, Health::NeedsConsent, T0)
        .await
        .unwrap();
    assert!(
        store
            .store_refreshed_tokens(&refreshed(&c.id, c.token_version, "a2", None))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_connection(&c.id).await.unwrap().unwrap().health,
        Health::NeedsConsent
    );
    store.set_health(&c.id, Health::Degraded, T0).await.unwrap();
    assert!(
        store
            .store_refreshed_tokens(&refreshed(&c.id, c.token_version + 1, "a3", None))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_connection(&c.id).await.unwrap().unwrap().health,
        Health::Ok
    );
}
