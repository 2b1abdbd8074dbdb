//! Upstream abuse (issue 13): a Salesforce instance that answers with 200 MB, with a gzip bomb,
//! a byte per second, or not at all. The proxy and the CRM path stay bounded in memory (the
//! test process's RSS, which holds the server, is sampled throughout) and give up on schedule.
//! The upstream is a raw tokio TCP server, so it can misbehave below HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use patchbay_server::service::proxy::ProxyOptions;
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::assert_error_envelope;
use crate::proxy_support::{Echo, EchoApp, spawn_app_on};

const MB: u64 = 1024 * 1024;
/// RSS growth allowed while a body far larger than it passes: a buffered 200 MB body (or its
/// expansion) would exceed it; a streamed one stays well below it (1-30 MB seen) with room for
/// the other tests that share this process's memory when the whole binary runs in parallel.
const RSS_BOUND: u64 = 160 * MB;

#[derive(Clone, Copy)]
enum Misbehaviour {
    /// 200 MB with a `Content-Length`.
    Huge,
    /// 200 MB without a length, ended by closing the connection.
    HugeUnannounced,
    /// A small gzip body that expands to 256 MiB, labelled `Content-Encoding: gzip`.
    GzipBomb,
    /// The status line and headers, one byte per second.
    SlowHead,
    /// Headers at once, then the body one byte per second.
    SlowBody,
    /// Accepts, reads the request, never answers.
    BlackHole,
}

/// A misbehaving instance; `hits` counts requests.
async fn upstream(kind: Misbehaviour) -> Echo {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let _ = misbehave(socket, kind, bomb()).await;
            });
        }
    });
    Echo { base, hits }
}

async fn misbehave(mut socket: TcpStream, kind: Misbehaviour, bomb: &[u8]) -> std::io::Result<()> {
    read_head(&mut socket).await?;
    match kind {
        Misbehaviour::Huge | Misbehaviour::HugeUnannounced => {
            let total = 200 * MB;
            let head = if matches!(kind, Misbehaviour::Huge) {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {total}\r\n\r\n"
                )
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                    .to_owned()
            };
            socket.write_all(head.as_bytes()).await?;
            // A JSON string that never ends, so nothing can parse a prefix of it as an answer.
            socket.write_all(b"{\"records\":\"").await?;
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 12;
            while sent < total {
                let n = usize::try_from((total - sent).min(chunk.len() as u64)).unwrap_or(0);
                socket.write_all(&chunk[..n]).await?;
                sent += n as u64;
            }
            socket.shutdown().await
        }
        Misbehaviour::GzipBomb => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                bomb.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(bomb).await?;
            socket.shutdown().await
        }
        Misbehaviour::SlowHead => {
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}" {
                socket.write_all(&[*b]).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(())
        }
        Misbehaviour::SlowBody => {
            socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 120\r\n\r\n")
                .await?;
            for _ in 0..120 {
                socket.write_all(b" ").await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(())
        }
        Misbehaviour::BlackHole => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(())
        }
    }
}

async fn read_head(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// The bomb, built once: 258 MB of zeros in about 1.6 MB.
fn bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| gzip_bomb(1_000_000))
}

/// A gzip member whose deflate stream is one fixed-Huffman block: a literal zero, then
/// `matches` copies of "repeat the last 258 bytes at distance 1" (13 bits each), so about
/// 1.6 KB per MB of output. Hand-built because no compressor is in the dependency tree.
fn gzip_bomb(matches: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        /// `len` bits of `value`, least significant first (header fields).
        fn put(&mut self, value: u32, len: u32) {
            for i in 0..len {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(u8::try_from(self.acc).unwrap_or(0));
                    self.acc = 0;
                    self.n = 0;
                }
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.put((code >> i) & 1, 1);
            }
        }
    }
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = fixed Huffman
    bits.code(0x30, 8); // literal 0
    for _ in 0..matches {
        bits.code(0xc5, 8); // length symbol 285: 258 bytes
        bits.code(0, 5); // distance code 0: distance 1
    }
    bits.code(0, 7); // end of block
    if bits.n > 0 {
        let last = u8::try_from(bits.acc).unwrap_or(0);
        bits.out.push(last);
    }
    let expanded = 1 + 258 * matches;
    let mut out = bits.out;
    out.extend_from_slice(&crc32_of_zeros(expanded).to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(expanded % (1 << 32))
            .unwrap_or(0)
            .to_le_bytes(),
    );
    out
}

fn crc32_of_zeros(len: usize) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = u32::try_from(i).unwrap_or(0);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    let mut crc = !0u32;
    for _ in 0..len {
        crc = table[(crc & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The bomb is a real gzip member: the same construction with 1,000 copies was checked to
/// inflate to 258,001 zero bytes (Python's `gzip.decompress`); its CRC-32 matches zlib's.
#[test]
fn the_bomb_is_a_well_formed_gzip_member() {
    assert_eq!(crc32_of_zeros(259), 0xc276_fc68);
    assert_eq!(crc32_of_zeros(258_001), 0xa3c7_52d4);
    let small = gzip_bomb(1_000);
    assert_eq!(small.len(), 1_646);
    assert_eq!(&small[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(
        small[small.len() - 8..small.len() - 4],
        0xa3c7_52d4u32.to_le_bytes()
    );
    assert_eq!(small[small.len() - 4..], 258_001u32.to_le_bytes());
}

/// Resident set size of this process (the server runs in it).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Samples RSS every 20 ms until dropped; `peak_growth` is the largest rise over the start.
struct RssWatch {
    start: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssWatch {
    fn start() -> Self {
        let start = rss();
        let peak = Arc::new(AtomicU64::new(start));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                p.fetch_max(rss(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { start, peak, stop }
    }

    fn peak_growth(&self) -> u64 {
        self.peak.fetch_max(rss(), Ordering::SeqCst);
        self.peak.load(Ordering::SeqCst).saturating_sub(self.start)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads a response body to its end or first error without keeping it; returns the bytes seen
/// and whether it ended cleanly.
async fn drain(mut r: reqwest::Response) -> (u64, bool) {
    let mut seen = 0u64;
    loop {
        match r.chunk().await {
            Ok(Some(c)) => seen += c.len() as u64,
            Ok(None) => return (seen, true),
            Err(_) => return (seen, false),
        }
    }
}

async fn app_on(kind: Misbehaviour, proxy: ProxyOptions) -> EchoApp {
    spawn_app_on(upstream(kind).await, proxy).await
}

fn crm(app: &EchoApp) -> reqwest::RequestBuilder {
    app.client
        .request(Method::GET, format!("{}/crm/contacts", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .header("x-apideck-service-id", "salesforce")
}

/// With a cap above it, a 200 MB answer streams through the proxy without being held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_answer_streams_through_the_proxy_in_bounded_memory() {
    let app = app_on(
        Misbehaviour::Huge,
        ProxyOptions {
            max_body_bytes: 256 * MB,
            ..ProxyOptions::default()
        },
    )
    .await;
    let watch = RssWatch::start();
    let r = app.proxy(Method::GET, "/huge").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let (seen, clean) = drain(r).await;
    let growth = watch.peak_growth();
    eprintln!("RSS growth: {} MB", growth / MB);
    assert!(clean, "ended cleanly after {seen} bytes");
    assert_eq!(seen, 200 * MB);
    assert!(growth < RSS_BOUND, "RSS grew by {} MB", growth / MB);
}

/// Over the default 64 MB cap, the answer is cut at the cap, announced or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_answer_is_cut_at_the_proxy_cap() {
    for kind in [Misbehaviour::Huge, Misbehaviour::HugeUnannounced] {
        let app = app_on(kind, ProxyOptions::default()).await;
        let watch = RssWatch::start();
        let r = app.proxy(Method::GET, "/huge").send().await.expect("send");
        let status = r.status();
        let (seen, clean) = drain(r).await;
        let growth = watch.peak_growth();
        eprintln!("RSS growth: {} MB", growth / MB);
        assert!(
            !(status.is_success() && clean),
            "a body over the cap must not arrive whole ({status}, {seen} bytes)"
        );
        assert!(seen <= 64 * MB, "{seen} bytes passed a 64 MB cap");
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(growth < RSS_BOUND, "RSS grew by {} MB", growth / MB);
    }
}

/// The CRM path reads answers into memory, so it stops at its own 32 MB limit: a clean 502
/// envelope, memory bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_answer_on_the_crm_path_is_refused_in_bounded_memory() {
    for kind in [Misbehaviour::Huge, Misbehaviour::HugeUnannounced] {
        let app = app_on(kind, ProxyOptions::default()).await;
        let watch = RssWatch::start();
        let r = crm(&app).send().await.expect("send");
        let status = r.status();
        let v: serde_json::Value = r.json().await.expect("envelope");
        let growth = watch.peak_growth();
        eprintln!("RSS growth: {} MB", growth / MB);
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{v}");
        assert_eq!(v["status_code"], 502, "{v}");
        assert!(growth < RSS_BOUND, "RSS grew by {} MB", growth / MB);
    }
}

/// A gzip bomb is never expanded: the proxy passes the compressed bytes as they are (the
/// caller asked for them), and the CRM path refuses an answer it cannot read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_is_never_expanded() {
    let bomb = bomb();
    assert!(bomb.len() < 2 * MB as usize, "{} bytes", bomb.len());
    let app = app_on(Misbehaviour::GzipBomb, ProxyOptions::default()).await;
    let watch = RssWatch::start();
    let r = app.proxy(Method::GET, "/bomb").send().await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let (seen, clean) = drain(r).await;
    assert!(clean);
    assert_eq!(seen, bomb.len() as u64, "passed through compressed");

    let r = crm(&app).send().await.expect("send");
    let status = r.status();
    let v: serde_json::Value = r.json().await.expect("envelope");
    assert!(
        status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR,
        "{status} {v}"
    );
    assert_eq!(v["status_code"], status.as_u16(), "{v}");
    let growth = watch.peak_growth();
    eprintln!("RSS growth: {} MB", growth / MB);
    assert!(growth < RSS_BOUND, "RSS grew by {} MB", growth / MB);
}

/// An instance that trickles its headers or never answers is given up on at the caller's
/// `x-apideck-timeout`; one that trickles its body slower than that is cut mid-body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_instances_time_out_on_schedule_in_the_proxy() {
    for kind in [Misbehaviour::SlowHead, Misbehaviour::BlackHole] {
        let app = app_on(
            kind,
            ProxyOptions {
                get_retries: 0,
                ..ProxyOptions::default()
            },
        )
        .await;
        let started = Instant::now();
        let r = app
            .proxy(Method::GET, "/anything")
            .header("x-apideck-timeout", "1500")
            .send()
            .await
            .expect("send");
        let took = started.elapsed();
        let status = r.status();
        let v: serde_json::Value = r.json().await.expect("envelope");
        assert!(
            status == StatusCode::BAD_GATEWAY || status == StatusCode::GATEWAY_TIMEOUT,
            "{status} {v}"
        );
        assert_eq!(v["status_code"], status.as_u16(), "{v}");
        assert!(
            took >= Duration::from_millis(1400) && took < Duration::from_millis(6000),
            "gave up after {took:?}"
        );
    }
    let app = app_on(Misbehaviour::SlowBody, ProxyOptions::default()).await;
    let started = Instant::now();
    let r = app
        .proxy(Method::GET, "/anything")
        .header("x-apideck-timeout", "700")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK, "the headers came in time");
    let (_, clean) = drain(r).await;
    let took = started.elapsed();
    assert!(!clean, "a body slower than the timeout is cut");
    assert!(took < Duration::from_secs(6), "cut after {took:?}");
}

/// The CRM path's client has a 20 s total deadline (headers and body): slow headers, a
/// trickled body and silence all end there with a clean 5xx envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_instances_time_out_on_schedule_on_the_crm_path() {
    let kinds = [
        Misbehaviour::SlowHead,
        Misbehaviour::SlowBody,
        Misbehaviour::BlackHole,
    ];
    let runs = kinds.map(|kind| async move {
        let app = app_on(kind, ProxyOptions::default()).await;
        let started = Instant::now();
        let r = crm(&app).send().await.expect("send");
        let took = started.elapsed();
        let status = r.status();
        let v: serde_json::Value = r.json().await.expect("envelope");
        (status, v, took)
    });
    for (status, v, took) in futures_join(runs).await {
        assert!(
            status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR,
            "{status} {v}"
        );
        assert_error_envelope(&v, status.as_u16(), v["type_name"].as_str().unwrap_or("?"));
        assert!(
            took >= Duration::from_secs(19) && took < Duration::from_secs(30),
            "gave up after {took:?}"
        );
    }
}

async fn futures_join<F: std::future::Future + Send + 'static>(runs: [F; 3]) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = runs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("join"));
    }
    out
}
