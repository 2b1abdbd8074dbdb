//! What a failed refresh does to the connection, and what callers are told.

use std::future::Future;

use patchbay_core::{ApplicationId, ConnectionId, Health, ServiceId, UnifiedApi};
use patchbay_fake_salesforce::control::faults::FaultKind;
use patchbay_refresh::{RefreshError, TokenStore};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{
    ConnectionRow, IntegrationRow, RefreshFailure, RefreshedTokens, Store, StoreError,
};
use tokio::task::JoinSet;

use crate::support::{Env, HOUR, assert_no_token_presented_twice};

patchbay_store::backend_tests!(
    genuine_invalid_grant_marks_needs_auth_once,
    invalid_grant_after_the_token_was_replaced_is_not_a_failure,
    dropped_response_under_rotation_is_flagged_in_doubt,
    dropped_response_without_rotation_recovers,
    rate_limit_retry_after_is_honoured,
    transient_failure_keeps_the_connection_callable,
    invalid_client_across_many_connections_makes_few_calls,
    secret_is_sent_when_the_integration_says_so,
    failed_write_is_a_failed_refresh_and_burns_the_token,
);

async fn genuine_invalid_grant_marks_needs_auth_once(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, tokens) = env.expired_connection("c1").await;
    assert!(
        env.emu
            .emulator()
            .revoke_token(tokens.refresh_token.as_ref().unwrap().expose_secret())
    );
    let node = env.node("a").await;
    let err = node.access_token_for(&id).await.unwrap_err();
    let RefreshError::NeedsAuth {
        reason,
        credentials_expire_at_ms,
        ..
    } = &err
    else {
        panic!("expected NeedsAuth, got {err:?}");
    };
    assert_eq!(reason, "invalid_grant");
    let text = format!(
        "{err} {err:?} {}",
        serde_json::to_string(&err.detail()).unwrap()
    );
    let rt = tokens.refresh_token.as_ref().unwrap().expose_secret();
    assert!(
        !text.contains(rt) && !text.contains(tokens.access_token.expose_secret()),
        "a token leaked"
    );
    assert!(credentials_expire_at_ms.unwrap() > env.now());
    let detail = serde_json::to_value(err.detail().unwrap()).unwrap();
    assert_eq!(detail["type"], "refresh_token_connector_error");
    assert_eq!(detail["debug"]["response"]["error"], "invalid_grant");
    assert!(detail["debug"]["credentials_expire_at_ms"].is_i64());
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::NeedsAuth);
    assert_eq!(row.refresh_failure_count, 1);
    assert!(row.last_refresh_failed_at.is_some());
    assert!(row.credentials_expire_at.is_some());
    assert!(
        row.refresh_token_sealed.is_some(),
        "credentials are kept for the retention window"
    );
    // Marked once: later callers are answered from the row, without token calls.
    for _ in 0..5 {
        assert!(matches!(
            node.access_token_for(&id).await,
            Err(RefreshError::NeedsAuth { .. })
        ));
    }
    assert_eq!(env.refresh_calls().len(), 1);
    assert_eq!(env.row(&id).await.refresh_failure_count, 1);
}

async fn invalid_grant_after_the_token_was_replaced_is_not_a_failure(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, tokens) = env.expired_connection("c1").await;
    // The refresh in flight presents a token that is already dead; while it waits for the
    // answer, the consumer reconnects and a new grant is written (what a sibling's write
    // looks like to the row).
    let fresh = env.grant().await;
    env.emu
        .emulator()
        .revoke_token(tokens.refresh_token.as_ref().unwrap().expose_secret());
    env.fault(FaultKind::Latency { ms: 1_000 }, 1);
    let node = env.node("a").await;
    let task = {
        let (node, id) = (node.clone(), id.clone());
        tokio::spawn(async move { node.access_token_for(&id).await })
    };
    while env.row(&id).await.lease_owner.is_none() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    env.set_tokens(
        &id,
        fresh.access_token.expose_secret(),
        fresh.refresh_token.as_ref().map(|t| t.expose_secret()),
        env.now() + HOUR,
    )
    .await;
    let got = task.await.unwrap().expect("the sibling's token is used");
    assert_eq!(got.access_token, fresh.access_token);
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].status,
        Some(400),
        "the in-flight refresh got invalid_grant"
    );
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::Ok, "not marked dead");
    assert_eq!(row.refresh_failure_count, 0);
}

async fn dropped_response_under_rotation_is_flagged_in_doubt(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, _) = env.expired_connection("c1").await;
    env.fault(FaultKind::DropResponse, 1);
    let node = env.node("a").await;
    let err = node.access_token_for(&id).await.unwrap_err();
    assert!(
        matches!(&err, RefreshError::NeedsAuth { reason, .. } if reason == "refresh_in_doubt"),
        "{err:?}"
    );
    // Documented outcome: one retry with the same token (docs/security.md §3.3), which Salesforce
    // refuses because it rotated; then the connection is visibly flagged and left alone.
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].refresh_token_sha256, calls[1].refresh_token_sha256);
    assert_eq!(calls[1].status, Some(400));
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::NeedsAuth);
    assert_eq!(row.last_refresh_error.as_deref(), Some("refresh_in_doubt"));
    for _ in 0..3 {
        assert!(node.access_token_for(&id).await.is_err());
    }
    assert_eq!(env.refresh_calls().len(), 2, "no silent retry loop");
}

async fn dropped_response_without_rotation_recovers(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, _) = env.expired_connection("c1").await;
    env.fault(FaultKind::DropResponse, 1);
    let node = env.node("a").await;
    node.access_token_for(&id)
        .await
        .expect("the retry succeeds");
    assert_eq!(env.refresh_calls().len(), 2);
    assert_eq!(env.row(&id).await.health, Health::Ok);
}

async fn rate_limit_retry_after_is_honoured(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, _) = env.expired_connection("c1").await;
    let (other, _) = env.expired_connection("c2").await;
    env.fault(
        FaultKind::RateLimit {
            retry_after_secs: 5,
        },
        1,
    );
    let node = env.node("a").await;
    let err = node.access_token_for(&id).await.unwrap_err();
    let RefreshError::RateLimited { retry_after_ms } = err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(retry_after_ms, 5_000);
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::Ok, "a 429 leaves the connection alone");
    assert_eq!(row.refresh_failure_count, 0);
    // No token call for this integration until Retry-After has passed.
    env.clock.advance(4_000);
    for c in [&id, &other] {
        let e = node.access_token_for(c).await.unwrap_err();
        assert!(
            matches!(
                e,
                RefreshError::RateLimited {
                    retry_after_ms: 1_000
                }
            ),
            "{e:?}"
        );
        let d = serde_json::to_value(e.detail().unwrap()).unwrap();
        assert_eq!(d["debug"]["retry_after_ms"], 1_000);
    }
    assert_eq!(env.refresh_calls().len(), 1);
    env.clock.advance(1_001);
    node.access_token_for(&id).await.expect("after Retry-After");
    assert_eq!(env.refresh_calls().len(), 2);
}

async fn transient_failure_keeps_the_connection_callable(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let tokens = env.grant().await;
    // Inside the refresh margin but not expired: still usable.
    let id = env
        .connection(
            "c1",
            tokens.access_token.expose_secret(),
            tokens.refresh_token.as_ref().map(|t| t.expose_secret()),
            env.now() + 10_000,
        )
        .await;
    env.fault(FaultKind::Status { status: 503 }, 1);
    let node = env.node("a").await;
    let t = node
        .access_token_for(&id)
        .await
        .expect("old token while backing off");
    assert_eq!(t.access_token, tokens.access_token);
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::PendingRefresh);
    assert_eq!(row.last_refresh_error.as_deref(), Some("server_error"));
    assert!(row.refresh_token_sealed.is_some() && row.access_token_sealed.is_some());
    // Expired and still inside the backoff: an answer with the cooldown, no token call.
    env.clock.advance(11_000);
    let err = node.access_token_for(&id).await.unwrap_err();
    let RefreshError::CoolingDown {
        cooldown_remaining_ms,
        ..
    } = &err
    else {
        panic!("expected CoolingDown, got {err:?}");
    };
    assert!(*cooldown_remaining_ms > 0);
    let d = serde_json::to_value(err.detail().unwrap()).unwrap();
    assert!(d["debug"]["cooldown_remaining_ms"].as_i64().unwrap() > 0);
    assert_eq!(env.refresh_calls().len(), 1);
    // After the backoff it recovers.
    env.clock.advance(60_000);
    node.access_token_for(&id).await.expect("recovered");
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::Ok);
    assert_eq!(row.refresh_failure_count, 0);
}

async fn invalid_client_across_many_connections_makes_few_calls(db: TestDatabase) {
    // The app requires the secret on refresh; the integration (default) does not send it.
    let env = Env::start(db, |c| c.require_secret_for_refresh = true).await;
    let expired = env.now() - 1_000;
    let mut ids = Vec::new();
    for i in 0..1_000 {
        ids.push(
            env.connection(&format!("c{i}"), "at", Some("rt"), expired)
                .await,
        );
    }
    let node = env.node("a").await;
    let mut set = JoinSet::new();
    for id in ids.clone() {
        let node = node.clone();
        set.spawn(async move { node.access_token_for(&id).await });
    }
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Err(RefreshError::IntegrationRejected {
                code, diagnosis, ..
            }) => {
                assert_eq!(code, "invalid_client");
                assert!(diagnosis.contains("Require Secret"), "{diagnosis}");
            }
            other => panic!("expected IntegrationRejected, got {other:?}"),
        }
    }
    let calls = env.refresh_calls().len();
    assert!(calls <= 3, "{calls} token calls for 1,000 connections");
    for id in ids.iter().take(50) {
        assert_ne!(
            env.row(id).await.health,
            Health::NeedsAuth,
            "connections are not blamed"
        );
    }
}

async fn secret_is_sent_when_the_integration_says_so(db: TestDatabase) {
    let env = Env::start_with(
        db,
        |c| c.require_secret_for_refresh = true,
        |w| w.send_secret_on_refresh = true,
    )
    .await;
    let (id, _) = env.expired_connection("c1").await;
    env.node("a")
        .await
        .access_token_for(&id)
        .await
        .expect("refresh with the secret");
}

/// Delegates to the store but every token write fails, as if the database went away.
struct FailingWrites(Store);

impl TokenStore for FailingWrites {
    fn get_connection(
        &self,
        id: &ConnectionId,
    ) -> impl Future<Output = Result<Option<ConnectionRow>, StoreError>> + Send {
        self.0.get_connection(id)
    }
    fn get_integration(
        &self,
        a: &ApplicationId,
        u: &UnifiedApi,
        s: &ServiceId,
    ) -> impl Future<Output = Result<Option<IntegrationRow>, StoreError>> + Send {
        self.0.get_integration(a, u, s)
    }
    fn try_acquire_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> impl Future<Output = Result<Option<ConnectionRow>, StoreError>> + Send {
        self.0.try_acquire_refresh_lease(id, owner, now_ms, ttl_ms)
    }
    fn release_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.release_refresh_lease(id, owner)
    }
    async fn store_refreshed_tokens(&self, _t: &RefreshedTokens) -> Result<bool, StoreError> {
        Err(StoreError::Corrupt {
            column: "injected failure",
        })
    }
    fn record_refresh_failure(
        &self,
        f: &RefreshFailure,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.0.record_refresh_failure(f)
    }
    fn db_now_ms(&self) -> impl Future<Output = Result<i64, StoreError>> + Send {
        self.0.db_now_ms()
    }
    fn claim_due_for_refresh(
        &self,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ConnectionRow>, StoreError>> + Send {
        self.0.claim_due_for_refresh(owner, now_ms, ttl_ms, limit)
    }
}

async fn failed_write_is_a_failed_refresh_and_burns_the_token(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, _) = env.expired_connection("c1").await;
    let node = env.node_on(FailingWrites(env.db.store().await), "a");
    let err = node.access_token_for(&id).await.unwrap_err();
    assert!(matches!(err, RefreshError::Unpersisted), "{err:?}");
    let row = env.row(&id).await;
    assert_eq!(
        row.health,
        Health::NeedsAuth,
        "flagged for operator attention"
    );
    assert_eq!(
        row.last_refresh_error.as_deref(),
        Some("refresh_unpersisted")
    );
    // Neither a caller nor a forced refresh presents the redeemed token again.
    assert!(node.access_token_for(&id).await.is_err());
    assert!(node.force_refresh(&id).await.is_err());
    env.clock.advance(60_000);
    assert!(node.force_refresh(&id).await.is_err());
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 1);
    assert_no_token_presented_twice(&calls);
}
