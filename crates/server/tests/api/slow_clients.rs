//! The accept loop against raw TCP clients: half a request line, trickled headers, a trickled
//! body, an idle keep-alive connection and a client that stops reading its response are all
//! closed on schedule, a slow but steady reader gets its whole response, and the connection
//! cap holds. Timeouts are short here; the defaults are seconds (docs/deploy.md).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use patchbay_server::listener::{ConnectionStats, ListenerOptions, Phase, per_core, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Server {
    addr: std::net::SocketAddr,
    stats: Arc<ConnectionStats>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn options() -> ListenerOptions {
    ListenerOptions {
        header_read_timeout: Duration::from_millis(400),
        body_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(400),
        response_write_timeout: Duration::from_millis(400),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(1),
        trusted_proxies: Vec::new(),
        threads: 0,
    }
}

/// The size of `/big`'s body: many times what the kernel buffers between the server and a
/// client that does not read, once both buffers are shrunk ([`small_send_buffer_listener`],
/// [`connect_with_small_receive_buffer`]).
const BIG: usize = 512 * 1024;

fn app() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/echo",
            post(|body: axum::body::Bytes| async move { body.len().to_string() }),
        )
        .route("/big", get(|| async { vec![b'x'; BIG] }))
}

async fn start(options: ListenerOptions) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stats = Arc::new(ConnectionStats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app(), options, Arc::clone(&stats), async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stats,
        _stop: stop,
    }
}

/// Reads until the server closes the connection (EOF or reset); returns what arrived and when
/// the connection closed. Bounded: fails after `limit`.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        assert!(
            !left.is_zero(),
            "the server kept the connection open for {limit:?}"
        );
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&got).into_owned(),
                    started.elapsed(),
                );
            }
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
}

#[tokio::test]
async fn half_a_request_line_is_closed_after_the_header_timeout() {
    let server = start(options()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET /hel").await.expect("write");
    let (got, after) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(got.is_empty(), "no response to half a request: {got}");
    assert!(
        after >= Duration::from_millis(300),
        "closed too early: {after:?}"
    );
    assert!(
        after < Duration::from_millis(1500),
        "closed late: {after:?}"
    );
    assert!(
        server
            .stats
            .closed_header_timeout
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let server = start(options()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let (_, after) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(
        after < Duration::from_millis(1500),
        "closed late: {after:?}"
    );
}

#[tokio::test]
async fn trickled_headers_do_not_extend_the_header_timeout() {
    let server = start(options()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    let started = Instant::now();
    let head = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    // One byte every 50 ms: the head would take over 4 s; the server must give up at ~400 ms.
    let mut closed_at = None;
    for byte in head {
        if s.write_all(&[*byte]).await.is_err() {
            closed_at = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut probe = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) =
            tokio::time::timeout(Duration::from_millis(1), s.read(&mut probe)).await
        {
            closed_at = Some(started.elapsed());
            break;
        }
    }
    let closed_at =
        closed_at.expect("the server must close a trickling client before the head ends");
    assert!(
        closed_at >= Duration::from_millis(300),
        "closed too early: {closed_at:?}"
    );
    assert!(
        closed_at < Duration::from_millis(1500),
        "closed late: {closed_at:?}"
    );
}

#[tokio::test]
async fn a_trickled_body_gets_408_and_the_connection_closes() {
    let server = start(options()).await;
    let s = TcpStream::connect(server.addr).await.expect("connect");
    let (mut reader, mut writer) = s.into_split();
    writer
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .await
        .expect("head");
    let started = Instant::now();
    // One byte every 50 ms would take 5 s; the body timeout is 400 ms.
    let trickle = async {
        for _ in 0..100 {
            if writer.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let closed = read_until_closed(&mut reader, Duration::from_secs(5));
    let got = tokio::select! {
        (got, _) = closed => got,
        () = trickle => panic!("the whole trickled body was accepted"),
    };
    let after = started.elapsed();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(
        got.to_ascii_lowercase().contains("connection: close"),
        "{got}"
    );
    assert!(
        got.contains("\"status_code\":408"),
        "an error envelope: {got}"
    );
    assert!(
        after >= Duration::from_millis(300),
        "closed too early: {after:?}"
    );
    assert!(
        after < Duration::from_millis(1800),
        "closed late: {after:?}"
    );
    assert!(
        server
            .stats
            .body_timeouts
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let mut opts = options();
    opts.idle_timeout = Duration::from_millis(600);
    opts.header_read_timeout = Duration::from_secs(5);
    let server = start(opts).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("a response")
        .expect("read");
    let first = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(first.ends_with("hello"), "{first}");
    let started = Instant::now();
    let (rest, after) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(rest.is_empty(), "{rest}");
    // The idle timer, not the (much longer) header timer, closed it.
    assert!(
        after >= Duration::from_millis(450),
        "closed too early: {after:?}"
    );
    assert!(
        after < Duration::from_millis(2000),
        "closed late: {after:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        server
            .stats
            .closed_idle_timeout
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = start(options()).await;
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    for _ in 0..3 {
        s.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .expect("a response")
            .expect("read");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        // Shorter than the idle timeout: the connection stays.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn the_connection_cap_holds_and_frees_a_slot_when_a_client_leaves() {
    let mut opts = options();
    opts.max_connections = 2;
    opts.header_read_timeout = Duration::from_secs(10);
    opts.idle_timeout = Duration::from_secs(10);
    let server = start(opts).await;
    let first = TcpStream::connect(server.addr).await.expect("connect");
    let _second = TcpStream::connect(server.addr).await.expect("connect");
    // Wait (bounded) until both are being served.
    for _ in 0..100 {
        if server.stats.open() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.stats.open(), 2);
    assert_eq!(server.stats.in_phase(Phase::ReadingHead), 2);
    let mut third = TcpStream::connect(server.addr)
        .await
        .expect("the kernel backlog accepts");
    third
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served past the cap of 2"
    );
    assert_eq!(server.stats.open(), 2);
    drop(first);
    let (got, _) = read_until_closed(&mut third, Duration::from_secs(3)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

/// A listening socket whose accepted connections inherit a small, fixed send buffer (Linux
/// copies `SO_SNDBUF` from the listener, and fixing it turns off the kernel's growing it), so a
/// client that stops reading stalls the server's writes after a few KB rather than a few MB.
fn small_send_buffer_listener() -> std::net::TcpListener {
    use socket2::{Domain, Protocol, Socket, Type};
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.set_send_buffer_size(16 * 1024).expect("SO_SNDBUF");
    socket.set_nonblocking(true).expect("nonblocking");
    socket.bind(&addr.into()).expect("bind");
    socket.listen(128).expect("listen");
    socket.into()
}

/// The default server, or the thread-per-core one on two threads sharing one listener.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    Default,
    PerCore,
}

async fn start_small_buffers(flavor: Flavor, options: ListenerOptions) -> Server {
    let listener = small_send_buffer_listener();
    let addr = listener.local_addr().expect("addr");
    let stats = Arc::new(ConnectionStats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    match flavor {
        Flavor::Default => {
            let listener = tokio::net::TcpListener::from_std(listener).expect("register");
            tokio::spawn(serve(listener, app(), options, Arc::clone(&stats), stopped));
        }
        Flavor::PerCore => {
            let listeners = vec![listener.try_clone().expect("clone"), listener];
            let setup: per_core::ThreadSetup =
                Arc::new(|| (app(), Box::new(()) as Box<dyn std::any::Any>));
            let stats = Arc::clone(&stats);
            tokio::spawn(async move {
                let (served, cores) =
                    per_core::serve(listeners, setup, options, stats, stopped).await;
                cores.finish().await;
                served
            });
        }
    }
    Server {
        addr,
        stats,
        _stop: stop,
    }
}

/// A client whose receive buffer is a few KB, set before connecting so the window it
/// advertises stays small.
async fn connect_with_small_receive_buffer(addr: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4 * 1024).expect("SO_RCVBUF");
    socket.connect(addr).await.expect("connect")
}

/// Timers for the response-write tests: the idle timer is the shorter, to show that the
/// write timer, not the idle one, governs a response still being written (hyper finishes the
/// response body, which ends the busy phase, before the body's bytes have left).
fn write_timeout_options() -> ListenerOptions {
    let mut opts = options();
    opts.response_write_timeout = Duration::from_millis(800);
    opts.idle_timeout = Duration::from_millis(300);
    opts.header_read_timeout = Duration::from_secs(5);
    opts
}

async fn a_client_that_never_reads_is_closed_after_the_write_timeout(flavor: Flavor) {
    let server = start_small_buffers(flavor, write_timeout_options()).await;
    let mut s = connect_with_small_receive_buffer(server.addr).await;
    s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let load =
        |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
    // Never read; wait (bounded) until the server has accepted the connection and let it go.
    while load(&server.stats.accepted) == 0 || server.stats.open() != 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{flavor:?}: the server still holds a client that reads nothing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = started.elapsed();
    assert_eq!(
        load(&server.stats.closed_idle_timeout),
        0,
        "{flavor:?}: the idle timer closed a connection that was still being written to"
    );
    assert_eq!(
        load(&server.stats.closed_write_timeout),
        1,
        "{flavor:?}: the write timer closed it"
    );
    assert!(
        after >= Duration::from_millis(700),
        "{flavor:?}: closed too early: {after:?}"
    );
    assert!(
        after < Duration::from_millis(3000),
        "{flavor:?}: closed late: {after:?}"
    );
    // What the kernel had buffered arrives, then the end: the response was cut short.
    let (got, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{flavor:?}");
    assert!(
        got.len() < BIG,
        "{flavor:?}: the whole response ({} bytes) was written to a client that read nothing",
        got.len()
    );
}

async fn a_slow_steady_reader_gets_the_whole_response(flavor: Flavor) {
    let server = start_small_buffers(flavor, write_timeout_options()).await;
    let mut s = connect_with_small_receive_buffer(server.addr).await;
    s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let mut got = Vec::with_capacity(BIG + 1024);
    let mut buf = [0u8; 4096];
    // 24 KB every 100 ms: about 2 s for the body, more than twice the write timeout, with
    // the server's writes waiting on this client all along.
    'reading: loop {
        let mut this_tick = 0;
        while this_tick < 24 * 1024 {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("the server went silent")
                .unwrap_or(0);
            if n == 0 {
                break 'reading;
            }
            got.extend_from_slice(&buf[..n]);
            this_tick += n;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{flavor:?}: bounded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{flavor:?}");
    let body = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| got.len() - i - 4);
    assert_eq!(body, Some(BIG), "{flavor:?}: the whole body arrived");
    assert!(
        took > Duration::from_millis(1200),
        "{flavor:?}: the read was meant to outlast the write timeout: {took:?}"
    );
    assert_eq!(
        server
            .stats
            .closed_write_timeout
            .load(std::sync::atomic::Ordering::Relaxed),
        0,
        "{flavor:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_reads_its_response_is_closed_after_the_write_timeout() {
    a_client_that_never_reads_is_closed_after_the_write_timeout(Flavor::Default).await;
}

#[tokio::test]
async fn per_core_a_client_that_never_reads_its_response_is_closed_after_the_write_timeout() {
    a_client_that_never_reads_is_closed_after_the_write_timeout(Flavor::PerCore).await;
}

#[tokio::test]
async fn a_slow_but_steady_reader_gets_a_large_response_whole() {
    a_slow_steady_reader_gets_the_whole_response(Flavor::Default).await;
}

#[tokio::test]
async fn per_core_a_slow_but_steady_reader_gets_a_large_response_whole() {
    a_slow_steady_reader_gets_the_whole_response(Flavor::PerCore).await;
}
