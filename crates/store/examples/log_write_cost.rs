//! What one request-log entry costs to write, in CPU µs per entry over the whole process
//! (sqlx's worker threads included), through the same call the request-log writer makes
//! (`Store::insert_request_logs`, batches of 2,048 entries), interleaved per round with the
//! same batches through the store's shared `Any` pool (`insert_request_logs_shared_pool`, the
//! write as it was before the native log pool).
//!
//! ```text
//! cargo run --release -p patchbay-store --example log_write_cost -- [--entries 100000] [--rounds 3] [postgres://…/DB]
//! ```
//!
//! Without a URL it writes to a SQLite file in a temp dir; with one, to a database of its own
//! created beside the one the URL names (dropped at the end). Entries look like a proxied
//! call's: UUIDs, a path, a request id.

use std::time::Instant;

use patchbay_core::{ApplicationId, ConsumerId};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{RequestLog, Store};

const BATCH: usize = 2048;

/// Process CPU time (user + system, every thread that ever ran), seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // USER_HZ is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn entry(app: &ApplicationId, consumer: &ConsumerId, i: usize) -> RequestLog {
    RequestLog {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        application_id: app.clone(),
        consumer_id: consumer.clone(),
        parent_id: None,
        child_request: false,
        has_children: false,
        api_style: "REST".into(),
        base_url: "127.0.0.1:8080".to_owned(),
        http_method: "GET".into(),
        path: "/proxy".to_owned(),
        operation_id: "proxyGet".into(),
        operation_name: "Proxy GET".into(),
        service_id: "salesforce".into(),
        service_name: "Salesforce".into(),
        unified_api: "proxy".into(),
        status_code: 200,
        success: true,
        error_message: None,
        duration_ms: 0.4,
        execution_ms: 1,
        latency_ms: 0.1,
        sandbox: false,
        source_ip: Some("127.0.0.1".to_owned()),
        timestamp: 1_765_000_000_000 + i as i64,
        request_id: Some(uuid::Uuid::new_v4().hyphenated().to_string()),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut entries = 100_000usize;
    let mut rounds = 3usize;
    let mut url = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--entries" => entries = args.next().ok_or("--entries N")?.parse()?,
            "--rounds" => rounds = args.next().ok_or("--rounds N")?.parse()?,
            other => url = Some(other.to_owned()),
        }
    }
    let db = match &url {
        Some(u) => TestDatabase::postgres_on(u)
            .await
            .ok_or("PostgreSQL is unreachable at that URL")?,
        None => TestDatabase::sqlite(),
    };
    let store: Store = db.store().await;
    let app = ApplicationId::generate();
    let consumers: Vec<ConsumerId> = (0..16)
        .map(|i| ConsumerId::parse(&format!("consumer-{i}")))
        .collect::<Result<_, _>>()?;
    println!(
        "backend {:?}, {entries} entries per round, batches of {BATCH}",
        store.backend()
    );
    for round in 0..rounds {
        for (k, path) in ["native", "shared Any pool"].into_iter().enumerate() {
            // Built before the clock starts: only the write is measured.
            let first = (2 * round + k) * entries;
            let logs: Vec<RequestLog> = (0..entries)
                .map(|i| entry(&app, &consumers[i % consumers.len()], first + i))
                .collect();
            let (cpu0, wall0) = (cpu_seconds(), Instant::now());
            for batch in logs.chunks(BATCH) {
                if k == 0 {
                    store.insert_request_logs(batch).await?;
                } else {
                    store.insert_request_logs_shared_pool(batch).await?;
                }
            }
            let (cpu, wall) = (cpu_seconds() - cpu0, wall0.elapsed().as_secs_f64());
            println!(
                "round {} {path}: {:.1} µs CPU per entry, {:.1} µs wall per entry ({:.0} entries/s)",
                round + 1,
                cpu * 1e6 / entries as f64,
                wall * 1e6 / entries as f64,
                entries as f64 / wall
            );
        }
    }
    store.close().await;
    Ok(())
}
