//! `patchbay-bench`: measures, side by side in one run on loopback, a direct call to the
//! Salesforce emulator and the same call through Patchbay (the Proxy API, and the unified CRM
//! API's single-record read), so the hot-path targets of issue 5 can be checked:
//!
//! - the proxy adds at most 1 ms at p50 and 3 ms at p99 at a fixed 1,000 requests/s;
//! - saturated proxy throughput is at least half the direct call's;
//! - a unified single-record read costs at most 1.25× the direct call.
//!
//! ```text
//! cargo run --release -p patchbay-bench -- [--seconds 5] [--rate 1000] [--concurrency 32]
//!     [--downstream-ms 20] [--profile direct|proxy|unified|bare]
//! ```
//!
//! A fourth row, a bare forwarder (an axum handler that re-sends the request to the emulator
//! with reqwest, nothing else), shows what the second HTTP hop alone costs on this machine.
//!
//! The emulator, Patchbay (on SQLite), the forwarder and the load generator run in this one
//! process but each on its own Tokio runtime with named threads, so the kernel schedules them
//! as it would separate processes and the CPU time each used can be read per thread from
//! `/proc/self/task`. That gives a second, noise-resistant figure per row: CPU microseconds
//! per request for each component. Latency is measured from the moment a request is sent.
//!
//! A last round adds `--downstream-ms` of latency to every emulator REST call (a fault rule)
//! and repeats the fixed-rate rows: what the overhead looks like when the downstream, as
//! Salesforce does, takes milliseconds rather than 0.1 ms. Each phase is bounded by
//! `--seconds`; a run takes about `11 × seconds` plus a few seconds of setup.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_fake_salesforce::EmulatorConfig;
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::{Application, ServerConfig};
use reqwest::{Client, RequestBuilder};
use tokio::task::JoinSet;

/// The allocator the `patchbay` binary ships with, so Patchbay is measured as it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REDIRECT_URI: &str = "http://127.0.0.1:9/after-connect";
const API: &str = "v66.0";

struct Args {
    seconds: u64,
    rate: u64,
    concurrency: usize,
    /// Latency added to every emulator REST call in the last round.
    downstream_ms: u64,
    /// `--profile proxy|unified|bare|direct`: only that row, saturated, for `perf`.
    profile: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        seconds: 5,
        rate: 1000,
        concurrency: 32,
        downstream_ms: 20,
        profile: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse()?,
            "--rate" => a.rate = value.parse()?,
            "--concurrency" => a.concurrency = value.parse()?,
            "--downstream-ms" => a.downstream_ms = value.parse()?,
            "--profile" => a.profile = Some(value),
            _ => bail!(
                "unknown flag {flag} (known: --seconds, --rate, --concurrency, --downstream-ms, --profile)"
            ),
        }
    }
    if a.seconds == 0
        || a.seconds > 10
        || a.rate == 0
        || a.concurrency == 0
        || a.downstream_ms > 1_000
    {
        bail!(
            "--seconds must be 1..=10 (the run stays near a minute), --rate and --concurrency positive, --downstream-ms at most 1000"
        );
    }
    Ok(a)
}

/// Builds one request of a scenario.
type Make = Arc<dyn Fn(&Client) -> RequestBuilder + Send + Sync>;

struct Scenario {
    name: &'static str,
    make: Make,
}

#[derive(Default)]
struct Stats {
    ok: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let mut v = self.latencies.clone();
        v.sort_unstable();
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i.min(v.len() - 1)].as_secs_f64() * 1000.0
    }

    fn rps(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.elapsed.as_secs_f64()
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

/// Open loop: one request every `1/rate` s for `seconds`, whatever the answers do.
async fn fixed_rate(client: &Client, make: &Make, rate: u64, seconds: u64) -> Stats {
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut set = JoinSet::new();
    while Instant::now() < end {
        ticker.tick().await;
        set.spawn(timed(make(client)));
    }
    let mut stats = collect(set).await;
    stats.elapsed = started.elapsed();
    stats
}

/// Closed loop: `concurrency` callers back to back for `seconds`.
async fn saturated(client: &Client, make: &Make, concurrency: usize, seconds: u64) -> Stats {
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
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
            stats.latencies.push(latency);
            if ok {
                stats.ok += 1;
            } else {
                stats.failed += 1;
            }
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

async fn collect(mut set: JoinSet<(Duration, bool)>) -> Stats {
    let mut stats = Stats::default();
    while let Some(done) = set.join_next().await {
        match done {
            Ok((latency, ok)) => {
                stats.latencies.push(latency);
                if ok {
                    stats.ok += 1;
                } else {
                    stats.failed += 1;
                }
            }
            Err(_) => stats.failed += 1,
        }
    }
    stats
}

struct Setup {
    emulator: String,
    patchbay: String,
    app_id: String,
    api_key: String,
    access_token: String,
    account_id: String,
    forwarder: String,
    _emulator: patchbay_fake_salesforce::EmulatorHandle,
    _dir: tempfile::TempDir,
}

/// Handles of the runtimes the emulator and the forwarder run on (Patchbay runs on the one
/// `setup` is called on).
struct Runtimes {
    emulator: tokio::runtime::Handle,
    forwarder: tokio::runtime::Handle,
}

async fn setup(rts: &Runtimes) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(patchbay_crypto::Keyring::generate()?.to_json().to_string());
    config.refresh_interval = None;
    let app = Application::build(config).await?;
    let patchbay = app.base_url().to_owned();
    let vault = app.vault().clone();
    tokio::spawn(app.run_until_stopped());

    let client_id = format!("3MVG9bench{}", uuid::Uuid::new_v4().simple());
    let client_secret = format!("SECRET{}", uuid::Uuid::new_v4().simple());
    let emulator = rts
        .emulator
        .spawn(patchbay_fake_salesforce::spawn(EmulatorConfig {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            callback_urls: vec![format!("{patchbay}/vault/callback")],
            auto_approve: true,
            require_secret_for_refresh: false,
            daily_api_limit: u64::MAX / 4,
            ..EmulatorConfig::default()
        }))
        .await??;
    let emu = emulator.base_url().trim_end_matches('/').to_owned();

    let created = vault
        .create_application("bench", &[REDIRECT_URI.to_owned()])
        .await?;
    let app_id = created.application.id.clone();
    vault
        .set_integration(
            &app_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                client_id: Some(client_id),
                client_secret: Some(patchbay_crypto::SecretString::new(client_secret)),
                login_url: Some(emu.clone()),
                pkce: Some(true),
                ..IntegrationInput::default()
            },
        )
        .await?;
    let api_key = created.api_key.key.expose_secret().to_owned();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // Connect the consumer the way a browser would: authorize, auto-approve, callback.
    let v: serde_json::Value = http
        .get(format!("{patchbay}/vault/connections/crm/salesforce"))
        .bearer_auth(&api_key)
        .header("x-apideck-app-id", app_id.as_str())
        .header("x-apideck-consumer-id", "bench")
        .send()
        .await?
        .json()
        .await?;
    let authorize = v["data"]["authorize_url"]
        .as_str()
        .context("authorize_url")?;
    let mut url = format!(
        "{authorize}&redirect_uri={}",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    for _ in 0..8 {
        let r = http.get(&url).send().await?;
        let Some(next) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
            bail!("the connect flow stopped at {} ({})", url, r.status());
        };
        if next.starts_with(REDIRECT_URI) {
            break;
        }
        url = if next.starts_with('/') {
            format!("{emu}{next}")
        } else {
            next.to_owned()
        };
    }
    let token = vault
        .connection_token(
            &app_id,
            &ConsumerId::parse("bench")?,
            &UnifiedApi::crm(),
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("connection not callable: {e}"))?;
    let access_token = token.access_token.expose().to_owned();
    let created: serde_json::Value = http
        .post(format!("{emu}/services/data/{API}/sobjects/Account"))
        .bearer_auth(&access_token)
        .json(
            &serde_json::json!({ "Name": "Bench Account", "Website": "https://bench.example.com" }),
        )
        .send()
        .await?
        .json()
        .await?;
    let account_id = created["id"].as_str().context("account id")?.to_owned();
    let forwarder = rts
        .forwarder
        .spawn(spawn_forwarder(emu.clone(), access_token.clone()))
        .await??;
    Ok(Setup {
        forwarder,
        emulator: emu,
        patchbay,
        app_id: app_id.to_string(),
        api_key,
        access_token,
        account_id,
        _emulator: emulator,
        _dir: dir,
    })
}

/// The floor for any proxy: receive, send on to the emulator, hand the answer back.
async fn spawn_forwarder(emulator: String, token: String) -> anyhow::Result<String> {
    let client = Client::new();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (client, emulator, token) = (client.clone(), emulator.clone(), token.clone());
        async move {
            let url = format!("{emulator}{}", uri.path());
            match client.get(url).bearer_auth(token).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.bytes().await.unwrap_or_default();
                    (
                        axum::http::StatusCode::from_u16(status)
                            .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
                        body,
                    )
                }
                Err(_) => (axum::http::StatusCode::BAD_GATEWAY, Default::default()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}

fn scenarios(s: &Setup) -> (Scenario, Scenario, Scenario, Scenario) {
    let path = format!("/services/data/{API}/sobjects/Account/{}", s.account_id);
    let direct_url = format!("{}{path}", s.emulator);
    let token = s.access_token.clone();
    let direct = Scenario {
        name: "direct GET sobjects/Account/{id}",
        make: Arc::new(move |c: &Client| c.get(&direct_url).bearer_auth(&token)),
    };
    let bare_url = format!("{}{path}", s.forwarder);
    let bare = Scenario {
        name: "bare forwarder → same (no Patchbay)",
        make: Arc::new(move |c: &Client| c.get(&bare_url)),
    };
    let proxy_url = format!("{}/proxy", s.patchbay);
    let (key, app) = (s.api_key.clone(), s.app_id.clone());
    let proxy = Scenario {
        name: "proxy  GET /proxy → same",
        make: Arc::new(move |c: &Client| {
            c.get(&proxy_url)
                .bearer_auth(&key)
                .header("x-apideck-app-id", &app)
                .header("x-apideck-consumer-id", "bench")
                .header("x-apideck-downstream-url", &path)
        }),
    };
    let crm_url = format!("{}/crm/companies/{}", s.patchbay, s.account_id);
    let (key, app) = (s.api_key.clone(), s.app_id.clone());
    let unified = Scenario {
        name: "unified GET /crm/companies/{id}",
        make: Arc::new(move |c: &Client| {
            c.get(&crm_url)
                .bearer_auth(&key)
                .header("x-apideck-app-id", &app)
                .header("x-apideck-consumer-id", "bench")
        }),
    };
    (direct, proxy, unified, bare)
}

/// CPU time used so far by this process's threads, by component (thread-name prefix).
#[derive(Clone, Copy, Default)]
struct Cpu {
    emulator: Duration,
    patchbay: Duration,
    forwarder: Duration,
    loadgen: Duration,
}

impl Cpu {
    /// Sums `utime + stime` of every thread in `/proc/self/task` (Linux; zeros elsewhere).
    fn now() -> Cpu {
        let mut cpu = Cpu::default();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return cpu;
        };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state …`: comm may hold spaces, so split after its last ')'.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let comm = head.split_once('(').map_or("", |(_, c)| c);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| {
                fields
                    .get(i)
                    .and_then(|f| f.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            // utime and stime are fields 14 and 15 of stat(5), in USER_HZ (100 on Linux).
            let used = Duration::from_millis((ticks(11) + ticks(12)) * 10);
            let slot = if comm.starts_with("emulator") {
                &mut cpu.emulator
            } else if comm.starts_with("patchbay") && comm != "patchbay-bench"
                || comm.starts_with("sqlx-sqlite")
            {
                &mut cpu.patchbay
            } else if comm.starts_with("forwarder") {
                &mut cpu.forwarder
            } else {
                &mut cpu.loadgen
            };
            *slot += used;
        }
        cpu
    }

    /// Microseconds per request of each component between `self` (earlier) and `later`.
    fn per_request(&self, later: &Cpu, requests: usize) -> [f64; 4] {
        let us = |a: Duration, b: Duration| {
            b.saturating_sub(a).as_secs_f64() * 1e6 / requests.max(1) as f64
        };
        [
            us(self.loadgen, later.loadgen),
            us(self.emulator, later.emulator),
            us(self.patchbay, later.patchbay),
            us(self.forwarder, later.forwarder),
        ]
    }
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let started = Instant::now();
    // One runtime per component, two workers each (this machine's core count), with thread
    // names `Cpu::now` groups by.
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
    };
    let emulator_rt = runtime("emulator")?;
    let patchbay_rt = runtime("patchbay")?;
    let forwarder_rt = runtime("forwarder")?;
    let loadgen_rt = runtime("loadgen")?;
    let rts = Runtimes {
        emulator: emulator_rt.handle().clone(),
        forwarder: forwarder_rt.handle().clone(),
    };
    let s = Arc::new(patchbay_rt.block_on(setup(&rts))?);
    let outcome = loadgen_rt.block_on(loadgen_rt.spawn(run(a, Arc::clone(&s), started)));
    // The emulator's handle shuts its server down through its runtime.
    emulator_rt.block_on(async move { drop(s) });
    outcome?
}

async fn run(a: Args, s: Arc<Setup>, started: Instant) -> anyhow::Result<()> {
    let client = Client::builder().pool_max_idle_per_host(512).build()?;
    let (direct, proxy, unified, bare) = scenarios(&s);
    if let Some(which) = &a.profile {
        let sc = match which.as_str() {
            "direct" => &direct,
            "proxy" => &proxy,
            "unified" => &unified,
            "bare" => &bare,
            _ => bail!("--profile takes direct, proxy, unified or bare"),
        };
        eprintln!("profiling {} (pid {})", sc.name, std::process::id());
        let before = Cpu::now();
        let sat = saturated(&client, &sc.make, a.concurrency, a.seconds).await;
        let c = before.per_request(&Cpu::now(), sat.ok + sat.failed);
        println!(
            "{}: {:.0} req/s saturated, p50 {:.2} ms, {} errors; CPU µs per request: load generator {:.0}, emulator {:.0}, Patchbay {:.0}, forwarder {:.0}",
            sc.name,
            sat.rps(),
            sat.pct(0.5),
            sat.failed,
            c[0],
            c[1],
            c[2],
            c[3]
        );
        return Ok(());
    }

    let probe = (unified.make)(&client).send().await?;
    let unified_status = probe.status();
    let _ = probe.bytes().await;
    let mut rows: Vec<&Scenario> = vec![&direct, &proxy, &bare];
    if unified_status.is_success() {
        rows.push(&unified);
    } else {
        eprintln!("TODO: the unified read answered {unified_status}; it is left out of this run");
    }
    for sc in &rows {
        let _ = fixed_rate(&client, &sc.make, a.rate, 1).await;
    }

    println!(
        "| scenario | fixed {} rps: sent/s | p50 ms | p99 ms | max ms | errors | saturated ({} callers): req/s | p50 ms |",
        a.rate, a.concurrency
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut results = Vec::new();
    let mut cpu_rows = Vec::new();
    for sc in &rows {
        let fixed = fixed_rate(&client, &sc.make, a.rate, a.seconds).await;
        let before = Cpu::now();
        let sat = saturated(&client, &sc.make, a.concurrency, a.seconds).await;
        cpu_rows.push(before.per_request(&Cpu::now(), sat.ok + sat.failed));
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {:.2} |",
            sc.name,
            fixed.rps(),
            fixed.pct(0.50),
            fixed.pct(0.99),
            fixed.pct(1.0),
            fixed.failed + sat.failed,
            sat.rps(),
            sat.pct(0.50),
        );
        results.push((fixed, sat));
    }
    println!();
    println!("CPU time per request during the saturated phase, µs (per thread, from /proc):");
    println!();
    println!("| scenario | load generator | emulator | Patchbay | bare forwarder | all |");
    println!("|---|---|---|---|---|---|");
    for (sc, c) in rows.iter().zip(&cpu_rows) {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            sc.name,
            c[0],
            c[1],
            c[2],
            c[3],
            c.iter().sum::<f64>()
        );
    }
    let (d_fixed, d_sat) = &results[0];
    let (p_fixed, p_sat) = &results[1];
    let (b_fixed, b_sat) = &results[2];
    println!();
    println!(
        "- proxy overhead at {} rps: p50 +{:.2} ms (target ≤ 1), p99 +{:.2} ms (target ≤ 3)",
        a.rate,
        p_fixed.pct(0.5) - d_fixed.pct(0.5),
        p_fixed.pct(0.99) - d_fixed.pct(0.99)
    );
    println!(
        "- saturated proxy / direct throughput: {:.2} (target ≥ 0.5); bare forwarder / direct: {:.2}; proxy / bare forwarder: {:.2}",
        p_sat.rps() / d_sat.rps(),
        b_sat.rps() / d_sat.rps(),
        p_sat.rps() / b_sat.rps()
    );
    println!(
        "- bare forwarder at {} rps: p50 +{:.2} ms over direct",
        a.rate,
        b_fixed.pct(0.5) - d_fixed.pct(0.5),
    );
    let (d_cpu, p_cpu, b_cpu) = (cpu_rows[0][1], cpu_rows[1][2], cpu_rows[2][3]);
    println!(
        "- CPU per call: Patchbay's proxy {p_cpu:.0} µs, the bare forwarder {b_cpu:.0} µs, the emulator answering {d_cpu:.0} µs"
    );
    if let (Some((u_fixed, u_sat)), Some(u_cpu)) = (results.get(3), cpu_rows.get(3)) {
        println!(
            "- unified read / direct, p50 at {} rps: {:.2}×; saturated throughput direct / unified: {:.2}× (target ≤ 1.25); Patchbay's CPU per unified read {:.0} µs",
            a.rate,
            u_fixed.pct(0.5) / d_fixed.pct(0.5),
            d_sat.rps() / u_sat.rps(),
            u_cpu[2]
        );
    }

    if a.downstream_ms > 0 {
        latency_round(&a, &s, &client, &rows).await;
    }
    println!("- whole run: {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The fixed-rate rows again with `--downstream-ms` added to every emulator REST call.
async fn latency_round(a: &Args, s: &Setup, client: &Client, rows: &[&Scenario]) {
    use patchbay_fake_salesforce::control::faults::{FaultKind, FaultRule, FaultTarget};
    s._emulator.emulator().add_fault(FaultRule {
        target: FaultTarget::Rest,
        kind: FaultKind::Latency {
            ms: a.downstream_ms,
        },
        count: u32::MAX,
        grant_type: None,
        path_contains: None,
    });
    println!();
    println!(
        "With {} ms added to every emulator REST call, fixed {} rps for {} s:",
        a.downstream_ms, a.rate, a.seconds
    );
    println!();
    println!("| scenario | sent/s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|");
    let mut p50 = Vec::new();
    for sc in rows {
        let fixed = fixed_rate(client, &sc.make, a.rate, a.seconds).await;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            sc.name,
            fixed.rps(),
            fixed.pct(0.50),
            fixed.pct(0.99),
            fixed.pct(1.0),
            fixed.failed
        );
        p50.push((fixed.pct(0.5), fixed.pct(0.99)));
    }
    println!();
    println!(
        "- proxy overhead: p50 +{:.2} ms, p99 +{:.2} ms",
        p50[1].0 - p50[0].0,
        p50[1].1 - p50[0].1
    );
    if let Some(u) = p50.get(3) {
        println!(
            "- unified read / direct at p50: {:.3}× (target ≤ 1.25)",
            u.0 / p50[0].0
        );
    }
}
