//! One connection's phase (reading a head, busy, idle), the IO wrapper that notices a new
//! request's first byte and times writes the client does not read, and the watchdog that
//! closes a connection stuck in a timed phase.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

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
    /// Milliseconds after `epoch` when the current phase began, or, in the idle phase, when a
    /// stalled write last moved (the idle timer counts from then).
    since_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// A write to the client is waiting for socket space. The head and idle timers do not
    /// close a connection while it is: [`TrackedIo`]'s write timer does, if the write never
    /// moves, and the response's tail is often written in the idle phase.
    write_stalled: AtomicBool,
    /// The write timer fired; set once, so the close is counted once.
    write_timed_out: AtomicBool,
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
            write_stalled: AtomicBool::new(false),
            write_timed_out: AtomicBool::new(false),
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

    /// Whether the connection ended because the client stopped reading.
    pub(super) fn write_timed_out(&self) -> bool {
        self.write_timed_out.load(Ordering::Acquire)
    }

    fn write_stalled(&self) {
        self.write_stalled.store(true, Ordering::Release);
    }

    /// A stalled write moved: the client is reading. An idle connection's timer restarts, as
    /// the connection was not idle while it wrote; the watchdog hears of it either way, since it
    /// may be waiting for the stall to end.
    fn write_moved(&self) {
        self.write_stalled.store(false, Ordering::Release);
        if self.phase.load(Ordering::Acquire) == Phase::Idle as u8 {
            self.since_ms.store(self.now_ms(), Ordering::Release);
        }
        self.changed.notify_one();
    }

    fn write_timed_out_now(&self) {
        if !self.write_timed_out.swap(true, Ordering::AcqRel) {
            self.stats
                .closed_write_timeout
                .fetch_add(1, Ordering::Relaxed);
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
                    if !state.write_stalled.load(Ordering::Acquire) {
                        return phase;
                    }
                    // Still writing to the client: the write timer decides. Look again once
                    // the write moves (or anything else changes).
                    state.changed.notified().await;
                }
            }
            () = state.changed.notified() => {}
        }
    }
}

/// The TCP stream, telling the connection state when bytes of a new request arrive, and
/// failing a write that makes no progress for the response-write timeout.
///
/// The timer is progress-based, not a deadline for the response: it is armed when a write
/// finds the socket full (`Pending`), keeps its deadline through further `Pending` polls, and
/// is disarmed by the first byte the socket accepts. A write that never waits costs nothing.
pub(super) struct TrackedIo {
    inner: TcpStream,
    state: Arc<ConnState>,
    write_timeout: Duration,
    /// Made at the first stall and reset at each later one, so a connection allocates at most
    /// one timer however often its writes wait.
    timer: Option<Pin<Box<Sleep>>>,
    /// The last write returned `Pending` and no byte has been written since: `timer` runs.
    stalled: bool,
}

impl TrackedIo {
    pub(super) fn new(
        inner: TcpStream,
        state: Arc<ConnState>,
        write_timeout: Duration,
    ) -> TrackedIo {
        TrackedIo {
            inner,
            state,
            write_timeout,
            timer: None,
            stalled: false,
        }
    }

    /// Times a write's outcome: `Pending` arms the timer (or fails once it has run out), and
    /// a written byte disarms it.
    fn timed_write(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Pending => self.poll_stall(cx),
            Poll::Ready(Ok(n)) if n > 0 && self.stalled => {
                self.stalled = false;
                self.state.write_moved();
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    fn poll_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if !self.stalled {
            self.stalled = true;
            self.state.write_stalled();
            // A timeout too long to add (`--response-write-timeout` in the billions of
            // minutes) waits for as good as ever, as `tokio::time::sleep` would.
            let deadline = Instant::now()
                .checked_add(self.write_timeout)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365 * 30));
            match &mut self.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
        let Some(timer) = self.timer.as_mut() else {
            return Poll::Pending;
        };
        // Polling the timer registers this task's waker with it, so a client that never
        // reads again still wakes the connection when the time is up.
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.state.write_timed_out_now();
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client accepted no response bytes within the response-write timeout",
        )))
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
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.timed_write(cx, polled)
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
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.timed_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
