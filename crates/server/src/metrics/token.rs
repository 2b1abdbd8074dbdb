//! The optional bearer token in front of `/metrics` (`serve --metrics-token-file`,
//! `PATCHBAY_METRICS_TOKEN`). Without one the scrape stays open, as before.
//!
//! Only the token's SHA-256 is kept: a presented token is hashed and the two digests are
//! compared in constant time, so neither the content nor the length of the configured token
//! shows in the time a refusal takes, and the plaintext is not held for the process's life.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use patchbay_crypto::{SecretString, constant_time_eq, sha256_hex};

/// The configured scrape token, as its digest.
pub struct MetricsToken {
    digest: String,
}

/// Why a configured token was refused at start. Names the problem, never the value.
#[derive(Debug, thiserror::Error)]
pub enum MetricsTokenError {
    #[error("the metrics token is empty (or only whitespace)")]
    Empty,
    #[error(
        "the metrics token must be printable ASCII without spaces: it is sent in an Authorization header"
    )]
    NotHeaderSafe,
}

impl MetricsToken {
    /// Checks `token` (surrounding whitespace, such as a key file's final newline, is not
    /// part of it) and keeps its digest.
    ///
    /// # Errors
    /// An empty or whitespace-only token, or one no client could send in a header.
    pub fn new(token: &SecretString) -> Result<Self, MetricsTokenError> {
        let value = token.expose_secret().trim();
        if value.is_empty() {
            return Err(MetricsTokenError::Empty);
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(MetricsTokenError::NotHeaderSafe);
        }
        Ok(Self {
            digest: sha256_hex(value.as_bytes()),
        })
    }

    /// Whether `headers` carry `Authorization: Bearer <this token>` (the scheme in any case).
    pub(crate) fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(presented) = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
        else {
            return false;
        };
        constant_time_eq(
            sha256_hex(presented.as_bytes()).as_bytes(),
            self.digest.as_bytes(),
        )
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_admitted() {
        let token = MetricsToken::new(&SecretString::new("scrape-me-0123\n")).expect("token");
        assert!(token.admits(&with_auth("Bearer scrape-me-0123")));
        assert!(token.admits(&with_auth("bearer scrape-me-0123")));
        assert!(!token.admits(&HeaderMap::new()));
        assert!(!token.admits(&with_auth("Bearer scrape-me-012")));
        assert!(!token.admits(&with_auth("Bearer scrape-me-01234")));
        assert!(!token.admits(&with_auth("Basic scrape-me-0123")));
        assert!(!token.admits(&with_auth("scrape-me-0123")));
        assert!(!token.admits(&with_auth("Bearer ")));
    }

    #[test]
    fn empty_or_unsendable_tokens_are_refused_without_naming_them() {
        for bad in ["", "   ", "\n\t\n"] {
            assert!(matches!(
                MetricsToken::new(&SecretString::new(bad)),
                Err(MetricsTokenError::Empty)
            ));
        }
        let err = MetricsToken::new(&SecretString::new("two words")).expect_err("a space");
        assert!(matches!(err, MetricsTokenError::NotHeaderSafe));
        assert!(!err.to_string().contains("two words"));
        let debug = format!(
            "{:?}",
            MetricsToken::new(&SecretString::new("hidden-value")).expect("token")
        );
        assert!(!debug.contains("hidden-value"), "{debug}");
    }
}
