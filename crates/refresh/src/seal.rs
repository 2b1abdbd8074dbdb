//! Opening and sealing the coordinator's secrets with the same associated data the Vault uses
//! (application, table, row, column), so values written here open there and vice versa.

use std::sync::Arc;

use patchbay_core::ApplicationId;
use patchbay_crypto::{Aad, Keyring, SealedValue, SecretString};
use patchbay_oauth::{AccessToken, ClientSecret, RefreshToken};
use patchbay_store::{ConnectionRow, IntegrationRow, Sealed, SealedColumn, SealedRow};

use crate::error::RefreshError;

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

    /// Seals a connection token the way the Vault does (row id = connection id).
    pub fn seal_connection_token(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        connection_id: &str,
        plaintext: &str,
    ) -> Result<Sealed, RefreshError> {
        let aad = Aad::new(app.as_str(), column.table(), connection_id, column.column());
        let sealed = self
            .keyring
            .seal_secret(&SecretString::new(plaintext), &aad)
            .map_err(|_| RefreshError::Crypto("sealing a token failed"))?;
        Ok(Sealed::new(sealed.into_string().into_bytes()))
    }

    fn open(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        row_id: &str,
        sealed: &Sealed,
    ) -> Result<SecretString, RefreshError> {
        let text = std::str::from_utf8(sealed.as_bytes())
            .map_err(|_| RefreshError::Crypto("a sealed value is not an envelope"))?;
        let value = SealedValue::parse(text)
            .map_err(|_| RefreshError::Crypto("a sealed value is not an envelope"))?;
        let aad = Aad::new(app.as_str(), column.table(), row_id, column.column());
        self.keyring
            .open_secret(&value, &aad)
            .map_err(|_| RefreshError::Crypto("a sealed value does not open with the keyring"))
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
                .map(|t| AccessToken::new(t.expose_secret()))
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
                .map(|t| RefreshToken::new(t.expose_secret()))
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
                .map(|t| ClientSecret::new(t.expose_secret()))
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
        let aad = Aad::new(app.as_str(), column.table(), &row_id, column.column());
        let sealed = self
            .keyring
            .seal_secret(&SecretString::new(plaintext), &aad)
            .map_err(|_| RefreshError::Crypto("sealing a client secret failed"))?;
        Ok(Sealed::new(sealed.into_string().into_bytes()))
    }
}
