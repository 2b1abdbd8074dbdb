//! Sealing and opening secrets with associated data that binds each value to its application,
//! table, row and column. The row ids follow the store's [`patchbay_store::SealedRow::row_id`],
//! so the key-rotation job can re-seal any value from its location alone.

use patchbay_core::ApplicationId;
use patchbay_crypto::{Aad, SealedValue, SecretString};
use patchbay_store::{Sealed, SealedColumn};

use super::Vault;
use crate::error::{Error, Result};

impl Vault {
    pub(crate) fn seal(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        row_id: &str,
        plaintext: &str,
    ) -> Result<Sealed> {
        let aad = Aad::new(app.as_str(), column.table(), row_id, column.column());
        let sealed = self
            .keyring()
            .seal_secret(&SecretString::new(plaintext), &aad)
            .map_err(Error::internal)?;
        Ok(Sealed::new(sealed.into_string().into_bytes()))
    }

    pub(crate) fn open(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        row_id: &str,
        sealed: &Sealed,
    ) -> Result<SecretString> {
        let text = std::str::from_utf8(sealed.as_bytes())
            .map_err(|_| Error::internal(CorruptSealed(column.column())))?;
        let value = SealedValue::parse(text).map_err(Error::internal)?;
        let aad = Aad::new(app.as_str(), column.table(), row_id, column.column());
        self.keyring()
            .open_secret(&value, &aad)
            .map_err(Error::internal)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sealed value in column {0} is not an envelope")]
struct CorruptSealed(&'static str);
