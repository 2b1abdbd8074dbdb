//! HubSpot's error bodies (`docs/hubspot.md §3, §6, §13`): the standard CRM body, the token
//! endpoint's body, and the 429 body. Every error the emulator answers goes through here.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use patchbay_fake_hubspot_data::DataError;
use serde_json::{Map, Value, json};

use crate::limits::{Policy, Usage};

pub const CORRELATION_HEADER: &str = "x-hubspot-correlation-id";

pub fn correlation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `{status: "error", message, correlationId, category, ...}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub category: &'static str,
    pub message: String,
    /// Extra top-level fields (`errors`, `context`, `links`, `subCategory`).
    pub extra: Map<String, Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            category,
            message: message.into(),
            extra: Map::new(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        )
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// `401 INVALID_AUTHENTICATION`: no, an unknown or a revoked token.
    pub fn invalid_authentication() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and \
             you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    }

    /// `401 EXPIRED_AUTHENTICATION`, saying how long ago, as HubSpot does.
    pub fn expired(expired_ms: i64, now_ms: i64) -> Self {
        let ago_ms = now_ms.saturating_sub(expired_ms).max(0);
        let (n, unit) = if ago_ms >= 86_400_000 {
            (ago_ms / 86_400_000, "day")
        } else if ago_ms >= 3_600_000 {
            (ago_ms / 3_600_000, "hour")
        } else if ago_ms >= 60_000 {
            (ago_ms / 60_000, "minute")
        } else {
            (ago_ms / 1000, "second")
        };
        let at = patchbay_fake_hubspot_data::time::format_ms(expired_ms);
        Self::new(
            StatusCode::UNAUTHORIZED,
            "EXPIRED_AUTHENTICATION",
            format!("The OAuth token used to make this call expired {n} {unit}(s) ago."),
        )
        .with("context", json!({"expire time": [at]}))
    }

    /// `403 MISSING_SCOPES` naming the scope the call needs.
    pub fn missing_scope(scope: &str) -> Self {
        Self::missing_scopes(&[scope])
    }

    /// `403 MISSING_SCOPES` for a call any one of `scopes` allows.
    pub fn missing_scopes(scopes: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about \
             required scopes here: https://developers.hubspot.com/scopes.",
        )
        .with(
            "errors",
            json!([{"message": "One or more of the following scopes are required.",
                    "context": {"requiredScopes": scopes}}]),
        )
        .with(
            "links",
            json!({"scopes": "https://developers.hubspot.com/scopes"}),
        )
    }
}

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        match e {
            DataError::Validation { message, context } => {
                let mut err = ApiError::validation(message);
                if !context.is_empty() {
                    let map: Map<String, Value> =
                        context.into_iter().map(|(k, v)| (k, json!(v))).collect();
                    err = err.with("context", Value::Object(map));
                }
                err
            }
            DataError::NotFound => ApiError::not_found(),
            DataError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "CONFLICT", message)
            }
        }
    }
}

fn with_correlation(mut response: Response, id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let id = correlation_id();
        let mut body = Map::new();
        body.insert("status".to_owned(), json!("error"));
        body.insert("message".to_owned(), json!(self.message));
        body.insert("correlationId".to_owned(), json!(id));
        body.insert("category".to_owned(), json!(self.category));
        body.extend(self.extra);
        with_correlation(
            (self.status, Json(Value::Object(body))).into_response(),
            &id,
        )
    }
}

/// The token endpoint's `400`: the legacy `status`/`message` and RFC 6749's
/// `error`/`error_description` side by side (`docs/hubspot.md §3`).
pub struct OAuthError {
    pub status: &'static str,
    pub error: &'static str,
    pub message: &'static str,
}

pub const BAD_GRANT_TYPE: OAuthError = OAuthError {
    status: "BAD_GRANT_TYPE",
    error: "unsupported_grant_type",
    message: "grant_type must be authorization_code or refresh_token",
};
pub const BAD_CLIENT_ID: OAuthError = OAuthError {
    status: "BAD_CLIENT_ID",
    error: "invalid_client",
    message: "missing or unknown client id",
};
pub const BAD_CLIENT_SECRET: OAuthError = OAuthError {
    status: "BAD_CLIENT_SECRET",
    error: "invalid_client",
    message: "missing or invalid client secret",
};
pub const BAD_AUTH_CODE: OAuthError = OAuthError {
    status: "BAD_AUTH_CODE",
    error: "invalid_grant",
    message: "missing or unknown auth code",
};
pub const BAD_REDIRECT_URI: OAuthError = OAuthError {
    status: "BAD_REDIRECT_URI",
    error: "invalid_grant",
    message: "redirect_uri does not match the one the code was issued for",
};
pub const BAD_REFRESH_TOKEN: OAuthError = OAuthError {
    status: "BAD_REFRESH_TOKEN",
    error: "invalid_grant",
    message: "missing or invalid refresh token",
};

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let id = correlation_id();
        let body = json!({
            "status": self.status, "message": self.message, "correlationId": id,
            "error": self.error, "error_description": self.message,
        });
        let mut response = (StatusCode::BAD_REQUEST, Json(body)).into_response();
        response
            .headers_mut()
            .insert("cache-control", HeaderValue::from_static("no-store"));
        with_correlation(response, &id)
    }
}

/// The `429` body for the limit that refused the call, with the rate-limit headers.
pub fn rate_limited(policy: Policy, usage: Usage) -> Response {
    let (message, name) = match policy {
        Policy::TenSecondlyRolling => (
            "You have reached your ten_secondly_rolling limit.",
            "TEN_SECONDLY_ROLLING",
        ),
        Policy::Secondly => ("You have reached your secondly limit.", "SECONDLY"),
    };
    let id = correlation_id();
    let body = json!({
        "status": "error", "message": message, "errorType": "RATE_LIMIT",
        "correlationId": id, "policyName": name,
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    rate_headers(&mut response, usage);
    with_correlation(response, &id)
}

/// `X-HubSpot-RateLimit-Interval-Milliseconds`, `-Max`, `-Remaining` (no daily headers: OAuth
/// calls do not get them, `docs/hubspot.md §13`).
pub fn rate_headers(response: &mut Response, usage: Usage) {
    let headers = response.headers_mut();
    headers.insert(
        "x-hubspot-ratelimit-interval-milliseconds",
        HeaderValue::from_static("10000"),
    );
    headers.insert("x-hubspot-ratelimit-max", HeaderValue::from(usage.max));
    headers.insert(
        "x-hubspot-ratelimit-remaining",
        HeaderValue::from(usage.remaining),
    );
}
