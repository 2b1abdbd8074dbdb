//! A first start against a PostgreSQL server where the database does not exist yet.

use patchbay_store::Store;
use patchbay_store::testing::TestDatabase;

#[tokio::test]
async fn a_missing_postgres_database_is_created_on_first_connect() {
    let Some(db) = TestDatabase::postgres_not_created().await else {
        return;
    };
    let store = Store::connect(db.url())
        .await
        .expect("created and migrated");
    store.ping().await.expect("usable");
    store.close().await;
    // A second node starting later finds it there.
    let again = Store::connect(db.url()).await.expect("reconnects");
    again.close().await;
}
