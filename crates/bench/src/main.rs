//! `patchbay-bench`: measures, side by side in one run on loopback, a direct call to the
//! Salesforce emulator, the same call through nginx (`proxy_pass`, the bar issue 14 sets),
//! through Patchbay's Proxy API, through a bare forwarder, and the unified CRM API's
//! single-record read; then refresh coalescing, a refresh storm (many connections due at
//! once under the per-integration limit) and the footprint of the `patchbay` binary in a
//! process of its own (start-up, RSS idle and under load, lookups over many stored
//! connections). Targets (issue 14):
//!
//! - Patchbay `/proxy` saturated throughput ≥ 0.75× nginx's on the same call;
//! - a unified single-record read ≥ 0.5× the direct call's throughput;
//! - the proxy adds ≤ 0.3 ms at p50 and ≤ 1 ms at p99 at a fixed 1,000 requests/s;
//! - every call is logged: each Patchbay row reports entries logged against calls sent;
//! - idle RSS under 40 MB and start-up under 100 ms.
//!
//! ```text
//! cargo run --release -p patchbay-bench -- [--seconds 5] [--rounds 3] [--rate 1000]
//!     [--concurrency 32] [--downstream-ms 20] [--loadgen wrk|builtin]
//!     [--database-url postgres://…] [--report bench/results.md] [--profile ROW]
//!     [--storm-connections 10000] [--storm-rate 500] [--footprint-connections 100000] [--smoke]
//!     [--callgrind N]
//! ```
//!
//! The saturated rows run in `--rounds` interleaved rounds (every row once per round, in
//! turn) and report medians, so a noisy neighbour hurts every row alike. With `--loadgen wrk`
//! (the default when wrk is installed) the closed loop is wrk's: one thread, `--concurrency`
//! keep-alive connections. The emulator, Patchbay, the forwarder and the in-process load
//! generator each run on their own Tokio runtime with named threads, so the CPU each used is
//! read per thread from `/proc/self/task` (nginx's from its processes): CPU microseconds per
//! request, a second, noise-resistant figure per row.
//!
//! `--smoke` runs every row once for a fraction of a second with the in-process load
//! generator: a check, run by `cargo test`, that the bench still works, not a measurement.

mod callgrind;
mod cpu;
mod footprint;
mod load;
mod nginx;
mod setup;
mod storm;
mod wrk;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::Client;

use cpu::Cpu;
use load::{Make, Stats, burst, fixed_rate, saturated};
use setup::{API, Runtimes, Setup, setup};

/// The allocator the `patchbay` binary ships with, so Patchbay is measured as it runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    seconds: u64,
    rounds: usize,
    rate: u64,
    concurrency: usize,
    /// Latency added to every emulator REST call in the last round.
    downstream_ms: u64,
    wrk: bool,
    database_url: Option<String>,
    report: Option<std::path::PathBuf>,
    /// `--profile proxy|unified|bare|direct`: only that row, saturated, for `perf`.
    profile: Option<String>,
    smoke: bool,
    /// Connections falling due at once in the refresh storm.
    storm_connections: usize,
    /// The storm's per-integration token-bucket rate, refreshes per second.
    storm_rate: u32,
    /// Connections stored for the footprint process (0 skips the footprint).
    footprint_connections: usize,
    /// Worker threads of Patchbay's runtime (default 2): with 1, every task of a call runs on
    /// one thread, which shows what work-stealing across cores costs per call.
    patchbay_workers: usize,
    /// `--patchbay-threads N` (default 0): Patchbay's thread-per-core server with N serving
    /// threads (`serve --server-threads`), each a current-thread runtime of its own; 0 serves
    /// on Patchbay's work-stealing runtime (`--patchbay-workers`).
    patchbay_threads: usize,
    /// `--footprint-only`: only the footprint rows (no nginx, no other rows).
    footprint_only: bool,
    /// `--footprint-postgres URL`: footprint rows on SQLite and on a database of their own on
    /// this PostgreSQL server, in one run.
    footprint_postgres: Option<String>,
    /// `--callgrind N`: instructions per request of `/proxy` and the unified read, N calls each,
    /// in a `patchbay serve` process under callgrind (nothing else runs).
    callgrind: Option<usize>,
}

impl Args {
    /// How long each phase lasts.
    fn phase(&self) -> Duration {
        if self.smoke {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(self.seconds)
        }
    }
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        seconds: 5,
        rounds: 3,
        rate: 1000,
        concurrency: 32,
        downstream_ms: 20,
        wrk: wrk::available(),
        database_url: None,
        report: None,
        profile: None,
        smoke: false,
        storm_connections: 10_000,
        storm_rate: 500,
        footprint_connections: 100_000,
        patchbay_workers: 2,
        patchbay_threads: 0,
        footprint_only: false,
        footprint_postgres: None,
        callgrind: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--smoke" {
            a.smoke = true;
            continue;
        }
        if flag == "--footprint-only" {
            a.footprint_only = true;
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seconds" => a.seconds = value.parse()?,
            "--rounds" => a.rounds = value.parse()?,
            "--rate" => a.rate = value.parse()?,
            "--concurrency" => a.concurrency = value.parse()?,
            "--downstream-ms" => a.downstream_ms = value.parse()?,
            "--loadgen" => {
                a.wrk = match value.as_str() {
                    "wrk" if wrk::available() => true,
                    "wrk" => bail!("--loadgen wrk: wrk is not installed (apt-get install wrk)"),
                    "builtin" => false,
                    _ => bail!("--loadgen takes wrk or builtin"),
                }
            }
            "--database-url" => a.database_url = Some(value),
            "--report" => a.report = Some(value.into()),
            "--profile" => a.profile = Some(value),
            "--storm-connections" => a.storm_connections = value.parse()?,
            "--storm-rate" => a.storm_rate = value.parse()?,
            "--footprint-connections" => a.footprint_connections = value.parse()?,
            "--patchbay-workers" => a.patchbay_workers = value.parse()?,
            "--patchbay-threads" => a.patchbay_threads = value.parse()?,
            "--footprint-postgres" => a.footprint_postgres = Some(value),
            "--callgrind" => a.callgrind = Some(value.parse()?),
            _ => bail!(
                "unknown flag {flag} (known: --seconds, --rounds, --rate, --concurrency, --downstream-ms, --loadgen, --database-url, --report, --profile, --storm-connections, --storm-rate, --footprint-connections, --footprint-postgres, --footprint-only, --patchbay-workers, --patchbay-threads, --callgrind, --smoke)"
            ),
        }
    }
    if a.seconds == 0
        || a.seconds > 10
        || a.rounds == 0
        || a.rounds > 9
        || a.rate == 0
        || a.concurrency == 0
        || a.concurrency > 1024
        || a.downstream_ms > 1_000
        || a.storm_connections > 50_000
        || a.storm_rate == 0
        || a.storm_rate > 100_000
        || a.footprint_connections > 200_000
        || !(1..=64).contains(&a.patchbay_workers)
        || a.patchbay_threads > 64
    {
        bail!(
            "--seconds must be 1..=10 and --rounds 1..=9 (the run stays within minutes), --rate positive, --concurrency 1..=1024, --downstream-ms at most 1000, --storm-connections at most 50000, --storm-rate 1..=100000, --footprint-connections at most 200000, --patchbay-workers 1..=64, --patchbay-threads 0..=64"
        );
    }
    if a.smoke {
        a.rounds = 1;
        a.rate = 200;
        a.downstream_ms = 0;
        a.wrk = false;
        a.storm_connections = a.storm_connections.min(50);
        a.footprint_connections = a.footprint_connections.min(20);
    }
    Ok(a)
}

/// One row of the table.
struct Scenario {
    name: &'static str,
    make: Make,
    /// The same request for wrk.
    url: String,
    headers: Vec<(String, String)>,
    /// Patchbay serves it, so it has request-log entries to count.
    logged: bool,
}

fn scenarios(s: &Setup, nginx: Option<&nginx::Nginx>) -> Vec<Scenario> {
    let path = format!("/services/data/{API}/sobjects/Account/{}", s.account_id);
    let auth = |token: &str| ("authorization".to_owned(), format!("Bearer {token}"));
    let plain = |name: &'static str, url: String, headers: Vec<(String, String)>| {
        let h = headers.clone();
        let u = url.clone();
        Scenario {
            name,
            make: Arc::new(move |c: &Client| {
                h.iter()
                    .fold(c.get(&u), |r, (k, v)| r.header(k.as_str(), v.as_str()))
            }),
            url,
            headers,
            logged: false,
        }
    };
    let consumer_headers = |extra: Option<(&str, &str)>| {
        let mut h = vec![
            auth(&s.api_key),
            ("x-apideck-app-id".to_owned(), s.app_id.clone()),
            ("x-apideck-consumer-id".to_owned(), "bench".to_owned()),
        ];
        if let Some((k, v)) = extra {
            h.push((k.to_owned(), v.to_owned()));
        }
        h
    };
    let mut rows = vec![plain(
        "direct GET sobjects/Account/{id}",
        format!("{}{path}", s.emulator),
        vec![auth(&s.access_token)],
    )];
    if let Some(n) = nginx {
        rows.push(plain(
            "nginx proxy_pass → same",
            format!("{}{path}", n.base),
            Vec::new(),
        ));
    }
    rows.push(Scenario {
        logged: true,
        ..plain(
            "proxy GET /proxy → same",
            format!("{}/proxy", s.patchbay),
            consumer_headers(Some(("x-apideck-downstream-url", &path))),
        )
    });
    rows.push(plain(
        "bare forwarder → same (no Patchbay)",
        format!("{}{path}", s.forwarder),
        Vec::new(),
    ));
    rows.push(Scenario {
        logged: true,
        ..plain(
            "unified GET /crm/companies/{id}",
            format!("{}/crm/companies/{}", s.patchbay, s.account_id),
            consumer_headers(None),
        )
    });
    rows
}

/// Output that is printed as it comes and kept for `--report`.
#[derive(Default)]
struct Report(String);

impl Report {
    fn line(&mut self, text: impl AsRef<str>) {
        println!("{}", text.as_ref());
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let started = Instant::now();
    // One runtime per component, two workers each (this machine's core count), with thread
    // names `Cpu::now` groups by.
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(if name == "patchbay" {
                a.patchbay_workers
            } else {
                2
            })
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
    let s = Arc::new(patchbay_rt.block_on(setup(
        &rts,
        a.database_url.as_deref(),
        a.patchbay_threads,
    ))?);
    let nginx = if a.footprint_only {
        None
    } else {
        nginx::spawn(&s.emulator, &s.access_token)?
    };
    let report = a.report.clone();
    let outcome =
        loadgen_rt.block_on(loadgen_rt.spawn(run(a, Arc::clone(&s), nginx.map(Arc::new), started)));
    // The emulator's handle shuts its server down through its runtime.
    emulator_rt.block_on(async move { drop(s) });
    let text = outcome??;
    if let Some(path) = report {
        write_report(&path, &text)?;
    }
    Ok(())
}

/// Marks where the latest run in `bench/results.md` ends; what follows it (earlier runs and
/// their analysis) is kept as it is.
const HISTORY_MARK: &str = "<!-- earlier runs: kept by `--report`, not regenerated -->";

fn write_report(path: &std::path::Path, run: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let (previous, history) = old.split_once(HISTORY_MARK).unwrap_or(("", old.as_str()));
    // The previous run moves below the mark: its own `## Run of …` heading onwards.
    let previous = previous.find("\n## ").map_or("", |i| &previous[i + 1..]);
    let mut out = String::from("# Benchmark results\n\n");
    out.push_str(
        "Generated by `cargo run --release -p patchbay-bench -- --report bench/results.md` \
         (each run's options are in its heading). Each run writes itself here and moves the \
         previous one below the mark, above the earlier runs.\n\n",
    );
    out.push_str(run);
    out.push('\n');
    out.push_str(HISTORY_MARK);
    out.push_str("\n\n");
    out.push_str(previous.trim());
    out.push_str("\n\n");
    out.push_str(history.trim_start());
    std::fs::write(path, out).with_context(|| format!("write {}", path.display()))
}

/// One saturated measurement of one row.
#[derive(Clone, Copy)]
struct Sat {
    rps: f64,
    p50: f64,
    p99: f64,
    sent: u64,
    errors: u64,
    cpu: [f64; 5],
    /// Request-log entries written for this row's calls (Patchbay rows).
    logged: Option<u64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

async fn saturate(
    a: &Args,
    s: &Setup,
    client: &Client,
    sc: &Scenario,
    nginx: Option<u32>,
) -> anyhow::Result<Sat> {
    let stats = s.vault.log_writer_stats();
    let written_before = stats.written.load(Ordering::Relaxed);
    let before = Cpu::now(nginx);
    let mut sat = if a.wrk {
        let (url, headers, conc, len) =
            (sc.url.clone(), sc.headers.clone(), a.concurrency, a.phase());
        let w = tokio::task::spawn_blocking(move || wrk::run(&url, &headers, conc, len)).await??;
        Sat {
            rps: w.rps,
            p50: w.p50_ms,
            p99: w.p99_ms,
            sent: w.requests,
            errors: w.non_2xx + w.socket_errors,
            cpu: [0.0; 5],
            logged: None,
        }
    } else {
        let st = saturated(client, &sc.make, a.concurrency, a.phase()).await;
        Sat {
            rps: st.rps(),
            p50: st.pct(0.5),
            p99: st.pct(0.99),
            sent: st.ok + st.failed,
            errors: st.failed,
            cpu: [0.0; 5],
            logged: None,
        }
    };
    sat.cpu = before.per_request(&Cpu::now(nginx), sat.sent);
    if sc.logged {
        s.vault.flush_request_logs().await;
        sat.logged = Some(stats.written.load(Ordering::Relaxed) - written_before);
    }
    Ok(sat)
}

async fn run(
    a: Args,
    s: Arc<Setup>,
    nginx: Option<Arc<nginx::Nginx>>,
    started: Instant,
) -> anyhow::Result<String> {
    let client = Client::builder().pool_max_idle_per_host(1024).build()?;
    let rows = scenarios(&s, nginx.as_deref());
    let nginx_pid = nginx.as_ref().map(|n| n.pid());
    let mut r = Report::default();
    if a.footprint_only {
        footprint_heading(&a, &mut r);
        footprint_section(&a, &s, &mut r).await?;
        r.line(format!(
            "- whole run: {:.1} s",
            started.elapsed().as_secs_f64()
        ));
        return Ok(r.0);
    }
    if let Some(n) = a.callgrind {
        let bin = footprint::binary()
            .context("--callgrind needs the patchbay binary beside this one, or PATCHBAY_BIN")?;
        for (name, ir) in callgrind::measure(&s, &bin, n.max(1)).await? {
            r.line(format!(
                "{name}: {ir:.0} Ir per request ({n} sequential calls, {})",
                bin.display()
            ));
        }
        return Ok(r.0);
    }
    if let Some(which) = &a.profile {
        let sc = rows
            .iter()
            .find(|sc| sc.name.split_whitespace().next() == Some(which.as_str()))
            .context("--profile takes direct, nginx, proxy, bare or unified")?;
        eprintln!("profiling {} (pid {})", sc.name, std::process::id());
        let sat = saturate(&a, &s, &client, sc, nginx_pid).await?;
        r.line(format!(
            "{} (Patchbay serving threads: {}): {:.0} req/s saturated, p50 {:.2} ms, {} errors; CPU µs per request: load generator {:.0}, emulator {:.0}, Patchbay {:.0}, forwarder {:.0}, nginx {:.0}",
            sc.name,
            match a.patchbay_threads {
                0 => format!("its runtime, {} workers", a.patchbay_workers),
                n => n.to_string(),
            },
            sat.rps, sat.p50, sat.errors, sat.cpu[0], sat.cpu[1], sat.cpu[2], sat.cpu[3], sat.cpu[4]
        ));
        return Ok(r.0);
    }

    for sc in &rows {
        let probe = (sc.make)(&client).send().await?;
        if !probe.status().is_success() {
            bail!("{} answered {} before the run", sc.name, probe.status());
        }
        let _ = probe.bytes().await;
        let _ = fixed_rate(
            &client,
            &sc.make,
            a.rate,
            a.phase().min(Duration::from_secs(1)),
        )
        .await;
    }

    heading(&a, &s, &mut r);
    // Fixed rate first: latency at a set load, one row after another.
    let mut fixed = Vec::new();
    for sc in &rows {
        fixed.push(fixed_rate(&client, &sc.make, a.rate, a.phase()).await);
    }
    // Saturated, interleaved rounds.
    let mut rounds: Vec<Vec<Sat>> = vec![Vec::new(); rows.len()];
    for _ in 0..a.rounds {
        for (i, sc) in rows.iter().enumerate() {
            rounds[i].push(saturate(&a, &s, &client, sc, nginx_pid).await?);
        }
    }
    let med: Vec<Sat> = rounds
        .iter()
        .map(|runs| {
            let m = |f: fn(&Sat) -> f64| median(runs.iter().map(f).collect());
            let cpu = std::array::from_fn(|k| median(runs.iter().map(|x| x.cpu[k]).collect()));
            let logged = runs.iter().map(|x| x.logged).sum::<Option<u64>>();
            Sat {
                rps: m(|x| x.rps),
                p50: m(|x| x.p50),
                p99: m(|x| x.p99),
                sent: runs.iter().map(|x| x.sent).sum(),
                errors: runs.iter().map(|x| x.errors).sum(),
                cpu,
                logged,
            }
        })
        .collect();
    table(&a, &rows, &fixed, &med, &rounds, &mut r);
    summary(&a, &s, &rows, &fixed, &med, &mut r);

    coalescing(&a, &s, &client, &rows, &mut r).await?;
    r.line("");
    storm_section(&a, &s, &mut r).await?;
    footprint_section(&a, &s, &mut r).await?;
    // Last: the added latency stays on the emulator from here on.
    if a.downstream_ms > 0 {
        latency_round(&a, &s, &client, &rows, &mut r).await;
    }
    r.line(format!(
        "- whole run: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(r.0)
}

/// The heading of a `--footprint-only` run.
fn footprint_heading(a: &Args, r: &mut Report) {
    let mut line = format!(
        "## Run of {} UTC: `--footprint-only --seconds {} --concurrency {} --footprint-connections {}",
        time_now(),
        a.seconds,
        a.concurrency,
        a.footprint_connections,
    );
    if a.footprint_postgres.is_some() {
        line.push_str(" --footprint-postgres …");
    }
    if a.smoke {
        line.push_str(" --smoke");
    }
    line.push('`');
    r.line(line);
    r.line("");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    r.line(format!(
        "{} CPUs; load average at the start: {}.",
        std::thread::available_parallelism().map_or(0, usize::from),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    ));
    r.line("");
}

fn heading(a: &Args, s: &Setup, r: &mut Report) {
    let mut line = format!(
        "## Run of {} UTC: `--seconds {} --rounds {} --rate {} --concurrency {} --downstream-ms {} --loadgen {}",
        time_now(),
        a.seconds,
        a.rounds,
        a.rate,
        a.concurrency,
        a.downstream_ms,
        if a.wrk { "wrk" } else { "builtin" },
    );
    if a.smoke {
        line.push_str(" --smoke");
    }
    if a.patchbay_workers != 2 {
        line.push_str(&format!(" --patchbay-workers {}", a.patchbay_workers));
    }
    if a.patchbay_threads != 0 {
        line.push_str(&format!(" --patchbay-threads {}", a.patchbay_threads));
    }
    line.push('`');
    r.line(line);
    r.line("");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    r.line(format!(
        "Patchbay on {:?}; {} CPUs; load average at the start: {}. Saturated figures are \
         medians of the interleaved rounds.",
        s.vault.store().backend(),
        std::thread::available_parallelism().map_or(0, usize::from),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    ));
    r.line("");
}

/// `YYYY-MM-DD HH:MM` from the system clock.
fn time_now() -> String {
    let ms = patchbay_core::Clock::now_ms(&patchbay_core::SystemClock);
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000) / 60_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rem / 60, rem % 60)
}

fn table(
    a: &Args,
    rows: &[Scenario],
    fixed: &[Stats],
    med: &[Sat],
    rounds: &[Vec<Sat>],
    r: &mut Report,
) {
    r.line(format!(
        "| scenario | fixed {} rps: p50 ms | p99 ms | saturated ({} conns): req/s | p50 ms | p99 ms | errors | logged/sent | rounds req/s |",
        a.rate, a.concurrency
    ));
    r.line("|---|---|---|---|---|---|---|---|---|");
    for (i, sc) in rows.iter().enumerate() {
        let m = &med[i];
        let logged = m
            .logged
            .map_or("—".to_owned(), |l| format!("{l}/{}", m.sent));
        let each = rounds[i]
            .iter()
            .map(|x| format!("{:.0}", x.rps))
            .collect::<Vec<_>>()
            .join(", ");
        r.line(format!(
            "| {} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {} | {logged} | {each} |",
            sc.name,
            fixed[i].pct(0.5),
            fixed[i].pct(0.99),
            m.rps,
            m.p50,
            m.p99,
            m.errors + fixed[i].failed,
        ));
    }
    r.line("");
    r.line("CPU time per request during the saturated phase, µs (medians; per thread from /proc, nginx from its processes; with wrk the load generator is outside this process):");
    r.line("");
    r.line("| scenario | load generator | emulator | Patchbay | bare forwarder | nginx | all |");
    r.line("|---|---|---|---|---|---|---|");
    for (sc, m) in rows.iter().zip(med) {
        let c = m.cpu;
        r.line(format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            sc.name,
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c.iter().sum::<f64>()
        ));
    }
    r.line("");
}

fn summary(a: &Args, s: &Setup, rows: &[Scenario], fixed: &[Stats], med: &[Sat], r: &mut Report) {
    let find = |prefix: &str| rows.iter().position(|sc| sc.name.starts_with(prefix));
    let (Some(d), Some(p), Some(u)) = (find("direct"), find("proxy"), find("unified")) else {
        return;
    };
    if let Some(n) = find("nginx") {
        r.line(format!(
            "- saturated proxy / nginx: {:.2} (target ≥ 0.75); nginx / direct: {:.2}; proxy / direct: {:.2}",
            med[p].rps / med[n].rps,
            med[n].rps / med[d].rps,
            med[p].rps / med[d].rps
        ));
    } else {
        r.line(format!(
            "- saturated proxy / direct: {:.2} (no nginx row to compare with)",
            med[p].rps / med[d].rps
        ));
    }
    r.line(format!(
        "- saturated unified read / direct: {:.2} (target ≥ 0.5)",
        med[u].rps / med[d].rps
    ));
    r.line(format!(
        "- proxy overhead at {} rps: p50 +{:.2} ms (target ≤ 0.3), p99 +{:.2} ms (target ≤ 1)",
        a.rate,
        fixed[p].pct(0.5) - fixed[d].pct(0.5),
        fixed[p].pct(0.99) - fixed[d].pct(0.99)
    ));
    let stats = s.vault.log_writer_stats();
    r.line(format!(
        "- request log over the whole run: {} entries written, {} shed, {} failed, {} callers waited for room in the queue",
        stats.written.load(Ordering::Relaxed),
        stats.shed.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        stats.waited.load(Ordering::Relaxed),
    ));
    if a.wrk {
        r.line("- logged/sent with wrk: wrk counts only calls answered before its deadline, so a few calls in flight at the end are logged but not counted as sent");
    }
}

/// The fixed-rate rows again with `--downstream-ms` added to every emulator REST call.
async fn latency_round(a: &Args, s: &Setup, client: &Client, rows: &[Scenario], r: &mut Report) {
    use patchbay_fake_salesforce::control::faults::{FaultKind, FaultRule, FaultTarget};
    s.emulator_handle.emulator().add_fault(FaultRule {
        target: FaultTarget::Rest,
        kind: FaultKind::Latency {
            ms: a.downstream_ms,
        },
        count: u32::MAX,
        grant_type: None,
        path_contains: None,
    });
    r.line(format!(
        "With {} ms added to every emulator REST call, fixed {} rps:",
        a.downstream_ms, a.rate
    ));
    r.line("");
    r.line("| scenario | sent/s | p50 ms | p99 ms | max ms | errors |");
    r.line("|---|---|---|---|---|---|");
    for sc in rows {
        let fixed = fixed_rate(client, &sc.make, a.rate, a.phase()).await;
        r.line(format!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            sc.name,
            fixed.rps(),
            fixed.pct(0.50),
            fixed.pct(0.99),
            fixed.pct(1.0),
            fixed.failed
        ));
    }
    r.line("");
}

/// 1,000 concurrent proxy calls on one connection whose token Patchbay sees as expired:
/// one refresh, every call answered.
async fn coalescing(
    a: &Args,
    s: &Setup,
    client: &Client,
    rows: &[Scenario],
    r: &mut Report,
) -> anyhow::Result<()> {
    let Some(proxy) = rows.iter().find(|sc| sc.name.starts_with("proxy")) else {
        return Ok(());
    };
    let refreshes = || {
        s.emulator_handle
            .emulator()
            .requests()
            .iter()
            .filter(|e| e.kind == "token" && e.grant_type.as_deref() == Some("refresh_token"))
            .count()
    };
    let n = if a.smoke { 100 } else { 1000 };
    let before = refreshes();
    // Past any session timeout: every token Patchbay holds is due.
    s.clock.advance(3 * 3_600_000);
    let (ok, took) = burst(client, &proxy.make, n).await;
    let calls = refreshes() - before;
    let mut line = String::new();
    let _ = write!(
        line,
        "- refresh coalescing: {n} concurrent proxy calls on one expired connection → {calls} token call(s) (target 1), {ok}/{n} answered 2xx, all in {:.0} ms",
        took.as_secs_f64() * 1000.0
    );
    r.line(line);
    Ok(())
}

/// Refresh storm: every connection due at once, refreshed under the per-integration limit.
async fn storm_section(a: &Args, s: &Arc<Setup>, r: &mut Report) -> anyhow::Result<()> {
    if a.storm_connections == 0 {
        return Ok(());
    }
    // Bounded: twice the time the rate allows, plus a minute for a slow machine.
    let limit =
        Duration::from_secs(60 + 2 * (a.storm_connections as u64) / u64::from(a.storm_rate));
    let st = storm::storm(s, a.storm_connections, a.storm_rate, limit).await?;
    r.line(format!(
        "- refresh storm: {} connections due at once (imported in {:.1} s), sweeper limit {}/s per integration (burst {}) → {} refreshed, {} failed, {} token calls in {:.1} s{}; peak token-endpoint rate {}/s over any 1 s (emulator's log)",
        st.connections,
        st.imported_in.as_secs_f64(),
        st.per_sec,
        st.burst,
        st.refreshed,
        st.failed,
        st.token_calls,
        st.took.as_secs_f64(),
        if st.timed_out { " (stopped at the time limit)" } else { "" },
        st.peak_per_sec,
    ));
    r.line("");
    Ok(())
}

/// The `patchbay` binary in a process of its own: start-up, RSS, lookups, with 1 and with
/// `--footprint-connections` connections stored.
async fn footprint_section(a: &Args, s: &Arc<Setup>, r: &mut Report) -> anyhow::Result<()> {
    if a.footprint_connections == 0 {
        return Ok(());
    }
    let Some(bin) = footprint::binary() else {
        r.line("- footprint: skipped, no `patchbay` binary beside the bench (run `cargo build --release -p patchbay` first, or set PATCHBAY_BIN)");
        r.line("");
        return Ok(());
    };
    let lookups = if a.smoke { 20 } else { 1_000 };
    // SQLite, and PostgreSQL when asked for; without `--footprint-postgres`, the backend the
    // rest of the run uses.
    let backends: Vec<Option<&str>> = match &a.footprint_postgres {
        Some(pg) => vec![None, Some(pg.as_str())],
        None => vec![a.database_url.as_deref()],
    };
    r.line(format!(
        "Footprint of `patchbay serve` ({}), a process of its own (targets: idle RSS < 40 MB, start-up < 100 ms); the stored connections hold fresh tokens (none due for a refresh); lookups are {lookups} sequential `GET /vault/connections/crm/salesforce` for different consumers; load is {} s of saturated `/proxy` over {} connections:",
        bin.display(),
        a.phase().as_secs_f64(),
        a.concurrency,
    ));
    r.line("");
    r.line("| backend | stored connections | filled in s | start-up ms | idle RSS MB | peak RSS under load MB | RSS after load MB | proxy req/s | lookup p50 ms | lookup p99 ms |");
    r.line("|---|---|---|---|---|---|---|---|---|---|");
    for database_url in backends {
        for stored in [1, a.footprint_connections] {
            let f = footprint::measure(
                s,
                &bin,
                database_url,
                stored,
                a.phase(),
                a.concurrency,
                lookups,
            )
            .await?;
            r.line(format!(
                "| {} | {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {:.2} | {:.2} |",
                if database_url.is_some() {
                    "PostgreSQL"
                } else {
                    "SQLite"
                },
                f.stored,
                f.filled_in.as_secs_f64(),
                f.start_ms,
                f.idle_rss_mb,
                f.load_peak_mb,
                f.after_load_mb,
                f.load_rps,
                f.lookup_p50_ms,
                f.lookup_p99_ms,
            ));
        }
    }
    r.line("");
    Ok(())
}
