use patchbay_store::StoreError;
use patchbay_store::testing::TestDatabase;

use crate::fixtures::T0;

patchbay_store::backend_tests!(admin_user_lifecycle);

async fn admin_user_lifecycle(db: TestDatabase) {
    let store = db.store().await;
    assert!(store.find_admin_user("ada").await.unwrap().is_none());
    let created = store
        .create_admin_user("u1", "ada", "$argon2id$v=19$fake", T0)
        .await
        .unwrap();
    assert_eq!(created.username, "ada");
    assert_eq!(created.last_login_at, None);
    assert!(
        !format!("{created:?}").contains("argon2id"),
        "Debug hides the hash"
    );
    let dup = store
        .create_admin_user("u2", "ada", "$argon2id$v=19$other", T0)
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict("admin user"))),
        "{dup:?}"
    );
    assert!(
        store
            .set_admin_password("ada", "$argon2id$v=19$new", T0 + 1)
            .await
            .unwrap()
    );
    assert!(!store.set_admin_password("bob", "x", T0 + 1).await.unwrap());
    store.touch_admin_login("u1", T0 + 2).await.unwrap();
    let found = store.find_admin_user("ada").await.unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$v=19$new");
    assert_eq!(found.last_login_at, Some(T0 + 2));
    assert_eq!(found.updated_at, T0 + 1);
    assert_eq!(store.list_admin_users().await.unwrap().len(), 1);
}
