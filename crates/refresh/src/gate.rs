//! Per-integration admission to the token endpoint: the circuit breaker for `invalid_client`
//! (docs/security.md §3.1 F11), the `Retry-After` pause after a 429 (F10), and probing.
//!
//! Until an integration has shown that its client authenticates (a success, or an
//! `invalid_grant`, which a provider only answers after accepting the client), its refreshes go
//! one at a time. So when its secret is wrong, a thousand due connections make one token call,
//! not a thousand: the first answer opens the breaker and the waiters fail fast. Each node
//! learns this on its own, so N nodes make at most N probe calls per open period.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::RefreshError;

#[derive(Debug, Clone)]
enum Block {
    RateLimited,
    Rejected { code: String, diagnosis: String },
}

#[derive(Debug, Default)]
struct Status {
    /// The client authenticated recently: calls need no probe permit.
    proven: bool,
    blocked_until_ms: i64,
    block: Option<Block>,
    /// Consecutive rejections, for the breaker's doubling open period.
    strikes: u32,
}

#[derive(Debug)]
struct Gate {
    status: Mutex<Status>,
    /// One probe at a time while the client is not proven.
    probe: Arc<Semaphore>,
}

/// Held while calling the token endpoint; a probe permit is released on drop.
pub(crate) struct Admission {
    _permit: Option<OwnedSemaphorePermit>,
}

#[derive(Debug, Default)]
pub(crate) struct Gates {
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

impl Gates {
    fn gate(&self, key: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock();
        Arc::clone(gates.entry(key.to_owned()).or_insert_with(|| {
            Arc::new(Gate {
                status: Mutex::new(Status::default()),
                probe: Arc::new(Semaphore::new(1)),
            })
        }))
    }

    /// Fails fast when the integration is paused; never waits.
    pub(crate) fn check(&self, key: &str, now_ms: i64) -> Result<(), RefreshError> {
        let gate = self.gate(key);
        let status = gate.status.lock();
        blocked(&status, now_ms)
    }

    /// Waits for a probe permit if the client is not proven, then checks again: the probe we
    /// waited for may have opened the breaker.
    pub(crate) async fn admit(
        &self,
        key: &str,
        now: impl Fn() -> i64,
    ) -> Result<Admission, RefreshError> {
        let gate = self.gate(key);
        {
            let status = gate.status.lock();
            blocked(&status, now())?;
            if status.proven {
                return Ok(Admission { _permit: None });
            }
        }
        let permit = Arc::clone(&gate.probe)
            .acquire_owned()
            .await
            .map_err(|_| RefreshError::Config("the integration gate was closed".to_owned()))?;
        let status = gate.status.lock();
        blocked(&status, now())?;
        Ok(Admission {
            _permit: (!status.proven).then_some(permit),
        })
    }

    /// The client authenticated: close the breaker.
    pub(crate) fn proven(&self, key: &str) {
        let gate = self.gate(key);
        let mut status = gate.status.lock();
        status.proven = true;
        status.strikes = 0;
        if matches!(status.block, Some(Block::Rejected { .. })) {
            status.block = None;
            status.blocked_until_ms = 0;
        }
    }

    /// The client was rejected: open the breaker for a doubling period. Returns the period.
    pub(crate) fn rejected(
        &self,
        key: &str,
        code: &str,
        diagnosis: &str,
        now_ms: i64,
        base_ms: i64,
        cap_ms: i64,
    ) -> i64 {
        let gate = self.gate(key);
        let mut status = gate.status.lock();
        status.proven = false;
        status.strikes = status.strikes.saturating_add(1);
        let exp = status.strikes.clamp(1, 20) - 1;
        let open_ms = base_ms.saturating_mul(1_i64 << exp).min(cap_ms);
        status.blocked_until_ms = now_ms.saturating_add(open_ms);
        status.block = Some(Block::Rejected {
            code: code.to_owned(),
            diagnosis: diagnosis.to_owned(),
        });
        open_ms
    }

    /// A 429: no token call for this integration until `until_ms`.
    pub(crate) fn rate_limited(&self, key: &str, until_ms: i64) {
        let gate = self.gate(key);
        let mut status = gate.status.lock();
        if until_ms > status.blocked_until_ms {
            status.blocked_until_ms = until_ms;
            status.block = Some(Block::RateLimited);
        }
    }
}

fn blocked(status: &Status, now_ms: i64) -> Result<(), RefreshError> {
    let remaining = status.blocked_until_ms.saturating_sub(now_ms);
    if remaining <= 0 {
        return Ok(());
    }
    match &status.block {
        Some(Block::RateLimited) => Err(RefreshError::RateLimited {
            retry_after_ms: remaining,
        }),
        Some(Block::Rejected { code, diagnosis }) => Err(RefreshError::IntegrationRejected {
            code: code.clone(),
            diagnosis: diagnosis.clone(),
            retry_after_ms: remaining,
            provider: None,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn breaker_opens_doubles_and_closes() {
        let g = Gates::default();
        let a = g.admit("k", || 0).await.unwrap();
        assert!(a._permit.is_some(), "an unproven client is probed");
        drop(a);
        assert_eq!(g.rejected("k", "invalid_client", "fix", 0, 100, 1_000), 100);
        assert!(matches!(
            g.check("k", 50),
            Err(RefreshError::IntegrationRejected {
                retry_after_ms: 50,
                ..
            })
        ));
        assert!(g.check("k", 100).is_ok());
        assert_eq!(
            g.rejected("k", "invalid_client", "fix", 100, 100, 1_000),
            200
        );
        g.proven("k");
        assert!(g.check("k", 101).is_ok());
        let a = g.admit("k", || 101).await.unwrap();
        assert!(a._permit.is_none(), "a proven client is not serialised");
        g.rate_limited("k", 5_000);
        assert!(matches!(
            g.check("k", 1_000),
            Err(RefreshError::RateLimited {
                retry_after_ms: 4_000
            })
        ));
        assert!(g.check("other", 1_000).is_ok(), "gates are per integration");
    }

    #[tokio::test]
    async fn waiters_fail_fast_once_the_probe_is_rejected() {
        let g = Arc::new(Gates::default());
        let probe = g.admit("k", || 0).await.unwrap();
        let g2 = Arc::clone(&g);
        let waiter = tokio::spawn(async move { g2.admit("k", || 10).await.map(|_| ()) });
        tokio::task::yield_now().await;
        g.rejected("k", "invalid_client", "fix", 0, 1_000, 1_000);
        drop(probe);
        assert!(matches!(
            waiter.await.unwrap(),
            Err(RefreshError::IntegrationRejected { .. })
        ));
    }
}
