//! What the admin console shows about a consumer's connections beyond the Vault API's
//! `Connection`: the instance URL and the refresh history. Operator-facing only; no token or
//! secret is part of it.

use patchbay_core::{ApplicationId, ConsumerId};

use super::Vault;
use crate::error::Result;

/// One stored connection's operational details (unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionDetails {
    pub unified_api: String,
    pub service_id: String,
    pub instance_url: Option<String>,
    /// The last refresh, or the first token when it was never refreshed.
    pub last_refreshed_at: Option<i64>,
    pub last_refresh_failed_at: Option<i64>,
    /// The classified reason of the last failed refresh (no provider secret is kept in it).
    pub last_refresh_error: Option<String>,
}

impl Vault {
    /// The stored connections of `consumer` in `app`, with their operational details.
    ///
    /// # Errors
    /// The store failed.
    #[tracing::instrument(skip_all)]
    pub async fn connection_details(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
    ) -> Result<Vec<ConnectionDetails>> {
        let rows = self.store().list_connections(app, Some(consumer)).await?;
        Ok(rows
            .into_iter()
            .map(|r| ConnectionDetails {
                unified_api: r.unified_api.to_string(),
                service_id: r.service_id.to_string(),
                instance_url: r.instance_url,
                last_refreshed_at: r.last_refresh_at.or(r.token_issued_at),
                last_refresh_failed_at: r.last_refresh_failed_at,
                last_refresh_error: r.last_refresh_error,
            })
            .collect())
    }
}
