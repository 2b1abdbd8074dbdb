//! The wrk-style closed loop, by wrk itself when it is installed: one thread, `connections`
//! keep-alive connections each sending its next request as soon as the last answer arrives.
//! wrk is a C load generator that costs far less CPU per request than an in-process Rust
//! client, so on a 2-core machine more of the CPU goes to what is measured; the issue's
//! figures were taken with it.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// One wrk run's figures.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub requests: u64,
    pub non_2xx: u64,
    pub socket_errors: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub fn available() -> bool {
    Path::new("/usr/bin/wrk").exists() || Path::new("/usr/local/bin/wrk").exists()
}

/// Runs wrk against `url` with `headers` for `duration` (whole seconds, at least 1).
pub fn run(
    url: &str,
    headers: &[(String, String)],
    connections: usize,
    duration: Duration,
) -> anyhow::Result<WrkRun> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "--latency"])
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)));
    for (name, value) in headers {
        cmd.arg("-H").arg(format!("{name}: {value}"));
    }
    let out = cmd.arg(url).output().context("run wrk")?;
    if !out.status.success() {
        bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// `490.00us`, `1.08ms`, `2.00s` → ms.
fn ms(text: &str) -> Option<f64> {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

fn parse(out: &str) -> anyhow::Result<WrkRun> {
    let mut run = WrkRun {
        requests: 0,
        non_2xx: 0,
        socket_errors: 0,
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
    };
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => run.p50_ms = ms(v).unwrap_or(f64::NAN),
            ["99%", v] => run.p99_ms = ms(v).unwrap_or(f64::NAN),
            ["Requests/sec:", v] => run.rps = v.parse().unwrap_or(f64::NAN),
            [n, "requests", "in", ..] => run.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => run.non_2xx = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => {
                run.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if run.requests == 0 || run.rps.is_nan() {
        bail!("could not read wrk's output: {out}");
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrks_summary() {
        let out = "Running 6s test @ http://127.0.0.1:1/x
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   510.33us  120.00us   4.00ms   90.00%
  Latency Distribution
     50%  490.00us
     75%  600.00us
     90%  800.00us
     99%    1.08ms
  375000 requests in 6.00s, 300.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:  62500.50
Transfer/sec:     50.00MB
";
        let r = parse(out).expect("parsed");
        assert_eq!(r.requests, 375_000);
        assert_eq!(r.non_2xx, 12);
        assert_eq!(r.socket_errors, 3);
        assert!((r.rps - 62_500.5).abs() < 1e-9);
        assert!((r.p50_ms - 0.49).abs() < 1e-9);
        assert!((r.p99_ms - 1.08).abs() < 1e-9);
        assert!(parse("garbage").is_err());
    }
}
