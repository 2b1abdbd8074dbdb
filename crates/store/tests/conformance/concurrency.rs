//! Races that must have exactly one winner, on both backends.

use std::sync::Arc;

use patchbay_store::RefreshedTokens;
use patchbay_store::testing::TestDatabase;

use crate::fixtures::{T0, app, authorized_connection, sealed};

patchbay_store::backend_tests!(oauth_state_race, lease_race, refresh_write_race);

const RACERS: usize = 20;

async fn oauth_state_race(db: TestDatabase) {
    let store = Arc::new(db.store().await);
    let app_id = app(&store).await;
    crate::oauth::insert(&store, &app_id, "race-state", T0 + 600_000).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .take_oauth_transaction("race-state", T0 + 1)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);
}

async fn lease_race(db: TestDatabase) {
    let store = Arc::new(db.store().await);
    let app_id = app(&store).await;
    let conn = authorized_connection(&store, &app_id, "c1").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier, id) = (Arc::clone(&store), Arc::clone(&barrier), conn.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let owner = format!("node-{i}");
                store
                    .try_acquire_refresh_lease(&id, &owner, T0, 30_000)
                    .await
                    .unwrap()
                    .map(|_| owner)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(owner) = t.await.unwrap() {
            winners.push(owner);
        }
    }
    assert_eq!(winners.len(), 1);
    let row = store.get_connection(&conn.id).await.unwrap().unwrap();
    assert_eq!(row.lease_owner.as_ref(), winners.first());
}

async fn refresh_write_race(db: TestDatabase) {
    let store = Arc::new(db.store().await);
    let app_id = app(&store).await;
    let conn = authorized_connection(&store, &app_id, "c1").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier) = (Arc::clone(&store), Arc::clone(&barrier));
            let t = RefreshedTokens {
                connection_id: conn.id.clone(),
                expected_version: conn.token_version,
                access_token: sealed(&format!("a-{i}")),
                refresh_token: Some(sealed(&format!("r-{i}"))),
                issued_at: None,
                expires_at: Some(T0 + 1),
                next_refresh_at: None,
                instance_url: None,
                granted_scopes: None,
                lease_owner: None,
                now_ms: T0,
            };
            tokio::spawn(async move {
                barrier.wait().await;
                store.store_refreshed_tokens(&t).await.unwrap().then_some(i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(i) = t.await.unwrap() {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1);
    let row = store.get_connection(&conn.id).await.unwrap().unwrap();
    assert_eq!(row.token_version, conn.token_version + 1);
    // The stored pair is the winner's, never a mix of two writers.
    let w = winners[0];
    assert_eq!(row.access_token_sealed, Some(sealed(&format!("a-{w}"))));
    assert_eq!(row.refresh_token_sealed, Some(sealed(&format!("r-{w}"))));
}
