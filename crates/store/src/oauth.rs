//! Server-side OAuth transactions: the record behind a `state` (or a `confirm_token`).
//! Keyed by a hash of the state so a database read does not reveal a usable state.

use patchbay_core::{ApplicationId, ConsumerId, ServiceId, UnifiedApi};
use sqlx::any::AnyRow;

use crate::error::classify;
use crate::row::RowExt;
use crate::sealed::Sealed;
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOAuthTransaction {
    /// Hash of the state value (the caller hashes; the store only compares).
    pub state_hash: String,
    /// What the state is for, e.g. `authorize`, `revoke`, `confirm`.
    pub purpose: String,
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    /// The login host the code must be redeemed at.
    pub login_url: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier_sealed: Option<Sealed>,
    pub nonce: Option<String>,
    pub now_ms: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthTransactionRow {
    pub state_hash: String,
    pub purpose: String,
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    pub login_url: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier_sealed: Option<Sealed>,
    pub nonce: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl OAuthTransactionRow {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            state_hash: row.text("state_hash")?,
            purpose: row.text("purpose")?,
            application_id: row.id("application_id")?,
            consumer_id: row.id("consumer_id")?,
            unified_api: row.id("unified_api")?,
            service_id: row.id("service_id")?,
            login_url: row.opt_text("login_url")?,
            redirect_uri: row.opt_text("redirect_uri")?,
            code_verifier_sealed: row.sealed("code_verifier_sealed")?,
            nonce: row.opt_text("nonce")?,
            created_at: row.int("created_at")?,
            expires_at: row.int("expires_at")?,
            used_at: row.opt_int("used_at")?,
        })
    }
}

const COLUMNS: &str = "state_hash, purpose, application_id, consumer_id, unified_api, service_id, \
    login_url, redirect_uri, code_verifier_sealed, nonce, created_at, expires_at, used_at";

impl Store {
    pub async fn insert_oauth_transaction(&self, t: &NewOAuthTransaction) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_transactions (state_hash, purpose, application_id, consumer_id, \
               unified_api, service_id, login_url, redirect_uri, code_verifier_sealed, nonce, \
               created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(t.state_hash.as_str())
        .bind(t.purpose.as_str())
        .bind(t.application_id.as_str())
        .bind(t.consumer_id.as_str())
        .bind(t.unified_api.as_str())
        .bind(t.service_id.as_str())
        .bind(t.login_url.as_deref())
        .bind(t.redirect_uri.as_deref())
        .bind(t.code_verifier_sealed.as_ref().map(Sealed::as_bytes))
        .bind(t.nonce.as_deref())
        .bind(t.now_ms)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| classify(e, "oauth transaction", "application"))?;
        Ok(())
    }

    /// Marks the transaction used and returns it, but only if it was unused and unexpired.
    /// One statement, so of any number of concurrent callers exactly one gets the row.
    pub async fn take_oauth_transaction(
        &self,
        state_hash: &str,
        now_ms: i64,
    ) -> Result<Option<OAuthTransactionRow>> {
        let sql = format!(
            "UPDATE oauth_transactions SET used_at = $2 \
             WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(state_hash)
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(OAuthTransactionRow::from_row).transpose()
    }

    /// Reads a transaction without consuming it (e.g. to show a confirm page).
    pub async fn get_oauth_transaction(
        &self,
        state_hash: &str,
    ) -> Result<Option<OAuthTransactionRow>> {
        let sql = format!("SELECT {COLUMNS} FROM oauth_transactions WHERE state_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(OAuthTransactionRow::from_row).transpose()
    }

    /// Deletes transactions that expired before `before_ms`. Returns how many.
    pub async fn purge_oauth_transactions(&self, before_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM oauth_transactions WHERE expires_at < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
