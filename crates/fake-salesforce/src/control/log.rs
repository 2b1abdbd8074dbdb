//! The request log behind `GET /__emulator/requests`: one entry per token-endpoint, REST,
//! revoke and introspect call.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

/// One logged call. `time`, `method`, `path`, `status`, `grant_type` and
/// `refresh_token_sha256` are a fixed contract: scripts outside the test suite read them.
#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// RFC 3339 time on the emulator clock; formatted when read, to keep logging cheap.
    pub time: String,
    pub time_ms: i64,
    /// `token`, `rest`, `revoke` or `introspect`.
    pub kind: &'static str,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `None` when the connection was dropped before any response.
    pub status: Option<u16>,
    pub grant_type: Option<String>,
    /// Hex SHA-256 of the refresh token presented: tests compare without seeing secrets.
    pub refresh_token_sha256: Option<String>,
    /// Hex SHA-256 of the `token` a revoke or introspect call named. Query strings of those
    /// calls are not logged, since a GET revoke carries the token there.
    pub token_sha256: Option<String>,
    pub client_id: Option<String>,
    /// The injected fault that shaped this call, if any.
    pub fault: Option<&'static str>,
    pub duration_ms: u64,
}

/// The log keeps the newest entries only, so a long benchmark cannot exhaust memory.
pub const MAX_LOG_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<VecDeque<LogEntry>>,
}

impl RequestLog {
    pub fn push(&self, entry: LogEntry) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_LOG_ENTRIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    pub fn snapshot(&self) -> Vec<LogEntry> {
        let mut out: Vec<LogEntry> = self.entries.lock().iter().cloned().collect();
        for entry in &mut out {
            entry.time = format_time(entry.time_ms);
        }
        out
    }

    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

pub fn format_time(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
