//! Webhooks (issue #12, docs/apideck.md §2): subscriptions ([`subscriptions`]), the events a
//! connection write fires ([`hook`], installed on the store by [`crate::Vault::new`] so every
//! write path is covered), the delivery worker ([`delivery`]) and the delivery-URL rules
//! ([`target`]). Pure rules (payloads, signatures, schedule, transitions) live in the
//! `patchbay-webhooks` crate.

mod deletion_pass;
pub mod delivery;
pub mod hook;
pub mod poller;
pub mod subscriptions;
pub mod target;

use std::time::Duration;

use patchbay_core::metrics::{Counter, Histogram};
use patchbay_webhooks::RetrySchedule;

/// Delivery tries since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// The receiver answered 2xx.
    pub delivered: Counter,
    /// The try failed and another is scheduled.
    pub retrying: Counter,
    /// The try failed and the schedule is used up: the delivery is `failed` for good.
    pub failed: Counter,
    /// How long each try took, from the send to the receiver's answer (or the failure).
    pub seconds: Histogram,
}

/// Webhook tunables. The defaults are Apideck's; tests shorten the schedule and the timeout.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Hosts (exact names or IP literals) that may receive deliveries although they are
    /// private or loopback: `patchbay serve --webhook-allowed-hosts`.
    pub allowed_hosts: Vec<String>,
    /// Delays between tries (`--webhook-retry-delays-ms`); Apideck's by default.
    pub retry: RetrySchedule,
    /// How long a receiver has to answer (Apideck: 60 s).
    pub timeout: Duration,
    /// How often the worker looks for due deliveries.
    pub tick: Duration,
    /// How often the CRM poller looks for objects due for a poll (`--crm-poll-tick-ms`); each
    /// integration's interval decides when a poll is due.
    pub crm_poll_tick: Duration,
    /// A deletion pass (for connectors whose change query cannot see deletions) runs every
    /// this many poll intervals (`--crm-deletion-every`); one under way goes on every interval.
    pub crm_deletion_every: u32,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            retry: RetrySchedule::apideck(),
            timeout: Duration::from_secs(60),
            tick: Duration::from_secs(1),
            crm_poll_tick: Duration::from_secs(1),
            crm_deletion_every: 10,
        }
    }
}

impl WebhookOptions {
    /// A claimed delivery stays leased this long: longer than any try can take, so two nodes
    /// never send one delivery at the same time, and short enough that a crashed node's
    /// deliveries are picked up soon after.
    pub fn lease(&self) -> Duration {
        self.timeout + self.timeout / 2 + Duration::from_secs(1)
    }
}

/// A background loop of this node (the delivery worker, the CRM poller). Told to stop, it
/// finishes the pass in progress; one that has not stopped within 5 s is aborted, since what it
/// claimed is leased and retried anyway.
#[derive(Debug)]
pub struct Background {
    name: &'static str,
    stop: std::sync::Arc<tokio::sync::Notify>,
    handle: tokio::task::JoinHandle<()>,
}

impl Background {
    pub(crate) fn new(
        name: &'static str,
        stop: std::sync::Arc<tokio::sync::Notify>,
        handle: tokio::task::JoinHandle<()>,
    ) -> Self {
        Self { name, stop, handle }
    }

    #[tracing::instrument(skip_all, fields(task = self.name))]
    pub async fn stop(self) {
        self.stop.notify_one();
        let abort = self.handle.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), self.handle)
            .await
            .is_err()
        {
            abort.abort();
            tracing::warn!(task = self.name, "did not stop in time");
        }
    }
}
