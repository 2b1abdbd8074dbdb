//! Events on transitions, forced refresh limits, dead lease holders, learned lifetimes.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use patchbay_core::Health;
use patchbay_fake_salesforce::control::faults::FaultKind;
use patchbay_refresh::{LeaseClock, RefreshError, RefreshEvent};
use patchbay_store::testing::TestDatabase;

use crate::support::{Env, HOUR};

patchbay_store::backend_tests!(
    events_fire_once_per_transition,
    forced_refresh_is_rate_limited_after_a_failure,
    a_dead_lease_holder_does_not_block_for_longer_than_its_ttl,
    lifetime_is_learned_from_introspection,
    unpersisted_flag_survives_a_restart,
    a_slow_provider_never_outlives_the_lease,
    clock_skew_does_not_break_the_lease_on_database_time,
);

fn collect(node: &patchbay_refresh::Refresher) -> Arc<Mutex<Vec<RefreshEvent>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    assert!(node.set_event_sink(Arc::new(move |e| sink.lock().push(e))));
    seen
}

async fn events_fire_once_per_transition(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, tokens) = env.expired_connection("c1").await;
    let node = env.node("a").await;
    let events = collect(&node);
    env.fault(FaultKind::Status { status: 500 }, 2);
    assert!(node.access_token_for(&id).await.is_err());
    env.clock.advance(34_000);
    assert!(
        node.access_token_for(&id).await.is_err(),
        "second failure, still pending"
    );
    // Backoff doubles (30 s, 60 s) with up to 10 % jitter.
    env.clock.advance(67_000);
    node.access_token_for(&id).await.expect("recovers");
    assert_eq!(env.refresh_calls().len(), 3);
    env.emu
        .emulator()
        .revoke_token(tokens.refresh_token.as_ref().unwrap().expose_secret());
    env.clock.advance(3 * HOUR);
    assert!(node.access_token_for(&id).await.is_err());
    assert!(node.access_token_for(&id).await.is_err());
    let got = events.lock().clone();
    assert_eq!(
        got,
        vec![
            RefreshEvent::Pending {
                connection_id: id.clone(),
                code: "server_error".to_owned()
            },
            RefreshEvent::Recovered {
                connection_id: id.clone()
            },
            RefreshEvent::NeedsAuth {
                connection_id: id.clone(),
                reason: "invalid_grant".to_owned()
            },
        ]
    );
}

async fn forced_refresh_is_rate_limited_after_a_failure(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, tokens) = env.expired_connection("c1").await;
    env.emu
        .emulator()
        .revoke_token(tokens.refresh_token.as_ref().unwrap().expose_secret());
    let node = env.node("a").await;
    assert!(matches!(
        node.force_refresh(&id).await,
        Err(RefreshError::NeedsAuth { .. })
    ));
    let err = node.force_refresh(&id).await.unwrap_err();
    assert!(matches!(err, RefreshError::CoolingDown { .. }), "{err:?}");
    assert_eq!(env.refresh_calls().len(), 1);
    // validate may try again later, and a dead grant stays dead without a second event.
    env.clock.advance(10_001);
    assert!(node.force_refresh(&id).await.is_err());
    assert_eq!(env.refresh_calls().len(), 2);
    assert_eq!(env.row(&id).await.health, Health::NeedsAuth);
}

async fn a_dead_lease_holder_does_not_block_for_longer_than_its_ttl(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, _) = env.expired_connection("c1").await;
    // A node took the lease on database time and died (SIGKILL) before refreshing.
    let ttl = 1_500;
    let now = env.store.db_now_ms().await.unwrap();
    assert!(
        env.store
            .try_acquire_refresh_lease(&id, "dead-node#1", now, ttl)
            .await
            .unwrap()
            .is_some()
    );
    let node = env.node("a").await;
    let started = std::time::Instant::now();
    let waiting = {
        let (node, id) = (node.clone(), id.clone());
        tokio::spawn(async move { node.access_token_for(&id).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "waits while the lease is live");
    assert!(env.refresh_calls().is_empty());
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("not stuck")
        .unwrap()
        .expect("the lease expired and this node refreshed");
    assert!(started.elapsed() >= Duration::from_millis(1_000));
    assert_eq!(env.refresh_calls().len(), 1);
    assert!(env.row(&id).await.lease_owner.is_none());
}

async fn lifetime_is_learned_from_introspection(db: TestDatabase) {
    let env = Env::start_with(
        db,
        |c| c.access_token_ttl_secs = 900,
        |w| w.settings_json = r#"{"introspect_tokens": true}"#.to_owned(),
    )
    .await;
    let (id, _) = env.expired_connection("c1").await;
    let node = env.node("a").await;
    let first = node.access_token_for(&id).await.unwrap();
    // The first token after start assumes the session timeout (2 h) ...
    assert_eq!(first.expires_at_ms, Some(env.now() + 2 * HOUR));
    // ... and introspection taught the real one (15 min) for every later token.
    let second = node.force_refresh(&id).await.unwrap();
    assert_eq!(second.expires_at_ms, Some(env.now() + 900_000));
    assert_eq!(
        env.row(&id).await.token_expires_at,
        Some(env.now() + 900_000)
    );
}

async fn unpersisted_flag_survives_a_restart(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, _) = env.expired_connection("c1").await;
    // What a node leaves behind when its token write failed (see failures.rs).
    let row = env.row(&id).await;
    env.store
        .record_refresh_failure(&patchbay_store::RefreshFailure {
            connection_id: id.clone(),
            expected_version: row.token_version,
            health: Health::NeedsAuth,
            error_code: "refresh_unpersisted".to_owned(),
            next_refresh_at: None,
            credentials_expire_at: Some(env.now() + HOUR),
            lease_owner: None,
            now_ms: env.now() - 60_000,
        })
        .await
        .unwrap();
    let fresh_process = env.node("b").await;
    let err = fresh_process.force_refresh(&id).await.unwrap_err();
    assert!(
        matches!(&err, RefreshError::NeedsAuth { reason, .. } if reason == "refresh_unpersisted"),
        "{err:?}"
    );
    assert!(
        env.refresh_calls().is_empty(),
        "the redeemed token is not replayed"
    );
}

async fn a_slow_provider_never_outlives_the_lease(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, _) = env.expired_connection("c1").await;
    // Slower than the whole lease, twice (the call and its one in-doubt retry).
    env.fault(FaultKind::Latency { ms: 5_000 }, 2);
    let ttl = 2_500;
    let node = env.node_with("a", |c| c.lease_ttl_ms = ttl).await;
    let started = std::time::Instant::now();
    let err = node.access_token_for(&id).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(u64::try_from(ttl).unwrap()),
        "gave up inside the lease, so no second node could present the same token meanwhile"
    );
    assert!(
        matches!(&err, RefreshError::Transient { code, .. } if code == "refresh_in_doubt"),
        "{err:?}"
    );
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::PendingRefresh);
    assert_eq!(row.last_refresh_error.as_deref(), Some("refresh_in_doubt"));
    assert!(row.lease_owner.is_none());
    assert!(row.refresh_token_sealed.is_some(), "credentials kept");
}

async fn clock_skew_does_not_break_the_lease_on_database_time(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, _) = env.expired_connection("c1").await;
    env.fault(FaultKind::Latency { ms: 500 }, 1);
    let db_time = |c: &mut patchbay_refresh::RefreshConfig| c.lease_clock = LeaseClock::Database;
    let on_time = env.skewed_node("a", 0, db_time).await;
    // Five minutes ahead: on its own clock, a's lease (60 s) would look long expired.
    let ahead = env.skewed_node("b", 5 * 60_000, db_time).await;
    let first = {
        let (n, id) = (on_time.clone(), id.clone());
        tokio::spawn(async move { n.access_token_for(&id).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = ahead
        .access_token_for(&id)
        .await
        .expect("b waits for a's refresh");
    let first = first.await.unwrap().expect("a refreshes");
    assert_eq!(first.access_token, second.access_token);
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 1, "no double refresh despite the skew");
}
