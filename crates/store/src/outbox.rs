//! A transactional outbox for future webhook delivery: events are written next to the state
//! change and delivered later, with retries.

use sqlx::any::AnyRow;

use crate::row::RowExt;
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: String,
    pub topic: String,
    pub payload_json: String,
    pub created_at: i64,
    pub available_at: i64,
    pub attempts: i64,
    pub delivered_at: Option<i64>,
}

impl OutboxMessage {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.text("id")?,
            topic: row.text("topic")?,
            payload_json: row.text("payload")?,
            created_at: row.int("created_at")?,
            available_at: row.int("available_at")?,
            attempts: row.int("attempts")?,
            delivered_at: row.opt_int("delivered_at")?,
        })
    }
}

const COLUMNS: &str = "id, topic, payload, created_at, available_at, attempts, delivered_at";

impl Store {
    /// Queues a message, deliverable from `now_ms`. Returns its id (UUID v7).
    pub async fn enqueue_outbox(
        &self,
        topic: &str,
        payload_json: &str,
        now_ms: i64,
    ) -> Result<String> {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        sqlx::query(
            "INSERT INTO outbox (id, topic, payload, created_at, available_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(id.as_str())
        .bind(topic)
        .bind(payload_json)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Claims up to `limit` undelivered messages that are available now, by pushing their
    /// `available_at` to `now_ms + lease_ms` and counting an attempt. Two deliverers never
    /// claim the same message at the same time; an unacknowledged claim becomes available
    /// again when its lease runs out.
    pub async fn claim_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>> {
        let candidates = sqlx::query(
            "SELECT id FROM outbox WHERE delivered_at IS NULL AND available_at <= $1 \
             ORDER BY available_at, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let sql = format!(
            "UPDATE outbox SET available_at = $3, attempts = attempts + 1 \
             WHERE id = $1 AND delivered_at IS NULL AND available_at <= $2 RETURNING {COLUMNS}"
        );
        let mut claimed = Vec::new();
        for c in candidates {
            let id = c.text("id")?;
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id.as_str())
                .bind(now_ms)
                .bind(now_ms.saturating_add(lease_ms))
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                claimed.push(OutboxMessage::from_row(&row)?);
            }
        }
        Ok(claimed)
    }

    pub async fn mark_outbox_delivered(&self, id: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET delivered_at = $2 WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Schedules the next attempt (backoff is the caller's policy).
    pub async fn retry_outbox_at(&self, id: &str, available_at: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET available_at = $2 WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(available_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
