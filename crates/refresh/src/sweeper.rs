//! The proactive sweeper: claims due connections by lease (so nodes share the work instead of
//! duplicating it), refreshes them ahead of expiry under a per-integration token bucket, and
//! stops on request. Idle connections are kept alive too: every stored token is due again
//! before it expires (docs/security.md §3.1 F6, F8).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::error::RefreshError;
use crate::refresher::{Refresher, gate_key};
use crate::store::TokenStore;

/// How hard the sweeper may push.
#[derive(Debug, Clone)]
pub struct SweeperConfig {
    pub interval: Duration,
    /// Rows claimed per sweep.
    pub batch: u32,
    /// Token calls per second per integration (token bucket refill rate).
    pub per_integration_per_sec: u32,
    /// Bucket size: the largest burst per integration.
    pub per_integration_burst: u32,
    /// Refreshes running at once on this node.
    pub concurrency: usize,
}

impl Default for SweeperConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15),
            batch: 200,
            per_integration_per_sec: 10,
            per_integration_burst: 20,
            concurrency: 8,
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub claimed: usize,
    pub refreshed: usize,
    pub failed: usize,
    /// Claimed but over the integration's rate: released, due again next sweep.
    pub deferred: usize,
    /// Nothing to do after all (a sibling refreshed it, or this process already was).
    pub skipped: usize,
}

#[derive(Debug)]
struct Bucket {
    tokens_milli: i64,
    at_ms: i64,
}

pub struct Sweeper<S: TokenStore> {
    refresher: Refresher<S>,
    cfg: SweeperConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Stops the background loop.
pub struct SweeperHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SweeperHandle {
    /// Asks the loop to stop after the sweep in progress, and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl<S: TokenStore> Sweeper<S> {
    pub fn new(refresher: Refresher<S>, cfg: SweeperConfig) -> Self {
        Self {
            refresher,
            cfg,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Runs [`Sweeper::sweep_once`] every `interval` until stopped.
    pub fn spawn(self) -> SweeperHandle {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                match self.sweep_once().await {
                    Ok(r) if r.claimed > 0 => tracing::info!(?r, "refresh sweep"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "refresh sweep failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.cfg.interval) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        SweeperHandle { stop, task }
    }

    /// One sweep: claim up to `batch` due rows, refresh those the rate allows, release the rest.
    pub async fn sweep_once(&self) -> Result<SweepReport, RefreshError> {
        let r = &self.refresher;
        let owner = format!(
            "{}#sweep-{}",
            r.config().node_id,
            uuid::Uuid::new_v4().simple()
        );
        let now = r.now();
        let rows = r
            .store()
            .claim_due_for_refresh(&owner, now, r.config().lease_ttl_ms, self.cfg.batch)
            .await?;
        let mut report = SweepReport {
            claimed: rows.len(),
            ..SweepReport::default()
        };
        let slots = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for row in rows {
            if !self.take(&gate_key(&row), now) {
                r.release(&row.id, &owner).await;
                report.deferred += 1;
                continue;
            }
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let (r, owner) = (r.clone(), owner.clone());
            tasks.spawn(async move {
                let _slot = slot;
                let out = r.refresh_claimed(&row, &owner).await;
                if let Err(e) = &out {
                    tracing::info!(connection = %row.id, error = %e, "scheduled refresh failed");
                }
                out
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(Some(_))) => report.refreshed += 1,
                Ok(Ok(None)) => report.skipped += 1,
                Ok(Err(_)) | Err(_) => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Token bucket per integration, on the refresher's clock.
    fn take(&self, key: &str, now_ms: i64) -> bool {
        let rate = i64::from(self.cfg.per_integration_per_sec);
        let cap = i64::from(self.cfg.per_integration_burst.max(1)) * 1000;
        let mut buckets = self.buckets.lock();
        let b = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens_milli: cap,
            at_ms: now_ms,
        });
        let elapsed = now_ms.saturating_sub(b.at_ms).max(0);
        b.tokens_milli = (b.tokens_milli + elapsed.saturating_mul(rate)).min(cap);
        b.at_ms = now_ms;
        if b.tokens_milli >= 1000 {
            b.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}
