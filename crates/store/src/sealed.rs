//! Sealed (encrypted) values as the store sees them: opaque bytes, plus an inventory of every
//! sealed column so a key-rotation job can re-encrypt row by row.

use std::fmt;

use patchbay_core::{ApplicationId, ConnectionId, ServiceId, UnifiedApi};
use sqlx::any::AnyRow;

use crate::row::RowExt;
use crate::{Result, Store};

/// Ciphertext produced by the crypto crate. The store stores and compares it, nothing more.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl Sealed {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for Sealed {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl fmt::Debug for Sealed {
    // Ciphertext is not secret, but it is noise in logs; its length is enough to debug with.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// Every column that holds a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SealedColumn {
    IntegrationClientSecret,
    IntegrationStagedClientSecret,
    ConnectionAccessToken,
    ConnectionRefreshToken,
    OAuthCodeVerifier,
    /// The copy of the API key that created or last updated a webhook subscription (Apideck's
    /// signature is keyed with it).
    WebhookApiKey,
    /// A webhook subscription's own signing secret (`x-patchbay-signature`).
    WebhookSecret,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 7] = [
        SealedColumn::IntegrationClientSecret,
        SealedColumn::IntegrationStagedClientSecret,
        SealedColumn::ConnectionAccessToken,
        SealedColumn::ConnectionRefreshToken,
        SealedColumn::OAuthCodeVerifier,
        SealedColumn::WebhookApiKey,
        SealedColumn::WebhookSecret,
    ];

    pub fn table(self) -> &'static str {
        match self {
            Self::IntegrationClientSecret | Self::IntegrationStagedClientSecret => "integrations",
            Self::ConnectionAccessToken | Self::ConnectionRefreshToken => "connections",
            Self::OAuthCodeVerifier => "oauth_transactions",
            Self::WebhookApiKey | Self::WebhookSecret => "webhook_subscriptions",
        }
    }

    /// The columns that identify a row of [`SealedColumn::table`].
    fn key_columns(self) -> &'static str {
        match self {
            Self::IntegrationClientSecret | Self::IntegrationStagedClientSecret => {
                "application_id, unified_api, service_id"
            }
            Self::ConnectionAccessToken | Self::ConnectionRefreshToken => "application_id, id",
            Self::OAuthCodeVerifier => "application_id, state_hash",
            Self::WebhookApiKey | Self::WebhookSecret => "application_id, id",
        }
    }

    pub fn column(self) -> &'static str {
        match self {
            Self::IntegrationClientSecret => "client_secret_sealed",
            Self::IntegrationStagedClientSecret => "staged_client_secret_sealed",
            Self::ConnectionAccessToken => "access_token_sealed",
            Self::ConnectionRefreshToken => "refresh_token_sealed",
            Self::OAuthCodeVerifier => "code_verifier_sealed",
            Self::WebhookApiKey => "api_key_sealed",
            Self::WebhookSecret => "secret_sealed",
        }
    }
}

/// The identity of the row a sealed value lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedRow {
    Integration {
        application_id: ApplicationId,
        unified_api: UnifiedApi,
        service_id: ServiceId,
    },
    Connection {
        application_id: ApplicationId,
        id: ConnectionId,
    },
    OAuthTransaction {
        application_id: ApplicationId,
        state_hash: String,
    },
    Webhook {
        application_id: ApplicationId,
        id: String,
    },
}

impl SealedRow {
    pub fn application_id(&self) -> &ApplicationId {
        match self {
            Self::Integration { application_id, .. }
            | Self::Connection { application_id, .. }
            | Self::OAuthTransaction { application_id, .. }
            | Self::Webhook { application_id, .. } => application_id,
        }
    }

    /// A stable text form of the row key, suitable for AEAD associated data.
    pub fn row_id(&self) -> String {
        match self {
            Self::Integration {
                unified_api,
                service_id,
                ..
            } => format!("{unified_api}/{service_id}"),
            Self::Connection { id, .. } => id.to_string(),
            Self::OAuthTransaction { state_hash, .. } => state_hash.clone(),
            Self::Webhook { id, .. } => id.clone(),
        }
    }
}

/// Where one sealed value lives: row plus column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRef {
    pub row: SealedRow,
    pub column: SealedColumn,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub location: SealedRef,
    pub value: Sealed,
}

impl Store {
    /// Every non-null sealed value with its location. Loads everything into memory: fine for
    /// the vault's size (one row per connection); page it if that stops being true.
    pub async fn sealed_values(&self) -> Result<Vec<SealedValue>> {
        let mut out = Vec::new();
        for column in SealedColumn::ALL {
            let (table, col, key_cols) = (column.table(), column.column(), column.key_columns());
            let sql =
                format!("SELECT {key_cols}, {col} AS sealed FROM {table} WHERE {col} IS NOT NULL");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                let Some(value) = row.sealed("sealed")? else {
                    continue;
                };
                let location = SealedRef {
                    row: sealed_row(column, &row)?,
                    column,
                };
                out.push(SealedValue { location, value });
            }
        }
        Ok(out)
    }

    /// Replaces one sealed value if it still equals `old` (compare-and-set), so a re-encryption
    /// never overwrites a value written concurrently (for example a refreshed token).
    /// Returns false when the value changed or the row is gone.
    pub async fn replace_sealed(&self, at: &SealedRef, old: &Sealed, new: &Sealed) -> Result<bool> {
        let col = at.column.column();
        let table = at.column.table();
        let app = at.row.application_id().as_str();
        let query = match &at.row {
            SealedRow::Integration {
                unified_api,
                service_id,
                ..
            } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {col} = $1 WHERE {col} = $2 AND application_id = $3 \
                 AND unified_api = $4 AND service_id = $5"
            )))
            .bind(new.as_bytes())
            .bind(old.as_bytes())
            .bind(app)
            .bind(unified_api.as_str())
            .bind(service_id.as_str()),
            SealedRow::Connection { id, .. } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {col} = $1 WHERE {col} = $2 AND application_id = $3 AND id = $4"
            )))
            .bind(new.as_bytes())
            .bind(old.as_bytes())
            .bind(app)
            .bind(id.as_str()),
            SealedRow::Webhook { id, .. } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {col} = $1 WHERE {col} = $2 AND application_id = $3 AND id = $4"
            )))
            .bind(new.as_bytes())
            .bind(old.as_bytes())
            .bind(app)
            .bind(id.as_str()),
            SealedRow::OAuthTransaction { state_hash, .. } => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET {col} = $1 WHERE {col} = $2 AND application_id = $3 \
                 AND state_hash = $4"
                )))
                .bind(new.as_bytes())
                .bind(old.as_bytes())
                .bind(app)
                .bind(state_hash.as_str())
            }
        };
        let done = query.execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }
}

fn sealed_row(column: SealedColumn, row: &AnyRow) -> Result<SealedRow> {
    let application_id = row.id("application_id")?;
    Ok(match column {
        SealedColumn::IntegrationClientSecret | SealedColumn::IntegrationStagedClientSecret => {
            SealedRow::Integration {
                application_id,
                unified_api: row.id("unified_api")?,
                service_id: row.id("service_id")?,
            }
        }
        SealedColumn::ConnectionAccessToken | SealedColumn::ConnectionRefreshToken => {
            SealedRow::Connection {
                application_id,
                id: row.id("id")?,
            }
        }
        SealedColumn::OAuthCodeVerifier => SealedRow::OAuthTransaction {
            application_id,
            state_hash: row.text("state_hash")?,
        },
        SealedColumn::WebhookApiKey | SealedColumn::WebhookSecret => SealedRow::Webhook {
            application_id,
            id: row.text("id")?,
        },
    })
}
