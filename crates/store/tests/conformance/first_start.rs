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

/// Start-up on an existing database opens one connection: the migration check hands its
/// connection back before returning, so the next query (`serve` reads the key canary) reuses
/// it instead of opening a second one (issue 14: each is a backend fork on PostgreSQL).
async fn start_up_opens_one_connection(db: TestDatabase) {
    Store::connect(db.url())
        .await
        .expect("first start migrates")
        .close()
        .await;
    for _ in 0..5 {
        let store = Store::connect(db.url()).await.expect("restart");
        assert_eq!(store.pool().size(), 1, "after the migration check");
        store.get_meta("canary").await.expect("first read");
        assert_eq!(store.pool().size(), 1, "after the first read");
        store.close().await;
    }
}

/// A URL that leaves TLS to the default connects in plain text to a loopback server (TLS on
/// loopback protects nothing and cost each connection 60–120 ms); one that asks for TLS gets
/// it. Only meaningful where the server offers TLS, so it says so and returns otherwise.
#[tokio::test]
async fn loopback_postgres_is_plain_unless_the_url_asks_for_tls() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    assert!(
        db.url().contains("127.0.0.1") || db.url().contains("localhost"),
        "this test needs a loopback PostgreSQL URL, not {}",
        db.url()
    );
    let store = Store::connect(db.url()).await.expect("connect");
    let offered: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(store.pool())
        .await
        .expect("SHOW ssl");
    if offered != "on" {
        eprintln!("skipped: the PostgreSQL server does not offer TLS");
        store.close().await;
        return;
    }
    let ssl_of_this_connection =
        "SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    let plain: i32 = sqlx::query_scalar(ssl_of_this_connection)
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_ssl");
    assert_eq!(
        plain, 0,
        "a loopback URL without sslmode connects in plain text"
    );
    store.close().await;

    let sep = if db.url().contains('?') { '&' } else { '?' };
    let store = Store::connect(&format!("{}{sep}sslmode=require", db.url()))
        .await
        .expect("connect with sslmode=require");
    let tls: i32 = sqlx::query_scalar(ssl_of_this_connection)
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_ssl");
    assert_eq!(tls, 1, "sslmode=require is kept on loopback");
    store.close().await;
}

patchbay_store::backend_tests!(start_up_opens_one_connection);
