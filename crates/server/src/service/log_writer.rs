//! Request-log writes off the request path, for Vault, CRM and proxy calls alike: handlers
//! enqueue a [`RequestLog`] without waiting, and one background task per [`Vault`] drains the
//! queue in batches. Reads of the log on this node flush the queue first, and so does a
//! graceful shutdown. A full queue drops the entry (counted in a warning) rather than slow the
//! API down.
//!
//! The task holds only a store handle, so it ends when the last `Vault` clone is dropped.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use patchbay_store::{RequestLog, Store};
use tokio::sync::{mpsc, oneshot};

use super::Vault;

/// Entries waiting at most; past this, new ones are dropped.
const QUEUE: usize = 10_000;
/// Entries written per wake-up.
const BATCH: usize = 512;
/// After the first entry of a batch arrives, the writer waits this long for more (unless a
/// flush is asked for), so a busy node writes a few large transactions per second rather than
/// one small one per handful of calls: each transaction costs a begin, a commit and wake-ups
/// of the database's worker. Other nodes see an entry this much later; this node flushes
/// before it reads.
const LINGER: std::time::Duration = std::time::Duration::from_millis(25);

enum Msg {
    Write(Box<RequestLog>),
    Flush(oneshot::Sender<()>),
}

#[derive(Default)]
pub(crate) struct LogQueue {
    tx: OnceLock<mpsc::Sender<Msg>>,
    dropped: AtomicU64,
}

impl LogQueue {
    fn sender(&self, store: &Store) -> &mpsc::Sender<Msg> {
        self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(write_loop(store.clone(), rx));
            tx
        })
    }
}

async fn write_loop(store: Store, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut logs = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH && !batch.iter().any(|m| matches!(m, Msg::Flush(_))) {
            let room = BATCH - batch.len();
            let more = tokio::time::timeout_at(deadline, rx.recv_many(&mut batch, room));
            match more.await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        let mut flushes = Vec::new();
        for msg in batch.drain(..) {
            match msg {
                Msg::Write(log) => logs.push(*log),
                Msg::Flush(done) => flushes.push(done),
            }
        }
        if !logs.is_empty() {
            // One transaction per batch; if it fails, fall back to single rows so one bad
            // entry cannot lose the rest.
            if store.insert_request_logs(&logs).await.is_err() {
                for log in &logs {
                    if let Err(e) = store.insert_request_log(log).await {
                        tracing::warn!(error = %crate::error::chain(&e), "could not write a request log entry");
                    }
                }
            }
            logs.clear();
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

impl Vault {
    /// Queues a request-log entry; never waits for the database.
    pub fn log_request_later(&self, log: RequestLog) {
        let queue = self.log_queue();
        if queue
            .sender(self.store())
            .try_send(Msg::Write(Box::new(log)))
            .is_err()
        {
            let n = queue.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "the request log queue is full; entries are dropped"
                );
            }
        }
    }

    /// Waits until every entry queued before this call is written (tests, shutdown).
    pub async fn flush_request_logs(&self) {
        let (done, wait) = oneshot::channel();
        if self
            .log_queue()
            .sender(self.store())
            .send(Msg::Flush(done))
            .await
            .is_ok()
        {
            let _ = wait.await;
        }
    }
}
