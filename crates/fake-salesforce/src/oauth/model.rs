//! What the OAuth server remembers: login hosts, codes, grants (approvals) and tokens.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use serde::{Deserialize, Serialize};

/// Which login host a request arrived on. One process plays all three (see the crate doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginHost {
    /// The org's My Domain host, which is also its instance: `{base}`.
    MyDomain,
    /// `login.salesforce.com`: `{base}/login`.
    Login,
    /// `test.salesforce.com`: `{base}/test`.
    Test,
}

impl LoginHost {
    pub const ALL: [LoginHost; 3] = [LoginHost::MyDomain, LoginHost::Login, LoginHost::Test];

    /// Path prefix under the emulator's base URL.
    pub fn prefix(self) -> &'static str {
        match self {
            LoginHost::MyDomain => "",
            LoginHost::Login => "/login",
            LoginHost::Test => "/test",
        }
    }

    pub fn url(self, base: &str) -> String {
        format!("{base}{}", self.prefix())
    }

    /// Cookie name of this host's login session: real hosts are separate domains.
    pub fn session_cookie(self) -> &'static str {
        match self {
            LoginHost::MyDomain => "sfemu_sid",
            LoginHost::Login => "sfemu_sid_login",
            LoginHost::Test => "sfemu_sid_test",
        }
    }
}

/// 15 minutes: the default code lifetime (an app may change its own), and the login transactions'.
pub const CODE_TTL_MS: i64 = 15 * 60 * 1000;
/// Login transactions and sessions live as long as a code would.
pub const TRANSACTION_TTL_MS: i64 = CODE_TTL_MS;
/// Each user may hold this many approvals per app; the next one evicts the oldest.
pub const MAX_GRANTS_PER_USER_AND_APP: usize = 5;

/// A pending `/authorize` request between the login and consent pages.
#[derive(Clone, Debug)]
pub struct Transaction {
    pub app_id: u64,
    pub client_id: String,
    pub response_type: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub login_hint: Option<String>,
    pub host: LoginHost,
    pub created_at_ms: i64,
    /// Set once the user has logged in for this transaction.
    pub user_id: Option<String>,
    /// `prompt=consent`: ask even if the user approved the app before.
    pub force_consent: bool,
    /// `--auto-approve` picked the user: no pages at all.
    pub auto_approved: bool,
    /// `immediate=true`: no pages; fail instead of asking.
    pub immediate: bool,
}

/// A browser login on one host.
#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: String,
    pub host: LoginHost,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub app_id: u64,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub host: LoginHost,
    pub created_at_ms: i64,
    /// Codes are single-use: a second redemption fails like an expired one.
    pub used: bool,
}

/// One approval of an app by a user: a refresh-token chain and the access tokens it minted.
/// No `Debug`: it holds token values.
#[derive(Clone)]
pub struct Grant {
    pub id: u64,
    pub app_id: u64,
    pub client_id: String,
    pub user_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub host: LoginHost,
    pub created_at_ms: i64,
    pub nonce: Option<String>,
    /// The refresh token currently valid for this grant, if any.
    pub current_refresh: Option<String>,
    pub access_tokens: Vec<String>,
    pub revoked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    Active,
    Expired,
    Revoked,
    Rotated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub grant_id: u64,
    pub app_id: u64,
    pub client_id: String,
    pub username: String,
    pub issued_at_ms: i64,
    pub last_used_ms: i64,
    pub state: TokenState,
}

/// An access token. Kept behind `Arc` in a map of its own so REST authentication is one hash
/// lookup under a read lock; the atomics let it slide the session and be revoked without a
/// write lock.
#[derive(Debug)]
pub struct AccessToken {
    pub app_id: u64,
    pub client_id: String,
    pub org_id: String,
    pub user_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub grant_id: Option<u64>,
    pub host: LoginHost,
    pub issued_at_ms: i64,
    pub ttl_ms: i64,
    pub last_used_ms: AtomicI64,
    pub revoked: AtomicBool,
}

impl AccessToken {
    pub fn expires_at_ms(&self) -> i64 {
        self.last_used_ms
            .load(Ordering::Relaxed)
            .saturating_add(self.ttl_ms)
    }

    pub fn state(&self, now_ms: i64) -> TokenState {
        if self.revoked.load(Ordering::Acquire) {
            TokenState::Revoked
        } else if now_ms >= self.expires_at_ms() {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }

    /// Sliding inactivity window: every successful use restarts it. Not a change the state file
    /// waits for (it would rewrite the file on every REST call); the next write, at the latest
    /// the one at shutdown, carries it.
    pub fn touch(&self, now_ms: i64) {
        self.last_used_ms.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// Makes the token expired as of now (control plane).
    pub fn force_expire(&self) {
        self.last_used_ms.store(i64::MIN / 2, Ordering::Relaxed);
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}
