//! Per-test databases, for this crate's conformance suite and for other crates' tests
//! (enable the `testing` feature in `[dev-dependencies]`).
//!
//! - [`TestDatabase::sqlite`]: a fresh file in a temporary directory, removed on drop.
//! - [`TestDatabase::postgres`]: a fresh database `pb_test_<random>` on the server named by
//!   `PATCHBAY_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`),
//!   dropped on drop. If the server is unreachable the test is skipped with a message, unless
//!   `CI=true`, where it fails: CI must not pass by silently skipping PostgreSQL.
//!
//! [`backend_tests!`](crate::backend_tests) turns one `async fn(TestDatabase)` into a test per
//! backend.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;

use crate::{Backend, Store, StoreOptions};

pub const POSTGRES_URL_ENV: &str = "PATCHBAY_TEST_POSTGRES_URL";
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// An isolated database that lives as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    backend: Backend,
    url: String,
    sqlite_file: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<PostgresCleanup>,
}

#[derive(Debug)]
struct PostgresCleanup {
    admin_url: String,
    name: String,
}

impl TestDatabase {
    /// A new SQLite database file in its own temporary directory.
    pub fn sqlite() -> TestDatabase {
        #[allow(clippy::expect_used, reason = "test helper: no temp dir means no test")]
        let dir = tempfile::tempdir().expect("create temp dir");
        let file = dir.path().join("patchbay.db");
        TestDatabase {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", file.display()),
            sqlite_file: Some(file),
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A new PostgreSQL database, or `None` (after printing why) when the server is
    /// unreachable and `CI` is not `true`.
    pub async fn postgres() -> Option<TestDatabase> {
        Self::postgres_with(true).await
    }

    /// Like [`TestDatabase::postgres`], but the database is only named, not created: for
    /// tests of a first start against an empty server. It is dropped afterwards if created.
    pub async fn postgres_not_created() -> Option<TestDatabase> {
        Self::postgres_with(false).await
    }

    /// A new PostgreSQL database on the server `admin_url` names, or `None` as for
    /// [`TestDatabase::postgres`]. For tools (the bench) that are told which server to use.
    pub async fn postgres_on(admin_url: &str) -> Option<TestDatabase> {
        Self::postgres_at(admin_url.to_owned(), true).await
    }

    async fn postgres_with(create: bool) -> Option<TestDatabase> {
        let admin_url =
            std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        Self::postgres_at(admin_url, create).await
    }

    async fn postgres_at(admin_url: String, create: bool) -> Option<TestDatabase> {
        let name = format!("pb_test_{}", uuid::Uuid::new_v4().simple());
        let created = tokio::time::timeout(Duration::from_secs(10), async {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
            if create {
                let sql = format!("CREATE DATABASE \"{name}\"");
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await?;
            }
            conn.close().await
        })
        .await;
        let failure = match created {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("timed out".to_owned()),
        };
        if let Some(why) = failure {
            let shown = redact_password(&admin_url);
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required when CI=true, but {shown} failed: {why}");
            }
            // Straight to the process's stderr: libtest captures eprintln! of passing tests,
            // and a skip must be visible.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL test database unavailable at {shown}: {why}"
            );
            return None;
        }
        Some(TestDatabase {
            backend: Backend::Postgres,
            url: with_database(&admin_url, &name),
            sqlite_file: None,
            _dir: None,
            postgres: Some(PostgresCleanup { admin_url, name }),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite file, for tests that inspect what is written to disk.
    pub fn sqlite_file(&self) -> Option<&Path> {
        self.sqlite_file.as_deref()
    }

    /// Connects (running migrations) with a small pool, so parallel tests do not exhaust
    /// PostgreSQL's connection limit.
    pub async fn store(&self) -> Store {
        let options = StoreOptions {
            max_connections: 5,
            ..StoreOptions::default()
        };
        #[allow(clippy::expect_used, reason = "test helper")]
        Store::connect_with(&self.url, options)
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(pg) = self.postgres.take() else {
            return;
        };
        // Drop cannot await, and may run inside a runtime: do the cleanup on a thread with its
        // own small runtime. FORCE ends connections the test's pool still holds.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg.admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", pg.name);
                    if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await
                    {
                        eprintln!("could not drop test database {}: {e}", pg.name);
                    }
                    let _ = conn.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Hides the user info (which may hold a password) of a URL shown in messages.
fn redact_password(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Generates, for each `async fn NAME(db: TestDatabase)`, a module `NAME` with two tests,
/// `sqlite` and `postgres`, each running the function on a fresh database of that backend.
/// Needs `tokio` (with `macros` and `rt-multi-thread`) in the calling crate's dev-dependencies.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::testing::TestDatabase::sqlite()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(db) = $crate::testing::TestDatabase::postgres().await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::{redact_password, with_database};

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_password("postgres://u:secret@h:5432/db"),
            "postgres://***@h:5432/db"
        );
        assert_eq!(redact_password("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/test?sslmode=require", "x"),
            "postgres://u:p@h/x?sslmode=require"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
