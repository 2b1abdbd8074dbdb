//! Footprint (issue 14): the `patchbay` binary as an operator runs it, in a process of its own,
//! so that its RSS is its own: start-up time to the first healthy answer, idle RSS, RSS under a
//! saturated proxy load, and connection lookup latency, each over a database holding a given
//! number of connections (SQLite in a temp dir, or a fresh PostgreSQL database beside the one
//! `--database-url` names).
//!
//! The database is filled in-process first (the same service calls `…/import` makes), then
//! the binary starts on it with the same master key.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use patchbay_server::{Application, ServerConfig};
use reqwest::Client;

use crate::load::{Make, saturated};
use crate::setup::Setup;
use crate::storm::{Tokens, import};

pub struct Footprint {
    pub stored: usize,
    pub filled_in: Duration,
    pub start_ms: f64,
    pub idle_rss_mb: f64,
    /// Peak RSS (`VmHWM`) during the saturated proxy phase, and RSS right after it.
    pub load_peak_mb: f64,
    pub after_load_mb: f64,
    pub load_rps: f64,
    pub lookup_p50_ms: f64,
    pub lookup_p99_ms: f64,
}

/// The `patchbay` binary beside this one (`cargo build --release -p patchbay` puts it
/// there), or `PATCHBAY_BIN`.
pub fn binary() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("PATCHBAY_BIN") {
        return Some(path.into());
    }
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join("patchbay");
    path.is_file().then_some(path)
}

/// Kills the child when the measurement ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn rss_mb(pid: u32) -> anyhow::Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .with_context(|| format!("{name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}
/// Opens the store of `config` in process, registers an application and a Salesforce
/// integration on the emulator, and stores `count` connections (consumers `{prefix}…`) holding
/// fresh tokens (two hours, the emulator's lifetime), so that a node started on that store later
/// has nothing due and no refresh runs while it is measured. Returns the application id and its
/// API key.
pub async fn fill(
    config: ServerConfig,
    s: &Setup,
    name: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<(String, String)> {
    let app = Application::build(config).await?;
    let vault = app.vault().clone();
    let created = vault
        .create_application(name, &[crate::setup::REDIRECT_URI.to_owned()])
        .await?;
    let app_id = created.application.id.clone();
    crate::setup::register_salesforce(&vault, &app_id, &s.emulator, &s.client_id, &s.client_secret)
        .await?;
    let tokens = Tokens::of(s).await?;
    let issued_at = format!("{}:00Z", crate::time_now().replace(' ', "T"));
    import(
        &vault,
        app_id.as_str(),
        &s.emulator,
        &tokens,
        prefix,
        count,
        Some((&issued_at, 7_200)),
    )
    .await?;
    vault.flush_request_logs().await;
    Ok((
        app_id.to_string(),
        created.api_key.key.expose_secret().to_owned(),
    ))
}

#[allow(clippy::too_many_arguments)]
pub async fn measure(
    s: &Arc<Setup>,
    bin: &std::path::Path,
    database_url: Option<&str>,
    stored: usize,
    load: Duration,
    concurrency: usize,
    lookups: usize,
) -> anyhow::Result<Footprint> {
    let dir = tempfile::tempdir()?;
    // A database of its own: a fresh PostgreSQL database on the server `--database-url`
    // names (dropped afterwards), or SQLite in the temp dir.
    let pg = match database_url {
        Some(url) => Some(
            patchbay_store::testing::TestDatabase::postgres_on(url)
                .await
                .context("create a PostgreSQL database for the footprint run")?,
        ),
        None => None,
    };
    let master_key = patchbay_crypto::Keyring::generate()?.to_json().to_string();
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(master_key.clone());
    config.refresh_interval = None;
    config.database_url = pg.as_ref().map(|d| d.url().to_owned());
    let filling = Instant::now();
    let (app_id, api_key) = fill(config, s, "footprint", "fp", stored).await?;
    let filled_in = filling.elapsed();

    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .env("PATCHBAY_MASTER_KEY", &master_key)
        .env("PATCHBAY_LOG", "warn")
        .env_remove("PATCHBAY_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(db) = &pg {
        cmd.arg("--database-url").arg(db.url());
    }
    let started = Instant::now();
    let mut child = Running(
        cmd.spawn()
            .with_context(|| format!("start {}", bin.display()))?,
    );
    let pid = child.0.id();
    let stdout = child.0.stdout.take().context("the child's stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("listening on ") {
                let _ = tx.send(rest.split(',').next().unwrap_or_default().to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .context("patchbay serve printed no `listening on` line within 60 s")?;
    let base = format!("http://{addr}");
    let client = Client::builder().pool_max_idle_per_host(1024).build()?;
    let healthy = loop {
        if let Ok(r) = client.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            break started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("patchbay serve was not healthy within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss_mb, _) = rss_mb(pid)?;

    // Lookups: one connection read per call, each for a different stored consumer.
    let mut times = Vec::with_capacity(lookups);
    for i in 0..lookups {
        let consumer = format!("fp-{}", (i * 7919) % stored.max(1));
        let t = Instant::now();
        let r = client
            .get(format!("{base}/vault/connections/crm/salesforce"))
            .bearer_auth(&api_key)
            .header("x-apideck-app-id", &app_id)
            .header("x-apideck-consumer-id", &consumer)
            .send()
            .await?;
        let status = r.status();
        let _ = r.bytes().await;
        if !status.is_success() {
            bail!("looking up {consumer} answered {status}");
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);

    let (key, app) = (api_key.clone(), app_id.clone());
    let path = format!(
        "/services/data/{}/sobjects/Account/{}",
        crate::setup::API,
        s.account_id
    );
    let url = format!("{base}/proxy");
    let make: Make = Arc::new(move |c: &Client| {
        c.get(&url)
            .bearer_auth(&key)
            .header("x-apideck-app-id", &app)
            .header("x-apideck-consumer-id", "fp-0")
            .header("x-apideck-downstream-url", &path)
    });
    let stats = saturated(&client, &make, concurrency, load).await;
    if stats.ok == 0 {
        bail!("no proxied call succeeded against the footprint process");
    }
    let (after_load_mb, load_peak_mb) = rss_mb(pid)?;
    drop(child);
    Ok(Footprint {
        stored,
        filled_in,
        start_ms: healthy.as_secs_f64() * 1000.0,
        idle_rss_mb,
        load_peak_mb,
        after_load_mb,
        load_rps: stats.rps(),
        lookup_p50_ms: percentile(&times, 0.5),
        lookup_p99_ms: percentile(&times, 0.99),
    })
}
