//! A fault-injecting TCP proxy for issue 13's fault suite: it listens on 127.0.0.1:0, forwards
//! to one target, and can be switched at runtime between passing traffic, added latency,
//! resetting connections, a black hole and a cut-off mid-response.
//!
//! The mode is read per chunk, not only per connection, because a real network fault hits the
//! connections a pool already holds: a black hole stalls their bytes (TCP retransmits them once
//! the path heals, so they are held, not dropped), a reset tears them down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything as it comes.
    Pass,
    /// Delay every chunk, in both directions, by this much.
    Latency(Duration),
    /// Reset new connections at once and live ones at their next chunk.
    Reset,
    /// Accept, forward nothing: new and live connections stall until the mode changes.
    BlackHole,
    /// Forward at most this many bytes from the target on each new connection, then close it.
    CutAfter(usize),
}

pub struct FaultProxy {
    pub port: u16,
    mode: Arc<watch::Sender<Mode>>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        // Live connections end too: their pumps watch for the sender going away.
        self.mode.send_replace(Mode::Reset);
    }
}

impl FaultProxy {
    /// Starts forwarding to `target` (`host:port`), in [`Mode::Pass`].
    pub async fn start(target: impl Into<String>) -> FaultProxy {
        let target = target.into();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mode = Arc::new(watch::channel(Mode::Pass).0);
        let accepted = Arc::new(AtomicUsize::new(0));
        let (m, a) = (Arc::clone(&mode), Arc::clone(&accepted));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                let rx = m.subscribe();
                tokio::spawn(serve(client, target.clone(), rx));
            }
        });
        FaultProxy {
            port,
            mode,
            accepted,
            task,
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Waits (bounded by the mode changing) while the link is a black hole; `false` when the
/// connection must end (reset, or the proxy is gone).
async fn through(rx: &mut watch::Receiver<Mode>) -> bool {
    loop {
        let mode = *rx.borrow_and_update();
        match mode {
            Mode::BlackHole => {
                if rx.changed().await.is_err() {
                    return false;
                }
            }
            Mode::Reset => return false,
            Mode::Latency(d) => {
                tokio::time::sleep(d).await;
                return true;
            }
            Mode::Pass | Mode::CutAfter(_) => return true,
        }
    }
}

fn reset(stream: &TcpStream) {
    // SO_LINGER 0: closing sends RST instead of FIN, as a crashed peer or a middlebox would.
    let _ = stream.set_zero_linger();
}

async fn serve(client: TcpStream, target: String, mut rx: watch::Receiver<Mode>) {
    let _ = client.set_nodelay(true);
    let at_accept = *rx.borrow();
    if !through(&mut rx).await {
        reset(&client);
        return;
    }
    let Ok(server) = TcpStream::connect(&target).await else {
        reset(&client);
        return;
    };
    let _ = server.set_nodelay(true);
    let cut = match at_accept {
        Mode::CutAfter(n) => Some(n),
        _ => None,
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up_rx = rx.clone();
    let up = async move {
        let mut rx = up_rx;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !through(&mut rx).await {
                reset(cr.as_ref());
                return true;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return true;
            }
        }
        // The client only half-closed: the answer may still be coming.
        let _ = sw.shutdown().await;
        false
    };
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut left = cut.unwrap_or(usize::MAX);
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(left),
            };
            if !through(&mut rx).await {
                reset(cw.as_ref());
                return;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                return;
            }
            left -= n;
            if left == 0 {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    // The target's side ending, a cut or a reset ends the whole connection: a fault must not
    // leave the other half open.
    tokio::pin!(up, down);
    tokio::select! {
        torn = &mut up => {
            if !torn {
                down.await;
            }
        }
        () = &mut down => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A target that answers every chunk it reads with the same bytes.
    async fn echo() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    /// Sends `msg` and reads until EOF, an error, or `limit`; returns what came back.
    async fn round_trip(addr: &str, msg: &[u8], want: usize, limit: Duration) -> (Vec<u8>, bool) {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let _ = s.write_all(msg).await;
        let mut got = Vec::new();
        let mut ended = false;
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + limit;
        while got.len() < want {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    ended = true;
                    break;
                }
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        (got, ended)
    }

    #[tokio::test]
    async fn every_mode_does_what_it_says_and_switches_at_runtime() {
        let proxy = FaultProxy::start(echo().await).await;
        let addr = proxy.addr();
        let bound = Duration::from_secs(3);

        let (got, _) = round_trip(&addr, b"hello", 5, bound).await;
        assert_eq!(got, b"hello");

        proxy.set(Mode::Latency(Duration::from_millis(150)));
        let started = Instant::now();
        let (got, _) = round_trip(&addr, b"slow", 4, bound).await;
        assert_eq!(got, b"slow");
        // Once up, once down.
        assert!(started.elapsed() >= Duration::from_millis(300));

        proxy.set(Mode::Reset);
        let (got, ended) = round_trip(&addr, b"gone", 4, bound).await;
        assert!(got.is_empty() && ended, "reset: {got:?} {ended}");

        proxy.set(Mode::BlackHole);
        let (got, ended) = round_trip(&addr, b"void", 4, Duration::from_millis(400)).await;
        assert!(got.is_empty() && !ended, "black hole: {got:?} {ended}");

        proxy.set(Mode::CutAfter(3));
        let (got, ended) = round_trip(&addr, b"abcdef", 6, bound).await;
        assert_eq!((got.as_slice(), ended), (&b"abc"[..], true));

        proxy.set(Mode::Pass);
        let (got, _) = round_trip(&addr, b"back", 4, bound).await;
        assert_eq!(got, b"back");
        assert_eq!(proxy.accepted(), 6);
    }

    #[tokio::test]
    async fn a_black_hole_stalls_a_live_connection_and_a_reset_ends_it() {
        let proxy = FaultProxy::start(echo().await).await;
        let mut s = TcpStream::connect(proxy.addr()).await.expect("connect");
        let mut buf = [0u8; 16];
        s.write_all(b"one").await.expect("write");
        let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert_eq!(&buf[..n], b"one");

        proxy.set(Mode::BlackHole);
        s.write_all(b"two").await.expect("write");
        let stalled = tokio::time::timeout(Duration::from_millis(400), s.read(&mut buf)).await;
        assert!(stalled.is_err(), "nothing passes a black hole");
        // Healed, the held bytes go through, as TCP would retransmit them.
        proxy.set(Mode::Pass);
        let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        assert_eq!(&buf[..n], b"two");

        proxy.set(Mode::Reset);
        let _ = s.write_all(b"three").await;
        let end = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf))
            .await
            .expect("in time");
        assert!(matches!(end, Ok(0) | Err(_)), "{end:?}");
    }
}
