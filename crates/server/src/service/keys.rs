//! Key rotation support for `patchbay keys status|reencrypt`: how many sealed values each key
//! id protects, and re-sealing every value under the active key. Each value is opened with
//! the associated data of the place it is stored, so a value moved to another row fails here
//! instead of being laundered under the new key.

use std::collections::BTreeMap;

use patchbay_crypto::{KeyInfo, key_id_of};
use serde::Serialize;

use super::Vault;
use super::audit::Actor;
use crate::error::{Error, Result};

/// Where the key canary lives in the `meta` table (checked at every start).
pub const CANARY_META_KEY: &str = "keyring_canary";

#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub active_key_id: String,
    pub keys: Vec<KeyInfo>,
    /// Sealed values per key id; ids not in the keyring mean a key is missing.
    pub values_per_key: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReencryptReport {
    pub resealed: usize,
    pub already_current: usize,
    /// Values that changed between read and write (a concurrent writer won); rerun to finish.
    pub skipped_concurrent: usize,
}

impl Vault {
    #[tracing::instrument(skip_all)]
    pub async fn key_status(&self) -> Result<KeyStatus> {
        let mut values_per_key = BTreeMap::new();
        for v in self.store().sealed_values().await? {
            let text = String::from_utf8_lossy(v.value.as_bytes()).into_owned();
            let id = key_id_of(&text)
                .map(|k| k.to_string())
                .unwrap_or_else(|_| "<malformed>".to_owned());
            *values_per_key.entry(id).or_insert(0) += 1;
        }
        Ok(KeyStatus {
            active_key_id: self.keyring().active_key_id().to_string(),
            keys: self.keyring().keys(),
            values_per_key,
        })
    }

    /// Re-seals every value not yet under the active key, and the key canary, then records
    /// the rotation in the audit log.
    #[tracing::instrument(skip_all)]
    pub async fn reencrypt_all(&self) -> Result<ReencryptReport> {
        let mut report = ReencryptReport::default();
        for v in self.store().sealed_values().await? {
            let Some(fresh) = self
                .refresher()
                .sealer()
                .reseal(&v.location, &v.value)
                .map_err(Error::internal)?
            else {
                report.already_current += 1;
                continue;
            };
            if self
                .store()
                .replace_sealed(&v.location, &v.value, &fresh)
                .await?
            {
                report.resealed += 1;
            } else {
                report.skipped_concurrent += 1;
            }
        }
        let canary = self.keyring().seal_canary().map_err(Error::internal)?;
        self.store()
            .set_meta(CANARY_META_KEY, canary.as_str())
            .await?;
        self.audit(
            None,
            &Actor::Admin,
            "keys.reencrypt",
            self.keyring().active_key_id().as_str(),
            serde_json::to_value(report).map_err(Error::internal)?,
        )
        .await?;
        Ok(report)
    }
}
