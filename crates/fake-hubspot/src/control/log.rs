//! The request log behind `GET /__emulator/requests`: one entry per token, metadata,
//! introspection, revocation and CRM call. Tokens and codes appear only as SHA-256 hashes.

use std::collections::VecDeque;

use parking_lot::Mutex;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct LogEntry {
    /// RFC 3339 on the emulator clock.
    pub time: String,
    pub time_ms: i64,
    /// `token`, `api`, `metadata`, `introspect` or `revoke`.
    pub kind: &'static str,
    pub method: String,
    /// The path, with a token in it replaced by `sha256:{hex}`.
    pub path: String,
    /// CRM calls only: their query strings carry no secrets.
    pub query: Option<String>,
    /// `None` when the call never got an answer.
    pub status: Option<u16>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    /// Hex SHA-256 of the refresh token presented to the token endpoint.
    pub refresh_token_sha256: Option<String>,
    /// Hex SHA-256 of the code presented to the token endpoint.
    pub code_sha256: Option<String>,
    /// Hex SHA-256 of the bearer token of a CRM call.
    pub access_token_sha256: Option<String>,
    /// Hex SHA-256 of the token a metadata, introspection or revocation call named.
    pub token_sha256: Option<String>,
    /// The injected fault that shaped this call, if any.
    pub fault: Option<&'static str>,
    pub duration_ms: u64,
}

/// The log keeps the newest entries only, so a long run cannot exhaust memory.
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
        self.entries.lock().iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}
