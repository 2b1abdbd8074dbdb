//! The REST error body: a JSON array of `{"message","errorCode","fields"?}` elements, and the JSON
//! response helper every REST handler answers through, so that each body carries Salesforce's
//! `Content-Type`.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patchbay_fake_salesforce_data::SfError;
use serde::Serialize;

/// `Content-Type` of every REST body (Salesforce spells it without a space).
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Largest accepted request body. Salesforce documents no single figure for the REST API; this
/// bounds memory while leaving room for any realistic record.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A REST failure: one or more errors answered with the first one's status.
#[derive(Debug)]
pub struct RestError(pub Vec<SfError>);

pub type RestResult<T = Response> = Result<T, RestError>;

impl From<SfError> for RestError {
    fn from(e: SfError) -> Self {
        RestError(vec![e])
    }
}

impl From<Vec<SfError>> for RestError {
    fn from(errors: Vec<SfError>) -> Self {
        RestError(errors)
    }
}

impl RestError {
    fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        RestError(vec![SfError::new(status, code, message)])
    }

    /// `401 INVALID_SESSION_ID` for a missing, unknown, expired or revoked token.
    pub fn invalid_session() -> Self {
        Self::new(401, "INVALID_SESSION_ID", "Session expired or invalid")
    }

    /// `401 INVALID_SESSION_ID` for a valid token that lacks the `api` scope.
    pub fn session_not_for_rest() -> Self {
        Self::new(
            401,
            "INVALID_SESSION_ID",
            "This session is not valid for use with the REST API",
        )
    }

    /// `403 REQUEST_LIMIT_EXCEEDED` once the org's daily API allowance is spent.
    pub fn request_limit_exceeded() -> Self {
        Self::new(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    }

    /// `404 NOT_FOUND` for an unknown URI, version, object type or record.
    pub fn not_found() -> Self {
        SfError::not_found().into()
    }

    /// `405 METHOD_NOT_ALLOWED`, naming the methods the resource does accept.
    pub fn method_not_allowed(method: &Method, allowed: &str) -> Self {
        Self::new(
            405,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        )
    }

    /// `400 JSON_PARSER_ERROR` for a body that is not the JSON the resource expects.
    pub fn json_parser(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "JSON_PARSER_ERROR", detail.to_string())
    }

    /// `413` for a body over [`MAX_BODY_BYTES`].
    pub fn body_too_large() -> Self {
        Self::new(
            413,
            "EXCEEDED_MAX_SIZE_REQUEST",
            format!("Request body exceeds the maximum size of {MAX_BODY_BYTES} bytes"),
        )
    }

    /// `400 MALFORMED_QUERY` for a `query` call without `q`.
    pub fn missing_query() -> Self {
        Self::new(400, "MALFORMED_QUERY", "A query string has to be specified")
    }

    /// `400 INVALID_QUERY_LOCATOR` for an unknown, expired or out-of-range `nextRecordsUrl`.
    pub fn invalid_query_locator() -> Self {
        Self::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    }

    /// `500 UNKNOWN_EXCEPTION`: the emulator's own fault, still in Salesforce's shape.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "REST handler failed");
        Self::new(
            500,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support.",
        )
    }

    /// The first error's status; an empty list (never built here) would be a 500.
    pub fn status(&self) -> StatusCode {
        (self.0.first())
            .and_then(|e| StatusCode::from_u16(e.status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The first error's code.
    #[cfg(test)]
    pub fn code(&self) -> &str {
        self.0.first().map_or("", |e| e.error_code.as_str())
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        if self.0.is_empty() {
            return RestError::internal("an empty error list").into_response();
        }
        let status = self.status();
        json(status, &self.0)
    }
}

/// Serialises `body` with Salesforce's JSON content type.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut resp = (status, bytes).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            );
            resp
        }
        // Only non-string map keys or a failing Serialize impl get here; answer in shape anyway.
        Err(e) => RestError::internal(e).into_response(),
    }
}

/// `200` with a JSON body.
pub fn ok<T: Serialize + ?Sized>(body: &T) -> Response {
    json(StatusCode::OK, body)
}
