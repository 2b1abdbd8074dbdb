//! The CRM poller's watermarks: per connection and polled object, the newest `SystemModstamp`
//! already turned into events (and the ids reported with exactly that stamp). They live in the
//! database, so a restart resumes where the last poll stopped instead of flooding old records
//! or missing new ones.
//!
//! `polled_at` doubles as the claim: a node polls a pair only after moving `polled_at` forward
//! by compare-and-set, so however many nodes share the database, a pair is polled at most once
//! per interval.

use patchbay_core::{ApplicationId, ConnectionId};

use super::emit::{NewEvent, insert_event};
use crate::connections::{COLUMNS, ConnectionRow};
use crate::row::RowExt;
use crate::{Result, Store};

/// A claimed poll: the watermark to poll from, `None` for the pair's first poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollClaim {
    pub watermark: Option<(i64, Vec<String>)>,
    /// A deletion pass under way (its stored text; empty when none): see
    /// [`Store::finish_crm_deletion_pass`].
    pub pass: String,
}

/// The subscriptions that make the poller look at a connection: enabled, naming a `crm.*`
/// event (or `*` on a `crm` subscription).
const CRM_SUBSCRIBERS: &str = "FROM webhook_subscriptions s \
    JOIN webhook_subscription_events se ON se.subscription_id = s.id \
    WHERE s.status = 'enabled' \
      AND (se.event_type LIKE 'crm.%' OR (se.event_type = '*' AND s.unified_api = 'crm'))";

impl Store {
    /// `(watermark_ms, polled_at)`, or `None` before the first poll.
    pub async fn poll_watermark(
        &self,
        connection: &ConnectionId,
        resource: &str,
    ) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT watermark_ms, polled_at FROM crm_poll_watermarks \
             WHERE connection_id = $1 AND resource = $2 AND watermark_ms >= 0",
        )
        .bind(connection.as_str())
        .bind(resource)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.int("watermark_ms")?, r.int("polled_at")?)))
            .transpose()
    }

    /// Sets the watermark (never backwards) and the poll time.
    pub async fn set_poll_watermark(
        &self,
        connection: &ConnectionId,
        resource: &str,
        watermark_ms: i64,
        polled_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO crm_poll_watermarks (connection_id, resource, watermark_ms, polled_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (connection_id, resource) DO UPDATE SET \
               watermark_ms = CASE WHEN excluded.watermark_ms > crm_poll_watermarks.watermark_ms \
                 THEN excluded.watermark_ms ELSE crm_poll_watermarks.watermark_ms END, \
               polled_at = excluded.polled_at",
        )
        .bind(connection.as_str())
        .bind(resource)
        .bind(watermark_ms)
        .bind(polled_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claims the poll of `(connection, object)` if it was last claimed at or before
    /// `now_ms - interval_ms` (or never): one statement, a compare-and-set on `polled_at`, so
    /// of several nodes racing for a pair exactly one wins per interval. `None` when another
    /// poll holds the interval.
    pub async fn claim_crm_poll(
        &self,
        connection: &ConnectionId,
        object: &str,
        now_ms: i64,
        interval_ms: i64,
    ) -> Result<Option<PollClaim>> {
        let row = sqlx::query(
            "INSERT INTO crm_poll_watermarks (connection_id, resource, watermark_ms, polled_at, \
               seen_ids) VALUES ($1, $2, -1, $3, '') \
             ON CONFLICT (connection_id, resource) DO UPDATE SET polled_at = excluded.polled_at \
             WHERE crm_poll_watermarks.polled_at <= $4 \
             RETURNING watermark_ms, seen_ids, pass_cursor",
        )
        .bind(connection.as_str())
        .bind(object)
        .bind(now_ms)
        .bind(now_ms.saturating_sub(interval_ms))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let watermark_ms = row.int("watermark_ms")?;
        let seen = row
            .text("seen_ids")?
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Some(PollClaim {
            watermark: (watermark_ms >= 0).then_some((watermark_ms, seen)),
            pass: row.text("pass_cursor")?,
        }))
    }

    /// Records a finished poll in one transaction: its events (fanned out like every other
    /// event) and the new watermark, so a crash can neither report a change twice nor lose it.
    /// The watermark never moves backwards. Returns how many outbox rows were written.
    pub async fn finish_crm_poll(
        &self,
        connection: &ConnectionId,
        object: &str,
        watermark_ms: i64,
        seen_ids: &[String],
        events: &[NewEvent],
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let mut written = 0;
        for event in events {
            written += insert_event(&mut tx, event).await?;
        }
        sqlx::query(
            "UPDATE crm_poll_watermarks SET watermark_ms = $3, seen_ids = $4 \
             WHERE connection_id = $1 AND resource = $2 AND watermark_ms <= $3",
        )
        .bind(connection.as_str())
        .bind(object)
        .bind(watermark_ms)
        .bind(seen_ids.join(" "))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(written)
    }

    /// Records the claim of a deletion pass (claimed at `claimed_at`, as [`Store::claim_crm_poll`]
    /// was given `now_ms`) in one transaction: its events, the mark, the rows it remembers and
    /// the pass under way. Unlike a change poll, a pass can outlast its interval (several pages),
    /// so it is written only if no later claim took the pair meanwhile; otherwise nothing is
    /// written (the later claim reads the same rows again) and `None` is returned. Otherwise
    /// returns how many outbox rows were written.
    #[allow(
        clippy::too_many_arguments,
        reason = "one row's columns and its events, written together"
    )]
    pub async fn finish_crm_deletion_pass(
        &self,
        connection: &ConnectionId,
        key: &str,
        claimed_at: i64,
        mark_ms: i64,
        seen: &[String],
        pass: &str,
        events: &[NewEvent],
    ) -> Result<Option<u64>> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE crm_poll_watermarks SET watermark_ms = $4, seen_ids = $5, pass_cursor = $6 \
             WHERE connection_id = $1 AND resource = $2 AND polled_at = $3 AND watermark_ms <= $4",
        )
        .bind(connection.as_str())
        .bind(key)
        .bind(claimed_at)
        .bind(mark_ms)
        .bind(seen.join(" "))
        .bind(pass)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut written = 0;
        for event in events {
            written += insert_event(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(Some(written))
    }

    /// The `crm.*` event types (and `*`) that enabled subscriptions of each application name,
    /// as `(application, event type)` pairs.
    pub async fn crm_subscribed_events(&self) -> Result<Vec<(ApplicationId, String)>> {
        let sql = format!("SELECT DISTINCT s.application_id, se.event_type {CRM_SUBSCRIBERS}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.id("application_id")?, r.text("event_type")?)))
            .collect()
    }

    /// The enabled CRM connections (every provider) of applications with a CRM subscription: the
    /// poller's candidates (it still checks each one is callable).
    pub async fn crm_poll_connections(&self) -> Result<Vec<ConnectionRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM connections \
             WHERE unified_api = 'crm' \
               AND application_id IN (SELECT s.application_id {CRM_SUBSCRIBERS}) \
             ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let row = ConnectionRow::from_row(row)?;
            if row.enabled {
                out.push(row);
            }
        }
        Ok(out)
    }
}
