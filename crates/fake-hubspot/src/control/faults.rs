//! Injected faults: rules that shape the next N matching token-endpoint or CRM calls.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// The token endpoints (`/oauth/v1/token`, `/oauth/v3/token`, `/oauth/2026-03/token`).
    Token,
    /// `/crm/...`.
    Api,
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait, then handle the call normally.
    Latency { ms: u64 },
    /// Answer with this status (e.g. 500, 502, 503) and a HubSpot-shaped body, unhandled.
    Status { status: u16 },
    /// Answer HubSpot's `429` `TEN_SECONDLY_ROLLING` body, unhandled.
    RateLimit,
    /// Answer an error of your choosing in the shape of the call it hits, unhandled: the CRM
    /// body with this `category` on the API, the token body with `category` as `status` on the
    /// token endpoint.
    Error {
        #[serde(default = "bad_request")]
        status: u16,
        category: String,
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
            FaultKind::RateLimit => "rate_limit",
            FaultKind::Error { .. } => "error",
        }
    }
}

fn one() -> u32 {
    1
}

/// A rule as posted to `POST /__emulator/faults`.
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
}

impl FaultTable {
    pub fn add(&self, rule: FaultRule) {
        if rule.count > 0 {
            self.rules.lock().push(rule);
        }
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().clone()
    }

    pub fn clear(&self) {
        self.rules.lock().clear();
    }

    /// Consumes one use of the first rule matching this call.
    pub fn take(
        &self,
        target: FaultTarget,
        path: &str,
        grant_type: Option<&str>,
    ) -> Option<FaultKind> {
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
        }
        Some(kind)
    }
}
