//! What the service layer measures for `/metrics` on its hot paths: every HTTP call to a
//! provider (CRM and proxy), by provider, outcome class and latency. Fixed label sets held in
//! arrays of atomics: recording takes no lock and allocates nothing.

use std::time::Duration;

use patchbay_core::metrics::{Counter, Histogram};

/// Which API made the downstream call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Crm,
    Proxy,
}

impl CallKind {
    pub const ALL: [CallKind; 2] = [CallKind::Crm, CallKind::Proxy];

    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Crm => "crm",
            CallKind::Proxy => "proxy",
        }
    }
}

/// The `provider` label: known service ids by name, anything else as `other` (label values
/// must stay a small fixed set).
pub const PROVIDERS: [&str; 3] = ["salesforce", "hubspot", "other"];

fn provider_index(service_id: &str) -> usize {
    PROVIDERS
        .iter()
        .position(|p| *p == service_id)
        .unwrap_or(PROVIDERS.len() - 1)
}

/// How one downstream HTTP call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// An answer arrived; the status class is the label.
    Status(u16),
    /// No answer within the deadline.
    Timeout,
    /// Connect, reset or protocol failure: no usable answer.
    Error,
}

/// The `outcome` label values, in index order.
pub const OUTCOMES: [&str; 6] = ["2xx", "3xx", "4xx", "5xx", "timeout", "error"];

impl CallOutcome {
    fn index(self) -> usize {
        match self {
            CallOutcome::Status(s) if (200..300).contains(&s) => 0,
            CallOutcome::Status(s) if (300..400).contains(&s) => 1,
            CallOutcome::Status(s) if (400..500).contains(&s) => 2,
            // 1xx never reaches here (the client consumes it); a nonsense status counts as 5xx.
            CallOutcome::Status(_) => 3,
            CallOutcome::Timeout => 4,
            CallOutcome::Error => 5,
        }
    }
}

/// Calls to providers since start.
#[derive(Debug, Default)]
pub struct DownstreamStats {
    calls: [[[Counter; OUTCOMES.len()]; PROVIDERS.len()]; CallKind::ALL.len()],
    seconds: [[Histogram; PROVIDERS.len()]; CallKind::ALL.len()],
}

impl DownstreamStats {
    pub fn record(&self, kind: CallKind, service_id: &str, outcome: CallOutcome, took: Duration) {
        let (k, p) = (kind as usize, provider_index(service_id));
        self.calls[k][p][outcome.index()].inc();
        self.seconds[k][p].observe(took);
    }

    /// `(kind, provider, outcome, count)` for every combination, zeros included, so a series
    /// exists from the first scrape.
    pub fn counts(&self) -> impl Iterator<Item = (&'static str, &'static str, &'static str, u64)> {
        CallKind::ALL.into_iter().flat_map(move |kind| {
            PROVIDERS.iter().enumerate().flat_map(move |(p, provider)| {
                OUTCOMES.iter().enumerate().map(move |(o, outcome)| {
                    (
                        kind.as_str(),
                        *provider,
                        *outcome,
                        self.calls[kind as usize][p][o].get(),
                    )
                })
            })
        })
    }

    /// The latency histogram of one (kind, provider).
    pub fn latency(&self, kind: CallKind, provider: &str) -> &Histogram {
        &self.seconds[kind as usize][provider_index(provider)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_their_labels() {
        let s = DownstreamStats::default();
        s.record(
            CallKind::Proxy,
            "salesforce",
            CallOutcome::Status(503),
            Duration::from_millis(20),
        );
        s.record(
            CallKind::Crm,
            "pipedrive",
            CallOutcome::Timeout,
            Duration::from_secs(1),
        );
        let all: Vec<_> = s.counts().filter(|c| c.3 > 0).collect();
        assert_eq!(
            all,
            vec![
                ("crm", "other", "timeout", 1),
                ("proxy", "salesforce", "5xx", 1)
            ]
        );
        assert_eq!(s.counts().count(), 2 * 3 * 6);
        assert_eq!(s.latency(CallKind::Proxy, "salesforce").snapshot().count, 1);
        assert_eq!(s.latency(CallKind::Proxy, "hubspot").snapshot().count, 0);
    }

    #[test]
    fn status_classes() {
        let idx = |s| CallOutcome::Status(s).index();
        assert_eq!(
            [idx(200), idx(204), idx(302), idx(404), idx(500), idx(999)],
            [0, 0, 1, 2, 3, 3]
        );
    }
}
