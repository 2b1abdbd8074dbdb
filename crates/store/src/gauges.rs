//! Counts for `/metrics` gauges, read at scrape time: connections by health and the webhook
//! outbox's backlog. Two aggregate queries; the server caches their answer for a few seconds
//! so frequent scrapes cannot load the database.

use crate::row::RowExt;
use crate::{Result, Store};

/// Connections by `(health, enabled)`, and pending webhook deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationalCounts {
    /// `(health, enabled, count)`, sorted; only combinations that exist.
    pub connections: Vec<(String, bool, i64)>,
    /// Outbox rows not yet delivered or given up on (`state = 'pending'`), every application.
    pub webhook_backlog: i64,
}

impl Store {
    pub async fn operational_counts(&self) -> Result<OperationalCounts> {
        let rows = sqlx::query(
            "SELECT health, enabled, COUNT(*) AS n FROM connections \
             GROUP BY health, enabled ORDER BY health, enabled",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut connections = Vec::with_capacity(rows.len());
        for row in &rows {
            connections.push((row.text("health")?, row.flag("enabled")?, row.int("n")?));
        }
        // Served by the `(state, available_at)` index.
        let webhook_backlog = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM webhook_outbox WHERE state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(OperationalCounts {
            connections,
            webhook_backlog,
        })
    }
}
