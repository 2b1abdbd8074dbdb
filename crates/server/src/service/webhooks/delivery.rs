//! The delivery worker: at-least-once, in order per connection, on every node.
//!
//! The worker claims due deliveries from the outbox (leased for [`WebhookOptions::lease`], so
//! a node that dies mid-delivery only delays them), sends each with both signatures and the
//! `x-apideck-event-type` and `x-apideck-idempotency-key` headers (the key is the event id: the
//! same on every try), and records the outcome. A failed try is scheduled by the retry
//! schedule; the last failed try disables the subscription with `retry_limit`.

use std::sync::Arc;
use std::time::Duration;

use patchbay_crypto::SecretString;
use patchbay_store::{ClaimedDelivery, DeliveryOutcome};
use patchbay_webhooks::signature::{
    APIDECK_HEADER, PATCHBAY_HEADER, apideck_signature, patchbay_signature,
};
use serde_json::Value;
use tokio::sync::Notify;

use super::WebhookOptions;
use super::subscriptions::{API_KEY_COLUMN, SECRET_COLUMN};
use super::target::{GuardedResolver, check_delivery_url};
use crate::error::{Error, Result};
use crate::service::Vault;

pub const EVENT_TYPE_HEADER: &str = "x-apideck-event-type";
pub const IDEMPOTENCY_HEADER: &str = "x-apideck-idempotency-key";
/// Tries one node keeps going at once.
const IN_FLIGHT: u32 = 32;
/// Response bodies are read up to this size for the event log.
const RESPONSE_READ_LIMIT: usize = 4096;

/// The result of one HTTP try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// 0 when no HTTP answer came.
    pub status_code: i64,
    pub success: bool,
    pub body: Option<String>,
}

/// The HTTP client for deliveries: no redirects, the receiver timeout, guarded DNS.
pub(crate) fn http_client(options: &WebhookOptions) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(GuardedResolver {
            allowed_hosts: Arc::new(options.allowed_hosts.clone()),
        }))
        .user_agent("Patchbay-Webhooks/1")
        .build()
        .map_err(Error::internal)
}

impl Vault {
    /// Sends one try of an event and reports what the receiver answered.
    #[allow(clippy::too_many_arguments)] // One call site per purpose; a struct adds nothing.
    pub(crate) async fn send_event(
        &self,
        url: &str,
        event_type: &str,
        event_id: &str,
        payload: &Value,
        attempt: u32,
        api_key: &SecretString,
        secret: &SecretString,
    ) -> SendOutcome {
        let failed = SendOutcome {
            status_code: 0,
            success: false,
            body: None,
        };
        if check_delivery_url(url, &self.webhook_options().allowed_hosts).is_err() {
            return failed;
        }
        let body_value = patchbay_webhooks::payload::delivery_body(payload, attempt);
        let body = patchbay_webhooks::canonical_json(&body_value);
        let apideck = apideck_signature(api_key.expose_secret(), &body_value);
        let patchbay = patchbay_signature(secret.expose_secret(), self.now_ms() / 1000, &body);
        let client = match self.webhook_http() {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e, "the webhook HTTP client could not be built");
                return failed;
            }
        };
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_TYPE_HEADER, event_type)
            .header(IDEMPOTENCY_HEADER, event_id)
            .header(APIDECK_HEADER, apideck)
            .header(PATCHBAY_HEADER, patchbay)
            .body(body)
            .send()
            .await;
        let Ok(response) = sent else {
            return failed;
        };
        let status = response.status();
        let body = response.bytes().await.ok().map(|b| {
            let cut = &b[..b.len().min(RESPONSE_READ_LIMIT)];
            String::from_utf8_lossy(cut).into_owned()
        });
        SendOutcome {
            status_code: i64::from(status.as_u16()),
            success: status.is_success(),
            body,
        }
    }

    /// Claims up to `room` due deliveries and starts each in `in_flight`. Returns how many
    /// were claimed.
    #[tracing::instrument(skip_all)]
    async fn start_due_webhooks(
        &self,
        room: u32,
        in_flight: &mut tokio::task::JoinSet<Result<()>>,
    ) -> Result<u32> {
        let lease_ms =
            i64::try_from(self.webhook_options().lease().as_millis()).unwrap_or(i64::MAX);
        let claimed = self
            .store()
            .claim_deliveries(self.now_ms(), lease_ms, room)
            .await?;
        let count = u32::try_from(claimed.len()).unwrap_or(u32::MAX);
        for delivery in claimed {
            let vault = self.clone();
            in_flight.spawn(async move { vault.deliver_one(delivery).await });
        }
        Ok(count)
    }

    async fn deliver_one(&self, d: ClaimedDelivery) -> Result<()> {
        let attempt = u32::try_from(d.attempt).unwrap_or(u32::MAX);
        let keys = self
            .open_webhook(
                &d.application_id,
                &d.subscription_id,
                API_KEY_COLUMN,
                &d.api_key_sealed,
            )
            .and_then(|k| {
                self.open_webhook(
                    &d.application_id,
                    &d.subscription_id,
                    SECRET_COLUMN,
                    &d.secret_sealed,
                )
                .map(|s| (k, s))
            });
        let started = std::time::Instant::now();
        let outcome = match (&keys, serde_json::from_str::<Value>(&d.payload_json)) {
            (Ok((key, secret)), Ok(payload)) => {
                self.send_event(
                    &d.delivery_url,
                    &d.event_type,
                    &d.event_id,
                    &payload,
                    attempt,
                    key,
                    secret,
                )
                .await
            }
            _ => {
                tracing::error!(webhook = %d.subscription_id, "a webhook's sealed keys or payload could not be read");
                SendOutcome {
                    status_code: 0,
                    success: false,
                    body: None,
                }
            }
        };
        let now = self.now_ms();
        let retry_at = (!outcome.success)
            .then(|| self.webhook_options().retry.next_delay_ms(attempt))
            .flatten()
            .map(|delay| now.saturating_add(delay));
        let stats = self.webhook_stats();
        stats.seconds.observe(started.elapsed());
        match (outcome.success, retry_at) {
            (true, _) => stats.delivered.inc(),
            (false, Some(_)) => stats.retrying.inc(),
            (false, None) => stats.failed.inc(),
        }
        tracing::info!(
            webhook = %d.subscription_id,
            event_type = %d.event_type,
            attempt,
            status = outcome.status_code,
            success = outcome.success,
            "webhook delivery tried"
        );
        self.store()
            .finish_delivery(&DeliveryOutcome {
                seq: d.seq,
                attempt: d.attempt,
                at_ms: now,
                status_code: outcome.status_code,
                success: outcome.success,
                response_body: outcome.body,
                retry_at,
            })
            .await?;
        Ok(())
    }

    /// Starts this node's delivery worker. It keeps up to [`IN_FLIGHT`] tries going and claims
    /// more as soon as any finishes, so a receiver that holds its try until the timeout delays
    /// only its own connection's next events (the outbox orders those), never other
    /// subscriptions' deliveries.
    pub fn spawn_webhook_worker(&self) -> WebhookWorker {
        let stop = Arc::new(Notify::new());
        let vault = self.clone();
        let stopped = Arc::clone(&stop);
        let tick = self.webhook_options().tick;
        let handle = tokio::spawn(async move {
            let mut in_flight = tokio::task::JoinSet::new();
            loop {
                let room =
                    IN_FLIGHT.saturating_sub(u32::try_from(in_flight.len()).unwrap_or(IN_FLIGHT));
                if room > 0 {
                    match vault.start_due_webhooks(room, &mut in_flight).await {
                        // A full claim: more may be due right behind them.
                        Ok(n) if n == room => {
                            tokio::task::yield_now().await;
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %crate::error::chain(&e), "webhook delivery pass failed");
                        }
                    }
                }
                tokio::select! {
                    () = stopped.notified() => break,
                    // A finished try frees a slot, and its connection's next event may be due.
                    Some(done) = in_flight.join_next(), if !in_flight.is_empty() => report(done),
                    () = tokio::time::sleep(tick) => {}
                }
            }
            // Stopping: the tries under way finish and are recorded (`Background::stop` bounds
            // the wait; what it aborts stays leased and is tried again).
            while let Some(done) = in_flight.join_next().await {
                report(done);
            }
        });
        super::Background::new("webhook worker", stop, handle)
    }
}

/// Logs a try that could not be recorded or whose task failed.
fn report(done: std::result::Result<Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Err(e)) => {
            tracing::warn!(error = %crate::error::chain(&e), "a webhook delivery could not be recorded");
        }
        Err(e) => tracing::error!(error = %e, "a webhook delivery task failed"),
        Ok(Ok(())) => {}
    }
}

/// A running delivery worker.
pub type WebhookWorker = super::Background;
