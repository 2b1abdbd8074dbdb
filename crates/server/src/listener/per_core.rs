//! The thread-per-core server (`--server-threads N`): N threads, each running a current-thread
//! Tokio runtime with an accept loop of its own, as nginx runs one worker per core.
//!
//! On a work-stealing runtime, a proxied call's tasks (the caller's connection, the pooled
//! connection to the provider, the handler) wake one another across cores at every loopback
//! read and write. Here everything a connection does stays on the thread that accepted it: its
//! handler, its calls to the provider through that thread's own client pool
//! ([`crate::service::Vault`] pins one per thread), and the pooled connections themselves.
//!
//! On Linux every thread has a listening socket of its own on the same address
//! (`SO_REUSEPORT`), and the kernel spreads new connections over them; elsewhere the threads
//! share one listening socket. What stays shared: the connection cap (one semaphore), the
//! [`ConnectionStats`], the service layer and its caches, and the background work (sweeper,
//! request-log writer, webhook delivery, change poller), which keeps running on the runtime
//! that runs the [`crate::Application`].
//!
//! A serving thread keeps driving its runtime after its accept loop has drained, until
//! [`Cores::finish`]: a database connection or a pooled provider connection opened on that
//! thread is registered with its runtime, and the shutdown's last request-log flush may still
//! use it.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use super::{ConnectionStats, ListenerOptions, accept_loop};

/// Builds a serving thread's router, on that thread, with whatever must live exactly as long as
/// the thread serves (its pinned provider clients).
pub type ThreadSetup = Arc<dyn Fn() -> (Router, Box<dyn Any>) + Send + Sync>;

/// The listen backlog, as Tokio's own `TcpListener::bind` sets it.
const BACKLOG: i32 = 1024;

/// Binds `count` listening sockets on `addr` (port 0 picks one free port for all of them).
///
/// Before the shared sockets are bound, the address is taken once without `SO_REUSEPORT`:
/// Linux lets sockets that all set the option (under one user) share a port, so without
/// this check a second Patchbay started on a busy port would silently take half its
/// connections instead of failing with "address in use".
pub fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let probe = std::net::TcpListener::bind(addr)?;
    let addr = probe.local_addr()?;
    drop(probe);
    let count = count.max(1);
    let mut listeners = Vec::with_capacity(count);
    if cfg!(target_os = "linux") {
        for _ in 0..count {
            listeners.push(reuse_port_listener(addr)?);
        }
    } else {
        // No kernel balancing across sockets here: one socket, accepted from by every thread.
        let first = std::net::TcpListener::bind(addr)?;
        first.set_nonblocking(true)?;
        for _ in 1..count {
            listeners.push(first.try_clone()?);
        }
        listeners.push(first);
    }
    Ok(listeners)
}

fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As Tokio's and std's bind do: a restart need not wait for old connections' TIME_WAIT.
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// The serving threads after their accept loops have ended; see [`Cores::finish`].
pub struct Cores {
    exit: watch::Sender<bool>,
    finished: Vec<oneshot::Receiver<()>>,
}

impl Cores {
    /// Lets the serving threads stop driving their runtimes, and waits until each has dropped
    /// its runtime. Dropping `Cores` instead lets them stop without waiting.
    pub async fn finish(self) {
        let _ = self.exit.send(true);
        for finished in self.finished {
            let _ = finished.await;
        }
    }
}

/// Serves on one thread per listener until `shutdown` resolves; then every accept loop stops
/// and finishes its connections (up to [`ListenerOptions::shutdown_grace`]). Returns the first
/// error an accept loop ended with, and the threads, which keep their runtimes running until
/// [`Cores::finish`].
///
/// A thread whose accept loop ends before `shutdown` (it could not register its socket) stops
/// the whole server, so that a server never runs on fewer threads than it was asked for
/// without saying so.
pub async fn serve(
    listeners: Vec<std::net::TcpListener>,
    setup: ThreadSetup,
    options: ListenerOptions,
    stats: Arc<ConnectionStats>,
    shutdown: impl Future<Output = ()>,
) -> (std::io::Result<()>, Cores) {
    let options = Arc::new(options);
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    // Dropping either sender (this future cancelled) stops the threads as sending would.
    let (stop, stop_rx) = watch::channel(false);
    let (exit, exit_rx) = watch::channel(false);
    let (served_tx, mut served_rx) = mpsc::unbounded_channel();
    let mut finished = Vec::with_capacity(listeners.len());
    let mut started = Ok(());
    for (i, listener) in listeners.into_iter().enumerate() {
        let (finished_tx, finished_rx) = oneshot::channel();
        let thread = Thread {
            listener,
            setup: Arc::clone(&setup),
            options: Arc::clone(&options),
            stats: Arc::clone(&stats),
            slots: Arc::clone(&slots),
            stop: stop_rx.clone(),
            exit: exit_rx.clone(),
            served: served_tx.clone(),
            finished: finished_tx,
        };
        match thread.spawn(i) {
            Ok(()) => finished.push(finished_rx),
            Err(e) => {
                started = Err(e);
                break;
            }
        }
    }
    drop(served_tx);
    let cores = Cores { exit, finished };
    if let Err(e) = started {
        drop(stop);
        return (Err(e), cores);
    }
    let mut shutdown = std::pin::pin!(shutdown);
    let mut result = Ok(());
    tokio::select! {
        () = &mut shutdown => {}
        early = served_rx.recv() => {
            result = match early {
                Some(Err(e)) => Err(e),
                _ => Err(std::io::Error::other("a serving thread stopped before shutdown")),
            };
        }
    }
    let _ = stop.send(true);
    // Every thread reports once, or drops its sender if it panicked.
    while let Some(served) = served_rx.recv().await {
        if let (Ok(()), Err(e)) = (&result, served) {
            result = Err(e);
        }
    }
    (result, cores)
}

/// What one serving thread needs.
struct Thread {
    listener: std::net::TcpListener,
    setup: ThreadSetup,
    options: Arc<ListenerOptions>,
    stats: Arc<ConnectionStats>,
    slots: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
    exit: watch::Receiver<bool>,
    served: mpsc::UnboundedSender<std::io::Result<()>>,
    finished: oneshot::Sender<()>,
}

impl Thread {
    fn spawn(self, index: usize) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // The name starts with the binary's, so per-thread CPU tools group it with Patchbay.
        std::thread::Builder::new()
            .name(format!("patchbay-core{index}"))
            .spawn(move || {
                let Thread {
                    listener,
                    setup,
                    options,
                    stats,
                    slots,
                    mut stop,
                    mut exit,
                    served,
                    finished,
                } = self;
                runtime.block_on(async move {
                    let (app, pinned) = setup();
                    let outcome = match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            let stopped = async move {
                                let _ = stop.wait_for(|s| *s).await;
                            };
                            accept_loop(listener, app, options, stats, slots, stopped).await
                        }
                        Err(e) => Err(e),
                    };
                    let _ = served.send(outcome);
                    // Drop it now, not when the runtime stops: `serve` waits for every sender to
                    // be gone before it returns, and the runtime stops only after that.
                    drop(served);
                    let _ = exit.wait_for(|e| *e).await;
                    drop(pinned);
                });
                drop(runtime);
                let _ = finished.send(());
            })?;
        Ok(())
    }
}
