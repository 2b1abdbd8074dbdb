//! Patchbay persistence: one [`Store`] over a sqlx `AnyPool`, on SQLite or PostgreSQL.
//!
//! Owns the schema (`migrations/sqlite`, `migrations/postgres`, versioned per backend and run on
//! connect), every SQL statement, and the compare-and-set primitives the refresh coordinator
//! builds on (leases, versioned token writes, single-use OAuth state).
//!
//! Invariants:
//! - The store only ever sees sealed bytes ([`Sealed`]) for secrets. It does not depend on the
//!   crypto crate and cannot open what it stores.
//! - SQL is portable (`$N` placeholders, integers for time and booleans, TEXT for JSON), so
//!   there is no per-query backend branch; only DDL differs, in the two migration folders.
//! - No statement holds a lock across calls: concurrency is decided by single-statement
//!   compare-and-set updates.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod admin_users;
mod api_keys;
mod applications;
mod audit;
mod connections;
mod console;
mod consumers;
mod custom_mappings;
mod error;
mod gauges;
mod integrations;
mod logs;
mod meta;
mod oauth;
mod outbox;
mod refresh;
mod row;
mod sealed;
#[cfg(feature = "testing")]
pub mod testing;
mod webhooks;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use admin_users::AdminUserRow;
pub use api_keys::{ApiKeyRow, NewApiKey, TOUCH_GRANULARITY_MS};
pub use applications::{ApplicationRow, NewApplication};
pub use audit::{AuditEntry, AuditScope, NewAuditEntry};
pub use connections::{ConnectionPatch, ConnectionRow, NewConnection, TokenWrite};
pub use console::{AdminSessionRow, ThrottleRow};
pub use consumers::{ConsumerFilter, ConsumerRow};
pub use custom_mappings::{CustomMappingRow, MappingKey};
pub use error::StoreError;
pub use gauges::OperationalCounts;
pub use integrations::{IntegrationRow, IntegrationWrite};
pub use logs::{
    LOG_CONNECTIONS_POSTGRES, LOG_GAP_OPERATION, LOG_ROWS_PER_STATEMENT, LogFilter, LogText,
    PathMatchMode, RequestCounts, RequestLog,
};
pub use oauth::{NewOAuthTransaction, OAuthTransactionRow};
pub use outbox::OutboxMessage;
pub use refresh::{RefreshFailure, RefreshedTokens};
pub use sealed::{Sealed, SealedColumn, SealedRef, SealedRow, SealedValue};
pub use webhooks::{
    ClaimedDelivery, ConnectionEventHook, DeliveryOutcome, NewEvent, NewWebhook, PollClaim,
    WebhookAttempt, WebhookLogFilter, WebhookLogRow, WebhookPatch, WebhookRow,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One page of a keyset-paged list. `next_cursor` is an opaque store key; the HTTP edge wraps
/// it in its own encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Connection options beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The persistence handle. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Decides the webhook events of connection writes (see `webhooks::emit`); `None` in tools
    /// that only read or administer, where writes then fire nothing.
    hook: Option<std::sync::Arc<dyn ConnectionEventHook>>,
    /// The request-log writer's own native-driver connections (see `logs::LogPool`).
    logs: logs::LogPool,
}

impl std::fmt::Debug for Store {
    // Only the backend: pool internals are noise, and a URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Per-connection SQLite settings. busy_timeout (5 s) makes writers wait for each other
/// (WAL allows one writer at a time) instead of failing with SQLITE_BUSY.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
    PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

impl Store {
    /// Connects to `sqlite://PATH` (the file is created if missing), `sqlite::memory:`, or
    /// `postgres://…`, then runs the backend's migrations.
    pub async fn connect(database_url: &str) -> Result<Store> {
        Self::connect_with(database_url, StoreOptions::default()).await
    }

    pub async fn connect_with(database_url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalise_url(database_url)?;
        if let Some(dir) = sqlite_parent_dir(&url) {
            // First run of the embedded default: create the data directory too.
            std::fs::create_dir_all(dir).map_err(StoreError::CreateDir)?;
        }
        if let Some(file) = sqlite_file(&url) {
            create_private_db_file(file)?;
        }
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout);
        if backend == Backend::Sqlite {
            if url.contains(":memory:") || url.contains("mode=memory") {
                // Every connection to an in-memory database gets its own empty database.
                pool_options = pool_options.max_connections(1);
            }
            // A local file's connection does not go stale; the default ping before every
            // acquire was a round trip to SQLite's worker thread on each query.
            pool_options = pool_options.test_before_acquire(false);
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers proceed during a write; foreign keys make
                    // "delete consumer" cascade to its connections.
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            });
        }
        // On loopback, a plain connection first (see `plain_on_loopback`); the URL that
        // connects is the one every later connection uses, the request log's included.
        let given = url;
        let mut url = match backend {
            Backend::Postgres => plain_on_loopback(&given).unwrap_or_else(|| given.clone()),
            Backend::Sqlite => given.clone(),
        };
        let mut opened = open_pool(&pool_options, &url).await;
        if url != given
            && let Err(e) = &opened
            && refused_without_tls(e)
        {
            // A `hostssl`-only pg_hba.conf: connect as configured (sqlx's `prefer`).
            tracing::info!(
                "the database refused a plain connection on loopback; connecting with TLS as configured"
            );
            url = given;
            opened = open_pool(&pool_options, &url).await;
        }
        if let Err(StoreError::Database(e)) = &opened
            && backend == Backend::Postgres
            && is_missing_database(e)
        {
            create_postgres_database(&url).await?;
            opened = open_pool(&pool_options, &url).await;
        }
        let pool = opened?;
        let logs = logs::LogPool::lazy(backend, &url, options.acquire_timeout)?;
        let store = Store {
            pool,
            backend,
            hook: None,
            logs,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Runs the backend's migrations (on an up-to-date database: a check, several round
    /// trips) on one pooled connection, and hands it back before returning. Through `&pool`,
    /// sqlx returned the connection in a spawned task that pings it first, so the caller's
    /// next query (the key canary's read, on `serve`'s path to its first answer) found no idle
    /// connection and opened a second one: on PostgreSQL a backend fork, 25–40 ms here.
    async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        let mut conn = self.pool.acquire().await?;
        // `run_direct` takes the connection itself: `run(&mut *conn)` goes through `Acquire`,
        // whose higher-ranked bound made callers' futures fail rustc's `Send` check.
        migrator.run_direct(None, &mut *conn, false).await?;
        conn.return_to_pool().await;
        tracing::debug!(backend = ?self.backend, "database migrations applied");
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for health checks. Repository code stays inside this crate.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// How many of this binary's migrations the database has not applied (readiness: a node
    /// must not serve a schema it does not expect). Migrations applied by a newer binary on
    /// another node do not count.
    pub async fn pending_migrations(&self) -> Result<usize> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(&self.pool)
            .await?;
        let applied: std::collections::HashSet<i64> = rows
            .iter()
            .map(|r| sqlx::Row::try_get::<i64, _>(r, "version"))
            .collect::<std::result::Result<_, _>>()?;
        Ok(migrator
            .iter()
            .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
            .count())
    }

    /// A cheap round trip, for readiness probes.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The database server's clock in unix ms. Nodes sharing PostgreSQL can take lease and
    /// expiry times from here instead of their own clocks (docs/security.md §3.1 F2, F9).
    pub async fn db_now_ms(&self) -> Result<i64> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now_ms"
            }
            Backend::Postgres => {
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now_ms"
            }
        };
        Ok(sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn close(&self) {
        self.logs.close().await;
        self.pool.close().await;
    }
}

/// Picks the backend from the scheme and makes SQLite create its file on first use.
fn normalise_url(url: &str) -> Result<(Backend, String)> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    if url.starts_with("sqlite:") {
        if url.contains(":memory:") || url.contains("mode=") {
            return Ok((Backend::Sqlite, url.to_owned()));
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        return Ok((Backend::Sqlite, format!("{url}{sep}mode=rwc")));
    }
    Err(StoreError::InvalidUrl)
}

/// The directory of a `sqlite://PATH` file, if it has one that does not exist yet.
fn sqlite_parent_dir(url: &str) -> Option<&std::path::Path> {
    let parent = sqlite_file(url)?.parent()?;
    (!parent.as_os_str().is_empty() && !parent.exists()).then_some(parent)
}

/// The file of a `sqlite://PATH` URL; `None` for in-memory databases.
fn sqlite_file(url: &str) -> Option<&std::path::Path> {
    let path = url.strip_prefix("sqlite://")?;
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    (!path.is_empty() && !path.starts_with(':') && !url.contains("mode=memory"))
        .then(|| std::path::Path::new(path))
}

/// Creates the database file, owner-only (0600), before SQLite opens it: it holds sealed
/// tokens, API-key hashes and the audit log, and SQLite would otherwise create it with the
/// process umask (often world-readable). SQLite gives its `-wal` and `-shm` files the
/// database file's mode, so they are owner-only too. An existing file is left as it is (an
/// operator may share it on purpose) but a readable-by-others one is worth a warning.
fn create_private_db_file(path: &std::path::Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(path) {
                use std::os::unix::fs::PermissionsExt as _;
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        "the database file is readable by other users; `chmod 600` it (and its -wal and -shm files)"
                    );
                }
            }
            Ok(())
        }
        Err(e) => Err(StoreError::CreateFile(e)),
    }
}

/// Opens the shared pool, which connects once to check the URL.
async fn open_pool(options: &AnyPoolOptions, url: &str) -> Result<AnyPool> {
    // Not sqlx's parse error: it may quote the URL, password and all.
    let connect_options: AnyConnectOptions = url.parse().map_err(|_| StoreError::InvalidUrl)?;
    Ok(options.clone().connect_with(connect_options).await?)
}

/// The URL with `sslmode=disable` added, when a PostgreSQL URL leaves TLS to the default and
/// names a loopback host; `None` otherwise (the URL is used as given).
///
/// sqlx's default, `prefer`, negotiates TLS whenever the server offers it, also on loopback,
/// where it protects nothing (no certificate is checked under `prefer`, and traffic on `lo`
/// is readable only by root, who can read the process anyway) and costs each new connection
/// 60–120 ms here: the handshake, and on the first one aws-lc's entropy set-up. An operator's
/// own choice always wins: any `ssl…` URL parameter (`sslmode`, `sslrootcert`, `sslcert`,
/// …) or `PGSSLMODE` leaves the URL alone, and so does any host that is not `localhost` or a
/// loopback IP. A server that accepts only TLS (`hostssl` in pg_hba.conf) refuses the plain
/// connection with 28000, and `connect_with` then connects with the URL as given.
fn plain_on_loopback(url: &str) -> Option<String> {
    if std::env::var_os("PGSSLMODE").is_some() {
        return None;
    }
    let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
    let query = without_fragment.split_once('?').map_or("", |(_, q)| q);
    let sets_tls = query
        .split('&')
        .any(|pair| pair.trim_start().to_ascii_lowercase().starts_with("ssl"));
    if sets_tls {
        return None;
    }
    let options: sqlx::postgres::PgConnectOptions = url.parse().ok()?;
    if !is_loopback_host(options.get_host()) {
        return None;
    }
    let sep = if without_fragment.contains('?') {
        '&'
    } else {
        '?'
    };
    Some(format!("{without_fragment}{sep}sslmode=disable"))
}

/// `localhost` or a loopback IP (`127.0.0.0/8`, `::1`, with or without brackets).
fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// SQLSTATE 28000, `invalid_authorization_specification`: pg_hba.conf has no entry for this
/// connection, which is what a `hostssl`-only server answers a plain one.
fn refused_without_tls(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(db)) if db.code().as_deref() == Some("28000"))
}

/// SQLSTATE 3D000, `invalid_catalog_name`: the database in the URL does not exist.
fn is_missing_database(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000"))
}

/// Creates the database a `postgres://` URL names, through the server's `postgres`
/// maintenance database, so that a first start needs no manual `createdb`. A concurrent start
/// of another node may create it first; that is success too.
async fn create_postgres_database(url: &str) -> Result<()> {
    use sqlx::ConnectOptions as _;
    let options: sqlx::postgres::PgConnectOptions =
        url.parse().map_err(|_| StoreError::InvalidUrl)?;
    let name = options
        .get_database()
        .filter(|n| !n.is_empty())
        .ok_or(StoreError::InvalidUrl)?
        .to_owned();
    let fail = |source| StoreError::CreateDatabase {
        name: name.clone(),
        source,
    };
    let mut conn = options.database("postgres").connect().await.map_err(fail)?;
    let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    match sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut conn)
        .await
    {
        Ok(_) => tracing::warn!(database = %name, "created the PostgreSQL database"),
        // 42P04 duplicate_database: another node won the race.
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => {}
        Err(e) => return Err(fail(e)),
    }
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

/// The file a `sqlite://PATH[?…]` URL names; `None` for in-memory databases and other
/// backends. The CLI uses it to tell "no database here yet" from a database to open.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://")?;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_path_names_the_file_of_file_urls_only() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/x/patchbay.db"),
            Some(std::path::PathBuf::from("/tmp/x/patchbay.db"))
        );
        assert_eq!(
            sqlite_path("sqlite://rel/a.db?mode=rwc"),
            Some(std::path::PathBuf::from("rel/a.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://:memory:"), None);
        assert_eq!(sqlite_path("sqlite://a.db?mode=memory"), None);
        assert_eq!(sqlite_path("postgres://u@h/db"), None);
    }

    #[tokio::test]
    async fn missing_data_directory_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/data/patchbay.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        store.ping().await.unwrap();
        assert!(file.exists());
        assert_eq!(sqlite_parent_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_parent_dir("sqlite://patchbay.db?mode=rwc"), None);
    }

    /// The database and the WAL files SQLite creates next to it are owner-only, like
    /// `master.key`, whatever the umask.
    #[cfg(unix)]
    #[tokio::test]
    async fn database_and_wal_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("patchbay.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        // A write, so the WAL and its index exist and hold data.
        store.set_meta("k", "v").await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let path = dir.path().join(format!("patchbay.db{suffix}"));
            let mode = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{} is {mode:o}", path.display());
        }
        store.close().await;
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://:memory:"), None);
        assert_eq!(sqlite_file("sqlite://a.db?mode=memory"), None);
        assert_eq!(
            sqlite_file("sqlite:///data/a.db?mode=rwc"),
            Some(std::path::Path::new("/data/a.db"))
        );
    }

    #[test]
    fn url_normalisation() {
        assert_eq!(
            normalise_url("sqlite:///tmp/a.db").unwrap(),
            (Backend::Sqlite, "sqlite:///tmp/a.db?mode=rwc".to_owned())
        );
        assert_eq!(
            normalise_url("sqlite://a.db?cache=shared").unwrap().1,
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            normalise_url("sqlite::memory:").unwrap().1,
            "sqlite::memory:"
        );
        assert_eq!(
            normalise_url("sqlite://a.db?mode=ro").unwrap().1,
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(
            normalise_url("postgres://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert_eq!(
            normalise_url("postgresql://u@h/db").unwrap().0,
            Backend::Postgres
        );
        assert!(matches!(
            normalise_url("mysql://x"),
            Err(StoreError::InvalidUrl)
        ));
        assert!(matches!(
            normalise_url("/tmp/a.db"),
            Err(StoreError::InvalidUrl)
        ));
    }

    #[test]
    fn loopback_postgres_urls_default_to_plain_and_others_are_left_alone() {
        // PGSSLMODE would count as the operator's choice; nothing here sets it.
        assert!(std::env::var_os("PGSSLMODE").is_none());
        for (given, plain) in [
            (
                "postgres://u@127.0.0.1:5432/db",
                "postgres://u@127.0.0.1:5432/db?sslmode=disable",
            ),
            (
                "postgres://u:p@localhost/db?application_name=pb",
                "postgres://u:p@localhost/db?application_name=pb&sslmode=disable",
            ),
            (
                "postgresql://u@[::1]:5432/db",
                "postgresql://u@[::1]:5432/db?sslmode=disable",
            ),
            (
                "postgres://u@127.0.0.2/db",
                "postgres://u@127.0.0.2/db?sslmode=disable",
            ),
        ] {
            assert_eq!(plain_on_loopback(given).as_deref(), Some(plain), "{given}");
        }
        for kept in [
            // The operator chose: any ssl parameter, including `prefer` itself.
            "postgres://u@127.0.0.1/db?sslmode=prefer",
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@localhost/db?ssl-mode=verify-full",
            "postgres://u@127.0.0.1/db?sslrootcert=/etc/ca.pem",
            "postgres://u@127.0.0.1/db?application_name=x&sslcert=/c.pem",
            // Not loopback: TLS as configured.
            "postgres://u@db.internal:5432/db",
            "postgres://u@10.0.0.5/db",
            "postgres://u@[2001:db8::1]/db",
            "postgres://u@localhost.example.com/db",
        ] {
            assert_eq!(plain_on_loopback(kept), None, "{kept}");
        }
    }

    #[tokio::test]
    async fn in_memory_sqlite_works_with_one_connection() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        store.set_meta("k", "v").await.unwrap();
        // A second pooled connection would see a different, empty database.
        assert_eq!(store.get_meta("k").await.unwrap().as_deref(), Some("v"));
    }

    #[tokio::test]
    async fn bad_urls_are_refused_without_echoing_them() {
        let err = Store::connect("mysql://user:secret@h/db")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl));
        assert!(!err.to_string().contains("secret"));
    }
}
