//! The CRM poller's watermarks: per connection and resource, the newest `SystemModstamp`
//! already turned into events. They live in the database, so a restart resumes where the
//! last poll stopped instead of flooding old records or missing new ones.

use patchbay_core::ConnectionId;

use crate::row::RowExt;
use crate::{Result, Store};

impl Store {
    /// `(watermark_ms, polled_at)`, or `None` before the first poll.
    pub async fn poll_watermark(
        &self,
        connection: &ConnectionId,
        resource: &str,
    ) -> Result<Option<(i64, i64)>> {
        let row = sqlx::query(
            "SELECT watermark_ms, polled_at FROM crm_poll_watermarks \
             WHERE connection_id = $1 AND resource = $2",
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
}
