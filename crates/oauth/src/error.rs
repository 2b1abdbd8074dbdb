//! The typed error of every OAuth call, and what each one means for the caller.
//!
//! Nothing here ever holds a secret: provider `error` and `error_description` values are kept
//! (they name the problem and contain no credentials), response bodies are not.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use time::OffsetDateTime;

use crate::classify::classify;
use crate::provider::Endpoint;

/// What the client was doing when the error happened; diagnostics need it (an `invalid_client` on
/// a refresh sent without the secret means "Require Secret for Refresh Token Flow" is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ExchangeCode,
    Refresh { sent_secret: bool },
    Revoke,
    Introspect,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::ExchangeCode => "code exchange",
            Operation::Refresh { .. } => "token refresh",
            Operation::Revoke => "token revocation",
            Operation::Introspect => "token introspection",
        })
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): a delay in seconds or an HTTP date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Delay(Duration),
    At(OffsetDateTime),
}

impl RetryAfter {
    /// Parses the header value; `None` when it is neither form.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(RetryAfter::Delay(Duration::from_secs(secs)));
        }
        parse_http_date(value).map(RetryAfter::At)
    }

    /// Reads the `Retry-After` header, if present and valid.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::parse)
    }

    /// How long to wait from `now`; zero if the date is already past.
    pub fn delay_from(&self, now: OffsetDateTime) -> Duration {
        match self {
            RetryAfter::Delay(d) => *d,
            RetryAfter::At(at) => Duration::try_from(*at - now).unwrap_or(Duration::ZERO),
        }
    }
}

/// IMF-fixdate, the only HTTP-date form senders may generate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value, format)
        .ok()
        .map(|dt| dt.assume_utc())
}

/// What an error means for the caller, following docs/security.md §3.3 and docs/salesforce.md §14.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The grant (code or refresh token) is dead: `invalid_grant` and its relatives. Permanent for
    /// this connection, unless a sibling rotated the token meanwhile (the caller re-reads first).
    InvalidGrant,
    /// The integration's client authentication failed (`invalid_client`, `unauthorized_client`):
    /// a wrong or missing secret, e.g. "Require Secret for Refresh Token Flow" is on. Trip the
    /// integration's circuit breaker; do not blame connections.
    InvalidClient,
    /// The consumer key is unknown, or the app is not active yet (up to 10 minutes after
    /// creation). Retry with backoff for about 10 minutes when the app is new.
    InvalidClientId,
    /// The provider asked us to slow down.
    RateLimited { retry_after: Option<RetryAfter> },
    /// 5xx, timeouts, connection failures, malformed or partial bodies. Never wipe credentials.
    Transient,
    /// A configuration problem the admin must fix: unsupported grant type, redirect URI mismatch,
    /// invalid scope, flow not enabled on this host.
    Config,
    /// A 4xx the classifier does not recognise. docs/security.md §3.3: treat as transient for a few
    /// tries, then as permanent.
    Unrecognized,
}

impl ErrorClass {
    /// Only `InvalidGrant` says anything bad about this connection's tokens; every other class
    /// must leave them untouched (network trouble and integration setup are not the grant's fault).
    pub fn condemns_grant(&self) -> bool {
        matches!(self, ErrorClass::InvalidGrant)
    }

    /// The integration (client id, secret, app settings) is at fault, not one connection: trip
    /// the integration's circuit breaker and tell the admin.
    pub fn is_integration_problem(&self) -> bool {
        matches!(
            self,
            ErrorClass::InvalidClient | ErrorClass::InvalidClientId | ErrorClass::Config
        )
    }

    /// Worth retrying later with backoff (honouring `Retry-After` when rate limited).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ErrorClass::Transient | ErrorClass::RateLimited { .. } | ErrorClass::Unrecognized
        )
    }
}

/// Transport failures, split by whether the request may have reached the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made: the provider never saw the request.
    Connect,
    /// The request or the response timed out: the provider may have processed it.
    Timeout,
    /// The response body broke off or was larger than allowed.
    Body,
    /// Anything else reqwest reports.
    Other,
}

/// Every failure of an OAuth call.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider answered with an OAuth error (`error`, `error_description`).
    #[error("{operation} failed at the {endpoint} endpoint: HTTP {status}, {error}{}", describe(.error_description))]
    Provider {
        operation: Operation,
        endpoint: Endpoint,
        status: u16,
        error: String,
        error_description: Option<String>,
        retry_after: Option<RetryAfter>,
    },
    /// The provider answered with something that is not a usable response (HTML error pages,
    /// truncated JSON, a 200 without `access_token`). The body is never quoted: it may hold tokens.
    #[error(
        "{operation} got an unusable response from the {endpoint} endpoint: HTTP {status}, {reason}"
    )]
    MalformedResponse {
        operation: Operation,
        endpoint: Endpoint,
        status: u16,
        reason: String,
        retry_after: Option<RetryAfter>,
    },
    /// The request did not complete.
    #[error("{operation} could not reach the {endpoint} endpoint ({kind:?})")]
    Transport {
        operation: Operation,
        endpoint: Endpoint,
        kind: TransportKind,
        #[source]
        source: reqwest::Error,
    },
    /// The token response's `signature` does not match HMAC-SHA256(client secret, id + issued_at):
    /// the identity URL was tampered with, or the configured secret is not this app's.
    #[error(
        "{operation}: the token response signature does not match the configured client secret"
    )]
    SignatureMismatch { operation: Operation },
    /// Patchbay-side configuration is unusable (bad login URL, Basic auth without a secret, ...).
    #[error("invalid OAuth configuration: {0}")]
    InvalidConfig(String),
    /// The system random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

impl From<patchbay_crypto::RandomError> for OAuthError {
    fn from(_: patchbay_crypto::RandomError) -> Self {
        OAuthError::Random
    }
}

fn describe(d: &Option<String>) -> String {
    d.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl OAuthError {
    /// Builds a provider error, reading `Retry-After` from the headers.
    pub(crate) fn provider(
        operation: Operation,
        endpoint: Endpoint,
        status: u16,
        error: String,
        error_description: Option<String>,
        headers: &HeaderMap,
    ) -> Self {
        OAuthError::Provider {
            operation,
            endpoint,
            status,
            error,
            error_description,
            retry_after: RetryAfter::from_headers(headers),
        }
    }

    /// What the caller should do about this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            OAuthError::Provider {
                status,
                error,
                error_description,
                retry_after,
                ..
            } => classify(
                *status,
                Some(error),
                error_description.as_deref(),
                *retry_after,
            ),
            OAuthError::MalformedResponse {
                status,
                retry_after,
                ..
            } => classify(*status, None, None, *retry_after),
            OAuthError::Transport { .. } | OAuthError::Random => ErrorClass::Transient,
            // A signature mismatch means the secret we hold is not the app's, or the response was
            // tampered with: either way, an integration problem.
            OAuthError::SignatureMismatch { .. } => ErrorClass::InvalidClient,
            OAuthError::InvalidConfig(_) => ErrorClass::Config,
        }
    }

    /// The provider's `Retry-After`, on any answer that carried one (429, but also 503).
    pub fn retry_after(&self) -> Option<RetryAfter> {
        match self {
            OAuthError::Provider { retry_after, .. }
            | OAuthError::MalformedResponse { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The provider's `error` code, if it sent one.
    pub fn provider_error(&self) -> Option<&str> {
        match self {
            OAuthError::Provider { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The provider's `error_description`, if it sent one.
    pub fn provider_description(&self) -> Option<&str> {
        match self {
            OAuthError::Provider {
                error_description, ..
            } => error_description.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of the provider's answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            OAuthError::Provider { status, .. } | OAuthError::MalformedResponse { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    pub fn operation(&self) -> Option<Operation> {
        match self {
            OAuthError::Provider { operation, .. }
            | OAuthError::MalformedResponse { operation, .. }
            | OAuthError::Transport { operation, .. }
            | OAuthError::SignatureMismatch { operation } => Some(*operation),
            OAuthError::InvalidConfig(_) | OAuthError::Random => None,
        }
    }

    /// True when the request may have been processed although no answer arrived (a timeout after
    /// sending, or a body cut off). Under refresh-token rotation the provider may already have
    /// rotated: docs/security.md §3.3 "outcome unknown".
    pub fn outcome_unknown(&self) -> bool {
        match self {
            OAuthError::Transport { kind, .. } => {
                matches!(
                    kind,
                    TransportKind::Timeout | TransportKind::Body | TransportKind::Other
                )
            }
            OAuthError::MalformedResponse { status, .. } => (200..300).contains(status),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use time::macros::datetime;

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            RetryAfter::parse("120"),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        assert_eq!(
            RetryAfter::parse(" 0 "),
            Some(RetryAfter::Delay(Duration::ZERO))
        );
        let at = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(at, Some(RetryAfter::At(datetime!(1994-11-06 08:49:37 UTC))));
        let now = datetime!(1994-11-06 08:49:07 UTC);
        assert_eq!(at.map(|a| a.delay_from(now)), Some(Duration::from_secs(30)));
        let later = datetime!(1994-11-07 00:00:00 UTC);
        assert_eq!(at.map(|a| a.delay_from(later)), Some(Duration::ZERO));
        assert_eq!(RetryAfter::parse("-5"), None);
        assert_eq!(RetryAfter::parse("soon"), None);
        assert_eq!(RetryAfter::parse(""), None);
    }

    #[test]
    fn retry_after_from_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(RetryAfter::from_headers(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            RetryAfter::from_headers(&h),
            Some(RetryAfter::Delay(Duration::from_secs(7)))
        );
    }

    #[test]
    fn display_keeps_provider_text_and_nothing_else() {
        let e = OAuthError::provider(
            Operation::Refresh { sent_secret: false },
            Endpoint::Token,
            400,
            "invalid_client".into(),
            Some("invalid client credentials".into()),
            &HeaderMap::new(),
        );
        assert_eq!(
            e.to_string(),
            "token refresh failed at the token endpoint: HTTP 400, invalid_client: invalid client credentials"
        );
        assert_eq!(e.class(), ErrorClass::InvalidClient);
        assert!(!e.outcome_unknown());
    }
}
