//! Exactly one refresh, however many callers and nodes ask at once.

use std::sync::Arc;

use patchbay_core::Health;
use patchbay_fake_salesforce::control::faults::FaultKind;
use patchbay_refresh::{CurrentToken, RefreshError, Refresher};
use patchbay_store::Store;
use patchbay_store::testing::TestDatabase;
use tokio::task::JoinSet;

use crate::support::{Env, HOUR, assert_no_token_presented_twice};

patchbay_store::backend_tests!(
    two_hundred_callers_share_one_refresh,
    two_hundred_callers_under_rotation_present_no_token_twice,
    three_nodes_share_one_refresh_under_rotation,
    fresh_token_costs_no_token_call,
    response_without_refresh_token_keeps_the_old_one,
    invalid_session_refreshes_once_for_many_callers,
);

async fn hammer(
    nodes: &[Refresher<Store>],
    id: &patchbay_core::ConnectionId,
    n: usize,
) -> Vec<Result<CurrentToken, RefreshError>> {
    let mut set = JoinSet::new();
    for i in 0..n {
        let (r, id) = (nodes[i % nodes.len()].clone(), id.clone());
        set.spawn(async move { r.access_token_for(&id).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out
}

fn all_same_token(results: Vec<Result<CurrentToken, RefreshError>>) -> String {
    let tokens: Vec<String> = results
        .into_iter()
        .map(|r| {
            r.expect("every caller gets a token")
                .access_token
                .expose_secret()
                .to_owned()
        })
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "callers got different tokens"
    );
    tokens[0].clone()
}

async fn two_hundred_callers_share_one_refresh(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, old) = env.expired_connection("c1").await;
    // Every caller arrives while the one refresh is in flight.
    env.fault(FaultKind::Latency { ms: 300 }, 1);
    let node = env.node("a").await;
    let token = all_same_token(hammer(&[node], &id, 200).await);
    assert_eq!(
        env.refresh_calls().len(),
        1,
        "exactly one refresh at the emulator"
    );
    assert_ne!(token, old.access_token.expose_secret());
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::Ok);
    assert_eq!(row.token_version, 2, "one grant write, one refresh write");
    assert!(row.lease_owner.is_none(), "the lease is released");
    assert!(
        row.token_expires_at.unwrap() > env.now() + HOUR,
        "default 2 h lifetime"
    );
    // The new token works at the org.
    let status = env
        .http
        .get(format!("{}/services/oauth2/userinfo", env.emu.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

async fn two_hundred_callers_under_rotation_present_no_token_twice(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, old) = env.expired_connection("c1").await;
    // Every caller arrives while the one refresh is in flight.
    env.fault(FaultKind::Latency { ms: 300 }, 1);
    let node = env.node("a").await;
    all_same_token(hammer(std::slice::from_ref(&node), &id, 200).await);
    assert_eq!(env.refresh_calls().len(), 1);
    let rotated = env.stored_refresh(&id).await.unwrap();
    assert_ne!(
        Some(rotated.as_str()),
        old.refresh_token.as_ref().map(|t| t.expose_secret())
    );
    // The rotated token is the one used next, and the grant is still alive.
    node.force_refresh(&id).await.expect("second refresh works");
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 2);
    assert_no_token_presented_twice(&calls);
    assert_eq!(env.row(&id).await.health, Health::Ok);
}

async fn three_nodes_share_one_refresh_under_rotation(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, _) = env.expired_connection("c1").await;
    // Every caller arrives while the one refresh is in flight.
    env.fault(FaultKind::Latency { ms: 300 }, 1);
    let nodes = [
        env.node("a").await,
        env.node("b").await,
        env.node("c").await,
    ];
    all_same_token(hammer(&nodes, &id, 200).await);
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 1, "one refresh across three nodes");
    assert_no_token_presented_twice(&calls);
    assert_eq!(env.row(&id).await.health, Health::Ok);
}

async fn fresh_token_costs_no_token_call(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let tokens = env.grant().await;
    let id = env
        .connection(
            "c1",
            tokens.access_token.expose_secret(),
            tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
            env.now() + HOUR,
        )
        .await;
    let node = env.node("a").await;
    for _ in 0..20 {
        let t = node.access_token_for(&id).await.unwrap();
        assert_eq!(t.access_token, tokens.access_token);
        assert!(!format!("{t:?}").contains(tokens.access_token.expose_secret()));
    }
    assert!(env.refresh_calls().is_empty());
    // Inside the on-demand margin (30 s) it is refreshed.
    env.clock.advance(HOUR - 10_000);
    node.access_token_for(&id).await.unwrap();
    assert_eq!(env.refresh_calls().len(), 1);
}

async fn response_without_refresh_token_keeps_the_old_one(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, old) = env.expired_connection("c1").await;
    let old_rt = old
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned();
    let node = env.node("a").await;
    node.access_token_for(&id).await.unwrap();
    assert_eq!(
        env.stored_refresh(&id).await.as_deref(),
        Some(old_rt.as_str())
    );
    node.force_refresh(&id)
        .await
        .expect("the kept token still refreshes");
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].refresh_token_sha256, calls[1].refresh_token_sha256);
}

async fn invalid_session_refreshes_once_for_many_callers(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let tokens = env.grant().await;
    let id = env
        .connection(
            "c1",
            tokens.access_token.expose_secret(),
            tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
            env.now() + HOUR,
        )
        .await;
    let node = env.node("a").await;
    let used = Arc::new(tokens.access_token.clone());
    let mut set = JoinSet::new();
    for _ in 0..50 {
        let (r, id, used) = (node.clone(), id.clone(), Arc::clone(&used));
        set.spawn(async move { r.on_invalid_session(&id, &used).await });
    }
    let mut got = Vec::new();
    while let Some(r) = set.join_next().await {
        got.push(r.unwrap().expect("token after 401"));
    }
    assert_eq!(env.refresh_calls().len(), 1, "one refresh for fifty 401s");
    assert!(got.iter().all(|t| t.access_token == got[0].access_token));
    assert_ne!(got[0].access_token, tokens.access_token);
    // A late 401 for the token already replaced does not refresh again.
    let late = node.on_invalid_session(&id, &used).await.unwrap();
    assert_eq!(late.access_token, got[0].access_token);
    assert_eq!(env.refresh_calls().len(), 1);
}
