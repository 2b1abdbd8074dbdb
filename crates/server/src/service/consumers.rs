//! Consumers: the application's end customers, identified by an id the application chooses.

use patchbay_core::{ApplicationId, ConsumerId, ConsumerMetadata};
use patchbay_store::{ConsumerFilter, ConsumerRow};

use super::Vault;
use super::views::{ConsumerStats, ConsumerView, PageView};
use crate::error::{Error, Result};

const MAX_METADATA_FIELD: usize = 2048;

pub(crate) fn check_metadata(m: &ConsumerMetadata) -> Result<()> {
    for (name, v) in [
        ("account_name", &m.account_name),
        ("user_name", &m.user_name),
        ("email", &m.email),
        ("image", &m.image),
    ] {
        if v.as_ref().is_some_and(|s| s.len() > MAX_METADATA_FIELD) {
            return Err(Error::validation(format!(
                "metadata.{name} is longer than {MAX_METADATA_FIELD} bytes"
            )));
        }
    }
    Ok(())
}

impl Vault {
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn create_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        metadata: &ConsumerMetadata,
    ) -> Result<ConsumerView> {
        check_metadata(metadata)?;
        let row = self
            .store()
            .create_consumer(app, consumer, metadata, self.now_ms())
            .await?;
        self.consumer_view(row, true).await
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn list_consumers(
        &self,
        app: &ApplicationId,
        filter: &ConsumerFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<PageView<ConsumerView>> {
        let page = self
            .store()
            .list_consumers(app, filter, cursor, limit)
            .await?;
        let mut items = Vec::with_capacity(page.items.len());
        for row in page.items {
            items.push(self.consumer_view(row, false).await?);
        }
        Ok(PageView {
            items,
            next_cursor: page.next_cursor,
        })
    }

    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn get_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
    ) -> Result<ConsumerView> {
        let row = self.consumer_row(app, consumer).await?;
        self.consumer_view(row, true).await
    }

    pub(crate) async fn consumer_row(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
    ) -> Result<ConsumerRow> {
        self.store()
            .get_consumer(app, consumer)
            .await?
            .ok_or(Error::NotFound { entity: "consumer" })
    }

    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn update_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        metadata: &ConsumerMetadata,
    ) -> Result<ConsumerView> {
        check_metadata(metadata)?;
        let row = self
            .store()
            .update_consumer(app, consumer, metadata, self.now_ms())
            .await?
            .ok_or(Error::NotFound { entity: "consumer" })?;
        self.consumer_view(row, true).await
    }

    /// Deletes the consumer and all its connections; each connection's grant is revoked at the
    /// provider first (best effort), as a connection delete would.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn delete_consumer(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        actor: &super::audit::Actor,
    ) -> Result<()> {
        self.consumer_row(app, consumer).await?;
        let connections = self.store().list_connections(app, Some(consumer)).await?;
        for c in &connections {
            self.revoke_at_provider_best_effort(c).await;
            self.audit(Some(app), actor, "connection.delete", c.id.as_str(), serde_json::json!({
                "consumer_id": consumer.as_str(), "service_id": c.service_id.as_str(), "reason": "consumer deleted",
            })).await?;
        }
        self.forget_cached_tokens();
        if !self.store().delete_consumer(app, consumer).await? {
            return Err(Error::NotFound { entity: "consumer" });
        }
        Ok(())
    }

    /// `GET /vault/consumers/{id}/stats`: request counts in `[start_ms, end_ms]`.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn consumer_stats(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<ConsumerStats> {
        if start_ms > end_ms {
            return Err(Error::validation(
                "start_datetime must not be after end_datetime",
            ));
        }
        self.consumer_row(app, consumer).await?;
        // Counts include every call this node has answered (queued log entries first).
        self.flush_request_logs().await;
        let c = self
            .store()
            .count_requests(app, consumer, start_ms, end_ms)
            .await?;
        Ok(ConsumerStats {
            application_id: app.clone(),
            consumer_id: consumer.clone(),
            start_ms,
            end_ms,
            request_counts: c,
        })
    }

    pub(crate) async fn consumer_view(
        &self,
        row: ConsumerRow,
        with_connections: bool,
    ) -> Result<ConsumerView> {
        let now = self.now_ms();
        self.flush_request_logs().await;
        let counts = self
            .store()
            .count_requests(&row.application_id, &row.consumer_id, 0, now)
            .await?;
        let conns = self
            .store()
            .list_connections(&row.application_id, Some(&row.consumer_id))
            .await?;
        let services = conns.iter().map(|c| c.service_id.clone()).collect();
        let connections = if with_connections {
            let mut out = Vec::with_capacity(conns.len());
            for c in &conns {
                out.push(self.consumer_connection_view(c).await?);
            }
            Some(out)
        } else {
            None
        };
        Ok(ConsumerView {
            consumer_id: row.consumer_id,
            application_id: row.application_id,
            metadata: row.metadata,
            connections,
            services,
            request_counts: counts,
            created_at: row.created_at,
            updated_at: row.updated_at,
            counted_at: now,
        })
    }
}
