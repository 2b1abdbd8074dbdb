//! The one seal path for every sealed column (the Vault's service layer and this coordinator
//! both call it), so that a value sealed anywhere opens everywhere: the associated data binds
//! each value to its application, table, row and column, with the row ids of
//! [`patchbay_store::SealedRow::row_id`], so the key-rotation job can re-seal any value from its
//! location alone.
//!
//! It lives here because it needs both the keyring (crypto) and the column names (store), and
//! this is the lowest crate that depends on both; the store must not depend on crypto.

use std::sync::Arc;

use patchbay_core::ApplicationId;
use patchbay_crypto::{Aad, Keyring, SealedValue, SecretString};
use patchbay_oauth::{AccessToken, ClientSecret, RefreshToken};
use patchbay_store::{ConnectionRow, IntegrationRow, Sealed, SealedColumn, SealedRef, SealedRow};

use crate::error::RefreshError;

/// Why a value could not be sealed or opened. Names the column, never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealingError {
    #[error("sealing a value for column {0} failed")]
    Seal(&'static str),
    #[error("sealed value in column {0} is not an envelope")]
    NotAnEnvelope(&'static str),
    #[error("a sealed value in column {0} does not open with the keyring")]
    DoesNotOpen(&'static str),
}

impl From<SealingError> for RefreshError {
    fn from(e: SealingError) -> Self {
        RefreshError::Crypto(match e {
            SealingError::Seal(_) => "sealing a value failed",
            SealingError::NotAnEnvelope(_) => "a sealed value is not an envelope",
            SealingError::DoesNotOpen(_) => "a sealed value does not open with the keyring",
        })
    }
}

/// The keyring, shared. Cheap to clone.
#[derive(Clone)]
pub struct Sealer {
    keyring: Arc<Keyring>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        Self { keyring }
    }

    /// Seals `plaintext` for `column` of row `row_id` in application `app`.
    ///
    /// # Errors
    /// [`SealingError::Seal`] when the keyring cannot seal (no usable key).
    pub fn seal(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        row_id: &str,
        plaintext: &SecretString,
    ) -> Result<Sealed, SealingError> {
        let aad = Aad::new(app.as_str(), column.table(), row_id, column.column());
        let sealed = self
            .keyring
            .seal_secret(plaintext, &aad)
            .map_err(|_| SealingError::Seal(column.column()))?;
        Ok(Sealed::new(sealed.into_string().into_bytes()))
    }

    /// Opens a value sealed by [`Sealer::seal`] for the same location.
    ///
    /// # Errors
    /// [`SealingError`] when the bytes are not an envelope or do not open for this location.
    pub fn open(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        row_id: &str,
        sealed: &Sealed,
    ) -> Result<SecretString, SealingError> {
        let text = std::str::from_utf8(sealed.as_bytes())
            .map_err(|_| SealingError::NotAnEnvelope(column.column()))?;
        let value =
            SealedValue::parse(text).map_err(|_| SealingError::NotAnEnvelope(column.column()))?;
        let aad = Aad::new(app.as_str(), column.table(), row_id, column.column());
        self.keyring
            .open_secret(&value, &aad)
            .map_err(|_| SealingError::DoesNotOpen(column.column()))
    }

    /// Re-seals a stored value under the active key (key rotation); `None` when it already is.
    ///
    /// # Errors
    /// [`SealingError`] when the value is not an envelope or does not open for its location.
    pub fn reseal(
        &self,
        location: &SealedRef,
        value: &Sealed,
    ) -> Result<Option<Sealed>, SealingError> {
        let column = location.column.column();
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| SealingError::NotAnEnvelope(column))?;
        let sealed = SealedValue::parse(text).map_err(|_| SealingError::NotAnEnvelope(column))?;
        if self.keyring.is_current(&sealed) {
            return Ok(None);
        }
        let row_id = location.row.row_id();
        let aad = Aad::new(
            location.row.application_id().as_str(),
            location.column.table(),
            &row_id,
            column,
        );
        let fresh = self
            .keyring
            .reseal(&sealed, &aad)
            .map_err(|_| SealingError::DoesNotOpen(column))?;
        Ok(Some(Sealed::new(fresh.into_string().into_bytes())))
    }

    /// Seals a connection token (row id = connection id).
    pub fn seal_connection_token(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        connection_id: &str,
        plaintext: &str,
    ) -> Result<Sealed, RefreshError> {
        Ok(self.seal(app, column, connection_id, &SecretString::new(plaintext))?)
    }

    pub fn open_access(&self, row: &ConnectionRow) -> Result<Option<AccessToken>, RefreshError> {
        row.access_token_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &row.application_id,
                    SealedColumn::ConnectionAccessToken,
                    row.id.as_str(),
                    s,
                )
                .map(AccessToken::from)
                .map_err(RefreshError::from)
            })
            .transpose()
    }

    pub fn open_refresh(&self, row: &ConnectionRow) -> Result<Option<RefreshToken>, RefreshError> {
        row.refresh_token_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &row.application_id,
                    SealedColumn::ConnectionRefreshToken,
                    row.id.as_str(),
                    s,
                )
                .map(RefreshToken::from)
                .map_err(RefreshError::from)
            })
            .transpose()
    }

    pub fn open_client_secret(
        &self,
        row: &IntegrationRow,
    ) -> Result<Option<ClientSecret>, RefreshError> {
        let row_id = SealedRow::Integration {
            application_id: row.application_id.clone(),
            unified_api: row.unified_api.clone(),
            service_id: row.service_id.clone(),
        }
        .row_id();
        row.client_secret_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &row.application_id,
                    SealedColumn::IntegrationClientSecret,
                    &row_id,
                    s,
                )
                .map(ClientSecret::from)
                .map_err(RefreshError::from)
            })
            .transpose()
    }

    /// Seals an integration's client secret (tests and tools create integrations with it).
    pub fn seal_client_secret(
        &self,
        app: &ApplicationId,
        unified_api: &patchbay_core::UnifiedApi,
        service_id: &patchbay_core::ServiceId,
        plaintext: &str,
    ) -> Result<Sealed, RefreshError> {
        let column = SealedColumn::IntegrationClientSecret;
        let row_id = SealedRow::Integration {
            application_id: app.clone(),
            unified_api: unified_api.clone(),
            service_id: service_id.clone(),
        }
        .row_id();
        Ok(self.seal(app, column, &row_id, &SecretString::new(plaintext))?)
    }
}
