use patchbay_core::{ConsumerMetadata, Health};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{ConsumerFilter, StoreError};

use crate::fixtures::{T0, app, authorized_connection, consumer};

patchbay_store::backend_tests!(
    consumer_crud,
    consumer_paging_and_filters,
    deleting_consumer_deletes_connections
);

fn meta(account: &str, email: &str) -> ConsumerMetadata {
    ConsumerMetadata {
        account_name: Some(account.to_owned()),
        user_name: Some(format!("{account} user")),
        email: Some(email.to_owned()),
        image: None,
    }
}

async fn consumer_crud(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = consumer("test_consumer_id");
    let row = store
        .create_consumer(&app_id, &c, &meta("SpaceX", "elon@x.com"), T0)
        .await
        .unwrap();
    assert_eq!(row.metadata.account_name.as_deref(), Some("SpaceX"));
    assert!(matches!(
        store
            .create_consumer(&app_id, &c, &ConsumerMetadata::default(), T0)
            .await,
        Err(StoreError::Conflict("consumer"))
    ));
    // The same consumer id in another application is a different consumer.
    let other = app(&store).await;
    store
        .create_consumer(&other, &c, &ConsumerMetadata::default(), T0)
        .await
        .unwrap();

    // Upsert without metadata keeps what is there; with metadata it replaces it.
    let kept = store
        .upsert_consumer(&app_id, &c, None, T0 + 1)
        .await
        .unwrap();
    assert_eq!(kept.metadata, meta("SpaceX", "elon@x.com"));
    assert_eq!(kept.updated_at, T0);
    let replaced = store
        .upsert_consumer(&app_id, &c, Some(&meta("Tesla", "t@x.com")), T0 + 2)
        .await
        .unwrap();
    assert_eq!(replaced.metadata, meta("Tesla", "t@x.com"));
    assert_eq!(replaced.created_at, T0);
    assert_eq!(replaced.updated_at, T0 + 2);

    let updated = store
        .update_consumer(&app_id, &c, &ConsumerMetadata::default(), T0 + 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.metadata, ConsumerMetadata::default());
    assert!(
        store
            .update_consumer(
                &app_id,
                &consumer("ghost"),
                &ConsumerMetadata::default(),
                T0
            )
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .get_consumer(&app_id, &c)
            .await
            .unwrap()
            .unwrap()
            .updated_at,
        T0 + 3
    );
    assert!(
        store
            .get_consumer(&app_id, &consumer("ghost"))
            .await
            .unwrap()
            .is_none()
    );

    assert!(store.delete_consumer(&app_id, &c).await.unwrap());
    assert!(!store.delete_consumer(&app_id, &c).await.unwrap());
    assert!(
        store.get_consumer(&other, &c).await.unwrap().is_some(),
        "other tenant untouched"
    );
}

async fn consumer_paging_and_filters(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    for i in 0..25 {
        let id = consumer(&format!("user-{i:02}"));
        store
            .create_consumer(
                &app_id,
                &id,
                &meta(&format!("Org{i}"), &format!("u{i}@example.com")),
                T0,
            )
            .await
            .unwrap();
    }
    store
        .create_consumer(
            &app_id,
            &consumer("Admin_%"),
            &meta("Special", "BOSS@Example.com"),
            T0,
        )
        .await
        .unwrap();
    // Byte order puts "Zed" before "_under" before "user-…"; a locale collation would not.
    for id in ["Zed", "_under"] {
        let meta = ConsumerMetadata::default();
        store
            .create_consumer(&app_id, &consumer(id), &meta, T0)
            .await
            .unwrap();
    }
    let other = app(&store).await;
    store
        .create_consumer(
            &other,
            &consumer("user-99"),
            &ConsumerMetadata::default(),
            T0,
        )
        .await
        .unwrap();

    // Paging visits everything once, in order.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_consumers(&app_id, &ConsumerFilter::default(), cursor.as_deref(), 10)
            .await
            .unwrap();
        assert!(page.items.len() <= 10);
        seen.extend(page.items.into_iter().map(|c| c.consumer_id.to_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 28);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert!(!seen.contains(&"user-99".to_owned()));

    // An exactly full last page has no next cursor.
    let all = store
        .list_consumers(&app_id, &ConsumerFilter::default(), None, 28)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 28);
    assert_eq!(all.items[0].consumer_id.as_str(), "Admin_%");
    assert_eq!(all.items[1].consumer_id.as_str(), "Zed");
    assert_eq!(all.items[2].consumer_id.as_str(), "_under");
    assert_eq!(all.next_cursor, None);

    let prefix = |p: &str| ConsumerFilter {
        consumer_id_prefix: Some(p.to_owned()),
        search: None,
    };
    let page = store
        .list_consumers(&app_id, &prefix("user-1"), None, 100)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 10);
    // Prefix match is case-sensitive and treats % and _ literally.
    assert_eq!(
        store
            .list_consumers(&app_id, &prefix("USER-"), None, 100)
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    assert_eq!(
        store
            .list_consumers(&app_id, &prefix("Admin_%"), None, 100)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_consumers(&app_id, &prefix("Admin__"), None, 100)
            .await
            .unwrap()
            .items
            .len(),
        0
    );

    let search = |s: &str| ConsumerFilter {
        consumer_id_prefix: None,
        search: Some(s.to_owned()),
    };
    let by_email = store
        .list_consumers(&app_id, &search("boss@example"), None, 100)
        .await
        .unwrap();
    assert_eq!(by_email.items.len(), 1, "search ignores ASCII case");
    assert_eq!(
        store
            .list_consumers(&app_id, &search("org1"), None, 100)
            .await
            .unwrap()
            .items
            .len(),
        11
    );
    assert_eq!(
        store
            .list_consumers(&app_id, &search("%"), None, 100)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert_eq!(
        store
            .list_consumers(&app_id, &search("nobody"), None, 100)
            .await
            .unwrap()
            .items
            .len(),
        0
    );
}

async fn deleting_consumer_deletes_connections(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let conn = authorized_connection(&store, &app_id, "c1").await;
    let keep = authorized_connection(&store, &app_id, "c2").await;
    assert_eq!(conn.health, Health::Ok);
    assert!(
        store
            .delete_consumer(&app_id, &conn.consumer_id)
            .await
            .unwrap()
    );
    assert!(store.get_connection(&conn.id).await.unwrap().is_none());
    assert!(store.get_connection(&keep.id).await.unwrap().is_some());
}
