use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{NewOAuthTransaction, Store, StoreError};

use crate::fixtures::{T0, app, consumer, sealed};

patchbay_store::backend_tests!(oauth_state_is_single_use, oauth_state_expires, oauth_purge);

pub async fn insert(
    store: &Store,
    app_id: &patchbay_core::ApplicationId,
    hash: &str,
    expires_at: i64,
) -> NewOAuthTransaction {
    let t = NewOAuthTransaction {
        state_hash: hash.to_owned(),
        purpose: "authorize".to_owned(),
        application_id: app_id.clone(),
        consumer_id: consumer("c1"),
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
        login_url: Some("https://login.salesforce.com".to_owned()),
        redirect_uri: Some("https://app.example.com/done".to_owned()),
        code_verifier_sealed: Some(sealed("verifier")),
        nonce: Some("n-1".to_owned()),
        now_ms: T0,
        expires_at,
    };
    store.insert_oauth_transaction(&t).await.unwrap();
    t
}

async fn oauth_state_is_single_use(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let t = insert(&store, &app_id, "hash-1", T0 + 600_000).await;
    assert!(matches!(
        store.insert_oauth_transaction(&t).await,
        Err(StoreError::Conflict(_))
    ));
    let peek = store
        .get_oauth_transaction("hash-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(peek.used_at, None);
    let taken = store
        .take_oauth_transaction("hash-1", T0 + 1000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.used_at, Some(T0 + 1000));
    assert_eq!(taken.code_verifier_sealed, Some(sealed("verifier")));
    assert_eq!(
        taken.login_url.as_deref(),
        Some("https://login.salesforce.com")
    );
    assert_eq!(taken.redirect_uri, t.redirect_uri);
    assert_eq!(taken.nonce.as_deref(), Some("n-1"));
    assert_eq!(taken.consumer_id, t.consumer_id);
    assert!(
        store
            .take_oauth_transaction("hash-1", T0 + 1001)
            .await
            .unwrap()
            .is_none(),
        "replay refused"
    );
    assert!(
        store
            .take_oauth_transaction("unknown", T0)
            .await
            .unwrap()
            .is_none()
    );
}

async fn oauth_state_expires(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    insert(&store, &app_id, "hash-2", T0 + 600_000).await;
    assert!(
        store
            .take_oauth_transaction("hash-2", T0 + 600_000)
            .await
            .unwrap()
            .is_none(),
        "expiry is exclusive"
    );
    insert(&store, &app_id, "hash-3", T0 + 600_000).await;
    assert!(
        store
            .take_oauth_transaction("hash-3", T0 + 599_999)
            .await
            .unwrap()
            .is_some()
    );
}

async fn oauth_purge(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    insert(&store, &app_id, "old", T0 + 10).await;
    insert(&store, &app_id, "new", T0 + 1_000_000).await;
    assert_eq!(store.purge_oauth_transactions(T0 + 100).await.unwrap(), 1);
    assert!(store.get_oauth_transaction("old").await.unwrap().is_none());
    assert!(store.get_oauth_transaction("new").await.unwrap().is_some());
}
