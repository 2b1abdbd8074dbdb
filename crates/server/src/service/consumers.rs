//! Consumers: the application's end customers, identified by an id the application chooses.

use patchbay_core::{ApplicationId, ConsumerId, ConsumerMetadata};
use patchbay_store::{ConsumerFilter, ConsumerRow};

use super::Vault;
use super::dto::{ConsumerView, PageView, RequestCountsView, iso_ms};
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
    ) -> Result<serde_json::Value> {
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
        Ok(serde_json::json!({
            "application_id": app.as_str(),
            "consumer_id": consumer.as_str(),
            "start_datetime": iso_ms(start_ms),
            "end_datetime": iso_ms(end_ms),
            "aggregated_request_count": c.total(),
            "request_counts": RequestCountsView { unify: c.unify, proxy: c.proxy, vault: c.vault },
        }))
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
        let services: Vec<String> = conns.iter().map(|c| c.service_id.to_string()).collect();
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
            consumer_id: row.consumer_id.to_string(),
            application_id: row.application_id.to_string(),
            metadata: row.metadata,
            connections,
            services,
            aggregated_request_count: counts.total(),
            request_counts: RequestCountsView {
                unify: counts.unify,
                proxy: counts.proxy,
                vault: counts.vault,
            },
            created: iso_ms(row.created_at),
            modified: iso_ms(row.updated_at),
            request_count_updated: iso_ms(now),
        })
    }
}
