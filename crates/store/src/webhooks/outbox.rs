//! Delivery claiming, outcomes and the event log.
//!
//! A claim takes, per (subscription, connection), only the oldest pending row, and only when
//! its `available_at` has come: deliveries of one connection are therefore sent in order, one
//! at a time. Claiming pushes `available_at` past a lease, so a node that dies mid-delivery
//! leaves a row that another node (or the same one, restarted) claims when the lease runs out.
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so nodes sharing it never take the same row;
//! SQLite serialises writers and is for a single node.

use patchbay_core::ApplicationId;
use sqlx::any::AnyRow;

use crate::row::RowExt;
use crate::sealed::Sealed;
use crate::{Backend, Page, Result, Store};

/// A claimed delivery with what the worker needs to send it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub seq: i64,
    pub event_id: String,
    /// This try's number (1-based); outcomes must quote it.
    pub attempt: i64,
    pub subscription_id: String,
    pub application_id: ApplicationId,
    pub event_type: String,
    pub payload_json: String,
    pub delivery_url: String,
    pub api_key_sealed: Sealed,
    pub secret_sealed: Sealed,
}

/// The result of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub seq: i64,
    pub attempt: i64,
    pub at_ms: i64,
    /// 0 when no HTTP answer came (timeout, refused connection).
    pub status_code: i64,
    pub success: bool,
    pub response_body: Option<String>,
    /// When to try again; `None` after a failure means the tries are exhausted.
    pub retry_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    pub attempt: i64,
    pub at_ms: i64,
    pub status_code: i64,
    pub success: bool,
}

/// One event × subscription, as `/webhook/logs` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookLogRow {
    pub seq: i64,
    pub event_id: String,
    pub subscription_id: String,
    pub application_id: ApplicationId,
    pub consumer_id: Option<String>,
    pub unified_api: String,
    pub service_id: String,
    pub event_type: String,
    pub entity_type: String,
    pub payload_json: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub delivery_url: String,
    pub created_at: i64,
    pub available_at: i64,
    pub last_response_body: Option<String>,
    pub history: Vec<WebhookAttempt>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookLogFilter {
    pub event_type: Option<String>,
    pub consumer_id: Option<String>,
    pub entity_type: Option<String>,
    pub event_id: Option<String>,
    pub success: Option<bool>,
}

const OUTBOX_COLUMNS: &str = "seq, event_id, subscription_id, application_id, consumer_id, \
    unified_api, service_id, event_type, entity_type, payload, state, attempts, last_status, \
    created_at, available_at";

/// Bodies kept in the log are cut to this many bytes.
pub const RESPONSE_BODY_LIMIT: usize = 2048;

impl Store {
    /// Claims up to `limit` deliveries due at `now_ms`, leased until `now_ms + lease_ms`.
    pub async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_outbox SET available_at = $2, attempts = attempts + 1 \
             WHERE state = 'pending' AND available_at <= $1 AND seq IN ( \
               SELECT o.seq FROM webhook_outbox o \
               WHERE o.state = 'pending' AND o.available_at <= $1 \
                 AND NOT EXISTS (SELECT 1 FROM webhook_outbox p \
                   WHERE p.subscription_id = o.subscription_id \
                     AND p.ordering_key = o.ordering_key AND p.state = 'pending' AND p.seq < o.seq) \
                 AND EXISTS (SELECT 1 FROM webhook_subscriptions s \
                   WHERE s.id = o.subscription_id AND s.status = 'enabled') \
               ORDER BY o.seq LIMIT $3 {lock}) \
             RETURNING {OUTBOX_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now_ms)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let subscription_id = row.text("subscription_id")?;
            let sub = sqlx::query(
                "SELECT delivery_url, api_key_sealed, secret_sealed FROM webhook_subscriptions \
                 WHERE id = $1",
            )
            .bind(subscription_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
            // Deleted since the claim: its rows went with it.
            let Some(sub) = sub else { continue };
            out.push(ClaimedDelivery {
                seq: row.int("seq")?,
                event_id: row.text("event_id")?,
                attempt: row.int("attempts")?,
                subscription_id,
                application_id: row.id("application_id")?,
                event_type: row.text("event_type")?,
                payload_json: row.text("payload")?,
                delivery_url: sub.text("delivery_url")?,
                api_key_sealed: sub
                    .sealed("api_key_sealed")?
                    .unwrap_or_else(|| Sealed::new(Vec::new())),
                secret_sealed: sub
                    .sealed("secret_sealed")?
                    .unwrap_or_else(|| Sealed::new(Vec::new())),
            });
        }
        out.sort_by_key(|d| d.seq);
        Ok(out)
    }

    /// Records one try's outcome, if the row is still this try's (a try whose lease ran out
    /// and was claimed again is stale: its outcome is dropped). Exhausted tries mark the row
    /// failed and disable the subscription with `retry_limit`, in the same transaction.
    pub async fn finish_delivery(&self, o: &DeliveryOutcome) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let (state, available_at) = match (o.success, o.retry_at) {
            (true, _) => ("delivered", o.at_ms),
            (false, Some(at)) => ("pending", at),
            (false, None) => ("failed", o.at_ms),
        };
        let finished = (state != "pending").then_some(o.at_ms);
        let row = sqlx::query(
            "UPDATE webhook_outbox SET state = $3, available_at = $4, last_status = $5, \
               finished_at = $6 \
             WHERE seq = $1 AND attempts = $2 AND state = 'pending' RETURNING subscription_id",
        )
        .bind(o.seq)
        .bind(o.attempt)
        .bind(state)
        .bind(available_at)
        .bind(o.status_code)
        .bind(finished)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let body = o
            .response_body
            .as_deref()
            .map(|b| cut(b, RESPONSE_BODY_LIMIT));
        sqlx::query(
            "INSERT INTO webhook_attempts (outbox_seq, attempt, at_ms, status_code, success, \
               response_body) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (outbox_seq, attempt) DO NOTHING",
        )
        .bind(o.seq)
        .bind(o.attempt)
        .bind(o.at_ms)
        .bind(o.status_code)
        .bind(i64::from(o.success))
        .bind(body)
        .execute(&mut *tx)
        .await?;
        if state == "failed" {
            sqlx::query(
                "UPDATE webhook_subscriptions SET status = 'disabled', \
                   disabled_reason = 'retry_limit', updated_at = $2 WHERE id = $1",
            )
            .bind(row.text("subscription_id")?)
            .bind(o.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The application's event log, newest first, keyset-paged by `seq`.
    pub async fn list_webhook_logs(
        &self,
        app: &ApplicationId,
        filter: &WebhookLogFilter,
        cursor: Option<i64>,
        limit: u32,
    ) -> Result<Page<WebhookLogRow>> {
        let limit = i64::from(limit.clamp(1, 200));
        let cols = OUTBOX_COLUMNS
            .split(", ")
            .map(|c| format!("o.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, s.delivery_url FROM webhook_outbox o \
             JOIN webhook_subscriptions s ON s.id = o.subscription_id \
             WHERE o.application_id = $1 AND ($2 IS NULL OR o.seq < $2) \
               AND ($3 IS NULL OR o.event_type = $3) AND ($4 IS NULL OR o.consumer_id = $4) \
               AND ($5 IS NULL OR o.entity_type = $5) AND ($6 IS NULL OR o.event_id = $6) \
               AND ($7 IS NULL OR ($7 = 1 AND o.state = 'delivered') \
                    OR ($7 = 0 AND o.state <> 'delivered')) \
             ORDER BY o.seq DESC LIMIT $8"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(cursor)
            .bind(filter.event_type.as_deref())
            .bind(filter.consumer_id.as_deref())
            .bind(filter.entity_type.as_deref())
            .bind(filter.event_id.as_deref())
            .bind(filter.success.map(i64::from))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut items = Vec::new();
        for row in rows.iter().take(usize::try_from(limit).unwrap_or(200)) {
            items.push(self.log_row(row).await?);
        }
        let next_cursor = (rows.len() > items.len())
            .then(|| items.last().map(|i| i.seq.to_string()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    async fn log_row(&self, row: &AnyRow) -> Result<WebhookLogRow> {
        let seq = row.int("seq")?;
        let attempts = sqlx::query(
            "SELECT attempt, at_ms, status_code, success, response_body FROM webhook_attempts \
             WHERE outbox_seq = $1 ORDER BY attempt",
        )
        .bind(seq)
        .fetch_all(&self.pool)
        .await?;
        let mut history = Vec::new();
        let mut last_response_body = None;
        for a in &attempts {
            history.push(WebhookAttempt {
                attempt: a.int("attempt")?,
                at_ms: a.int("at_ms")?,
                status_code: a.int("status_code")?,
                success: a.flag("success")?,
            });
            last_response_body = a.opt_text("response_body")?;
        }
        Ok(WebhookLogRow {
            seq,
            event_id: row.text("event_id")?,
            subscription_id: row.text("subscription_id")?,
            application_id: row.id("application_id")?,
            consumer_id: row.opt_text("consumer_id")?,
            unified_api: row.text("unified_api")?,
            service_id: row.text("service_id")?,
            event_type: row.text("event_type")?,
            entity_type: row.text("entity_type")?,
            payload_json: row.text("payload")?,
            state: row.text("state")?,
            attempts: row.int("attempts")?,
            last_status: row.opt_int("last_status")?,
            delivery_url: row.text("delivery_url")?,
            created_at: row.int("created_at")?,
            available_at: row.int("available_at")?,
            last_response_body,
            history,
        })
    }

    /// How many deliveries of the application are not finished yet.
    pub async fn pending_deliveries(&self, app: &ApplicationId) -> Result<i64> {
        Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM webhook_outbox WHERE application_id = $1 AND state = 'pending'",
        )
        .bind(app.as_str())
        .fetch_one(&self.pool)
        .await?)
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
