//! One connection's phase (reading a head, busy, idle), the IO wrapper that notices a new
//! request's first byte, and the watchdog that closes a connection stuck in a timed phase.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{ConnectionStats, ListenerOptions};

/// Where a connection is; the index of its gauge in [`ConnectionStats::by_phase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Waiting for (the rest of) a request head; timed by the header-read timeout.
    ReadingHead = 0,
    /// A request is being served (its body read, its response written).
    Busy = 1,
    /// Between keep-alive requests; timed by the idle timeout.
    Idle = 2,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::ReadingHead,
            1 => Phase::Busy,
            _ => Phase::Idle,
        }
    }
}

/// Shared by the IO wrapper, the request guards and the watchdog of one connection.
pub(super) struct ConnState {
    phase: AtomicU8,
    /// Milliseconds after `epoch` when the current phase began.
    since_ms: AtomicU64,
    in_flight: AtomicUsize,
    epoch: Instant,
    changed: Notify,
    stats: Arc<ConnectionStats>,
}

impl ConnState {
    pub(super) fn new(stats: Arc<ConnectionStats>) -> Arc<ConnState> {
        stats.by_phase[Phase::ReadingHead as usize].fetch_add(1, Ordering::Relaxed);
        Arc::new(ConnState {
            phase: AtomicU8::new(Phase::ReadingHead as u8),
            since_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            epoch: Instant::now(),
            changed: Notify::new(),
            stats,
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Moves from `from` to `to`; false when the connection was not in `from`.
    fn transition(&self, from: Phase, to: Phase) -> bool {
        if self
            .phase
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.since_ms.store(self.now_ms(), Ordering::Release);
        self.stats.by_phase[from as usize].fetch_sub(1, Ordering::Relaxed);
        self.stats.by_phase[to as usize].fetch_add(1, Ordering::Relaxed);
        // A busy connection is not timed, so the watchdog need not hear of it at once: its
        // pending timer finds the phase changed when it fires and then waits for the next
        // change. That spares every request one wake-up of its connection's task and a timer
        // re-arm. Entering a timed phase must wake it, to time that phase from now.
        if to != Phase::Busy {
            self.changed.notify_one();
        }
        true
    }

    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// The connection is gone: take it off its phase's gauge.
    pub(super) fn close(&self) {
        let last = self.phase.swap(u8::MAX, Ordering::AcqRel);
        if last != u8::MAX {
            self.stats.by_phase[Phase::from_u8(last) as usize].fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn bytes_arrived(&self) {
        if self.phase.load(Ordering::Relaxed) == Phase::Idle as u8 {
            self.transition(Phase::Idle, Phase::ReadingHead);
        }
    }
}

/// Held from the moment hyper hands over a request head until its response body is finished
/// (or dropped): while any is alive the connection is busy and no head or idle timer runs.
pub(super) struct RequestGuard {
    state: Arc<ConnState>,
}

impl RequestGuard {
    pub(super) fn start(state: Arc<ConnState>) -> RequestGuard {
        if state.in_flight.fetch_add(1, Ordering::AcqRel) == 0 {
            // HTTP/1 arrives here from ReadingHead; an HTTP/2 stream may open from Idle.
            if !state.transition(Phase::ReadingHead, Phase::Busy) {
                state.transition(Phase::Idle, Phase::Busy);
            }
        }
        RequestGuard { state }
    }

    pub(super) fn stats(&self) -> &ConnectionStats {
        &self.state.stats
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if self.state.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.state.transition(Phase::Busy, Phase::Idle);
        }
    }
}

/// Resolves with the timed-out phase when the connection stays too long reading a head or idle.
pub(super) async fn watchdog(state: Arc<ConnState>, options: Arc<ListenerOptions>) -> Phase {
    loop {
        let phase = state.phase();
        let limit = match phase {
            Phase::ReadingHead => Some(options.header_read_timeout),
            Phase::Idle => Some(options.idle_timeout),
            Phase::Busy => None,
        };
        let Some(limit) = limit else {
            state.changed.notified().await;
            continue;
        };
        let since = Duration::from_millis(state.since_ms.load(Ordering::Acquire));
        let deadline = state.epoch + since + limit;
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                if state.phase() == phase
                    && Duration::from_millis(state.since_ms.load(Ordering::Acquire)) == since
                {
                    return phase;
                }
            }
            () = state.changed.notified() => {}
        }
    }
}

/// The TCP stream, telling the connection state when bytes of a new request arrive.
pub(super) struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl TrackedIo {
    pub(super) fn new(inner: TcpStream, state: Arc<ConnState>) -> TrackedIo {
        TrackedIo { inner, state }
    }
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
