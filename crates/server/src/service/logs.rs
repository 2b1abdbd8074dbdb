//! Request logs: every Vault call is recorded with the spec's `Log` fields and listed by
//! `GET /vault/logs`. Paths are stored without their query string, so no `state`, `code` or
//! token ever lands in a log row.
//!
//! The three times are measured, never made up ([`Timing`]): `execution` is the whole request
//! as Patchbay served it, `duration` the time spent calling the service provider, `latency`
//! what Patchbay added on top.

use std::time::Duration;

use patchbay_core::{ApplicationId, ConsumerId, ServiceId};
use patchbay_store::{LogFilter, LogText, RequestLog};

use super::Vault;
use super::views::{LogView, NamedRef, PageView};
use crate::error::Result;

/// One finished request, as the HTTP layer saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub http_method: LogText,
    /// Path only, never the query.
    pub path: String,
    pub operation_id: LogText,
    pub operation_name: LogText,
    pub unified_api: LogText,
    pub status_code: u16,
    pub error_message: Option<String>,
    pub timing: Timing,
    pub source_ip: Option<String>,
    /// The request's `x-request-id` (see `crate::request_id`).
    pub request_id: Option<String>,
}

/// How long a request took, as measured by the layer that served it.
///
/// The spec's `Log` has three times: `execution`, "the entire execution time in milliseconds it
/// took to make the request" (an integer); `duration`, the time "it took to call the
/// service provider"; and `latency`, the time "added by making this request via Unified Api".
/// Its example (2248 = 2220.38 + 27.62) shows execution = duration + latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// From the request's arrival to its response (for the proxy: to the response headers;
    /// the body streams after).
    pub total: Duration,
    /// Time spent in calls to the service provider, summed over every call (a list that follows
    /// `nextRecordsUrl`, retries). `None` when the provider was never called: the request
    /// failed first. For a Vault call the provider is Patchbay's Vault itself, so its caller
    /// passes the whole time.
    pub provider: Option<Duration>,
}

impl Timing {
    /// A request Patchbay answered itself (a Vault call): all of it is the service's time.
    pub fn served_by_patchbay(total: Duration) -> Self {
        Self {
            total,
            provider: Some(total),
        }
    }

    /// `(duration, execution, latency)` in ms, the spec's `Log` fields. `execution` is whole
    /// ms rounded up, so it is never below `duration`; `latency` is what is left of the total
    /// after the provider's part (0 when the provider took all of it).
    pub fn log_fields(&self) -> (f64, i64, f64) {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let total = ms(self.total);
        let provider = self.provider.map_or(0.0, ms).min(total);
        let execution =
            i64::try_from(self.total.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX);
        (provider, execution, (total - provider).max(0.0))
    }
}

/// A method as log text: the standard ones borrowed, so logging one allocates nothing.
pub fn method_text(method: &axum::http::Method) -> LogText {
    use axum::http::Method;
    let standard = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::CONNECT,
    ];
    const NAMES: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ];
    match standard.iter().position(|m| m == method) {
        Some(i) => LogText::Borrowed(NAMES[i]),
        None => LogText::Owned(method.as_str().to_owned()),
    }
}

pub const VAULT_SERVICE_ID: &str = "patchbay-vault";
pub const VAULT_SERVICE_NAME: &str = "Patchbay Vault";

impl Vault {
    /// Queues a Vault call's log entry; written off the request path like every other entry.
    pub async fn record_request(&self, r: RequestRecord) {
        let log = self.request_log(r, VAULT_SERVICE_ID.into(), VAULT_SERVICE_NAME.into());
        self.log_request(log).await;
    }

    /// Queues a `/proxy` call's log entry. `r.path` is replaced by the downstream target's path
    /// (no query) and `base_url` is its host; `service` is the connection's service, or the one
    /// the caller asked for when no connection was resolved.
    pub async fn log_proxy_request(
        &self,
        r: RequestRecord,
        target: Option<&url::Url>,
        service: Option<&ServiceId>,
    ) {
        let (service_id, service_name): (LogText, LogText) = match service {
            // A known connector's id and name are constants: borrowed, not copied per call.
            Some(s) => match patchbay_connectors::registry::connector(s.as_str()) {
                Some(c) => (c.service_id().into(), c.display().name.into()),
                None => (s.as_str().to_owned().into(), s.as_str().to_owned().into()),
            },
            None => ("unknown".into(), "Unknown".into()),
        };
        let base_url = target
            .and_then(url::Url::host_str)
            .unwrap_or_default()
            .to_owned();
        let path = target.map(|t| t.path().to_owned()).unwrap_or_default();
        let log = self.request_log_at(r, service_id, service_name, base_url, path);
        self.log_request(log).await;
    }

    /// One `/vault/logs` row for a call Patchbay answered on behalf of `service_id`.
    pub(crate) fn request_log(
        &self,
        mut r: RequestRecord,
        service_id: LogText,
        service_name: LogText,
    ) -> RequestLog {
        let base_url = self.public_host().to_owned();
        let path = std::mem::take(&mut r.path);
        self.request_log_at(r, service_id, service_name, base_url, path)
    }

    /// [`Self::request_log`] with the host and path given (the proxy logs its target's).
    fn request_log_at(
        &self,
        r: RequestRecord,
        service_id: LogText,
        service_name: LogText,
        base_url: String,
        path: String,
    ) -> RequestLog {
        let (duration_ms, execution_ms, latency_ms) = r.timing.log_fields();
        RequestLog {
            id: uuid::Uuid::now_v7()
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer())
                .to_owned(),
            application_id: r.application_id,
            consumer_id: r.consumer_id,
            parent_id: None,
            child_request: false,
            has_children: false,
            api_style: LogText::Borrowed("REST"),
            base_url,
            http_method: r.http_method,
            path,
            operation_id: r.operation_id,
            operation_name: r.operation_name,
            service_id,
            service_name,
            unified_api: r.unified_api,
            status_code: i64::from(r.status_code),
            success: r.status_code < 400,
            error_message: r.error_message,
            duration_ms,
            execution_ms,
            latency_ms,
            sandbox: false,
            source_ip: r.source_ip,
            timestamp: self.now_ms(),
            request_id: r.request_id,
        }
    }

    /// One consumer's request log, newest first (`GET /vault/logs`).
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn list_logs(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<PageView<LogView>> {
        self.list_application_logs(app, Some(consumer), filter, cursor, limit)
            .await
    }

    /// An application's request log, newest first: one consumer's, or with `consumer = None`
    /// every consumer's (the admin console's default view).
    #[tracing::instrument(skip_all, fields(app = %app, consumer = ?consumer))]
    pub async fn list_application_logs(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        filter: &LogFilter,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<PageView<LogView>> {
        // Read-your-writes on this node: what it has answered is in the list.
        self.flush_request_logs().await;
        let page = self
            .store()
            .list_application_request_logs(app, consumer, filter, cursor, limit)
            .await?;
        Ok(PageView {
            items: page.items.into_iter().map(log_view).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

fn log_view(l: RequestLog) -> LogView {
    LogView {
        // The spec's `id` is the "Request Identifier": the request id a caller saw in
        // `x-request-id` and in an error's `ref`, so either finds the entry. Rows older than the
        // column, and gap markers, show their own row id.
        id: l.request_id.unwrap_or(l.id),
        parent_id: l.parent_id,
        child_request: l.child_request,
        has_children: l.has_children,
        api_style: l.api_style.into_owned(),
        base_url: l.base_url,
        consumer_id: l.consumer_id,
        http_method: l.http_method.into_owned(),
        path: l.path,
        operation: NamedRef {
            id: l.operation_id.into_owned(),
            name: l.operation_name.into_owned(),
        },
        service: NamedRef {
            id: l.service_id.into_owned(),
            name: l.service_name.into_owned(),
        },
        unified_api: l.unified_api.into_owned(),
        status_code: l.status_code,
        success: l.success,
        error_message: l.error_message,
        duration: l.duration_ms,
        execution: l.execution_ms,
        latency: l.latency_ms,
        sandbox: l.sandbox,
        source_ip: l.source_ip,
        timestamp: l.timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_three_times_add_up_and_come_from_the_measurements() {
        let t = Timing {
            total: Duration::from_micros(2_248_000),
            provider: Some(Duration::from_micros(2_220_379)),
        };
        let (duration, execution, latency) = t.log_fields();
        assert!(close(duration, 2220.379), "{duration}");
        assert_eq!(execution, 2248);
        assert!(close(latency, 27.621), "{latency}");

        // The provider never called: nothing is attributed to it.
        let failed_early = Timing {
            total: Duration::from_micros(1_500),
            provider: None,
        };
        let (duration, execution, latency) = failed_early.log_fields();
        assert_eq!((duration, execution), (0.0, 2));
        assert!(close(latency, 1.5), "{latency}");

        // A Vault call: the service is Patchbay itself, so no overhead on top of it.
        let (duration, execution, latency) =
            Timing::served_by_patchbay(Duration::from_micros(300)).log_fields();
        assert!(close(duration, 0.3), "{duration}");
        assert_eq!(execution, 1, "rounded up: never below duration");
        assert_eq!(latency, 0.0);

        // A clock quirk can never make latency negative or duration exceed the total.
        let odd = Timing {
            total: Duration::from_millis(5),
            provider: Some(Duration::from_millis(7)),
        };
        let (duration, execution, latency) = odd.log_fields();
        assert!(close(duration, 5.0), "{duration}");
        assert_eq!((execution, latency), (5, 0.0));
    }
}
