//! Every call is logged, at saturation too (issue 14): the proxy driven as fast as many
//! concurrent callers can go for a bounded time leaves one `/vault/logs` entry per answered
//! call on each backend. When the database stalls so long that the queue must shed, each shed
//! entry is counted, warned about and shown as a gap marker in the consumer's log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use patchbay_core::ConsumerId;
use patchbay_server::service::LogWriterOptions;
use patchbay_store::Backend;
use reqwest::{Method, StatusCode};

use crate::helpers::{Db, Options, TestApp, captured_logs, json_with, spawn_with};
use crate::proxy_support::proxy;

crate::server_backend_tests!(
    every_proxy_call_is_logged_at_saturation,
    shed_entries_are_counted_warned_and_shown_as_gaps,
);

const CONSUMER: &str = "c";

/// `workers` callers back to back on `/proxy` until `deadline` (each at most `cap` calls).
/// Returns how many calls were answered, whatever their status.
async fn drive(app: &TestApp, workers: usize, deadline: Instant, cap: usize) -> u64 {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let make = {
            let req = proxy(app, Method::GET, CONSUMER)
                .header("x-apideck-downstream-url", "/services/data/v66.0/limits");
            move || req.try_clone().expect("clonable request")
        };
        set.spawn(async move {
            let mut answered = 0u64;
            for _ in 0..cap {
                if Instant::now() >= deadline {
                    break;
                }
                if let Ok(r) = make().send().await {
                    let _ = r.bytes().await;
                    answered += 1;
                }
            }
            answered
        });
    }
    let mut total = 0;
    while let Some(n) = set.join_next().await {
        total += n.expect("worker");
    }
    total
}

/// Proxy entries in the consumer's log (gap markers are not counted as calls).
async fn logged_proxy_calls(app: &TestApp) -> u64 {
    app.vault.flush_request_logs().await;
    let counts = app
        .vault
        .store()
        .count_requests(
            &app.app_id,
            &ConsumerId::parse(CONSUMER).expect("id"),
            0,
            i64::MAX,
        )
        .await
        .expect("count");
    u64::try_from(counts.proxy).expect("non-negative")
}

/// The calls the consumer's gap markers stand for, read from `/vault/logs` as a user would.
async fn calls_in_gap_markers(app: &TestApp) -> (u64, usize) {
    let (mut total, mut markers) = (0, 0);
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = "/vault/logs?limit=200&filter[status_code]=503".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app
            .consumer_api(Method::GET, &path, CONSUMER)
            .send()
            .await
            .expect("send");
        let v = json_with(r, StatusCode::OK).await;
        for row in v["data"].as_array().expect("rows") {
            if row["operation"]["id"] != patchbay_store::LOG_GAP_OPERATION {
                continue;
            }
            let message = row["error_message"].as_str().expect("message");
            let n: u64 = message
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a count first: {message}"));
            assert!(message.contains("shed"), "{message}");
            total += n;
            markers += 1;
        }
        cursor = v["meta"]["cursors"]["next"].as_str().map(str::to_owned);
        if cursor.is_none() {
            return (total, markers);
        }
    }
    panic!("more than 100 pages of gap markers");
}

/// With a queue far smaller than the default, so that callers outrun the writer and the
/// back-pressure path is taken: they wait for room, and nothing is lost.
async fn every_proxy_call_is_logged_at_saturation(db: Db) {
    let Some(app) = spawn_with(Options {
        db,
        request_log: LogWriterOptions {
            queue: 16,
            ..LogWriterOptions::default()
        },
        ..Options::default()
    })
    .await
    else {
        return;
    };
    app.connect(CONSUMER).await;
    let sent = drive(&app, 64, Instant::now() + Duration::from_secs(3), 20_000).await;
    let logged = logged_proxy_calls(&app).await;
    let stats = app.vault.log_writer_stats();
    let shed = stats.shed.load(Ordering::Relaxed);
    eprintln!(
        "{db:?}: {sent} calls answered, {logged} logged, queue waits {}, shed {shed}",
        stats.waited.load(Ordering::Relaxed)
    );
    assert!(sent > 200, "the proxy answered only {sent} calls");
    assert_eq!(shed, 0, "no entry may be shed while the database answers");
    assert_eq!(stats.failed.load(Ordering::Relaxed), 0);
    assert_eq!(logged, sent, "every answered call has its log entry");
    assert_eq!(
        stats.queued.load(Ordering::Relaxed),
        0,
        "the queue is drained"
    );
}

/// Holds a write lock on `request_logs` from another connection until `release` is set (at
/// most 4 s: SQLite's writer gives up after its 5 s busy timeout).
async fn stall_log_table(app: &TestApp, release: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let pool = app.vault.store().pool().clone();
    let backend = app.vault.store().backend();
    let (locked_tx, locked) = tokio::sync::oneshot::channel();
    let handle = tokio::spawn(async move {
        let mut tx = pool.begin().await.expect("begin");
        let take_lock = match backend {
            // Any write statement takes SQLite's one write lock for the transaction.
            Backend::Sqlite => "DELETE FROM request_logs WHERE 1 = 0",
            Backend::Postgres => "LOCK TABLE request_logs IN EXCLUSIVE MODE",
        };
        sqlx::query(take_lock)
            .execute(&mut *tx)
            .await
            .expect("lock");
        let _ = locked_tx.send(());
        let until = Instant::now() + Duration::from_secs(4);
        while !release.load(Ordering::SeqCst) && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tx.rollback().await.expect("rollback");
    });
    locked.await.expect("locked");
    handle
}

async fn shed_entries_are_counted_warned_and_shown_as_gaps(db: Db) {
    let Some(app) = spawn_with(Options {
        db,
        request_log: LogWriterOptions {
            queue: 4,
            wait: Duration::from_millis(5),
        },
        ..Options::default()
    })
    .await
    else {
        return;
    };
    app.connect(CONSUMER).await;
    // The connect flow's own Vault entries are written before the stall.
    app.vault.flush_request_logs().await;
    let before = logged_proxy_calls(&app).await;
    assert_eq!(before, 0);

    let release = Arc::new(AtomicBool::new(false));
    let stall = stall_log_table(&app, Arc::clone(&release)).await;
    let sent = drive(&app, 16, Instant::now() + Duration::from_millis(1500), 500).await;
    release.store(true, Ordering::SeqCst);
    stall.await.expect("stall task");

    let logged = logged_proxy_calls(&app).await;
    let stats = app.vault.log_writer_stats();
    let shed = stats.shed.load(Ordering::Relaxed);
    let (in_markers, markers) = calls_in_gap_markers(&app).await;
    eprintln!("{db:?}: {sent} calls, {logged} logged, {shed} shed in {markers} gap markers");
    assert!(sent > 20, "the proxy answered only {sent} calls");
    assert!(
        shed > 0,
        "a stalled database with a 4-entry queue must shed"
    );
    assert_eq!(stats.failed.load(Ordering::Relaxed), 0);
    assert_eq!(
        in_markers, shed,
        "every shed entry is shown in a gap marker"
    );
    assert!(markers >= 1);
    assert_eq!(
        logged + shed,
        sent,
        "each call is logged or counted in a gap"
    );
    assert!(
        captured_logs().contains("the request log queue stayed full"),
        "shedding is warned about"
    );
    // Markers are not calls: the consumer's request counts leave them out.
    let counts = app
        .vault
        .store()
        .count_requests(
            &app.app_id,
            &ConsumerId::parse(CONSUMER).expect("id"),
            0,
            i64::MAX,
        )
        .await
        .expect("count");
    assert_eq!(u64::try_from(counts.proxy).expect("count"), logged);
}
