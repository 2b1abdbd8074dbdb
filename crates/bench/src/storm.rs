//! The refresh storm (issue 14): `n` connections fall due at the same moment and the proactive
//! sweeper refreshes them all under its per-integration token bucket. Reported: how long
//! importing them took, how long refreshing them all took, and the peak token-endpoint rate the
//! emulator saw over any one-second window, read from its own request log (so the figure is
//! the provider's view, not the sweeper's intention).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use patchbay_core::{ApplicationId, Clock as _, ConsumerId, ServiceId, UnifiedApi};
use patchbay_refresh::{Sweeper, SweeperConfig};
use patchbay_server::Vault;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::ConnectionKey;
use patchbay_server::service::credentials::ImportRequest;
use tokio::task::JoinSet;

use crate::setup::Setup;

pub struct Storm {
    pub connections: usize,
    pub per_sec: u32,
    pub burst: u32,
    pub imported_in: Duration,
    pub refreshed: usize,
    pub failed: usize,
    pub token_calls: usize,
    pub took: Duration,
    pub peak_per_sec: usize,
    pub timed_out: bool,
}

/// Imports run this many at a time: enough to keep PostgreSQL busy, while SQLite serialises
/// its writers anyway.
const IMPORT_CONCURRENCY: usize = 16;

fn key(app_id: &str, consumer: &str) -> anyhow::Result<ConnectionKey> {
    Ok(ConnectionKey {
        application_id: ApplicationId::parse(app_id)?,
        consumer_id: ConsumerId::parse(consumer)?,
        unified_api: UnifiedApi::crm(),
        service_id: ServiceId::salesforce(),
    })
}

/// The bench consumer's tokens, which every imported connection holds.
pub struct Tokens {
    access: String,
    refresh: String,
}

impl Tokens {
    pub async fn of(s: &Setup) -> anyhow::Result<Tokens> {
        let exported = s
            .vault
            .export_credentials(&key(&s.app_id, "bench")?, &Actor::Admin)
            .await
            .map_err(|e| anyhow::anyhow!("export the bench connection: {e}"))?;
        Ok(Tokens {
            access: exported
                .access_token
                .clone()
                .context("the bench connection has no access token")?,
            refresh: exported
                .refresh_token
                .context("the bench connection has no refresh token")?,
        })
    }
}

/// Imports `n` connections (consumers `{prefix}-0…`), each holding the bench consumer's
/// refresh token (the emulator does not rotate it here, so every connection can refresh with
/// it) and no expiry, which makes every one of them due at once.
pub async fn import_due(
    vault: &Vault,
    app_id: &str,
    instance_url: &str,
    tokens: &Tokens,
    prefix: &str,
    n: usize,
) -> anyhow::Result<Duration> {
    import(vault, app_id, instance_url, tokens, prefix, n, None).await
}

/// [`import_due`], but each connection's token is `(issued_at, expires_in)`: fresh, so no
/// sweeper refreshes it while a measurement runs.
pub async fn import(
    vault: &Vault,
    app_id: &str,
    instance_url: &str,
    tokens: &Tokens,
    prefix: &str,
    n: usize,
    expiry: Option<(&str, i64)>,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..n {
        if tasks.len() >= IMPORT_CONCURRENCY
            && let Some(done) = tasks.join_next().await
        {
            done??;
        }
        let mut body = serde_json::json!({
            "credentials": {
                "access_token": tokens.access,
                "refresh_token": tokens.refresh,
            },
            "settings": { "instance_url": instance_url },
        });
        if let Some((issued_at, expires_in)) = expiry {
            body["credentials"]["issued_at"] = issued_at.into();
            body["credentials"]["expires_in"] = expires_in.into();
        }
        let (vault, key) = (vault.clone(), key(app_id, &format!("{prefix}-{i}"))?);
        tasks.spawn(async move {
            let req: ImportRequest = serde_json::from_value(body)?;
            vault
                .import_connection(&key, req, &Actor::Admin)
                .await
                .map_err(|e| anyhow::anyhow!("import {}: {e}", key.consumer_id))?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(started.elapsed())
}

/// The largest number of refresh calls the emulator logged in any one-second window.
fn peak_per_second(mut times_ms: Vec<i64>) -> usize {
    times_ms.sort_unstable();
    let mut peak = 0;
    let mut start = 0;
    for end in 0..times_ms.len() {
        while times_ms[end] - times_ms[start] >= 1000 {
            start += 1;
        }
        peak = peak.max(end - start + 1);
    }
    peak
}

pub async fn storm(
    s: &Arc<Setup>,
    n: usize,
    per_sec: u32,
    limit: Duration,
) -> anyhow::Result<Storm> {
    if per_sec == 0 {
        bail!("the storm needs a positive per-integration rate");
    }
    let tokens = Tokens::of(s).await?;
    let imported_in = import_due(&s.vault, &s.app_id, &s.emulator, &tokens, "storm", n).await?;
    let emulator = s.emulator_handle.emulator();
    emulator.clear_requests();
    let burst = (per_sec / 10).max(1);
    let sweeper = Sweeper::new(
        s.vault.refresher().clone(),
        SweeperConfig {
            interval: Duration::from_millis(20),
            batch: 500,
            per_integration_per_sec: per_sec,
            per_integration_burst: burst,
            concurrency: 16,
        },
    );
    // Patchbay's clock in the bench only moves when told to; here it follows real time, so
    // the token bucket refills as it would in production.
    let base = s.clock.now_ms();
    let started = Instant::now();
    let (mut refreshed, mut failed) = (0, 0);
    let mut timed_out = false;
    while refreshed + failed < n {
        if started.elapsed() > limit {
            timed_out = true;
            break;
        }
        let elapsed = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        s.clock.set(base.saturating_add(elapsed));
        let report = sweeper
            .sweep_once()
            .await
            .map_err(|e| anyhow::anyhow!("sweep: {e}"))?;
        refreshed += report.refreshed;
        failed += report.failed;
        if report.refreshed + report.failed == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let took = started.elapsed();
    let times: Vec<i64> = emulator
        .requests()
        .iter()
        .filter(|e| e.kind == "token" && e.grant_type.as_deref() == Some("refresh_token"))
        .map(|e| e.time_ms)
        .collect();
    Ok(Storm {
        connections: n,
        per_sec,
        burst,
        imported_in,
        refreshed,
        failed,
        token_calls: times.len(),
        took,
        peak_per_sec: peak_per_second(times),
        timed_out,
    })
}

#[cfg(test)]
mod tests {
    use super::peak_per_second;

    #[test]
    fn the_peak_is_the_busiest_one_second_window() {
        assert_eq!(peak_per_second(vec![]), 0);
        assert_eq!(peak_per_second(vec![5]), 1);
        // 0, 400, 999 fall in one window; 1000 starts a new one with 400 and 999.
        assert_eq!(peak_per_second(vec![1000, 0, 999, 400]), 3);
        assert_eq!(peak_per_second(vec![0, 1000, 2000, 3000]), 1);
    }
}
