//! Request logs behind `GET /vault/logs` (spec schema `Log`, filter `LogsFilter`).

use patchbay_core::{ApplicationId, ConsumerId};
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::row::{Placeholders, RowExt, flag, like_escape, page_limit};
use crate::{Backend, Page, Result, Store};

/// A request-log text that is usually one of a few constants (`REST`, `GET`, `proxy`, an
/// operation or service name): borrowed then, so a call's entry allocates only what is its
/// own (id, path, host, request id).
pub type LogText = std::borrow::Cow<'static, str>;

/// One logged request. Field names follow the spec's `Log`; times are unix ms.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLog {
    pub id: String,
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub parent_id: Option<String>,
    pub child_request: bool,
    pub has_children: bool,
    /// `REST` or `GraphQL`.
    pub api_style: LogText,
    pub base_url: String,
    pub http_method: LogText,
    pub path: String,
    pub operation_id: LogText,
    pub operation_name: LogText,
    pub service_id: LogText,
    pub service_name: LogText,
    pub unified_api: LogText,
    pub status_code: i64,
    pub success: bool,
    pub error_message: Option<String>,
    /// Time spent at the provider, ms.
    pub duration_ms: f64,
    /// Total time, ms.
    pub execution_ms: i64,
    /// Overhead added by Patchbay, ms.
    pub latency_ms: f64,
    pub sandbox: bool,
    pub source_ip: Option<String>,
    pub timestamp: i64,
    /// The HTTP request's id (`x-request-id`); the spec's `id` ("UUID acting as Request
    /// Identifier") shows it. Not the primary key: a client may send the same id twice.
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PathMatchMode {
    #[default]
    Contains,
    StartsWith,
    EndsWith,
    Exact,
}

/// The spec's `LogsFilter`. Empty lists mean "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Service id, e.g. `acme` (the spec's `connector_id` `crm+acme` maps to
    /// `unified_api` + `service_id` at the edge).
    pub service_id: Option<String>,
    pub path: Option<String>,
    pub path_match_mode: PathMatchMode,
    /// Matched case-insensitively; `http_method` and `http_methods` are merged by the caller.
    pub http_methods: Vec<String>,
    /// Inclusive bounds, unix ms.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub status_codes: Vec<i64>,
    pub exclude_unified_apis: Vec<String>,
}

/// Request counts per API family, for `GET /vault/consumers/{id}/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub unify: i64,
    pub proxy: i64,
    pub vault: i64,
}

impl RequestCounts {
    pub fn total(&self) -> i64 {
        self.unify + self.proxy + self.vault
    }
}

impl RequestLog {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.text("id")?,
            application_id: row.id("application_id")?,
            consumer_id: row.id("consumer_id")?,
            parent_id: row.opt_text("parent_id")?,
            child_request: row.flag("child_request")?,
            has_children: row.flag("has_children")?,
            api_style: row.text("api_style")?.into(),
            base_url: row.text("base_url")?,
            http_method: row.text("http_method")?.into(),
            path: row.text("path")?,
            operation_id: row.text("operation_id")?.into(),
            operation_name: row.text("operation_name")?.into(),
            service_id: row.text("service_id")?.into(),
            service_name: row.text("service_name")?.into(),
            unified_api: row.text("unified_api")?.into(),
            status_code: row.int("status_code")?,
            success: row.flag("success")?,
            error_message: row.opt_text("error_message")?,
            duration_ms: row.float("duration_ms")?,
            execution_ms: row.int("execution_ms")?,
            latency_ms: row.float("latency_ms")?,
            sandbox: row.flag("sandbox")?,
            source_ip: row.opt_text("source_ip")?,
            timestamp: row.int("timestamp")?,
            request_id: row.opt_text("request_id")?,
        })
    }
}

const COLUMNS: &str = "id, application_id, consumer_id, parent_id, child_request, has_children, \
    api_style, base_url, http_method, path, operation_id, operation_name, service_id, \
    service_name, unified_api, status_code, success, error_message, duration_ms, execution_ms, \
    latency_ms, sandbox, source_ip, timestamp, request_id";

/// `operation_id` of a gap marker: an entry that stands for calls whose own entries the
/// request-log writer had to shed. Request counts leave markers out.
pub const LOG_GAP_OPERATION: &str = "requestLogGap";

/// Rows per multi-row `INSERT` of request logs (25 values each: 1,600 values, well under
/// SQLite's 32,766 and PostgreSQL's 65,535 limits).
pub const LOG_ROWS_PER_STATEMENT: usize = 64;
const LOG_FIELDS: usize = 25;

/// `INSERT INTO request_logs … VALUES (…), (…)` for `rows` rows in the backend's placeholder
/// style. The full-size statement is built once per backend and reused.
fn insert_logs_sql(backend: Backend, rows: usize) -> std::borrow::Cow<'static, str> {
    static FULL: [std::sync::OnceLock<String>; 2] =
        [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
    let build = |rows: usize| {
        let mut sql = format!("INSERT INTO request_logs ({COLUMNS}) VALUES ");
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for f in 0..LOG_FIELDS {
                if f > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => {
                        sql.push('$');
                        sql.push_str(&(r * LOG_FIELDS + f + 1).to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql
    };
    if rows == LOG_ROWS_PER_STATEMENT {
        let slot = match backend {
            Backend::Sqlite => &FULL[0],
            Backend::Postgres => &FULL[1],
        };
        std::borrow::Cow::Borrowed(slot.get_or_init(|| build(rows)).as_str())
    } else {
        std::borrow::Cow::Owned(build(rows))
    }
}

/// A bind value for dynamically built queries.
enum Arg {
    Text(String),
    Int(i64),
}

fn parse_cursor(cursor: &str) -> Result<(i64, String)> {
    let (ts, id) = cursor.split_once(':').ok_or(StoreError::InvalidCursor)?;
    let ts = ts.parse().map_err(|_| StoreError::InvalidCursor)?;
    Ok((ts, id.to_owned()))
}

/// The request-log writer's own connections, on the backend's native sqlx driver.
///
/// The writer is the one hot writer of the system (a row per proxied call), and the `Any`
/// driver converted every bound value into its own enum and back into the backend's
/// arguments: a measurable share of each call's CPU (bench/results.md). Its connections are
/// opened lazily, on the first batch, so start-up opens none; SQLite gets one (it serialises
/// writers anyway), PostgreSQL [`LOG_CONNECTIONS_POSTGRES`].
#[derive(Clone)]
pub(crate) enum LogPool {
    /// The store's shared pool: an in-memory SQLite database, which a second connection
    /// would not see.
    Shared,
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Concurrent log transactions on PostgreSQL (SQLite takes one writer at a time).
pub const LOG_CONNECTIONS_POSTGRES: usize = 4;

impl LogPool {
    /// Built from the store's normalised URL; connects nothing yet.
    pub(crate) fn lazy(
        backend: Backend,
        url: &str,
        acquire_timeout: std::time::Duration,
    ) -> Result<Self> {
        match backend {
            Backend::Sqlite if url.contains(":memory:") || url.contains("mode=memory") => {
                Ok(Self::Shared)
            }
            Backend::Sqlite => {
                let options: sqlx::sqlite::SqliteConnectOptions =
                    url.parse().map_err(|_| StoreError::InvalidUrl)?;
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .acquire_timeout(acquire_timeout)
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // The same settings as the shared pool's connections.
                            sqlx::Executor::execute(conn, crate::SQLITE_PRAGMAS).await?;
                            Ok(())
                        })
                    })
                    .connect_lazy_with(options);
                Ok(Self::Sqlite(pool))
            }
            Backend::Postgres => {
                let options: sqlx::postgres::PgConnectOptions =
                    url.parse().map_err(|_| StoreError::InvalidUrl)?;
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(LOG_CONNECTIONS_POSTGRES as u32)
                    .min_connections(0)
                    .acquire_timeout(acquire_timeout)
                    .connect_lazy_with(options);
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Shared => {}
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// `INSERT … SELECT * FROM UNNEST(…)`: a whole batch in one statement with one array per
/// column, so the statement text and its plan are the same for every batch size and the
/// server parses 25 arrays instead of 25 placeholders per row.
const INSERT_LOGS_UNNEST: &str = "INSERT INTO request_logs (id, application_id, consumer_id, \
    parent_id, child_request, has_children, api_style, base_url, http_method, path, \
    operation_id, operation_name, service_id, service_name, unified_api, status_code, success, \
    error_message, duration_ms, execution_ms, latency_ms, sandbox, source_ip, timestamp, \
    request_id) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
    $5::integer[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
    $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::integer[], \
    $18::text[], $19::float8[], $20::bigint[], $21::float8[], $22::integer[], $23::text[], \
    $24::bigint[], $25::text[])";

fn int_flag(b: bool) -> i32 {
    i32::from(b)
}

/// A batch as one array per column, for [`INSERT_LOGS_UNNEST`]. Built by a plain function so
/// that no higher-ranked closure lives across the insert's `.await` (it made callers' futures
/// fail `Send` checks).
struct LogColumns<'a> {
    id: Vec<&'a str>,
    application_id: Vec<&'a str>,
    consumer_id: Vec<&'a str>,
    parent_id: Vec<Option<&'a str>>,
    child_request: Vec<i32>,
    has_children: Vec<i32>,
    api_style: Vec<&'a str>,
    base_url: Vec<&'a str>,
    http_method: Vec<&'a str>,
    path: Vec<&'a str>,
    operation_id: Vec<&'a str>,
    operation_name: Vec<&'a str>,
    service_id: Vec<&'a str>,
    service_name: Vec<&'a str>,
    unified_api: Vec<&'a str>,
    status_code: Vec<i64>,
    success: Vec<i32>,
    error_message: Vec<Option<&'a str>>,
    duration_ms: Vec<f64>,
    execution_ms: Vec<i64>,
    latency_ms: Vec<f64>,
    sandbox: Vec<i32>,
    source_ip: Vec<Option<&'a str>>,
    timestamp: Vec<i64>,
    request_id: Vec<Option<&'a str>>,
}

impl<'a> LogColumns<'a> {
    fn of(logs: &'a [RequestLog]) -> Self {
        let text = |f: fn(&RequestLog) -> &str| logs.iter().map(f).collect();
        let opt = |f: fn(&RequestLog) -> Option<&str>| logs.iter().map(f).collect();
        let flags = |f: fn(&RequestLog) -> bool| logs.iter().map(|l| int_flag(f(l))).collect();
        Self {
            id: text(|l| &l.id),
            application_id: text(|l| l.application_id.as_str()),
            consumer_id: text(|l| l.consumer_id.as_str()),
            parent_id: opt(|l| l.parent_id.as_deref()),
            child_request: flags(|l| l.child_request),
            has_children: flags(|l| l.has_children),
            api_style: text(|l| &*l.api_style),
            base_url: text(|l| &l.base_url),
            http_method: text(|l| &*l.http_method),
            path: text(|l| &l.path),
            operation_id: text(|l| &*l.operation_id),
            operation_name: text(|l| &*l.operation_name),
            service_id: text(|l| &*l.service_id),
            service_name: text(|l| &*l.service_name),
            unified_api: text(|l| &*l.unified_api),
            status_code: logs.iter().map(|l| l.status_code).collect(),
            success: flags(|l| l.success),
            error_message: opt(|l| l.error_message.as_deref()),
            duration_ms: logs.iter().map(|l| l.duration_ms).collect(),
            execution_ms: logs.iter().map(|l| l.execution_ms).collect(),
            latency_ms: logs.iter().map(|l| l.latency_ms).collect(),
            sandbox: flags(|l| l.sandbox),
            source_ip: opt(|l| l.source_ip.as_deref()),
            timestamp: logs.iter().map(|l| l.timestamp).collect(),
            request_id: opt(|l| l.request_id.as_deref()),
        }
    }
}

/// Binds one entry's 25 values, in [`COLUMNS`] order, to a query of either driver.
macro_rules! bind_log_row {
    ($q:expr, $l:expr) => {{
        let l: &RequestLog = $l;
        $q.bind(l.id.as_str())
            .bind(l.application_id.as_str())
            .bind(l.consumer_id.as_str())
            .bind(l.parent_id.as_deref())
            .bind(flag(l.child_request))
            .bind(flag(l.has_children))
            .bind(&*l.api_style)
            .bind(l.base_url.as_str())
            .bind(&*l.http_method)
            .bind(l.path.as_str())
            .bind(&*l.operation_id)
            .bind(&*l.operation_name)
            .bind(&*l.service_id)
            .bind(&*l.service_name)
            .bind(&*l.unified_api)
            .bind(l.status_code)
            .bind(flag(l.success))
            .bind(l.error_message.as_deref())
            .bind(l.duration_ms)
            .bind(l.execution_ms)
            .bind(l.latency_ms)
            .bind(flag(l.sandbox))
            .bind(l.source_ip.as_deref())
            .bind(l.timestamp)
            .bind(l.request_id.as_deref())
    }};
}

impl Store {
    pub async fn insert_request_log(&self, l: &RequestLog) -> Result<()> {
        self.insert_request_logs(std::slice::from_ref(l)).await
    }

    /// How many log batches may be written at once: PostgreSQL takes several transactions
    /// in parallel; SQLite serialises writers, so a second one would only wait on its lock.
    pub fn log_writers(&self) -> usize {
        match self.logs {
            LogPool::Postgres(_) => LOG_CONNECTIONS_POSTGRES,
            LogPool::Sqlite(_) | LogPool::Shared => 1,
        }
    }

    /// Writes many entries in one transaction: the request-log writer drains its queue in
    /// batches, and this keeps a busy proxy's logging to a few statements per batch instead
    /// of one per call. On the native drivers (see [`LogPool`]): SQLite a multi-row `INSERT`
    /// per [`LOG_ROWS_PER_STATEMENT`] entries, PostgreSQL one `INSERT … UNNEST` per batch.
    ///
    /// SQLite gets anonymous `?` placeholders: sqlx binds a named one (`$7`) by asking SQLite
    /// for each parameter's name, a scan over all of the statement's names, so a 1,536-value
    /// statement spent most of its time there (seen with `perf`).
    pub async fn insert_request_logs(&self, logs: &[RequestLog]) -> Result<()> {
        if logs.is_empty() {
            return Ok(());
        }
        let classify = |e| crate::error::classify(e, "request log", "application");
        match &self.logs {
            LogPool::Shared => self.insert_request_logs_shared_pool(logs).await,
            LogPool::Sqlite(pool) => {
                let mut tx = pool.begin().await.map_err(classify)?;
                for chunk in logs.chunks(LOG_ROWS_PER_STATEMENT) {
                    let sql = insert_logs_sql(Backend::Sqlite, chunk.len());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_ref()));
                    for l in chunk {
                        q = bind_log_row!(q, l);
                    }
                    q.execute(&mut *tx).await.map_err(classify)?;
                }
                tx.commit().await.map_err(classify)?;
                Ok(())
            }
            LogPool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(classify)?;
                // A log batch need not wait for its WAL flush: a crash loses at most the last
                // fraction of a second of entries, as it loses those still in the writer's
                // queue, and the commit no longer waits for the disk (the writer kept up on
                // SQLite's `synchronous = NORMAL` and fell behind on PostgreSQL's full fsync
                // per commit). LOCAL: for this transaction only.
                sqlx::query("SET LOCAL synchronous_commit TO OFF")
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                let c = LogColumns::of(logs);
                sqlx::query(INSERT_LOGS_UNNEST)
                    .bind(c.id)
                    .bind(c.application_id)
                    .bind(c.consumer_id)
                    .bind(c.parent_id)
                    .bind(c.child_request)
                    .bind(c.has_children)
                    .bind(c.api_style)
                    .bind(c.base_url)
                    .bind(c.http_method)
                    .bind(c.path)
                    .bind(c.operation_id)
                    .bind(c.operation_name)
                    .bind(c.service_id)
                    .bind(c.service_name)
                    .bind(c.unified_api)
                    .bind(c.status_code)
                    .bind(c.success)
                    .bind(c.error_message)
                    .bind(c.duration_ms)
                    .bind(c.execution_ms)
                    .bind(c.latency_ms)
                    .bind(c.sandbox)
                    .bind(c.source_ip)
                    .bind(c.timestamp)
                    .bind(c.request_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(classify)?;
                tx.commit().await.map_err(classify)?;
                Ok(())
            }
        }
    }

    /// The same write through the store's shared `Any` pool: the path for in-memory SQLite,
    /// and the "before" of the `log_write_cost` example's comparison.
    #[doc(hidden)]
    pub async fn insert_request_logs_shared_pool(&self, logs: &[RequestLog]) -> Result<()> {
        let classify = |e| crate::error::classify(e, "request log", "application");
        let mut tx = self.pool.begin().await.map_err(classify)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET LOCAL synchronous_commit TO OFF")
                .execute(&mut *tx)
                .await
                .map_err(classify)?;
        }
        for chunk in logs.chunks(LOG_ROWS_PER_STATEMENT) {
            let sql = insert_logs_sql(self.backend, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_ref()));
            for l in chunk {
                q = bind_log_row!(q, l);
            }
            q.execute(&mut *tx).await.map_err(classify)?;
        }
        tx.commit().await.map_err(classify)?;
        Ok(())
    }

    /// One consumer's requests, newest first. `cursor` is the previous page's `next_cursor`; a
    /// malformed one is `StoreError::InvalidCursor`.
    pub async fn list_request_logs(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<RequestLog>> {
        self.list_application_request_logs(app, Some(consumer), filter, cursor, limit)
            .await
    }

    /// An application's requests, newest first: one consumer's, or (`consumer = None`) those of
    /// every consumer of the application, never another application's. Cursors are the same
    /// as [`Store::list_request_logs`]'s.
    pub async fn list_application_request_logs(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<RequestLog>> {
        let limit = page_limit(limit);
        let mut p = Placeholders::starting_after(1);
        let mut clauses = vec!["application_id = $1".to_owned()];
        let mut args: Vec<Arg> = Vec::new();
        if let Some(c) = consumer {
            clauses.push(format!("consumer_id = {}", p.next()));
            args.push(Arg::Text(c.as_str().to_owned()));
        }
        if let Some(s) = &filter.service_id {
            clauses.push(format!("service_id = {}", p.next()));
            args.push(Arg::Text(s.clone()));
        }
        if let Some(path) = filter.path.as_deref().filter(|s| !s.is_empty()) {
            let esc = like_escape(&path.to_lowercase());
            let pattern = match filter.path_match_mode {
                PathMatchMode::Contains => format!("%{esc}%"),
                PathMatchMode::StartsWith => format!("{esc}%"),
                PathMatchMode::EndsWith => format!("%{esc}"),
                PathMatchMode::Exact => esc,
            };
            // lower() on both sides: SQLite's LIKE ignores ASCII case and PostgreSQL's does
            // not, so this makes both ignore it.
            let ph = p.next();
            clauses.push(format!("lower(path) LIKE {ph} ESCAPE '\\'"));
            args.push(Arg::Text(pattern));
        }
        if !filter.http_methods.is_empty() {
            let phs: Vec<String> = filter
                .http_methods
                .iter()
                .map(|m| {
                    args.push(Arg::Text(m.to_uppercase()));
                    p.next()
                })
                .collect();
            clauses.push(format!("upper(http_method) IN ({})", phs.join(", ")));
        }
        if let Some(start) = filter.start_ms {
            clauses.push(format!("timestamp >= {}", p.next()));
            args.push(Arg::Int(start));
        }
        if let Some(end) = filter.end_ms {
            clauses.push(format!("timestamp <= {}", p.next()));
            args.push(Arg::Int(end));
        }
        if !filter.status_codes.is_empty() {
            let phs: Vec<String> = filter
                .status_codes
                .iter()
                .map(|c| {
                    args.push(Arg::Int(*c));
                    p.next()
                })
                .collect();
            clauses.push(format!("status_code IN ({})", phs.join(", ")));
        }
        if !filter.exclude_unified_apis.is_empty() {
            let phs: Vec<String> = filter
                .exclude_unified_apis
                .iter()
                .map(|u| {
                    args.push(Arg::Text(u.clone()));
                    p.next()
                })
                .collect();
            clauses.push(format!("unified_api NOT IN ({})", phs.join(", ")));
        }
        if let Some(c) = cursor {
            let (ts, id) = parse_cursor(c)?;
            let (a, b) = (p.next(), p.next());
            clauses.push(format!(
                "(timestamp < {a} OR (timestamp = {a} AND id < {b}))"
            ));
            args.push(Arg::Int(ts));
            args.push(Arg::Text(id));
        }
        let ph_limit = p.next();
        let sql = format!(
            "SELECT {COLUMNS} FROM request_logs WHERE {} ORDER BY timestamp DESC, id DESC LIMIT {ph_limit}",
            clauses.join(" AND ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(app.as_str());
        for a in &args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
            };
        }
        let rows = q.bind(limit + 1).fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(RequestLog::from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|l| format!("{}:{}", l.timestamp, l.id))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Deletes request logs older than `before_ms` (retention). Returns how many.
    pub async fn purge_request_logs(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM request_logs WHERE timestamp < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Counts a consumer's requests in `[start_ms, end_ms]` by API family: `proxy`, `vault`,
    /// and every unified API (crm, …) as `unify`.
    pub async fn count_requests(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<RequestCounts> {
        let rows = sqlx::query(
            "SELECT unified_api, COUNT(*) AS n FROM request_logs \
             WHERE application_id = $1 AND consumer_id = $2 AND timestamp >= $3 AND timestamp <= $4 \
             AND operation_id <> $5 GROUP BY unified_api",
        )
        .bind(app.as_str())
        .bind(consumer.as_str())
        .bind(start_ms)
        .bind(end_ms)
        .bind(LOG_GAP_OPERATION)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = RequestCounts::default();
        for r in rows {
            let n = r.int("n")?;
            match r.text("unified_api")?.as_str() {
                "proxy" => counts.proxy += n,
                "vault" => counts.vault += n,
                _ => counts.unify += n,
            }
        }
        Ok(counts)
    }
}
