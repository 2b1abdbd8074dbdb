//! Admin sessions: the cookie value, its CSRF token, and the session rows the service layer
//! keeps (users and password hashes are `patchbay_server::service::admin_users`).
//!
//! Sessions live in the database (`admin_sessions`), so every node behind a load balancer
//! knows them and a restart signs nobody out. The database holds only the SHA-256 of a
//! session's cookie value; the CSRF token is derived from the cookie value, so nothing stored
//! lets anyone act as an admin.

use std::time::Duration;

use patchbay_crypto::{constant_time_eq, random_token, sha256_hex};
use patchbay_server::service::Vault;

pub(crate) fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub(crate) struct AdminSession {
    pub username: String,
    /// Sent in every form; compared in constant time.
    pub csrf: String,
}

/// Admin sessions in the database, keyed by the SHA-256 of the cookie value.
pub(crate) struct Sessions {
    ttl: Duration,
    vault: Vault,
}

/// A session's expiry is written again only when it would move by more than this, so that a
/// busy admin does not cause a write on every page.
const EXTEND_GRANULARITY_MS: i64 = 60_000;

impl Sessions {
    pub fn new(ttl: Duration, vault: Vault) -> Self {
        Self { ttl, vault }
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Starts a session; returns the cookie value, or `None` when no session could be made
    /// (no randomness, or the store failed; logged).
    pub async fn start(&self, username: &str) -> Option<String> {
        let token = random_token(32).ok()?;
        let now = now_ms();
        if let Err(e) = self
            .vault
            .create_admin_session(
                &sha256_hex(token.expose_secret().as_bytes()),
                username,
                now,
                now.saturating_add(self.ttl_ms()),
            )
            .await
        {
            tracing::error!(error = %e, "could not store an admin session");
            return None;
        }
        Some(token.expose_secret().to_owned())
    }

    /// The live session for a cookie value, with its expiry pushed forward (sliding). A store
    /// failure reads as signed out: the admin sees the sign-in page, which says what is wrong.
    pub async fn get(&self, token: &str) -> Option<AdminSession> {
        let key = sha256_hex(token.as_bytes());
        let now = now_ms();
        let row = match self.vault.find_admin_session(&key, now).await {
            Ok(row) => row?,
            Err(e) => {
                tracing::warn!(error = %e, "admin session lookup failed");
                return None;
            }
        };
        let wanted = now.saturating_add(self.ttl_ms());
        if wanted - row.expires_at > EXTEND_GRANULARITY_MS
            && let Err(e) = self.vault.extend_admin_session(&key, wanted).await
        {
            tracing::warn!(error = %e, "could not extend an admin session");
        }
        Some(AdminSession {
            username: row.username,
            csrf: csrf_for(token),
        })
    }

    pub async fn end(&self, token: &str) {
        if let Err(e) = self
            .vault
            .delete_admin_session(&sha256_hex(token.as_bytes()))
            .await
        {
            tracing::warn!(error = %e, "could not end an admin session");
        }
    }
}

/// The CSRF token of a session: a hash of its cookie value, so every node derives the same
/// token and none is stored. The cookie is HttpOnly; the hash does not reveal it.
fn csrf_for(token: &str) -> String {
    sha256_hex(format!("patchbay-admin-csrf:{token}").as_bytes())
}

/// Constant-time string comparison for CSRF tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && constant_time_eq(a.as_bytes(), b.as_bytes())
}
