//! Admin console sessions and sign-in throttle counters, in the database so that several nodes
//! share them and a restart keeps admins signed in. A session is stored by the SHA-256 of its
//! cookie value only; the console computes the hash, the store never sees the cookie.

use sqlx::any::AnyRow;

use crate::row::RowExt;
use crate::{Result, Store};

/// A live admin session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSessionRow {
    pub username: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// One throttle counter (`pair:{address}|{user}` or `addr:{address}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i64,
    pub window_start: i64,
    pub last_failure: i64,
}

impl ThrottleRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            key: row.text("throttle_key")?,
            failures: row.int("failures")?,
            window_start: row.int("window_start")?,
            last_failure: row.int("last_failure")?,
        })
    }
}

impl Store {
    pub async fn create_admin_session(
        &self,
        token_hash: &str,
        username: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, username, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(username)
        .bind(now_ms)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session, when it exists and has not expired at `now_ms`.
    pub async fn find_admin_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<AdminSessionRow>> {
        let row = sqlx::query(
            "SELECT username, created_at, expires_at FROM admin_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(AdminSessionRow {
                username: r.text("username")?,
                created_at: r.int("created_at")?,
                expires_at: r.int("expires_at")?,
            })
        })
        .transpose()
    }

    /// Pushes a session's expiry forward (sliding expiry); never shortens it.
    pub async fn extend_admin_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE admin_sessions SET expires_at = $2 WHERE token_hash = $1 AND expires_at < $2",
        )
        .bind(token_hash)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_admin_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a user (a password reset signs them out everywhere).
    pub async fn delete_admin_sessions_of(&self, username: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM admin_sessions WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Drops expired sessions and throttle counters idle for longer than `throttle_idle_ms`.
    pub async fn purge_console_state(&self, now_ms: i64, throttle_idle_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM login_throttle WHERE last_failure <= $1")
            .bind(now_ms.saturating_sub(throttle_idle_ms))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts one failure for `key` in one statement (nodes may race): a counter whose window
    /// began `window_ms` or more ago starts over.
    pub async fn record_login_failure(&self, key: &str, now_ms: i64, window_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_throttle (throttle_key, failures, window_start, last_failure) \
             VALUES ($1, 1, $2, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET \
               failures = CASE WHEN login_throttle.window_start + $3 <= $2 THEN 1 \
                               ELSE login_throttle.failures + 1 END, \
               window_start = CASE WHEN login_throttle.window_start + $3 <= $2 THEN $2 \
                                   ELSE login_throttle.window_start END, \
               last_failure = $2",
        )
        .bind(key)
        .bind(now_ms)
        .bind(window_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn login_throttle(&self, key: &str) -> Result<Option<ThrottleRow>> {
        let row = sqlx::query(
            "SELECT throttle_key, failures, window_start, last_failure FROM login_throttle \
             WHERE throttle_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(ThrottleRow::from_row).transpose()
    }

    pub async fn clear_login_throttle(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
