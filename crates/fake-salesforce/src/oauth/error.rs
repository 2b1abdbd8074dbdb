//! The OAuth error table: every `{error, error_description}` pair the emulator answers, with
//! its HTTP status. Texts follow docs/salesforce.md §3.5; \[I\] marks those Salesforce does not
//! document and the emulator chose.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    #[serde(skip)]
    pub status: u16,
    pub error: &'static str,
    pub error_description: &'static str,
}

const fn e(status: u16, error: &'static str, error_description: &'static str) -> OAuthError {
    OAuthError {
        status,
        error,
        error_description,
    }
}

pub const INVALID_CLIENT_ID: OAuthError = e(400, "invalid_client_id", "client identifier invalid");
pub const INVALID_CLIENT: OAuthError = e(400, "invalid_client", "invalid client credentials");
/// Introspection answers bad client credentials with 401 \[I\].
pub const INVALID_CLIENT_401: OAuthError = e(401, "invalid_client", "invalid client credentials");
pub const EXPIRED_CODE: OAuthError = e(400, "invalid_grant", "expired authorization code");
/// A code the emulator never issued \[I\].
pub const INVALID_CODE: OAuthError = e(400, "invalid_grant", "invalid authorization code");
pub const INVALID_VERIFIER: OAuthError = e(400, "invalid_grant", "invalid code verifier");
/// redirect_uri differs from the one used at authorize \[I, RFC 6749\].
pub const REDIRECT_MISMATCH_GRANT: OAuthError = e(
    400,
    "invalid_grant",
    "redirect_uri must match configuration",
);
pub const EXPIRED_TOKEN: OAuthError = e(400, "invalid_grant", "expired access/refresh token");
pub const AUTH_FAILURE: OAuthError = e(400, "invalid_grant", "authentication failure");
pub const WRONG_DOMAIN: OAuthError =
    e(400, "invalid_grant", "request not supported on this domain");
pub const NO_RUN_AS_USER: OAuthError =
    e(400, "invalid_grant", "no client credentials user enabled");
/// The error code is \[I\]; the text is from real responses.
pub const CC_NOT_ENABLED: OAuthError =
    e(400, "invalid_grant", "client credentials flow not enabled");
pub const UNSUPPORTED_GRANT: OAuthError =
    e(400, "unsupported_grant_type", "grant type not supported");
/// A required parameter is missing \[I\].
pub const MISSING_CODE: OAuthError = e(400, "invalid_request", "missing required parameter: code");
pub const MISSING_REFRESH: OAuthError = e(
    400,
    "invalid_request",
    "missing required parameter: refresh_token",
);
pub const MISSING_TOKEN: OAuthError =
    e(400, "invalid_request", "missing required parameter: token");

// Revocation (docs/salesforce.md §5).
pub const REVOKE_INVALID: OAuthError = e(400, "invalid_token", "invalid token");
pub const REVOKE_UNSUPPORTED: OAuthError = e(
    400,
    "unsupported_token_type",
    "this token type is not supported",
);

impl OAuthError {
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (self.status_code(), Json(self)).into_response();
        no_store(&mut response);
        response
    }
}

/// OAuth answers must never be cached (RFC 6749 §5.1; Salesforce sends it on errors too).
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Errors of `/authorize` that are sent back to the client's redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectError {
    pub error: &'static str,
    pub description: &'static str,
}

const fn r(error: &'static str, description: &'static str) -> RedirectError {
    RedirectError { error, description }
}

pub const MISSING_CHALLENGE: RedirectError =
    r("invalid_request", "missing required code challenge");
/// Only S256 is supported \[I\].
pub const BAD_CHALLENGE_METHOD: RedirectError =
    r("invalid_request", "unsupported code challenge method");
pub const ACCESS_DENIED: RedirectError = r("access_denied", "end-user denied authorization");
pub const INVALID_SCOPE: RedirectError = r("invalid_scope", "the requested scope is not allowed");
pub const UNSUPPORTED_RESPONSE_TYPE: RedirectError =
    r("unsupported_response_type", "response type not supported");
pub const IMMEDIATE_UNSUCCESSFUL: RedirectError = r(
    "immediate_unsuccessful",
    "immediate login or approval is not possible",
);
pub const INACTIVE_USER: RedirectError = r("inactive_user", "user is inactive");
