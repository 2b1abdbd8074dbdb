//! The in-process load generator: an open loop at a fixed rate (latency at a given load) and a
//! closed loop of back-to-back callers (saturated throughput).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, RequestBuilder};
use tokio::task::JoinSet;

/// Builds one request of a scenario.
pub type Make = Arc<dyn Fn(&Client) -> RequestBuilder + Send + Sync>;

#[derive(Default)]
pub struct Stats {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl Stats {
    pub fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut v = self.latencies.clone();
        v.sort_unstable();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i.min(v.len() - 1)].as_secs_f64() * 1000.0
    }

    pub fn rps(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.elapsed.as_secs_f64()
    }

    fn add(&mut self, latency: Duration, ok: bool) {
        self.latencies.push(latency);
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
    }
}

async fn timed(req: RequestBuilder) -> (Duration, bool) {
    let started = Instant::now();
    let ok = match req.send().await {
        Ok(r) => {
            let status = r.status();
            r.bytes().await.is_ok() && status.is_success()
        }
        Err(_) => false,
    };
    (started.elapsed(), ok)
}

/// Open loop: one request every `1/rate` s for `length`, whatever the answers do.
pub async fn fixed_rate(client: &Client, make: &Make, rate: u64, length: Duration) -> Stats {
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let end = started + length;
    let mut set = JoinSet::new();
    while Instant::now() < end {
        ticker.tick().await;
        set.spawn(timed(make(client)));
    }
    let mut stats = Stats::default();
    while let Some(done) = set.join_next().await {
        match done {
            Ok((latency, ok)) => stats.add(latency, ok),
            Err(_) => stats.failed += 1,
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

/// Closed loop: `concurrency` callers back to back for `length`.
pub async fn saturated(
    client: &Client,
    make: &Make,
    concurrency: usize,
    length: Duration,
) -> Stats {
    let started = Instant::now();
    let end = started + length;
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (client, make) = (client.clone(), Arc::clone(make));
        workers.spawn(async move {
            let mut out = Vec::new();
            while Instant::now() < end {
                out.push(timed(make(&client)).await);
            }
            out
        });
    }
    let mut stats = Stats::default();
    while let Some(done) = workers.join_next().await {
        for (latency, ok) in done.unwrap_or_default() {
            stats.add(latency, ok);
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

/// Fires `n` requests at once and waits for all of them; returns how many succeeded.
pub async fn burst(client: &Client, make: &Make, n: usize) -> (u64, Duration) {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..n {
        set.spawn(timed(make(client)));
    }
    let mut ok = 0;
    while let Some(done) = set.join_next().await {
        if matches!(done, Ok((_, true))) {
            ok += 1;
        }
    }
    (ok, started.elapsed())
}
