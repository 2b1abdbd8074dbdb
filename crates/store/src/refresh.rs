//! Compare-and-set primitives for refreshing tokens exactly once across nodes
//! (docs/security.md §3.2). Every method is one statement: no transaction or lock outlives a call,
//! so no pooled connection is pinned while the token endpoint is being called.
//!
//! Time comes from the caller's clock (`now_ms`). Nodes sharing a database must keep their
//! clocks in sync to well under the lease TTL; the TTL should exceed the worst-case refresh.

use patchbay_core::{ConnectionId, Health};
use sqlx::AnyConnection;

use crate::connections::{COLUMNS, ConnectionRow};
use crate::sealed::Sealed;
use crate::{Result, Store};

/// A successful refresh, written only if `token_version` still equals `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshedTokens {
    pub connection_id: ConnectionId,
    pub expected_version: i64,
    pub access_token: Sealed,
    /// `None` keeps the stored refresh token (the response had no `refresh_token`).
    pub refresh_token: Option<Sealed>,
    pub issued_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub next_refresh_at: Option<i64>,
    /// `None` keeps the stored value.
    pub instance_url: Option<String>,
    /// `None` keeps the stored value.
    pub granted_scopes: Option<String>,
    /// The lease owner, so the same statement releases this caller's lease.
    pub lease_owner: Option<String>,
    pub now_ms: i64,
}

/// A failed refresh, recorded only if `token_version` still equals `expected_version`: if a
/// sibling refreshed meanwhile, this failure is stale and must not mark the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshFailure {
    pub connection_id: ConnectionId,
    pub expected_version: i64,
    pub health: Health,
    /// A classification such as `invalid_grant` or `timeout`; never provider text.
    pub error_code: String,
    pub next_refresh_at: Option<i64>,
    /// Starts the retention window; an already running window is kept.
    pub credentials_expire_at: Option<i64>,
    pub lease_owner: Option<String>,
    pub now_ms: i64,
}

/// Connections the sweeper should look at: due, refreshable, and not given up on.
const DUE: &str = "next_refresh_at IS NOT NULL AND next_refresh_at <= $1 \
    AND refresh_token_sealed IS NOT NULL AND enabled = 1 \
    AND health NOT IN ('needs_auth', 'revoked', 'pending_confirmation') \
    AND (lease_until IS NULL OR lease_until < $1)";

impl Store {
    /// Takes the refresh lease if it is free or expired, and returns the row as it is now,
    /// so the winner can re-check freshness before calling the token endpoint.
    /// `owner` must be unique per attempt (e.g. node id plus a random suffix): release and
    /// token writes are matched against it.
    pub async fn try_acquire_refresh_lease(
        &self,
        id: &ConnectionId,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Option<ConnectionRow>> {
        let sql = format!(
            "UPDATE connections SET lease_owner = $2, lease_until = $4 \
             WHERE id = $1 AND (lease_until IS NULL OR lease_until < $3) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str())
            .bind(owner)
            .bind(now_ms)
            .bind(now_ms.saturating_add(ttl_ms))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(ConnectionRow::from_row).transpose()
    }

    /// Releases the lease if `owner` still holds it (compare-and-delete: an expired owner can
    /// never release a successor's lease). Returns whether it did.
    pub async fn release_refresh_lease(&self, id: &ConnectionId, owner: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE connections SET lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(id.as_str())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes refreshed tokens in one statement guarded by `token_version`, increments the
    /// version, resets failure bookkeeping and releases the caller's lease. Refresh-related
    /// health (`pending_refresh`, `needs_auth`, `degraded`) becomes `ok`; other health values
    /// (`pending_confirmation`, `needs_consent`, …) are not the refresh's to clear. Returns false if
    /// a newer writer won (the caller must then use the stored tokens, not its own).
    ///
    /// The write does not require the lease to be still held: a successful provider answer is
    /// the newest truth under rotation, and the version guard alone prevents lost updates.
    pub async fn store_refreshed_tokens(&self, t: &RefreshedTokens) -> Result<bool> {
        self.write_connection(&t.connection_id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query(
                "UPDATE connections SET access_token_sealed = $3, \
                   refresh_token_sealed = COALESCE($4, refresh_token_sealed), \
                   token_issued_at = COALESCE($5, token_issued_at), token_expires_at = $6, \
                   next_refresh_at = $7, instance_url = COALESCE($8, instance_url), \
                   granted_scopes = COALESCE($9, granted_scopes), \
                   token_version = token_version + 1, \
                   health = CASE WHEN health IN ('pending_refresh', 'needs_auth', 'degraded') \
                     THEN 'ok' ELSE health END, \
                   refresh_failure_count = 0, \
                   credentials_expire_at = NULL, last_refresh_error = NULL, last_refresh_at = $11, \
                   lease_owner = CASE WHEN lease_owner = $10 THEN NULL ELSE lease_owner END, \
                   lease_until = CASE WHEN lease_owner = $10 THEN NULL ELSE lease_until END, \
                   updated_at = $11 \
                 WHERE id = $1 AND token_version = $2",
            )
            .bind(t.connection_id.as_str())
            .bind(t.expected_version)
            .bind(t.access_token.as_bytes())
            .bind(t.refresh_token.as_ref().map(Sealed::as_bytes))
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(t.next_refresh_at)
            .bind(t.instance_url.as_deref())
            .bind(t.granted_scopes.as_deref())
            .bind(t.lease_owner.as_deref())
            .bind(t.now_ms)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Records a failed refresh (see [`RefreshFailure`]) and releases the caller's lease.
    /// Returns false if the version moved (a sibling refreshed: the failure is stale).
    pub async fn record_refresh_failure(&self, f: &RefreshFailure) -> Result<bool> {
        self.write_connection(&f.connection_id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query(
                "UPDATE connections SET health = $3, last_refresh_error = $4, \
                   refresh_failure_count = refresh_failure_count + 1, last_refresh_failed_at = $8, \
                   next_refresh_at = $5, credentials_expire_at = COALESCE(credentials_expire_at, $6), \
                   lease_owner = CASE WHEN lease_owner = $7 THEN NULL ELSE lease_owner END, \
                   lease_until = CASE WHEN lease_owner = $7 THEN NULL ELSE lease_until END, \
                   updated_at = $8 \
                 WHERE id = $1 AND token_version = $2",
            )
            .bind(f.connection_id.as_str())
            .bind(f.expected_version)
            .bind(f.health.as_str())
            .bind(f.error_code.as_str())
            .bind(f.next_refresh_at)
            .bind(f.credentials_expire_at)
            .bind(f.lease_owner.as_deref())
            .bind(f.now_ms)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Sets `health` unconditionally (confirmation done, consent needed, …).
    pub async fn set_health(&self, id: &ConnectionId, health: Health, now_ms: i64) -> Result<bool> {
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let done =
                sqlx::query("UPDATE connections SET health = $2, updated_at = $3 WHERE id = $1")
                    .bind(id.as_str())
                    .bind(health.as_str())
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Ends a degraded spell: the provider answered again. Only a `degraded` row changes, so
    /// the `recovered` event fires once however many nodes see the success.
    pub async fn clear_downstream_error(&self, id: &ConnectionId, now_ms: i64) -> Result<bool> {
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query(
                "UPDATE connections SET last_downstream_error_at = NULL, health = 'ok', \
                   updated_at = $2 \
                 WHERE id = $1 AND health = 'degraded'",
            )
            .bind(id.as_str())
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Records a 502/504-class provider failure: `health = degraded`, still callable.
    pub async fn record_downstream_error(&self, id: &ConnectionId, now_ms: i64) -> Result<bool> {
        self.write_connection(id, false, async |conn: &mut AnyConnection| {
            let done = sqlx::query(
                "UPDATE connections SET last_downstream_error_at = $2, \
                   health = CASE WHEN health = 'ok' THEN 'degraded' ELSE health END, updated_at = $2 \
                 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Ids of connections due for a proactive refresh, oldest due first. Read-only: claim
    /// with [`Store::claim_due_for_refresh`] (or the lease) before refreshing.
    pub async fn due_for_refresh(&self, now_ms: i64, limit: u32) -> Result<Vec<ConnectionId>> {
        let sql =
            format!("SELECT id FROM connections WHERE {DUE} ORDER BY next_refresh_at, id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        use crate::row::RowExt;
        rows.iter().map(|r| r.id("id")).collect()
    }

    /// Finds due connections and takes the refresh lease on each, returning only the rows
    /// this caller won. Sweepers on several nodes therefore share the work: a row claimed by
    /// one node is skipped by the others until its lease expires.
    pub async fn claim_due_for_refresh(
        &self,
        owner: &str,
        now_ms: i64,
        ttl_ms: i64,
        limit: u32,
    ) -> Result<Vec<ConnectionRow>> {
        let mut claimed = Vec::new();
        for id in self.due_for_refresh(now_ms, limit).await? {
            if let Some(row) = self
                .try_acquire_refresh_lease(&id, owner, now_ms, ttl_ms)
                .await?
            {
                claimed.push(row);
            }
        }
        Ok(claimed)
    }
}
