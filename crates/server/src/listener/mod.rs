//! The accept loop: Patchbay's own replacement for `axum::serve`, because a server on the open
//! internet must not let a slow client hold a connection (docs/deploy.md, "Slow clients").
//!
//! Every connection is in one of three phases, tracked by [`conn::ConnState`]:
//!
//! * **reading a head** from accept (or from the first byte after an idle period) until hyper
//!   hands a complete request to the service: closed after [`ListenerOptions::header_read_timeout`]
//!   however the bytes trickle in;
//! * **busy** from the request head until the response body has been written: request bodies
//!   must arrive within [`ListenerOptions::body_read_timeout`] (the caller gets a 408 envelope
//!   and the connection closes), the handler itself is not timed here;
//! * **idle** between keep-alive requests: closed after [`ListenerOptions::idle_timeout`].
//!
//! Across all three, writing to the client must make progress: a write the socket does not
//! accept a byte of for [`ListenerOptions::response_write_timeout`] closes the connection
//! ([`conn::TrackedIo`]), so a client that asks for a response and never reads it cannot hold
//! its connection, its task and the response's buffers. While a write is stalled the head and
//! idle timers wait for it: hyper ends the response body (and so the busy phase) before it has
//! flushed the body's bytes, so the tail of a large response is written in the idle phase, and
//! each stalled write that moves again restarts the idle timer.
//!
//! At most [`ListenerOptions::max_connections`] connections are served at once; past the cap the
//! loop stops accepting, so new clients wait in the kernel's backlog instead of taking memory.

mod body;
mod client_addr;
mod conn;
pub mod per_core;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

pub use client_addr::{ClientAddr, IpNet, client_addr};
pub use conn::Phase;

/// How long clients may take, and how many may be connected at once.
#[derive(Debug, Clone)]
pub struct ListenerOptions {
    /// `--header-read-timeout`: from accept (or from the first byte of a keep-alive request) to
    /// a complete request head.
    pub header_read_timeout: Duration,
    /// `--body-read-timeout`: from the request head to the end of the request body.
    pub body_read_timeout: Duration,
    /// `--idle-timeout`: how long a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// `--response-write-timeout`: how long a write to the client may make no progress (the
    /// socket accepts no byte) before the connection closes. Progress restarts it, so a
    /// slow client that keeps reading gets a response of any size.
    pub response_write_timeout: Duration,
    /// `--max-connections`: connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long a graceful shutdown waits for in-flight requests before closing them.
    pub shutdown_grace: Duration,
    /// `--trusted-proxy`: peers whose `X-Forwarded-For` names the client ([`ClientAddr`]).
    pub trusted_proxies: Vec<IpNet>,
    /// `--server-threads`: 0 serves on the runtime that runs the [`crate::Application`] (a
    /// work-stealing runtime in the binary, the test's own runtime in tests); N ≥ 1 serves on
    /// N threads of their own, each with a current-thread runtime and its own accept loop
    /// ([`per_core`]).
    pub threads: usize,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            response_write_timeout: Duration::from_secs(30),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
            threads: 0,
        }
    }
}

/// Counters of the accept loop, read by `/metrics`. Plain atomics: the loop never waits on them.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    pub accepted: AtomicU64,
    /// Connections open now, by phase (index: [`Phase`] as usize).
    pub by_phase: [AtomicI64; 3],
    pub closed_header_timeout: AtomicU64,
    pub closed_idle_timeout: AtomicU64,
    pub body_timeouts: AtomicU64,
    /// Connections closed because writing to the client made no progress for the
    /// response-write timeout (the client stopped reading).
    pub closed_write_timeout: AtomicU64,
    /// Times the loop stopped accepting because the cap was reached.
    pub cap_reached: AtomicU64,
}

impl ConnectionStats {
    pub fn open(&self) -> i64 {
        self.by_phase
            .iter()
            .map(|g| g.load(Ordering::Relaxed))
            .sum()
    }

    pub fn in_phase(&self, phase: Phase) -> i64 {
        self.by_phase[phase as usize].load(Ordering::Relaxed)
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// (up to [`ListenerOptions::shutdown_grace`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ListenerOptions,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    accept_loop(listener, app, Arc::new(options), stats, slots, shutdown).await
}

/// One accept loop. `slots` is the connection cap, shared by every loop of a server (the
/// per-core server runs one loop per thread); `stats` likewise.
async fn accept_loop(
    listener: TcpListener,
    app: Router,
    options: Arc<ListenerOptions>,
    stats: Arc<ConnectionStats>,
    slots: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    // Dropping the sender tells every connection to finish; each holds a receiver so the loop
    // can wait until all of them are gone.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 {
            stats.cap_reached.fetch_add(1, Ordering::Relaxed);
        }
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the cap should keep us
                    // below the descriptor limit, but the limit is the operator's to set.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        stats.accepted.fetch_add(1, Ordering::Relaxed);
        let app = app.clone();
        let options = Arc::clone(&options);
        let stats = Arc::clone(&stats);
        let stop_rx = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, remote, app, options, stats, stop_rx).await;
            drop(permit);
        });
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    // Wait until every connection task has dropped its receiver, or the grace period ends.
    let _ = tokio::time::timeout(options.shutdown_grace, stop_tx.closed()).await;
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    app: Router,
    options: Arc<ListenerOptions>,
    stats: Arc<ConnectionStats>,
    mut stop: watch::Receiver<bool>,
) {
    let state = conn::ConnState::new(Arc::clone(&stats));
    let io = TokioIo::new(conn::TrackedIo::new(
        stream,
        Arc::clone(&state),
        options.response_write_timeout,
    ));
    let body_timeout = options.body_read_timeout;
    let trusted = Arc::new(options.trusted_proxies.clone());
    let service_state = Arc::clone(&state);
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let app = app.clone();
        let state = Arc::clone(&service_state);
        let client = client_addr(remote, req.headers(), &trusted);
        async move {
            let guard = conn::RequestGuard::start(state);
            let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let mut req = req.map(|b| {
                axum::body::Body::new(body::TimedBody::new(
                    b,
                    body_timeout,
                    Arc::clone(&timed_out),
                ))
            });
            req.extensions_mut().insert(ConnectInfo(remote));
            req.extensions_mut().insert(client);
            let response = app.oneshot(req).await.unwrap_or_else(|e| match e {});
            let response = if timed_out.load(Ordering::Relaxed) {
                guard.stats().body_timeouts.fetch_add(1, Ordering::Relaxed);
                body::timeout_response()
            } else {
                response
            };
            Ok::<_, std::convert::Infallible>(response.map(|b| body::GuardedBody::new(b, guard)))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Our own watchdog times heads and idle periods; hyper's header timer would also fire on an
    // idle keep-alive connection, so it is off.
    builder.http1().header_read_timeout(None).keep_alive(true);
    let connection = builder.serve_connection_with_upgrades(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut watchdog = std::pin::pin!(conn::watchdog(Arc::clone(&state), Arc::clone(&options)));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if state.write_timed_out() {
                    // Counted by the IO wrapper, which saw the stall.
                    tracing::debug!(%remote, "closing a connection whose client stopped reading");
                } else if let Err(e) = result {
                    tracing::trace!(error = %e, %remote, "connection ended with an error");
                }
                break;
            }
            phase = &mut watchdog => {
                match phase {
                    Phase::Idle => stats.closed_idle_timeout.fetch_add(1, Ordering::Relaxed),
                    _ => stats.closed_header_timeout.fetch_add(1, Ordering::Relaxed),
                };
                tracing::debug!(%remote, ?phase, "closing a connection that timed out");
                break;
            }
            changed = stop.changed(), if !stopping => {
                let _ = changed;
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    state.close();
}
