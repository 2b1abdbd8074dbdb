//! Request logs: every Vault call is recorded with the spec's `Log` fields and listed by
//! `GET /vault/logs`. Paths are stored without their query string, so no `state`, `code` or
//! token ever lands in a log row.

use patchbay_core::{ApplicationId, ConsumerId};
use patchbay_store::{LogFilter, RequestLog};

use super::Vault;
use super::dto::{LogView, NamedRef, PageView, iso_ms};
use crate::error::Result;

/// One finished request, as the HTTP layer saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub http_method: String,
    /// Path only, never the query.
    pub path: String,
    pub operation_id: String,
    pub operation_name: String,
    pub unified_api: String,
    pub status_code: u16,
    pub error_message: Option<String>,
    pub execution_ms: i64,
    pub source_ip: Option<String>,
}

pub const VAULT_SERVICE_ID: &str = "patchbay-vault";
pub const VAULT_SERVICE_NAME: &str = "Patchbay Vault";

impl Vault {
    /// Queues a Vault call's log entry; written off the request path like every other entry.
    pub fn record_request(&self, r: RequestRecord) {
        let log = self.request_log(r, VAULT_SERVICE_ID, VAULT_SERVICE_NAME);
        self.log_request_later(log);
    }

    /// One `/vault/logs` row for a call Patchbay answered on behalf of `service_id`.
    pub(crate) fn request_log(
        &self,
        r: RequestRecord,
        service_id: &str,
        service_name: &str,
    ) -> RequestLog {
        let base_url = url::Url::parse(self.public_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        RequestLog {
            id: uuid::Uuid::now_v7().hyphenated().to_string(),
            application_id: r.application_id,
            consumer_id: r.consumer_id,
            parent_id: None,
            child_request: false,
            has_children: false,
            api_style: "REST".to_owned(),
            base_url,
            http_method: r.http_method,
            path: r.path,
            operation_id: r.operation_id,
            operation_name: r.operation_name,
            service_id: service_id.to_owned(),
            service_name: service_name.to_owned(),
            unified_api: r.unified_api,
            status_code: i64::from(r.status_code),
            success: r.status_code < 400,
            error_message: r.error_message,
            duration_ms: 0.0,
            execution_ms: r.execution_ms,
            latency_ms: r.execution_ms as f64,
            sandbox: false,
            source_ip: r.source_ip,
            timestamp: self.now_ms(),
        }
    }

    pub async fn list_logs(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<PageView<LogView>> {
        // Read-your-writes on this node: what it has answered is in the list.
        self.flush_request_logs().await;
        let page = self
            .store()
            .list_request_logs(app, consumer, filter, cursor, limit)
            .await?;
        Ok(PageView {
            items: page.items.into_iter().map(log_view).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

fn log_view(l: RequestLog) -> LogView {
    LogView {
        id: l.id,
        parent_id: l.parent_id,
        child_request: l.child_request,
        has_children: l.has_children,
        api_style: l.api_style,
        base_url: l.base_url,
        consumer_id: l.consumer_id.to_string(),
        http_method: l.http_method,
        path: l.path,
        operation: NamedRef {
            id: l.operation_id,
            name: l.operation_name,
        },
        service: NamedRef {
            id: l.service_id,
            name: l.service_name,
        },
        unified_api: l.unified_api,
        status_code: l.status_code,
        success: l.success,
        error_message: l.error_message,
        duration: l.duration_ms,
        execution: l.execution_ms,
        latency: l.latency_ms,
        sandbox: l.sandbox,
        source_ip: l.source_ip,
        timestamp: iso_ms(l.timestamp),
    }
}
