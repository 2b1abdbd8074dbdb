//! The Vault's entry to the one seal path, [`patchbay_refresh::Sealer`]: the same associated
//! data (application, table, row, column) for every sealed value, whoever writes it.

use patchbay_core::ApplicationId;
use patchbay_crypto::SecretString;
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
        self.refresher()
            .sealer()
            .seal(app, column, row_id, &SecretString::new(plaintext))
            .map_err(Error::internal)
    }

    pub(crate) fn open(
        &self,
        app: &ApplicationId,
        column: SealedColumn,
        row_id: &str,
        sealed: &Sealed,
    ) -> Result<SecretString> {
        self.refresher()
            .sealer()
            .open(app, column, row_id, sealed)
            .map_err(Error::internal)
    }
}
