//! `/ready`: 503 while the database is unreachable (a TCP proxy in front of PostgreSQL is cut)
//! or migrations are pending, and back to 200 by itself afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use patchbay_crypto::Keyring;
use patchbay_server::{Application, ServerConfig};
use patchbay_store::testing::TestDatabase;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

/// A TCP forwarder that can be cut: when down, live connections are dropped and new ones
/// closed at once.
struct Cut {
    port: u16,
    down: Arc<AtomicBool>,
    generation: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Cut {
    async fn start(target: String) -> Cut {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let down = Arc::new(AtomicBool::new(false));
        let (tx, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(tx);
        let (d, g) = (Arc::clone(&down), Arc::clone(&generation));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                let mut cut = g.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Cut {
            port,
            down,
            generation,
        }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            self.generation.send_modify(|g| *g += 1);
        }
    }
}

async fn ready(client: &reqwest::Client, base: &str) -> (u16, Value) {
    match client.get(format!("{base}/ready")).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Polls `/ready` (bounded) until it answers `want`.
async fn wait_for(client: &reqwest::Client, base: &str, want: u16, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = ready(client, base).await;
        if status == want {
            return body;
        }
        assert!(
            started.elapsed() < limit,
            "/ready stayed {status} {body}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn serve(database_url: String) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(Keyring::generate().expect("keyring").to_json().to_string());
    config.database_url = Some(database_url);
    config.refresh_interval = None;
    let app = Application::build(config).await.expect("build");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    (base, dir)
}

#[tokio::test]
async fn ready_reports_an_unreachable_database_and_recovers() {
    let Some(db) = TestDatabase::postgres().await else {
        eprintln!("skipped: PostgreSQL is not reachable");
        return;
    };
    let url = url::Url::parse(db.url()).expect("url");
    let target = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    );
    let cut = Cut::start(target).await;
    let mut through = url.clone();
    through.set_host(Some("127.0.0.1")).expect("host");
    through.set_port(Some(cut.port)).expect("port");
    let (base, _dir) = serve(through.to_string()).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let body = wait_for(&client, &base, 200, Duration::from_secs(10)).await;
    assert_eq!(body["status"], "ready");

    cut.set_down(true);
    let body = wait_for(&client, &base, 503, Duration::from_secs(20)).await;
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("database")),
        "{body}"
    );
    // Liveness of the process is separate: the node still answers.
    assert_eq!(ready(&client, &base).await.0, 503);

    cut.set_down(false);
    let body = wait_for(&client, &base, 200, Duration::from_secs(30)).await;
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn ready_reports_pending_migrations_and_recovers() {
    let db = TestDatabase::sqlite();
    let (base, _dir) = serve(db.url().to_owned()).await;
    let client = reqwest::Client::new();
    wait_for(&client, &base, 200, Duration::from_secs(10)).await;
    let store = db.store().await;
    // Pretend the newest migration has not run (as on a node started before the upgrade's
    // migration finished).
    let row: (i64, String, Vec<u8>, i64) = sqlx_row(&store).await;
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(row.0)
        .execute(store.pool())
        .await
        .expect("delete");
    let body = wait_for(&client, &base, 503, Duration::from_secs(5)).await;
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("1 database migration")),
        "{body}"
    );
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES ($1, $2, CURRENT_TIMESTAMP, TRUE, $3, $4)",
    )
    .bind(row.0)
    .bind(row.1)
    .bind(row.2)
    .bind(row.3)
    .execute(store.pool())
    .await
    .expect("restore");
    wait_for(&client, &base, 200, Duration::from_secs(5)).await;
}

/// The newest applied migration: (version, description, checksum, execution_time).
async fn sqlx_row(store: &patchbay_store::Store) -> (i64, String, Vec<u8>, i64) {
    use sqlx::Row as _;
    let r = sqlx::query(
        "SELECT version, description, checksum, execution_time FROM _sqlx_migrations \
         ORDER BY version DESC LIMIT 1",
    )
    .fetch_one(store.pool())
    .await
    .expect("newest migration");
    (
        r.try_get("version").expect("version"),
        r.try_get("description").expect("description"),
        r.try_get("checksum").expect("checksum"),
        r.try_get("execution_time").expect("execution_time"),
    )
}
