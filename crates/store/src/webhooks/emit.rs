//! Writing events in the transaction that causes them.
//!
//! Every store method that changes a connection runs through [`Store::write_connection`]: it
//! locks the row, reads it, applies the write, reads it again, asks the installed
//! [`ConnectionEventHook`] which events the change fires, and inserts one outbox row per
//! matching enabled subscription, all before the commit. A change and its events are therefore
//! durable together or not at all, whichever code path (API, connect flow, refresh sweeper)
//! made the change.

use std::sync::Arc;

use patchbay_core::{ApplicationId, ConnectionId, ConsumerId};
use sqlx::AnyConnection;

use crate::connections::{COLUMNS, ConnectionRow};
use crate::{Result, Store};

/// One event to fan out to the application's matching subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Also the `x-apideck-idempotency-key`: the same on every try.
    pub event_id: String,
    pub application_id: patchbay_core::ApplicationId,
    pub consumer_id: Option<String>,
    /// Deliveries with the same key (a connection) go out one after the other, in order.
    pub ordering_key: String,
    pub event_type: String,
    pub entity_type: String,
    pub unified_api: String,
    pub service_id: String,
    /// The spec's payload without `execution_attempt`.
    pub payload_json: String,
    pub now_ms: i64,
}

/// Decides which events a connection write fires. The server installs one (it knows the
/// payload format); without one, writes fire nothing.
pub trait ConnectionEventHook: Send + Sync + std::fmt::Debug {
    /// `credentials_replaced` is true for a fresh grant (callback, import), false otherwise.
    fn events(
        &self,
        before: Option<&ConnectionRow>,
        after: Option<&ConnectionRow>,
        credentials_replaced: bool,
    ) -> Vec<NewEvent>;
}

impl Store {
    /// This store, with `hook` deciding the events of every connection write.
    pub fn with_event_hook(mut self, hook: Arc<dyn ConnectionEventHook>) -> Store {
        self.hook = Some(hook);
        self
    }

    /// Runs `write` on connection `id` inside a transaction that also records the events
    /// the change fires (see the module docs).
    pub(crate) async fn write_connection<T>(
        &self,
        id: &ConnectionId,
        credentials_replaced: bool,
        write: impl AsyncFnOnce(&mut AnyConnection) -> Result<T>,
    ) -> Result<T> {
        let Some(hook) = self.hook.clone() else {
            let mut conn = self.pool.acquire().await?;
            return write(&mut conn).await;
        };
        let mut tx = self.pool.begin().await?;
        // A no-op write first: it takes the row lock on PostgreSQL and the write lock on
        // SQLite before the read, so the "before" row cannot change under us (and SQLite
        // never has to upgrade a read transaction, which fails instead of waiting).
        sqlx::query("UPDATE connections SET updated_at = updated_at WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        let before = read_connection(&mut tx, id).await?;
        let out = write(&mut tx).await?;
        let after = read_connection(&mut tx, id).await?;
        for event in hook.events(before.as_ref(), after.as_ref(), credentials_replaced) {
            insert_event(&mut tx, &event).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Deletes a consumer and its connections in one transaction that also records the events
    /// each connection's removal fires, exactly as a connection delete would: the foreign-key
    /// cascade alone would remove the rows without the hook ever seeing them.
    pub(crate) async fn delete_consumer_with_events(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        // Lock first (row locks on PostgreSQL, the write lock on SQLite), then read: a
        // connection written concurrently is either deleted with its final state or not yet
        // created.
        sqlx::query(
            "UPDATE connections SET updated_at = updated_at \
             WHERE application_id = $1 AND consumer_id = $2",
        )
        .bind(app.as_str())
        .bind(consumer.as_str())
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM connections WHERE application_id = $1 AND consumer_id = $2 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(app.as_str())
            .bind(consumer.as_str())
            .fetch_all(&mut *tx)
            .await?;
        let before = rows
            .iter()
            .map(ConnectionRow::from_row)
            .collect::<Result<Vec<_>>>()?;
        sqlx::query("DELETE FROM connections WHERE application_id = $1 AND consumer_id = $2")
            .bind(app.as_str())
            .bind(consumer.as_str())
            .execute(&mut *tx)
            .await?;
        let done =
            sqlx::query("DELETE FROM consumers WHERE application_id = $1 AND consumer_id = $2")
                .bind(app.as_str())
                .bind(consumer.as_str())
                .execute(&mut *tx)
                .await?;
        if let Some(hook) = &self.hook {
            for row in &before {
                for event in hook.events(Some(row), None, false) {
                    insert_event(&mut tx, &event).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an event outside a connection write (the CRM poller), with the same fan-out.
    pub async fn emit_event(&self, event: &NewEvent) -> Result<u64> {
        let mut conn = self.pool.acquire().await?;
        insert_event(&mut conn, event).await
    }
}

async fn read_connection(
    conn: &mut AnyConnection,
    id: &ConnectionId,
) -> Result<Option<ConnectionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(ConnectionRow::from_row).transpose()
}

/// One outbox row per enabled subscription of the application that names the event or `*`.
/// Returns how many rows were written (0 when nobody listens: nothing is stored then).
pub(super) async fn insert_event(conn: &mut AnyConnection, e: &NewEvent) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO webhook_outbox (event_id, subscription_id, application_id, consumer_id, \
           ordering_key, event_type, entity_type, unified_api, service_id, payload, created_at, \
           available_at) \
         SELECT $1, s.id, s.application_id, $3, $4, $5, $6, $7, $8, $9, $10, $10 \
         FROM webhook_subscriptions s \
         WHERE s.application_id = $2 AND s.status = 'enabled' AND EXISTS ( \
           SELECT 1 FROM webhook_subscription_events se \
           WHERE se.subscription_id = s.id AND se.event_type IN ($5, '*'))",
    )
    .bind(e.event_id.as_str())
    .bind(e.application_id.as_str())
    .bind(e.consumer_id.as_deref())
    .bind(e.ordering_key.as_str())
    .bind(e.event_type.as_str())
    .bind(e.entity_type.as_str())
    .bind(e.unified_api.as_str())
    .bind(e.service_id.as_str())
    .bind(e.payload_json.as_str())
    .bind(e.now_ms)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}
