//! Request-log writes off the request path, for Vault, CRM and proxy calls alike: handlers
//! hand a [`RequestLog`] to a bounded queue, and one background task per [`Vault`] drains it
//! in large batches, one transaction each, with several transactions in flight where the
//! backend allows concurrent writers (PostgreSQL; SQLite has one writer). Reads of the log on
//! this node flush the queue first, and so does a graceful shutdown.
//!
//! Every call is logged, at saturation too (issue 14: a writer that fell behind once lost nine
//! entries in ten). The queue is sized and the writer batched so that it keeps up with the
//! proxy's saturated rate; when it still falls behind, a caller waits for room
//! ([`LogWriterOptions::wait`]) instead of dropping its entry, so a saturated node slows to
//! the rate its log can take rather than losing calls. Only when the queue stays full that
//! long (a database that stopped answering) is an entry shed, and then never silently: it is
//! counted in [`LogWriterStats::shed`], a warning is logged, and the consumer's `/vault/logs`
//! gets a gap marker entry ([`patchbay_store::LOG_GAP_OPERATION`]) saying how many calls are
//! missing and when. Memory stays bounded: the queue, the batches in flight and the gap table
//! all have fixed caps.
//!
//! The task holds only a store handle, so it ends when the last `Vault` clone is dropped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use patchbay_core::{ApplicationId, ConsumerId};
use patchbay_store::{RequestLog, Store};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinSet;

use super::Vault;

/// Entries written per transaction. Large, because each transaction costs a begin, a commit
/// and wake-ups of the database's worker, while a row costs a few microseconds.
const BATCH: usize = 2048;
/// After the first entry of a batch arrives, the writer waits this long for more (unless a
/// flush is asked for, or the batch is full), so a busy node writes a few large transactions
/// per second rather than one small one per handful of calls. Other nodes see an entry this
/// much later; this node flushes before it reads.
const LINGER: Duration = Duration::from_millis(25);
/// Consumers with a pending gap marker at most; past this, shed entries are still counted and
/// warned about, but only the first `GAP_KEYS` consumers get a marker until the next write.
const GAP_KEYS: usize = 4096;

/// How the request-log queue behaves under load.
#[derive(Debug, Clone, Copy)]
pub struct LogWriterOptions {
    /// Entries waiting at most.
    pub queue: usize,
    /// How long a caller waits for room in a full queue before its entry is shed (counted,
    /// warned about and marked in `/vault/logs`). The writer normally frees room within one
    /// transaction, milliseconds; a full queue for this long means the database is not
    /// answering.
    pub wait: Duration,
}

impl Default for LogWriterOptions {
    fn default() -> Self {
        Self {
            queue: 10_000,
            wait: Duration::from_secs(1),
        }
    }
}

/// Counters of this node's request-log writer, for metrics and tests. Plain atomics, read
/// with `load(Ordering::Relaxed)`.
#[derive(Debug, Default)]
pub struct LogWriterStats {
    /// Entries in the queue now (accepted, not yet taken by the writer).
    pub queued: AtomicU64,
    /// Entries written to the database (gap markers included).
    pub written: AtomicU64,
    /// Entries shed because the queue stayed full for [`LogWriterOptions::wait`]; each is
    /// counted in a gap marker in its consumer's `/vault/logs`.
    pub shed: AtomicU64,
    /// Callers that found the queue full and waited for room (back-pressure engaged).
    pub waited: AtomicU64,
    /// Entries the database refused, each warned about with its cause.
    pub failed: AtomicU64,
}

// Entries travel unboxed: the channel stores them in its own reused blocks, so the hand-off
// costs no allocation and no cross-thread free per call (a box did both), and the queue's
// memory bound is the same either way (`queue` entries).
#[allow(
    clippy::large_enum_variant,
    reason = "most messages are entries; boxing them would add an allocation per call"
)]
enum Msg {
    Write(RequestLog),
    Flush(oneshot::Sender<()>),
}

/// Shed entries not yet shown, per consumer.
#[derive(Debug, Clone, Copy)]
struct Gap {
    count: u64,
    first_ms: i64,
    last_ms: i64,
}

#[derive(Default)]
struct Shared {
    stats: LogWriterStats,
    gaps: Mutex<HashMap<(ApplicationId, ConsumerId), Gap>>,
    /// Wakes an idle writer to write gap markers.
    gaps_pending: Notify,
}

#[derive(Default)]
pub(crate) struct LogQueue {
    tx: OnceLock<mpsc::Sender<Msg>>,
    shared: Arc<Shared>,
    options: LogWriterOptions,
}

impl LogQueue {
    pub(crate) fn new(options: LogWriterOptions) -> Self {
        Self {
            options: LogWriterOptions {
                queue: options.queue.max(1),
                ..options
            },
            ..Self::default()
        }
    }

    fn sender(&self, store: &Store, public_host: &str) -> &mpsc::Sender<Msg> {
        self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(self.options.queue);
            tokio::spawn(write_loop(
                store.clone(),
                rx,
                Arc::clone(&self.shared),
                public_host.to_owned(),
            ));
            tx
        })
    }
}

async fn write_loop(
    store: Store,
    mut rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
    public_host: String,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => n,
            () = shared.gaps_pending.notified() => 0,
        };
        if received == 0 && batch.is_empty() && rx.is_closed() && rx.is_empty() {
            break;
        }
        // Linger only when the queue is quiet: a backlog fills the batch at once.
        if !batch.is_empty() && batch.len() < BATCH {
            let deadline = tokio::time::Instant::now() + LINGER;
            while batch.len() < BATCH && !batch.iter().any(|m| matches!(m, Msg::Flush(_))) {
                let room = BATCH - batch.len();
                let more = tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room));
                match more.await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
        }
        let mut logs = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for msg in batch.drain(..) {
            match msg {
                Msg::Write(log) => logs.push(log),
                Msg::Flush(done) => flushes.push(done),
            }
        }
        shared
            .stats
            .queued
            .fetch_sub(logs.len() as u64, Ordering::Relaxed);
        logs.extend(gap_markers(&shared, &public_host));
        while in_flight.len() >= store.log_writers() {
            let _ = in_flight.join_next().await;
        }
        if !logs.is_empty() {
            in_flight.spawn(write_batch(store.clone(), logs, Arc::clone(&shared)));
        }
        if !flushes.is_empty() {
            // Everything queued before the flush is in this batch or an earlier one.
            while in_flight.join_next().await.is_some() {}
            for done in flushes {
                let _ = done.send(());
            }
        }
    }
    while in_flight.join_next().await.is_some() {}
}

async fn write_batch(store: Store, logs: Vec<RequestLog>, shared: Arc<Shared>) {
    // One transaction per batch; if it fails, fall back to single rows so one bad entry
    // cannot lose the rest.
    if store.insert_request_logs(&logs).await.is_ok() {
        shared
            .stats
            .written
            .fetch_add(logs.len() as u64, Ordering::Relaxed);
        return;
    }
    for log in &logs {
        match store.insert_request_log(log).await {
            Ok(()) => shared.stats.written.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!(error = %crate::error::chain(&e), "could not write a request log entry");
                shared.stats.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// One entry per consumer whose calls were shed since the last batch.
fn gap_markers(shared: &Shared, public_host: &str) -> Vec<RequestLog> {
    let gaps = match shared.gaps.lock() {
        Ok(mut g) if !g.is_empty() => std::mem::take(&mut *g),
        _ => return Vec::new(),
    };
    gaps.into_iter()
        .map(|((application_id, consumer_id), gap)| {
            gap_marker(application_id, consumer_id, gap, public_host)
        })
        .collect()
}

/// A `/vault/logs` row that stands for `gap.count` calls whose own entries were shed. The
/// message starts with the count, so tools and tests can add it up.
fn gap_marker(
    application_id: ApplicationId,
    consumer_id: ConsumerId,
    gap: Gap,
    public_host: &str,
) -> RequestLog {
    let iso = |ms: i64| crate::timefmt::iso_ms(ms);
    RequestLog {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        application_id,
        consumer_id,
        parent_id: None,
        child_request: false,
        has_children: false,
        api_style: "REST".into(),
        base_url: public_host.to_owned(),
        http_method: "".into(),
        path: String::new(),
        operation_id: patchbay_store::LOG_GAP_OPERATION.into(),
        operation_name: "Request log gap".into(),
        service_id: super::logs::VAULT_SERVICE_ID.into(),
        service_name: super::logs::VAULT_SERVICE_NAME.into(),
        unified_api: "vault".into(),
        status_code: 503,
        success: false,
        error_message: Some(format!(
            "{} calls between {} and {} are not in this log: the request log queue stayed \
             full (the database did not keep up), so their entries were shed",
            gap.count,
            iso(gap.first_ms),
            iso(gap.last_ms)
        )),
        duration_ms: 0.0,
        execution_ms: 0,
        latency_ms: 0.0,
        sandbox: false,
        source_ip: None,
        timestamp: gap.last_ms,
        request_id: None,
    }
}

impl Vault {
    /// Hands a request-log entry to the writer. Returns at once unless the queue is full;
    /// then it waits up to [`LogWriterOptions::wait`] for room, and past that sheds the entry
    /// (counted, warned about, and shown as a gap in the consumer's `/vault/logs`).
    pub async fn log_request(&self, log: RequestLog) {
        let queue = self.log_queue();
        let stats = &queue.shared.stats;
        let sender = queue.sender(self.store(), self.public_host());
        // Counted before it can be received, so the writer's decrement never goes below zero.
        stats.queued.fetch_add(1, Ordering::Relaxed);
        let msg = match sender.try_send(Msg::Write(log)) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(msg)) => msg,
            Err(mpsc::error::TrySendError::Closed(msg)) => {
                stats.queued.fetch_sub(1, Ordering::Relaxed);
                return self.shed(msg);
            }
        };
        stats.waited.fetch_add(1, Ordering::Relaxed);
        match sender.send_timeout(msg, queue.options.wait).await {
            Ok(()) => {}
            Err(
                mpsc::error::SendTimeoutError::Timeout(msg)
                | mpsc::error::SendTimeoutError::Closed(msg),
            ) => {
                stats.queued.fetch_sub(1, Ordering::Relaxed);
                self.shed(msg);
            }
        }
    }

    fn shed(&self, msg: Msg) {
        let Msg::Write(log) = msg else { return };
        let shared = &self.log_queue().shared;
        let n = shared.stats.shed.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(
                shed = n,
                "the request log queue stayed full; entries are shed and marked as gaps in /vault/logs"
            );
        }
        if let Ok(mut gaps) = shared.gaps.lock() {
            let key = (log.application_id, log.consumer_id);
            let room = gaps.len() < GAP_KEYS;
            match gaps.get_mut(&key) {
                Some(g) => {
                    g.count += 1;
                    g.first_ms = g.first_ms.min(log.timestamp);
                    g.last_ms = g.last_ms.max(log.timestamp);
                }
                None if room => {
                    gaps.insert(
                        key,
                        Gap {
                            count: 1,
                            first_ms: log.timestamp,
                            last_ms: log.timestamp,
                        },
                    );
                }
                None => {}
            }
        }
        shared.gaps_pending.notify_one();
    }

    /// Starts this node's request-log writer on the current runtime unless it runs already.
    /// The server calls it before serving, so that the writer is a task of the runtime that
    /// runs the background work rather than of whichever serving thread logs first.
    pub(crate) fn start_request_log_writer(&self) {
        let _ = self.log_queue().sender(self.store(), self.public_host());
    }

    /// Waits until every entry queued before this call is written (tests, shutdown).
    pub async fn flush_request_logs(&self) {
        let (done, wait) = oneshot::channel();
        if self
            .log_queue()
            .sender(self.store(), self.public_host())
            .send(Msg::Flush(done))
            .await
            .is_ok()
        {
            let _ = wait.await;
        }
    }

    /// This node's request-log writer counters (queue depth, written, shed, …).
    pub fn log_writer_stats(&self) -> &LogWriterStats {
        &self.log_queue().shared.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_marker_says_how_many_calls_are_missing_and_when() {
        let marker = gap_marker(
            ApplicationId::generate(),
            ConsumerId::parse("c").expect("id"),
            Gap {
                count: 42,
                first_ms: 1_700_000_000_000,
                last_ms: 1_700_000_001_500,
            },
            "patchbay.example.com",
        );
        let message = marker.error_message.expect("message");
        assert!(message.starts_with("42 calls between "), "{message}");
        assert!(message.contains("2023-11-14T22:13:20.000Z"), "{message}");
        assert!(message.contains("2023-11-14T22:13:21.500Z"), "{message}");
        assert_eq!(marker.operation_id, patchbay_store::LOG_GAP_OPERATION);
        assert_eq!(marker.timestamp, 1_700_000_001_500);
        assert!(!marker.success);
    }
}
