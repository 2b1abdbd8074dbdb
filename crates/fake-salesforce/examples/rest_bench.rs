//! Benchmark of the emulator's REST surface on loopback, printed as one JSON object.
//!
//! ```text
//! cargo run --release -p patchbay-fake-salesforce --example rest_bench
//! ```
//!
//! It spawns an emulator with 100,000 seeded records and measures:
//! - `get_per_sec`: authenticated `GET /sobjects/Contact/{id}` with 64 concurrent keep-alive
//!   connections for about 5 seconds (targets: at least 20,000 per second);
//! - `query_ms`: latency of an equality-filtered SOQL query over the seeded records, through
//!   HTTP and, separately, inside the data engine (target: well under 50 ms).
//!
//! The load generator is a minimal HTTP/1.1 keep-alive client, so that on a small machine the
//! client spends as little CPU as possible and the number reflects the server.
//! Bounded: `BENCH_SECONDS` (default 5) and `BENCH_CONNECTIONS` (default 64) override;
//! `BENCH_PATH` points the GET load at another path (e.g. `/services/data/` as a baseline).

use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use patchbay_fake_salesforce::{Emulator, EmulatorConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const RECORDS: usize = 100_000;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One keep-alive connection that sends a fixed GET and reads whole responses.
struct RawClient {
    stream: TcpStream,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl RawClient {
    async fn connect(addr: &str, request: Vec<u8>) -> Result<Self, BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(RawClient {
            stream,
            request,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends the request once and returns the response status.
    async fn roundtrip(&mut self) -> Result<u16, BoxError> {
        self.stream.write_all(&self.request).await?;
        self.buf.clear();
        let (head_len, content_len) = loop {
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..pos])?;
                break (pos + 4, content_length(head).ok_or("no content-length")?);
            }
        };
        while self.buf.len() < head_len + content_len {
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err("connection closed mid-body".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let status = self.buf.get(9..12).ok_or("short status line")?;
        Ok(std::str::from_utf8(status)?.parse()?)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

/// An access token for the default user through the real authorization-code flow (PKCE).
async fn access_token(base: &str, config: &EmulatorConfig) -> Result<String, BoxError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let verifier = "rest-bench-verifier-0123456789-0123456789-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    let redirect = config
        .callback_urls
        .first()
        .ok_or("no callback url")?
        .as_str();
    let authorize = http
        .get(format!("{base}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect),
            ("scope", "api"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    let location = (authorize.headers().get("location"))
        .and_then(|v| v.to_str().ok())
        .ok_or("authorize did not redirect")?;
    let location = url::Url::parse(location)?;
    let code = (location.query_pairs())
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;
    let token: serde_json::Value = http
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", config.client_id.as_str()),
            ("client_secret", config.client_secret.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_owned())
}

/// Tops the Contact table up to `target` rows, straight in the org.
fn top_up_contacts(emu: &Emulator, target: usize) -> usize {
    let now = emu.now_ms();
    let mut org = emu.org().write();
    let user = org.default_user_id();
    let have = org.count("Contact").unwrap_or(0);
    for i in have..target {
        let body = json!({
            "LastName": format!("Bench{i:06}"),
            "Email": format!("bench{i:06}@example.com"),
        });
        // Seed data only; a failure would show as a smaller row count in the output.
        let _ = org.create("Contact", &body, user, now);
    }
    org.count("Contact").unwrap_or(0)
}

/// (a): GETs of one record from `connections` keep-alive connections for `seconds`.
async fn measure_gets(
    addr: &str,
    path: &str,
    token: &str,
    connections: usize,
    seconds: f64,
) -> Result<serde_json::Value, BoxError> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    )
    .into_bytes();
    let duration = Duration::from_secs_f64(seconds);
    // Warm up the connections and the server before the clock starts.
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut c = RawClient::connect(addr, request.clone()).await?;
        let status = c.roundtrip().await?;
        if status != 200 {
            return Err(format!("warm-up GET answered {status}").into());
        }
        clients.push(c);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (clients.into_iter())
        .map(|mut c| {
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0u64, 0u64);
                while Instant::now() < deadline {
                    match c.roundtrip().await {
                        Ok(200) => ok += 1,
                        Ok(_) => failed += 1,
                        Err(_) => {
                            failed += 1;
                            break;
                        }
                    }
                }
                (ok, failed)
            })
        })
        .collect();
    let (mut ok, mut failed) = (0u64, 0u64);
    for t in tasks {
        let (o, f) = t.await?;
        ok += o;
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "path": path,
        "connections": connections,
        "seconds": elapsed,
        "ok": ok,
        "failed": failed,
        "get_per_sec": (ok as f64 / elapsed).round(),
    }))
}

/// (b): an equality-filtered query, `rounds` times over HTTP and inside the engine.
async fn measure_query(
    base: &str,
    emu: &Emulator,
    token: &str,
    soql: &str,
    rounds: usize,
) -> Result<serde_json::Value, BoxError> {
    let http = reqwest::Client::new();
    let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    let url = format!("{base}/services/data/v66.0/query?q={q}");
    let mut over_http = Vec::with_capacity(rounds);
    let mut total_size = serde_json::Value::Null;
    for _ in 0..rounds {
        let started = Instant::now();
        let resp = http.get(&url).bearer_auth(token).send().await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        over_http.push(started.elapsed().as_secs_f64() * 1000.0);
        if !status.is_success() {
            return Err(format!("query answered {status}: {body}").into());
        }
        total_size = body["totalSize"].clone();
    }
    let mut in_engine = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let now = emu.now_ms();
        let started = Instant::now();
        let org = emu.org().read();
        let result = org.query(soql, false, now)?;
        let records = result.all_records(&org, "66.0");
        drop(org);
        in_engine.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(records);
    }
    Ok(json!({
        "soql": soql,
        "total_size": total_size,
        "rounds": rounds,
        "http_ms": summary(&mut over_http),
        "engine_ms": summary(&mut in_engine),
    }))
}

fn summary(samples: &mut [f64]) -> serde_json::Value {
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples.get(i).copied().unwrap_or(f64::NAN)
    };
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    json!({"p50": round(at(0.5)), "p95": round(at(0.95)), "max": round(at(1.0))})
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0_f64).clamp(0.5, 60.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64_usize).clamp(1, 1024);
    let config = EmulatorConfig {
        records: RECORDS,
        auto_approve: true,
        daily_api_limit: u64::MAX / 2,
        ..EmulatorConfig::default()
    };
    let seeding = Instant::now();
    let handle = patchbay_fake_salesforce::spawn(config.clone()).await?;
    let emu = handle.emulator();
    let seeded_records: usize = (patchbay_fake_salesforce_data::object_names().iter())
        .filter_map(|o| emu.org().read().count(o))
        .sum();
    let contacts = top_up_contacts(&emu, RECORDS);
    let seed_seconds = seeding.elapsed().as_secs_f64();

    let base = handle.base_url();
    let addr = base.trim_start_matches("http://").to_owned();
    let token = access_token(&base, &config).await?;

    let probe = format!("bench{:06}@example.com", RECORDS / 2);
    let id = {
        let org = emu.org().read();
        let found = org.query(
            &format!("SELECT Id FROM Contact WHERE Email = '{probe}'"),
            false,
            emu.now_ms(),
        )?;
        let records = found.all_records(&org, "66.0");
        records
            .first()
            .and_then(|r| r["Id"].as_str())
            .ok_or("probe contact missing")?
            .to_owned()
    };
    // BENCH_PATH measures another resource instead, e.g. `/services/data/` for a baseline.
    let path = std::env::var("BENCH_PATH")
        .unwrap_or_else(|_| format!("/services/data/v66.0/sobjects/Contact/{id}"));
    let gets = measure_gets(&addr, &path, &token, connections, seconds).await?;
    let soql = format!("SELECT Id, Name, Email, AccountId FROM Contact WHERE Email = '{probe}'");
    let query = measure_query(&base, &emu, &token, &soql, 50).await?;

    let report = json!({
        "bench": "fake-salesforce REST",
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "seeded_records": seeded_records,
        "contact_rows": contacts,
        "setup_seconds": (seed_seconds * 100.0).round() / 100.0,
        "get_record": gets,
        "equality_query": query,
        "targets": {"get_per_sec": ">= 20000", "query_ms": "well under 50"},
    });
    println!("{report}");
    handle.shutdown().await;
    Ok(())
}
