//! Lock-free measurement cells for `/metrics`: a counter and a latency histogram made of
//! atomics, so recording on the hot path (a proxy call, a refresh) takes no lock and writes
//! nothing. Rendering into Prometheus text is the server's job; this is only the value.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds (Prometheus' conventional spread from 5 ms
/// to 10 s, which covers a token call and a slow provider query alike).
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram. Buckets are stored per bucket (not cumulative); the sum is kept in
/// whole microseconds so it fits an atomic integer.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// What a [`Histogram`] held at one moment, ready to render.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HistogramSnapshot {
    /// Cumulative counts, one per entry of [`LATENCY_BUCKETS`] (`le` semantics).
    pub cumulative: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = [0; LATENCY_BUCKETS.len()];
        let mut running = 0;
        for (out, b) in cumulative.iter_mut().zip(&self.buckets) {
            running += b.load(Relaxed);
            *out = running;
        }
        HistogramSnapshot {
            cumulative,
            count: self.count.load(Relaxed),
            sum_seconds: self.sum_micros.load(Relaxed) as f64 / 1e6,
        }
    }
}

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_sum_is_kept() {
        let h = Histogram::default();
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_millis(40));
        h.observe(Duration::from_secs(30));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.cumulative[0], 1, "3 ms is within 5 ms");
        assert_eq!(s.cumulative[3], 2, "40 ms is within 50 ms");
        assert_eq!(
            s.cumulative[LATENCY_BUCKETS.len() - 1],
            2,
            "30 s is only in +Inf"
        );
        assert!((s.sum_seconds - 30.043).abs() < 1e-9);
    }

    #[test]
    fn counters_count() {
        let c = Counter::default();
        c.inc();
        c.inc();
        assert_eq!(c.get(), 2);
    }
}
