//! Instructions per request (`--callgrind N`): the `patchbay` binary in a process of its own
//! under `valgrind --tool=callgrind`, instrumentation switched on only around N sequential
//! `/proxy` calls and then N sequential unified reads (after a warm-up of each), and the
//! instructions executed (Ir, all of the process's threads, the request-log writer included)
//! divided by N. Unlike CPU time, the count repeats whatever else the machine runs, so a change
//! of a few hundred instructions per call can be told from noise.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use patchbay_server::ServerConfig;
use reqwest::Client;

use crate::setup::Setup;

/// Kills the child when the measurement ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Ir per request of each scenario, in order: (name, Ir / request).
pub async fn measure(
    s: &Arc<Setup>,
    bin: &Path,
    requests: usize,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let dir = tempfile::tempdir()?;
    let master_key = patchbay_crypto::Keyring::generate()?.to_json().to_string();
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(master_key.clone());
    config.refresh_interval = None;
    // A fresh token, so no refresh runs while instructions are counted.
    let (app_id, api_key) = crate::footprint::fill(config, s, "callgrind", "cg", 1).await?;

    let out = dir.path().join("callgrind.out");
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg("--instr-atstart=no")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(bin)
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0"])
        .env("PATCHBAY_MASTER_KEY", &master_key)
        .env("PATCHBAY_LOG", "warn")
        .env_remove("PATCHBAY_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = Running(
        cmd.spawn()
            .context("start valgrind (apt-get install valgrind)")?,
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
        .recv_timeout(Duration::from_secs(300))
        .context("patchbay serve under valgrind printed no `listening on` line within 300 s")?;
    let base = format!("http://{addr}");
    // One keep-alive connection, one call at a time: the count is per call, not per connection.
    let client = Client::builder().pool_max_idle_per_host(1).build()?;
    let proxy_path = format!(
        "/services/data/{}/sobjects/Account/{}",
        crate::setup::API,
        s.account_id
    );
    let scenarios: [(&'static str, String, Option<&str>); 2] = [
        (
            "proxy GET /proxy",
            format!("{base}/proxy"),
            Some(&proxy_path),
        ),
        (
            "unified GET /crm/companies/{id}",
            format!("{base}/crm/companies/{}", s.account_id),
            None,
        ),
    ];
    let call = |url: &str, downstream: Option<&str>| {
        let mut r = client
            .get(url)
            .bearer_auth(&api_key)
            .header("x-apideck-app-id", &app_id)
            .header("x-apideck-consumer-id", "cg-0");
        if let Some(d) = downstream {
            r = r.header("x-apideck-downstream-url", d);
        }
        r
    };
    let mut results = Vec::new();
    for (name, url, downstream) in &scenarios {
        for _ in 0..requests.min(500) {
            let r = call(url, *downstream).send().await?;
            let status = r.status();
            let _ = r.bytes().await;
            if !status.is_success() {
                bail!("{name} answered {status} under callgrind");
            }
        }
        // Let the warm-up's log entries reach the database before counting starts.
        tokio::time::sleep(Duration::from_secs(2)).await;
        control(pid, &["-z"])?;
        control(pid, &["-i", "on"])?;
        for _ in 0..requests {
            let r = call(url, *downstream).send().await?;
            let status = r.status();
            let _ = r.bytes().await;
            if !status.is_success() {
                bail!("{name} answered {status} under callgrind");
            }
        }
        // The log writer drains its queue after the calls: its work counts too.
        tokio::time::sleep(Duration::from_secs(2)).await;
        control(pid, &["-i", "off"])?;
        let before = dumps(dir.path())?;
        control(pid, &["-d"])?;
        let file = wait_new_dump(dir.path(), &before)?;
        let ir = totals(&file)?;
        results.push((*name, ir as f64 / requests as f64));
    }
    drop(child);
    Ok(results)
}

fn control(pid: u32, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .status()
        .context("run callgrind_control")?;
    if !status.success() {
        bail!("callgrind_control {args:?} {pid} failed: {status}");
    }
    Ok(())
}

fn dumps(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("callgrind.out"))
        {
            v.push(p);
        }
    }
    Ok(v)
}

fn wait_new_dump(dir: &Path, before: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let start = Instant::now();
    loop {
        if let Some(p) = dumps(dir)?.into_iter().find(|p| !before.contains(p))
            && std::fs::read_to_string(&p).is_ok_and(|t| t.contains("\ntotals:"))
        {
            return Ok(p);
        }
        if start.elapsed() > Duration::from_secs(60) {
            bail!("callgrind wrote no dump within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `totals:` line of a dump (Ir, the only event counted by default).
fn totals(file: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(file)?;
    text.lines()
        .find_map(|l| l.strip_prefix("totals:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no totals line in {}", file.display()))
}
