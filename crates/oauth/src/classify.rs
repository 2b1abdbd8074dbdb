//! The pure mapping from an OAuth endpoint's answer to an [`ErrorClass`].
//!
//! Salesforce answers almost every token-endpoint error with HTTP 400 and a JSON
//! `{"error", "error_description"}` (docs/salesforce.md §0, §3.5), so the `error` code decides,
//! with a few descriptions that move an `invalid_grant` from "this connection is dead" to "this
//! integration is misconfigured" (docs/salesforce.md §14).

use reqwest::header::HeaderMap;

use crate::error::{ErrorClass, RetryAfter};

/// `invalid_grant` descriptions that describe the integration's setup, not one dead grant.
const CONFIG_GRANT_DESCRIPTIONS: &[&str] = &[
    "request not supported on this domain",
    "no client credentials user enabled",
    "client credentials flow not enabled",
];

/// Classifies an answer from its status, OAuth `error`/`error_description` and headers.
/// `error` is `None` when the body was not an OAuth error object (HTML, empty, truncated).
pub fn classify_response(
    status: u16,
    error: Option<&str>,
    error_description: Option<&str>,
    headers: &HeaderMap,
) -> ErrorClass {
    classify(
        status,
        error,
        error_description,
        RetryAfter::from_headers(headers),
    )
}

/// [`classify_response`] with the `Retry-After` header already parsed.
pub fn classify(
    status: u16,
    error: Option<&str>,
    error_description: Option<&str>,
    retry_after: Option<RetryAfter>,
) -> ErrorClass {
    if status == 429 {
        return ErrorClass::RateLimited { retry_after };
    }
    if status >= 500 {
        return ErrorClass::Transient;
    }
    let Some(error) = error else {
        // A redirect from a token endpoint means the login URL points at the wrong place (for
        // example a setup domain); anything else without an OAuth error body is a broken or
        // partial answer, which says nothing about the credentials.
        return if (300..400).contains(&status) {
            ErrorClass::Config
        } else {
            ErrorClass::Transient
        };
    };
    match error {
        "invalid_grant" => {
            let description = error_description.unwrap_or("").trim();
            if CONFIG_GRANT_DESCRIPTIONS
                .iter()
                .any(|d| description.eq_ignore_ascii_case(d))
            {
                ErrorClass::Config
            } else {
                ErrorClass::InvalidGrant
            }
        }
        // Problems with one user, one org or one token: the connection needs attention, the
        // integration is fine. "invalid_app_access" is "user is not admin approved".
        "inactive_user" | "inactive_org" | "invalid_app_access" | "invalid_token"
        | "access_denied" => ErrorClass::InvalidGrant,
        "invalid_client_id" => ErrorClass::InvalidClientId,
        "invalid_client" | "unauthorized_client" => ErrorClass::InvalidClient,
        "rate_limit_exceeded" | "slow_down" => ErrorClass::RateLimited { retry_after },
        "unsupported_grant_type"
        | "unsupported_response_type"
        | "unsupported_token_type"
        | "redirect_uri_mismatch"
        | "invalid_scope"
        | "invalid_request" => ErrorClass::Config,
        "server_error" | "temporarily_unavailable" => ErrorClass::Transient,
        _ => ErrorClass::Unrecognized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderValue, RETRY_AFTER};
    use std::time::Duration;

    /// (trigger, HTTP status, `error`, `error_description`, expected class)
    type Row = (
        &'static str,
        u16,
        Option<&'static str>,
        Option<&'static str>,
        ErrorClass,
    );

    /// Every row of docs/salesforce.md §3.5, in order, plus the transport-level rows of §14 and
    /// docs/security.md §3.3.
    #[test]
    fn salesforce_token_error_catalogue() {
        use ErrorClass::*;
        let rows: &[Row] = &[
            (
                "unknown / not-yet-propagated client_id",
                400,
                Some("invalid_client_id"),
                Some("client identifier invalid"),
                InvalidClientId,
            ),
            (
                "wrong or missing secret",
                400,
                Some("invalid_client"),
                Some("invalid client credentials"),
                InvalidClient,
            ),
            (
                "wrong or missing secret, reported as 401",
                401,
                Some("invalid_client"),
                Some("invalid client credentials"),
                InvalidClient,
            ),
            (
                "code reused or too old",
                400,
                Some("invalid_grant"),
                Some("expired authorization code"),
                InvalidGrant,
            ),
            (
                "wrong code_verifier",
                400,
                Some("invalid_grant"),
                Some("invalid code verifier"),
                InvalidGrant,
            ),
            (
                "missing code_verifier",
                400,
                Some("invalid_grant"),
                Some("invalid code verifier"),
                InvalidGrant,
            ),
            (
                "refresh token invalid",
                400,
                Some("invalid_grant"),
                Some("expired access/refresh token"),
                InvalidGrant,
            ),
            (
                "user inactive / frozen",
                400,
                Some("invalid_grant"),
                Some("authentication failure"),
                InvalidGrant,
            ),
            (
                "user inactive (own code)",
                400,
                Some("inactive_user"),
                Some("authentication failure"),
                InvalidGrant,
            ),
            (
                "org locked or suspended",
                400,
                Some("inactive_org"),
                None,
                InvalidGrant,
            ),
            (
                "too many login attempts",
                400,
                Some("rate_limit_exceeded"),
                None,
                RateLimited { retry_after: None },
            ),
            (
                "IP range or login hours",
                400,
                Some("invalid_grant"),
                Some("ip restricted or invalid login hours"),
                InvalidGrant,
            ),
            (
                "user not admin approved",
                400,
                Some("invalid_app_access"),
                Some("user is not admin approved to access this app"),
                InvalidGrant,
            ),
            (
                "JWT user not approved",
                400,
                Some("invalid_grant"),
                Some("user hasn't approved this consumer"),
                InvalidGrant,
            ),
            (
                "client_credentials without Run As user",
                400,
                Some("invalid_grant"),
                Some("no client credentials user enabled"),
                Config,
            ),
            (
                "client_credentials on login/test host",
                400,
                Some("invalid_grant"),
                Some("request not supported on this domain"),
                Config,
            ),
            (
                "client_credentials flow not enabled",
                400,
                Some("invalid_grant"),
                Some("client credentials flow not enabled"),
                Config,
            ),
            (
                "unsupported / blocked grant type",
                400,
                Some("unsupported_grant_type"),
                Some("grant type not supported"),
                Config,
            ),
            (
                "unsupported scope for flow",
                400,
                Some("invalid_scope"),
                None,
                Config,
            ),
            (
                "refresh_token scope missing / app not installed",
                400,
                Some("invalid_request"),
                Some(
                    "refresh_token scope is required and the connected app should be installed and preauthorized.",
                ),
                Config,
            ),
            (
                "unauthorized_client",
                400,
                Some("unauthorized_client"),
                None,
                InvalidClient,
            ),
            (
                "redirect_uri mismatch",
                400,
                Some("redirect_uri_mismatch"),
                Some("redirect_uri must match configuration"),
                Config,
            ),
            (
                "revoke: invalid token",
                400,
                Some("invalid_token"),
                None,
                InvalidGrant,
            ),
            (
                "revoke: unsupported token type",
                400,
                Some("unsupported_token_type"),
                None,
                Config,
            ),
            (
                "unknown 4xx code",
                400,
                Some("something_new"),
                None,
                Unrecognized,
            ),
            (
                "500 with an OAuth body",
                500,
                Some("invalid_grant"),
                None,
                Transient,
            ),
            ("502 HTML page", 502, None, None, Transient),
            ("503 SERVER_UNAVAILABLE", 503, None, None, Transient),
            ("400 with a broken body", 400, None, None, Transient),
            ("200 without access_token", 200, None, None, Transient),
            ("server_error", 400, Some("server_error"), None, Transient),
            ("redirect from the token endpoint", 302, None, None, Config),
            (
                "429 without Retry-After",
                429,
                None,
                None,
                RateLimited { retry_after: None },
            ),
        ];
        for (name, status, error, description, expected) in rows {
            let got = classify_response(*status, *error, *description, &HeaderMap::new());
            assert_eq!(got, *expected, "{name}");
        }
    }

    #[test]
    fn descriptions_match_case_insensitively_but_exactly() {
        let c = |d| classify(400, Some("invalid_grant"), Some(d), None);
        assert_eq!(
            c("Request not supported on this domain"),
            ErrorClass::Config
        );
        assert_eq!(c("request not supported"), ErrorClass::InvalidGrant);
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        let expected = ErrorClass::RateLimited {
            retry_after: Some(RetryAfter::Delay(Duration::from_secs(30))),
        };
        assert_eq!(classify_response(429, None, None, &h), expected);
        assert_eq!(
            classify_response(400, Some("rate_limit_exceeded"), None, &h),
            expected
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert!(matches!(
            classify_response(429, Some("whatever"), None, &h),
            ErrorClass::RateLimited {
                retry_after: Some(RetryAfter::At(_))
            }
        ));
        // A 503 with Retry-After stays transient; the header is still on the error for callers.
        assert_eq!(
            classify_response(503, None, None, &h),
            ErrorClass::Transient
        );
    }

    #[test]
    fn class_predicates() {
        use ErrorClass::*;
        let all = [
            InvalidGrant,
            InvalidClient,
            InvalidClientId,
            RateLimited { retry_after: None },
            Transient,
            Config,
            Unrecognized,
        ];
        for c in all {
            // Exactly one of the three verdicts applies to each class.
            let verdicts = [
                c.condemns_grant(),
                c.is_integration_problem(),
                c.is_retryable(),
            ];
            assert_eq!(verdicts.iter().filter(|v| **v).count(), 1, "{c:?}");
        }
        assert!(InvalidGrant.condemns_grant());
        assert!(InvalidClient.is_integration_problem());
        assert!(Transient.is_retryable());
    }
}
