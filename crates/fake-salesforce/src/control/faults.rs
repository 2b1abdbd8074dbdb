//! Injected faults: rules that shape the next N matching token-endpoint or REST calls.

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Which calls a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// `/services/oauth2/token` on any host.
    Token,
    /// `/services/data/...`.
    Rest,
    Any,
}

/// What happens to a matching call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait, then handle the call normally.
    Latency { ms: u64 },
    /// Answer with this status (e.g. 500, 503) without handling the call.
    Status { status: u16 },
    /// Answer 429 with `Retry-After` without handling the call.
    RateLimit { retry_after_secs: u64 },
    /// Close the connection without any response and without handling the call.
    ConnectionReset,
    /// Handle the call (e.g. apply a rotation), then close the connection instead of answering.
    DropResponse,
    /// Answer with a Salesforce error of your choosing, in the shape of the call it hits, without
    /// handling the call: `[{"message","errorCode"}]` on REST, `{"error","error_description"}`
    /// on the token endpoint. For errors the emulator never produces by itself, such as
    /// `UNABLE_TO_LOCK_ROW`, `API_DISABLED_FOR_ORG` or `inactive_org`.
    Error {
        #[serde(default = "bad_request")]
        status: u16,
        code: String,
        #[serde(default)]
        message: String,
    },
}

fn bad_request() -> u16 {
    400
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Status { .. } => "status",
            FaultKind::RateLimit { .. } => "rate_limit",
            FaultKind::ConnectionReset => "connection_reset",
            FaultKind::DropResponse => "drop_response",
            FaultKind::Error { .. } => "error",
        }
    }
}

fn one() -> u32 {
    1
}

/// A fault rule as posted to `POST /__emulator/faults`.
// No `deny_unknown_fields`: serde does not support it together with `flatten`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    pub target: FaultTarget,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching calls it affects.
    #[serde(default = "one")]
    pub count: u32,
    /// Only token calls with this `grant_type`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// Only calls whose path contains this text.
    #[serde(default)]
    pub path_contains: Option<String>,
}

#[derive(Default)]
pub struct FaultTable {
    rules: Mutex<Vec<FaultRule>>,
    /// Number of rules, read without the lock: most calls see no rules at all, and the REST
    /// hot path should not contend on a mutex for nothing.
    len: AtomicUsize,
}

/// Marks a response whose connection must be closed instead of answered.
#[derive(Clone, Copy, Debug)]
pub struct ResetConnection;

impl FaultTable {
    pub fn add(&self, rule: FaultRule) {
        if rule.count > 0 {
            let mut rules = self.rules.lock();
            rules.push(rule);
            self.len.store(rules.len(), Ordering::Release);
        }
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().clone()
    }

    pub fn clear(&self) {
        let mut rules = self.rules.lock();
        rules.clear();
        self.len.store(0, Ordering::Release);
    }

    /// Consumes one use of the first rule matching this call.
    pub fn take(
        &self,
        target: FaultTarget,
        path: &str,
        grant_type: Option<&str>,
    ) -> Option<FaultKind> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.rules.lock();
        let index = rules.iter().position(|r| {
            (r.target == FaultTarget::Any || r.target == target)
                && r.grant_type
                    .as_deref()
                    .is_none_or(|g| Some(g) == grant_type)
                && r.path_contains.as_deref().is_none_or(|p| path.contains(p))
        })?;
        let kind = rules[index].kind.clone();
        rules[index].count -= 1;
        if rules[index].count == 0 {
            rules.remove(index);
            self.len.store(rules.len(), Ordering::Release);
        }
        Some(kind)
    }
}
