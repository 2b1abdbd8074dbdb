//! The service layer's part of `/metrics`: downstream calls, refreshes and lease waits, the
//! request-log writer, webhook deliveries, and two gauges read from the database (connections
//! by health, the webhook backlog), cached for [`GAUGE_TTL`] so scrapes cannot hammer it.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use patchbay_core::metrics::{HistogramSnapshot, LATENCY_BUCKETS};
use patchbay_refresh::RefreshOutcome;
use patchbay_store::OperationalCounts;

use crate::service::Vault;
use crate::service::telemetry::{CallKind, PROVIDERS};

/// How long a gauge read from the database is reused.
pub const GAUGE_TTL: Duration = Duration::from_secs(5);
/// A scrape never waits longer than this for the database: during an outage `/metrics` must
/// still answer quickly with everything it counts in memory.
const GAUGE_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// The last database read for the gauges. A tokio mutex: concurrent scrapes wait for one query
/// instead of each running their own.
#[derive(Default)]
pub struct GaugeCache {
    last: tokio::sync::Mutex<Option<(Instant, OperationalCounts)>>,
}

impl GaugeCache {
    /// The counts, from the cache when younger than [`GAUGE_TTL`]. When the database cannot be
    /// read, the last counts (stale, but real) or `None` if there are none: the gauges are then
    /// left out rather than made up.
    async fn get(&self, vault: &Vault) -> Option<OperationalCounts> {
        let mut last = self.last.lock().await;
        if let Some((at, counts)) = last.as_ref()
            && at.elapsed() < GAUGE_TTL
        {
            return Some(counts.clone());
        }
        let read =
            tokio::time::timeout(GAUGE_QUERY_TIMEOUT, vault.store().operational_counts()).await;
        match read {
            Ok(Ok(counts)) => {
                *last = Some((Instant::now(), counts.clone()));
                Some(counts)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::error::chain(&e), "metrics: could not count connections");
                last.as_ref().map(|(_, c)| c.clone())
            }
            Err(_) => {
                tracing::warn!("metrics: counting connections timed out");
                last.as_ref().map(|(_, c)| c.clone())
            }
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &HistogramSnapshot) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (le, n) in LATENCY_BUCKETS.iter().zip(h.cumulative) {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let braced = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braced} {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count{braced} {}", h.count);
}

/// Appends the service layer's metrics to `out`.
pub async fn render(out: &mut String, vault: &Vault, gauges: &GaugeCache) {
    let downstream = vault.downstream_stats();
    header(
        out,
        "patchbay_downstream_requests_total",
        "counter",
        "HTTP calls to providers by API (crm, proxy), provider and outcome (status class, timeout, error).",
    );
    for (kind, provider, outcome, n) in downstream.counts() {
        let _ = writeln!(
            out,
            "patchbay_downstream_requests_total{{kind=\"{kind}\",provider=\"{provider}\",outcome=\"{outcome}\"}} {n}"
        );
    }
    header(
        out,
        "patchbay_downstream_request_duration_seconds",
        "histogram",
        "Time of each call to a provider (CRM: to the last byte; proxy: to the response head).",
    );
    for kind in CallKind::ALL {
        for provider in PROVIDERS {
            let labels = format!("kind=\"{}\",provider=\"{provider}\"", kind.as_str());
            let h = downstream.latency(kind, provider).snapshot();
            histogram(
                out,
                "patchbay_downstream_request_duration_seconds",
                &labels,
                &h,
            );
        }
    }

    let refresh = vault.refresher().stats();
    header(
        out,
        "patchbay_token_refreshes_total",
        "counter",
        "Token refreshes by outcome; coalesced: the caller used a refresh another caller or node made.",
    );
    for outcome in RefreshOutcome::ALL {
        let _ = writeln!(
            out,
            "patchbay_token_refreshes_total{{outcome=\"{}\"}} {}",
            outcome.as_str(),
            refresh.outcome(outcome)
        );
    }
    header(
        out,
        "patchbay_refresh_lease_waits_total",
        "counter",
        "Refreshes that found another holder's lease and waited.",
    );
    let _ = writeln!(
        out,
        "patchbay_refresh_lease_waits_total {}",
        refresh.lease_waits.get()
    );
    header(
        out,
        "patchbay_refresh_lease_wait_seconds",
        "histogram",
        "How long those waits lasted.",
    );
    histogram(
        out,
        "patchbay_refresh_lease_wait_seconds",
        "",
        &refresh.lease_wait_seconds.snapshot(),
    );

    let log = vault.log_writer_stats();
    header(
        out,
        "patchbay_request_log_queue_depth",
        "gauge",
        "Request-log entries queued, not yet taken by the writer.",
    );
    let _ = writeln!(
        out,
        "patchbay_request_log_queue_depth {}",
        log.queued.load(Relaxed)
    );
    header(
        out,
        "patchbay_request_log_entries_total",
        "counter",
        "Request-log entries by fate: written, shed (queue stayed full), failed (refused by the database).",
    );
    for (fate, n) in [
        ("written", log.written.load(Relaxed)),
        ("shed", log.shed.load(Relaxed)),
        ("failed", log.failed.load(Relaxed)),
    ] {
        let _ = writeln!(
            out,
            "patchbay_request_log_entries_total{{outcome=\"{fate}\"}} {n}"
        );
    }
    header(
        out,
        "patchbay_request_log_waits_total",
        "counter",
        "Callers that found the request-log queue full and waited for room.",
    );
    let _ = writeln!(
        out,
        "patchbay_request_log_waits_total {}",
        log.waited.load(Relaxed)
    );

    let hooks = vault.webhook_stats();
    header(
        out,
        "patchbay_webhook_deliveries_total",
        "counter",
        "Webhook delivery tries by outcome: delivered, retrying (another try is scheduled), failed (no tries left).",
    );
    for (outcome, n) in [
        ("delivered", hooks.delivered.get()),
        ("retrying", hooks.retrying.get()),
        ("failed", hooks.failed.get()),
    ] {
        let _ = writeln!(
            out,
            "patchbay_webhook_deliveries_total{{outcome=\"{outcome}\"}} {n}"
        );
    }
    header(
        out,
        "patchbay_webhook_delivery_duration_seconds",
        "histogram",
        "Time of each webhook delivery try.",
    );
    histogram(
        out,
        "patchbay_webhook_delivery_duration_seconds",
        "",
        &hooks.seconds.snapshot(),
    );

    if let Some(counts) = gauges.get(vault).await {
        header(
            out,
            "patchbay_webhook_outbox_pending",
            "gauge",
            "Webhook deliveries not yet delivered or given up on, all nodes (read from the database, cached 5 s).",
        );
        let _ = writeln!(
            out,
            "patchbay_webhook_outbox_pending {}",
            counts.webhook_backlog
        );
        header(
            out,
            "patchbay_vault_connections",
            "gauge",
            "Vault connections by health and enabled flag, all nodes (read from the database, cached 5 s).",
        );
        for (health, enabled, n) in &counts.connections {
            let _ = writeln!(
                out,
                "patchbay_vault_connections{{health=\"{}\",enabled=\"{enabled}\"}} {n}",
                super::escape(health)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use patchbay_core::metrics::Histogram;

    use super::*;

    #[test]
    fn histograms_render_with_and_without_labels() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(30));
        let snap = h.snapshot();
        let mut out = String::new();
        histogram(&mut out, "x_seconds", "", &snap);
        assert!(out.contains("x_seconds_bucket{le=\"0.05\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.025\"} 0\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_count 1\n"), "{out}");
        assert!(!out.contains("{}"), "{out}");
        let mut out = String::new();
        histogram(&mut out, "x_seconds", "kind=\"crm\"", &snap);
        assert!(
            out.contains("x_seconds_bucket{kind=\"crm\",le=\"0.1\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_seconds_count{kind=\"crm\"} 1\n"), "{out}");
    }
}
