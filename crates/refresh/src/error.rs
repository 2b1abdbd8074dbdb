//! Why a token could not be handed out, and the spec's structured 401 detail
//! (`refresh_token_connector_error`, docs/apideck.md §0) the server builds from it.

use patchbay_oauth::OAuthError;
use patchbay_store::StoreError;
use serde::Serialize;

/// Every failure of [`crate::Refresher`]. Messages never contain tokens or secrets.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("the connection does not exist")]
    ConnectionNotFound,
    #[error("the connection's integration does not exist or has no client id")]
    IntegrationNotFound,
    #[error("the connection is disabled")]
    Disabled,
    #[error("the connection has no usable tokens; the consumer must authorize again")]
    NoCredentials,
    /// The grant is dead (`invalid_grant` on an unchanged token, or a refresh whose outcome was
    /// lost under rotation): re-authorize. Credentials are kept until `credentials_expire_at_ms`.
    #[error("the connection needs to be authorized again ({reason})")]
    NeedsAuth {
        /// `invalid_grant`, `refresh_in_doubt`, `refresh_unpersisted`, or another stored code.
        reason: String,
        credentials_expire_at_ms: Option<i64>,
        provider: Option<ProviderResponse>,
    },
    /// A previous refresh failed and its backoff has not run out; the access token has expired.
    #[error(
        "the last token refresh failed ({last_error}); next attempt in {cooldown_remaining_ms} ms"
    )]
    CoolingDown {
        last_error: String,
        cooldown_remaining_ms: i64,
    },
    /// The provider asked us to slow down (429 `Retry-After`) for this integration.
    #[error("the provider rate-limited the token endpoint; retry in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: i64 },
    /// The integration's OAuth client was rejected (`invalid_client`, `invalid_client_id`,
    /// configuration); its circuit breaker is open. `diagnosis` names the setting to change.
    #[error("the provider rejected the integration's OAuth client ({code}): {diagnosis}")]
    IntegrationRejected {
        code: String,
        diagnosis: String,
        retry_after_ms: i64,
        provider: Option<ProviderResponse>,
    },
    /// A transient provider or network failure; credentials are untouched.
    #[error("token refresh failed: {diagnosis}")]
    Transient {
        code: String,
        diagnosis: String,
        retry_after_ms: i64,
        provider: Option<ProviderResponse>,
        #[source]
        source: Option<Box<OAuthError>>,
    },
    /// The provider issued tokens that could not be stored. They were not handed out (fail
    /// closed), and the refresh token that produced them will not be presented again.
    #[error("refreshed tokens could not be stored; an operator must look at this connection")]
    Unpersisted,
    /// Another node holds the refresh lease and did not finish in time.
    #[error("another node is refreshing this connection; retry shortly")]
    Busy,
    #[error("the integration is misconfigured: {0}")]
    Config(String),
    #[error("{0}")]
    Crypto(&'static str),
    #[error("database error")]
    Store(#[from] StoreError),
}

/// The provider's answer, as far as it is safe to show (no bodies, only OAuth error fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderResponse {
    #[serde(rename = "statusCode")]
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl ProviderResponse {
    pub(crate) fn from_oauth(e: &OAuthError) -> Option<Self> {
        let status_code = e.status();
        let error = e.provider_error().map(str::to_owned);
        (status_code.is_some() || error.is_some()).then(|| Self {
            status_code,
            error,
            error_description: e.provider_description().map(str::to_owned),
        })
    }
}

/// `detail` of the spec's 401 `UnauthorizedResponse` for refresh failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshErrorDetail {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
    pub debug: RefreshDebug,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefreshDebug {
    pub message: String,
    /// Our classification (`invalid_grant`, `invalid_client`, `rate_limited`, `timeout`, …).
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ProviderResponse>,
    /// Only for non-recoverable answers: when the kept credentials will be wiped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_expire_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_remaining_ms: Option<i64>,
}

impl RefreshError {
    /// The structured 401 detail, for errors that are about the refresh; `None` for missing
    /// rows and internal failures (the server answers those with its own envelopes).
    pub fn detail(&self) -> Option<RefreshErrorDetail> {
        let (code, response, expire, retry, cooldown): (
            String,
            Option<ProviderResponse>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        ) = match self {
            RefreshError::NeedsAuth {
                reason,
                credentials_expire_at_ms,
                provider,
            } => (
                reason.clone(),
                provider.clone(),
                *credentials_expire_at_ms,
                None,
                None,
            ),
            RefreshError::CoolingDown {
                last_error,
                cooldown_remaining_ms,
            } => (
                last_error.clone(),
                None,
                None,
                None,
                Some(*cooldown_remaining_ms),
            ),
            RefreshError::RateLimited { retry_after_ms } => (
                "rate_limited".to_owned(),
                None,
                None,
                Some(*retry_after_ms),
                None,
            ),
            RefreshError::IntegrationRejected {
                code,
                retry_after_ms,
                provider,
                ..
            } => (
                code.clone(),
                provider.clone(),
                None,
                Some(*retry_after_ms),
                None,
            ),
            RefreshError::Transient {
                code,
                retry_after_ms,
                provider,
                ..
            } => (
                code.clone(),
                provider.clone(),
                None,
                Some(*retry_after_ms),
                None,
            ),
            RefreshError::Unpersisted => ("refresh_unpersisted".to_owned(), None, None, None, None),
            RefreshError::Busy => (
                "refresh_in_progress".to_owned(),
                None,
                None,
                Some(1_000),
                None,
            ),
            RefreshError::NoCredentials => ("no_credentials".to_owned(), None, None, None, None),
            _ => return None,
        };
        let message = self.to_string();
        Some(RefreshErrorDetail {
            kind: "refresh_token_connector_error",
            message: message.clone(),
            debug: RefreshDebug {
                message,
                code,
                response,
                credentials_expire_at_ms: expire,
                retry_after_ms: retry,
                cooldown_remaining_ms: cooldown,
            },
        })
    }

    /// Whether the same call may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RefreshError::CoolingDown { .. }
                | RefreshError::RateLimited { .. }
                | RefreshError::Transient { .. }
                | RefreshError::Busy
                | RefreshError::Store(_)
        )
    }

    /// How long to wait before asking again, when that is known.
    pub fn retry_after_ms(&self) -> Option<i64> {
        match self {
            RefreshError::CoolingDown {
                cooldown_remaining_ms,
                ..
            } => Some(*cooldown_remaining_ms),
            RefreshError::RateLimited { retry_after_ms }
            | RefreshError::IntegrationRejected { retry_after_ms, .. }
            | RefreshError::Transient { retry_after_ms, .. } => Some(*retry_after_ms),
            RefreshError::Busy => Some(1_000),
            _ => None,
        }
    }

    /// Whether the consumer must authorize again.
    pub fn needs_reauthorization(&self) -> bool {
        matches!(
            self,
            RefreshError::NeedsAuth { .. } | RefreshError::NoCredentials
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_carries_the_timings() {
        let d = RefreshError::CoolingDown {
            last_error: "transient".to_owned(),
            cooldown_remaining_ms: 1234,
        }
        .detail()
        .unwrap();
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["type"], "refresh_token_connector_error");
        assert_eq!(v["debug"]["cooldown_remaining_ms"], 1234);
        assert_eq!(v["debug"]["code"], "transient");
        assert!(v["debug"].get("retry_after_ms").is_none());
        let v = serde_json::to_value(
            RefreshError::NeedsAuth {
                reason: "invalid_grant".to_owned(),
                credentials_expire_at_ms: Some(99),
                provider: Some(ProviderResponse {
                    status_code: Some(400),
                    error: Some("invalid_grant".to_owned()),
                    error_description: Some("expired access/refresh token".to_owned()),
                }),
            }
            .detail()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(v["debug"]["credentials_expire_at_ms"], 99);
        assert_eq!(v["debug"]["response"]["statusCode"], 400);
        assert!(RefreshError::ConnectionNotFound.detail().is_none());
    }
}
