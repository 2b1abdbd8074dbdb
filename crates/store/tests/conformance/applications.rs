use patchbay_core::{ApiKeyId, ApplicationId};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{Backend, NewApiKey, NewApplication, StoreError};

use crate::fixtures::{T0, app};

patchbay_store::backend_tests!(
    backend_is_reported,
    application_crud,
    api_key_lifecycle,
    meta_get_set,
    deleting_an_application_cascades
);

async fn backend_is_reported(db: TestDatabase) {
    let store = db.store().await;
    assert_eq!(store.backend(), db.backend());
    store.ping().await.unwrap();
    let db_now = store.db_now_ms().await.unwrap();
    let local_now = patchbay_core::Clock::now_ms(&patchbay_core::SystemClock);
    assert!(
        (db_now - local_now).abs() < 5_000,
        "database clock {db_now} vs local {local_now}"
    );
    // Reconnecting runs migrations again, which must be a no-op.
    let again = db.store().await;
    assert!(again.list_applications().await.unwrap().is_empty());
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    // Every migration file of the backend ran exactly once.
    let folder = match db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let files = std::fs::read_dir(format!(
        "{}/migrations/{folder}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .count();
    assert_eq!(applied, i64::try_from(files).unwrap());
    if db.backend() == Backend::Sqlite {
        assert!(
            db.sqlite_file().unwrap().exists(),
            "file created on first connect"
        );
        let mut conn = store.pool().acquire().await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(busy, 5000);
    }
}

async fn application_crud(db: TestDatabase) {
    let store = db.store().await;
    let id = ApplicationId::generate();
    let new = NewApplication {
        id: id.clone(),
        name: "Acme".to_owned(),
        redirect_uris: vec![
            "https://a.example/cb".to_owned(),
            "http://localhost:3000/x".to_owned(),
        ],
        now_ms: T0,
    };
    let row = store.create_application(&new).await.unwrap();
    assert_eq!(row.redirect_uris, new.redirect_uris);
    assert!(matches!(
        store.create_application(&new).await,
        Err(StoreError::Conflict("application"))
    ));
    assert_eq!(store.get_application(&id).await.unwrap(), Some(row));
    let updated = store
        .update_application(&id, "Acme 2", &[], T0 + 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.name, "Acme 2");
    assert!(updated.redirect_uris.is_empty());
    assert_eq!(updated.created_at, T0);
    assert_eq!(updated.updated_at, T0 + 1);
    assert!(
        store
            .get_application(&ApplicationId::generate())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .update_application(&ApplicationId::generate(), "x", &[], T0)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.list_applications().await.unwrap().len(), 1);
}

async fn api_key_lifecycle(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let key_id = ApiKeyId::parse("pbk_test1").unwrap();
    let new = NewApiKey {
        id: key_id.clone(),
        application_id: app_id.clone(),
        key_hash: vec![0, 1, 2, 255],
        scopes: "vault crm proxy".to_owned(),
        name: "ci".to_owned(),
        now_ms: T0,
    };
    let row = store.create_api_key(&new).await.unwrap();
    assert!(!row.is_revoked());
    assert!(row.has_scope("crm"));
    assert!(!row.has_scope("export"));
    assert!(
        !format!("{row:?}").contains("255"),
        "hash is redacted in Debug"
    );
    assert!(matches!(
        store.create_api_key(&new).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = NewApiKey {
        id: ApiKeyId::parse("pbk_orphan").unwrap(),
        application_id: ApplicationId::generate(),
        ..new.clone()
    };
    assert!(matches!(
        store.create_api_key(&orphan).await,
        Err(StoreError::MissingParent("application"))
    ));

    let found = store.find_api_key(&key_id).await.unwrap().unwrap();
    assert_eq!(found.key_hash, vec![0, 1, 2, 255]);
    assert_eq!(found.last_used_at, None);

    store.touch_api_key(&key_id, T0 + 10).await.unwrap();
    assert_eq!(
        store
            .find_api_key(&key_id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(T0 + 10)
    );
    // Within the granularity window nothing is written.
    store.touch_api_key(&key_id, T0 + 20).await.unwrap();
    assert_eq!(
        store
            .find_api_key(&key_id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(T0 + 10)
    );
    store.touch_api_key(&key_id, T0 + 120_000).await.unwrap();
    assert_eq!(
        store
            .find_api_key(&key_id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(T0 + 120_000)
    );

    // Another application cannot revoke it.
    let other = app(&store).await;
    assert!(!store.revoke_api_key(&other, &key_id, T0).await.unwrap());
    assert!(
        store
            .revoke_api_key(&app_id, &key_id, T0 + 5)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_api_key(&app_id, &key_id, T0 + 6)
            .await
            .unwrap(),
        "already revoked"
    );
    assert_eq!(
        store
            .find_api_key(&key_id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(T0 + 5)
    );
    assert_eq!(store.list_api_keys(&app_id).await.unwrap().len(), 1);
    assert!(store.list_api_keys(&other).await.unwrap().is_empty());
    assert!(
        store
            .find_api_key(&ApiKeyId::parse("nope").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn meta_get_set(db: TestDatabase) {
    let store = db.store().await;
    assert_eq!(store.get_meta("key_canary").await.unwrap(), None);
    assert!(store.set_meta_if_absent("key_canary", "v1").await.unwrap());
    assert!(!store.set_meta_if_absent("key_canary", "v2").await.unwrap());
    assert_eq!(
        store.get_meta("key_canary").await.unwrap().as_deref(),
        Some("v1")
    );
    store.set_meta("key_canary", "v3").await.unwrap();
    assert_eq!(
        store.get_meta("key_canary").await.unwrap().as_deref(),
        Some("v3")
    );
}

async fn deleting_an_application_cascades(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let conn = crate::fixtures::authorized_connection(&store, &app_id, "c1").await;
    assert!(store.delete_application(&app_id).await.unwrap());
    assert!(store.get_connection(&conn.id).await.unwrap().is_none());
    assert!(
        store
            .get_consumer(&app_id, &conn.consumer_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.delete_application(&app_id).await.unwrap());
}
