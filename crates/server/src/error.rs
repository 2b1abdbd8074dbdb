//! Errors as data: every failure the service layer or the HTTP edge can produce, and ONE table
//! ([`Error::spec`]) mapping each to its HTTP status, Apideck `type_name` and message. The
//! response is always the Apideck error envelope
//! `{status_code, error, type_name, message, detail, ref}`.
//!
//! Internal causes are logged with their whole source chain and answered with an opaque 500: the
//! caller never sees a database error, a file path or a provider's raw answer.

use std::borrow::Cow;
use std::error::Error as StdError;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The service layer's result type; the CLI and the admin console see the same errors.
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Every failure a caller can be told about. Messages never contain secrets: they name fields,
/// settings and ids, never token, code, key or secret values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is well-formed HTTP but its parameters are not acceptable.
    #[error("invalid request: {0}")]
    Validation(String),
    /// The body is not the JSON the endpoint expects.
    #[error("invalid JSON body: {0}")]
    MalformedJson(String),
    #[error("missing required header {0}")]
    MissingHeader(&'static str),
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The request body did not arrive within the server's body-read timeout.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// `Authorization` or `x-apideck-app-id` is absent. Named, unlike [`Error::Unauthorized`]:
    /// which headers a request carries is the caller's own knowledge, so saying it reveals
    /// nothing about keys or applications.
    #[error("missing required header {0}")]
    MissingAuthHeader(&'static str),
    /// Any authentication failure. One body for all causes (unknown key, wrong secret, revoked
    /// key, wrong application, expired session) so that the answer is no oracle.
    #[error("unauthorized")]
    Unauthorized,
    /// `/metrics` without the configured scrape token (`--metrics-token-file`). Answered with
    /// `WWW-Authenticate: Bearer`; one body whether the header is absent or wrong.
    #[error("the metrics token is missing or wrong")]
    MetricsUnauthorized,
    /// Authenticated, but the key lacks the scope this endpoint needs.
    #[error("the API key lacks the `{0}` scope")]
    MissingScope(&'static str),
    /// A session whose `settings.allow_actions` excludes this action.
    #[error("the session does not allow the `{0}` action")]
    ActionNotAllowed(&'static str),
    /// A session token on an operation that takes an API key only (credential import and
    /// export, anything that changes credentials or the application's own data).
    #[error("`{0}` takes an API key, not a session token")]
    ApiKeyRequired(&'static str),
    /// A named thing does not exist for this caller. Objects of other tenants land here too.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("connection not found")]
    ConnectionNotFound,
    /// Like [`Error::ConnectionNotFound`], with a detail naming what the consumer does have
    /// (only ever the caller's own application's connections).
    #[error("connection not found: {0}")]
    NoSuchConnection(String),
    #[error("integration not found")]
    IntegrationNotFound,
    #[error("unknown route")]
    UnknownRoute,
    /// `/crm/{name}` where `name` is no CRM resource; the detail lists them and suggests one.
    #[error("unknown CRM resource")]
    UnknownCrmResource(String),
    #[error("the cursor is not valid for this list")]
    InvalidCursor,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The operation does not fit the object's current state.
    #[error("invalid state: {0}")]
    InvalidState(String),
    #[error("the integration has no OAuth client credentials (client id and secret)")]
    OAuthCredentialsNotFound,
    #[error("the integration is disabled")]
    ConnectorDisabled,
    /// `redirect_uri` is missing, malformed, or not on the application's allow-list.
    #[error("redirect_uri rejected: {0}")]
    OAuthRedirectUri(String),
    /// `state` is unknown, expired, already used, or does not fit this request.
    #[error("invalid OAuth state: {0}")]
    OAuthInvalidState(String),
    /// Redeeming the authorization code failed; the text names the setting to change.
    #[error("code exchange failed: {0}")]
    OAuthCodeExchange(String),
    /// The provider refused an OAuth step (authorize, refresh, revoke); the text names the fix.
    #[error("OAuth provider error: {0}")]
    OAuthConnector(String),
    /// The provider could not be reached or answered 5xx; nothing was changed.
    #[error("the provider could not be reached: {0}")]
    Downstream(String),
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    /// A spec operation that cannot apply to this connector (the reason is the detail).
    #[error("not applicable: {0}")]
    NotApplicable(&'static str),
    /// A unified CRM API error; the unified crate names its class and status.
    #[error("{0}")]
    Unified(#[from] patchbay_unified::UnifiedError),
    /// The connection cannot be called (disabled, never authorized, grant dead). `detail` is
    /// the spec's `refresh_token_connector_error` object when a refresh decided it.
    #[error("the connection is not authorized: {message}")]
    ConnectorCredentials {
        message: String,
        detail: Option<Box<Value>>,
    },
    /// A proxied body went past the proxy's size cap (`downstream`: the response did).
    #[error("the proxied body exceeds {limit} bytes")]
    BodyTooLarge { limit: u64, downstream: bool },
    /// A token refresh failed or is backing off; `detail` is the spec's structured 401 detail
    /// (`refresh_token_connector_error` with `retry_after_ms` / `cooldown_remaining_ms`).
    #[error("token refresh failed: {message}")]
    TokenRefresh {
        message: String,
        detail: Box<Value>,
        retry_after_ms: Option<i64>,
    },
    /// The database is unreachable, restarting or refusing connections: a passing outage, not
    /// a fault in this request, so it is answered 503 with `Retry-After` for callers and load
    /// balancers to retry (the fault suite, `tests/api/db_faults.rs`, produces it).
    #[error("the database is unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else. Logged with its chain, answered as an opaque 500.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    pub status: StatusCode,
    pub type_name: &'static str,
    pub message: &'static str,
}

const fn row(status: StatusCode, type_name: &'static str, message: &'static str) -> ErrorSpec {
    ErrorSpec {
        status,
        type_name,
        message,
    }
}

impl Error {
    pub fn internal(e: impl StdError + Send + Sync + 'static) -> Self {
        Error::Internal(Box::new(e))
    }

    pub fn validation(msg: impl Into<String>) -> Self {
        Error::Validation(msg.into())
    }

    /// THE table. Adding a variant without a row does not compile.
    pub fn spec(&self) -> ErrorSpec {
        use StatusCode as S;
        match self {
            Error::Validation(_) => row(S::BAD_REQUEST, "RequestValidationError", "Invalid Params"),
            Error::MalformedJson(_) => row(
                S::BAD_REQUEST,
                "RequestValidationError",
                "Invalid JSON body",
            ),
            Error::MissingHeader(_) => row(
                S::BAD_REQUEST,
                "RequestValidationError",
                "Missing required header",
            ),
            Error::UnsupportedMediaType => row(
                S::UNSUPPORTED_MEDIA_TYPE,
                "RequestValidationError",
                "Unsupported Content-Type",
            ),
            Error::PayloadTooLarge => row(
                S::PAYLOAD_TOO_LARGE,
                "RequestValidationError",
                "Request body too large",
            ),
            Error::RequestTimeout => row(
                S::REQUEST_TIMEOUT,
                "RequestTimeoutError",
                "Request body not received in time",
            ),
            // 401 as Apideck's UnauthorizedError ("from missing header params to passing an
            // incorrect authorization token"); a missing consumer header is a 400 instead.
            Error::Unauthorized | Error::MissingAuthHeader(_) | Error::MetricsUnauthorized => {
                row(S::UNAUTHORIZED, "UnauthorizedError", "Unauthorized Request")
            }
            Error::MissingScope(_) => row(
                S::FORBIDDEN,
                "ForbiddenError",
                "The API key lacks the required scope",
            ),
            Error::ActionNotAllowed(_) => row(
                S::FORBIDDEN,
                "ForbiddenError",
                "The session does not allow this action",
            ),
            Error::ApiKeyRequired(_) => row(
                S::FORBIDDEN,
                "ForbiddenError",
                "This operation requires an API key",
            ),
            Error::NotFound { .. } => row(S::NOT_FOUND, "EntityNotFoundError", "Unknown entity"),
            Error::ConnectionNotFound | Error::NoSuchConnection(_) => row(
                S::NOT_FOUND,
                "ConnectionNotFoundError",
                "Connection not found",
            ),
            Error::IntegrationNotFound => row(
                S::NOT_FOUND,
                "IntegrationNotFoundError",
                "Integration not found",
            ),
            Error::UnknownRoute => row(S::NOT_FOUND, "EntityNotFoundError", "Unknown route"),
            Error::UnknownCrmResource(_) => {
                row(S::NOT_FOUND, "EntityNotFoundError", "Unknown CRM resource")
            }
            Error::InvalidCursor => row(S::BAD_REQUEST, "InvalidCursorError", "Invalid cursor"),
            Error::MethodNotAllowed => row(
                S::METHOD_NOT_ALLOWED,
                "MethodNotAllowedError",
                "Method not allowed",
            ),
            Error::Conflict(_) => row(S::CONFLICT, "ConflictError", "Conflict"),
            Error::InvalidState(_) => row(
                S::UNPROCESSABLE_ENTITY,
                "InvalidStateError",
                "Invalid State",
            ),
            Error::OAuthCredentialsNotFound => row(
                S::UNPROCESSABLE_ENTITY,
                "OAuthCredentialsNotFoundError",
                "OAuth credentials not configured",
            ),
            Error::ConnectorDisabled => row(
                S::UNPROCESSABLE_ENTITY,
                "ConnectorDisabledError",
                "Integration is disabled",
            ),
            Error::OAuthRedirectUri(_) => row(
                S::BAD_REQUEST,
                "OAuthRedirectUriError",
                "Invalid redirect_uri",
            ),
            Error::OAuthInvalidState(_) => row(
                S::BAD_REQUEST,
                "OAuthInvalidStateError",
                "Invalid OAuth state",
            ),
            Error::OAuthCodeExchange(_) => row(
                S::BAD_REQUEST,
                "OAuthCodeExchangeError",
                "OAuth code exchange failed",
            ),
            Error::OAuthConnector(_) => row(
                S::BAD_REQUEST,
                "OAuthConnectorError",
                "OAuth provider error",
            ),
            Error::Downstream(_) => row(
                S::BAD_GATEWAY,
                "ConnectorExecutionError",
                "Provider unreachable",
            ),
            Error::NotImplemented(_) => {
                row(S::NOT_IMPLEMENTED, "NotImplementedError", "Not Implemented")
            }
            Error::NotApplicable(_) => row(
                S::UNPROCESSABLE_ENTITY,
                "UnprocessableEntityError",
                "Unprocessable Entity",
            ),
            Error::ConnectorCredentials { .. } => row(
                S::UNAUTHORIZED,
                "ConnectorCredentialsError",
                "Connection not authorized",
            ),
            Error::BodyTooLarge {
                downstream: false, ..
            } => row(
                S::PAYLOAD_TOO_LARGE,
                "RequestValidationError",
                "Request body too large",
            ),
            Error::BodyTooLarge {
                downstream: true, ..
            } => row(
                S::BAD_GATEWAY,
                "ConnectorExecutionError",
                "Downstream response too large",
            ),
            Error::TokenRefresh { .. } => {
                row(S::UNAUTHORIZED, "UnauthorizedError", "Token refresh failed")
            }
            Error::Unavailable(_) => row(
                S::SERVICE_UNAVAILABLE,
                "ServiceUnavailableError",
                "Service temporarily unavailable",
            ),
            Error::Internal(_) => row(
                S::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "Internal Server Error",
            ),
            Error::Unified(e) => unified_row(e),
        }
    }

    /// The envelope's `message`: a specific, secret-free sentence where one helps (it names the
    /// provider setting to change), else the table's generic message.
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            Error::OAuthCodeExchange(m)
            | Error::OAuthConnector(m)
            | Error::OAuthRedirectUri(m)
            | Error::OAuthInvalidState(m) => Cow::Owned(m.clone()),
            Error::ConnectorCredentials { message, .. } | Error::TokenRefresh { message, .. } => {
                Cow::Owned(message.clone())
            }
            Error::NotFound { entity } => Cow::Owned(format!("Unknown {entity}")),
            Error::MissingHeader(h) | Error::MissingAuthHeader(h) => {
                Cow::Owned(format!("Missing required header {h}"))
            }
            Error::Unified(e) => Cow::Owned(e.to_string()),
            _ => Cow::Borrowed(self.spec().message),
        }
    }

    /// The envelope's `detail`.
    pub fn detail(&self) -> Value {
        match self {
            Error::Validation(m)
            | Error::MalformedJson(m)
            | Error::Conflict(m)
            | Error::InvalidState(m)
            | Error::NoSuchConnection(m)
            | Error::Downstream(m) => Value::String(m.clone()),
            Error::MissingHeader(h) | Error::MissingAuthHeader(h) => {
                Value::String(format!("Missing required header {h}: {}", header_hint(h)))
            }
            Error::MissingScope(s) => Value::String(format!("This endpoint needs an API key with the `{s}` scope")),
            Error::NotImplemented(what) | Error::NotApplicable(what) => {
                Value::String((*what).to_owned())
            }
            Error::UnknownCrmResource(name) => Value::String(unknown_resource_detail(name)),
            Error::InvalidCursor => Value::String(patchbay_unified::error::RESTART_WITHOUT_CURSOR.to_owned()),
            Error::BodyTooLarge { limit, downstream } => Value::String(if *downstream {
                format!("The downstream response exceeds the proxy's size cap of {limit} bytes")
            } else {
                format!("The request body exceeds the proxy's size cap of {limit} bytes")
            }),
            Error::Unified(e) => e
                .detail()
                .unwrap_or_else(|| Value::String(e.to_string())),
            Error::ConnectorCredentials {
                detail: Some(d), ..
            }
            | Error::TokenRefresh { detail: d, .. } => (**d).clone(),
            Error::ActionNotAllowed("resource_settings") => Value::String(
                "The session's settings.hide_resource_settings is true".to_owned(),
            ),
            Error::ActionNotAllowed(a) => Value::String(format!(
                "The session's settings.allow_actions does not include `{a}`"
            )),
            Error::ApiKeyRequired(what) => Value::String(format!(
                "{what} takes an API key (Authorization: Bearer pbk_…); a Vault session token cannot call it"
            )),
            Error::UnsupportedMediaType => {
                Value::String("Send the body with Content-Type: application/json".to_owned())
            }
            Error::RequestTimeout => Value::String(
                "The whole request body must arrive within the server's body-read timeout (--body-read-timeout); send it without pauses"
                    .to_owned(),
            ),
            Error::PayloadTooLarge => Value::String(format!(
                "The body exceeds the limit of {} bytes",
                crate::app::BODY_LIMIT_BYTES
            )),
            Error::Unauthorized => Value::String(
                "Provide a valid API key (Authorization: Bearer <key>) or session token, and the matching x-apideck-app-id"
                    .to_owned(),
            ),
            Error::MetricsUnauthorized => Value::String(
                "Send the scrape token as Authorization: Bearer <token> (the token set with --metrics-token-file or PATCHBAY_METRICS_TOKEN)"
                    .to_owned(),
            ),
            Error::Unavailable(_) => Value::String(
                "The database is unreachable or restarting; retry after the Retry-After delay"
                    .to_owned(),
            ),
            _ => Value::String(self.message().into_owned()),
        }
    }

    /// The documentation of this error's type, Apideck's own `ref`.
    pub fn doc_link(&self) -> String {
        format!(
            "https://developers.apideck.com/errors#{}",
            self.spec().type_name.to_ascii_lowercase()
        )
    }

    /// The whole envelope as JSON. Inside a request, `ref` is the request's id (the
    /// `x-request-id` it is answered with, also in its `/vault/logs` entry and its log lines:
    /// issue 13) rather than Apideck's link to the error type's documentation; the link is
    /// the fallback outside a request.
    pub fn envelope(&self) -> Value {
        let spec = self.spec();
        let mut envelope = json!({
            "status_code": spec.status.as_u16(),
            "error": spec.status.canonical_reason().unwrap_or("Error"),
            "type_name": spec.type_name,
            "message": self.message(),
            "detail": self.detail(),
            "ref": crate::request_id::current().unwrap_or_else(|| self.doc_link()),
        });
        if let Error::Unified(e) = self
            && let Some(downstream) = e.downstream_errors()
        {
            envelope["downstream_errors"] = json!(downstream);
        }
        envelope
    }
}

/// Names the unknown resource (when it is short, printable ASCII: it is the caller's input),
/// suggests the nearest one and lists them all.
fn unknown_resource_detail(name: &str) -> String {
    let shown = (!name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'`'))
    .then_some(name);
    let mut out = match shown {
        Some(n) => format!("`{n}` is not a CRM resource."),
        None => "That is not a CRM resource.".to_owned(),
    };
    if let Some(r) = patchbay_unified::Resource::suggest(name) {
        out.push_str(&format!(" Did you mean `{}`?", r.as_str()));
    }
    let all: Vec<&str> = patchbay_unified::Resource::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    out.push_str(&format!(" Valid resources: {}.", all.join(", ")));
    out
}

/// What to send in a missing header, for its error's `detail`.
fn header_hint(name: &str) -> &'static str {
    match name {
        "authorization" | "Authorization" => {
            "send `Authorization: Bearer <API key>` (create a key with `patchbay api-keys create --app APP_ID`)"
        }
        crate::auth::APP_ID_HEADER => {
            "send the id of the application the API key belongs to (see `patchbay apps list`)"
        }
        crate::auth::CONSUMER_ID_HEADER => {
            "send the id of the consumer (your customer) this request acts for"
        }
        _ => "see the API reference for its value",
    }
}

/// The unified errors' rows: class and status come from the unified crate (a downstream status is
/// proxied through for `ConnectorExecutionError`), the generic message from here.
fn unified_row(e: &patchbay_unified::UnifiedError) -> ErrorSpec {
    use patchbay_unified::UnifiedError as U;
    let message = match e {
        U::RequestValidation { .. } => "Invalid Params",
        U::UnsupportedFilters { .. } => "Unsupported filters",
        U::UnsupportedSortField { .. } => "Unsupported sort field",
        U::InvalidCursor => "Invalid cursor",
        U::ConnectorExecution { .. } => "Connector execution error",
        U::ConnectorRateLimit { .. } => "Connector rate limit reached",
        U::EntityNotFound { .. } => "Unknown entity",
        U::ConnectorCredentials { .. } => "Connection not authorized",
        U::ConnectorOperationUnsupported { .. } => "Operation not supported by the connector",
    };
    let status = StatusCode::from_u16(e.status_code())
        .ok()
        .filter(|s| s.is_client_error() || s.is_server_error())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    row(status, e.type_name(), message)
}

/// Renders an error chain on one line for the log: `outer: inner: root`.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let spec = self.spec();
        if let Error::Internal(cause) = &self {
            tracing::error!(error = %chain(cause.as_ref()), "internal error");
        } else if spec.status.is_server_error() {
            tracing::warn!(error = %chain(&self), type_name = spec.type_name, "request failed");
        } else {
            tracing::debug!(
                type_name = spec.type_name,
                status = spec.status.as_u16(),
                "request rejected"
            );
        }
        let mut response = (spec.status, axum::Json(self.envelope())).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Error::TokenRefresh {
            retry_after_ms: Some(ms),
            ..
        } = &self
        {
            // Whole seconds, rounded up, so a client that honours it never comes back early.
            let secs = ms.saturating_add(999).max(0) / 1000;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Error::MetricsUnauthorized = &self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Error::Unavailable(_) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1));
        }
        response
    }
}

/// The server's answer for each coordinator failure (docs/apideck.md §0, §1.7): refresh problems
/// carry the spec's structured 401 detail.
impl From<patchbay_refresh::RefreshError> for Error {
    fn from(e: patchbay_refresh::RefreshError) -> Self {
        use patchbay_refresh::RefreshError as R;
        let detail = e
            .detail()
            .and_then(|d| serde_json::to_value(d).ok())
            .map(Box::new);
        let retry_after_ms = e.retry_after_ms();
        match e {
            R::ConnectionNotFound => Error::ConnectionNotFound,
            R::IntegrationNotFound => Error::IntegrationNotFound,
            R::Disabled => Error::ConnectorCredentials {
                message: "the connection is disabled; enable it first".to_owned(),
                detail: None,
            },
            R::NoCredentials | R::NeedsAuth { .. } => Error::ConnectorCredentials {
                message: e.to_string(),
                detail,
            },
            R::Config(m) => Error::OAuthConnector(m),
            R::Store(s) => s.into(),
            R::Crypto(_) => Error::internal(e),
            R::CoolingDown { .. }
            | R::RateLimited { .. }
            | R::IntegrationRejected { .. }
            | R::Transient { .. }
            | R::Unpersisted
            | R::Busy => match detail {
                Some(detail) => Error::TokenRefresh {
                    message: e.to_string(),
                    detail,
                    retry_after_ms,
                },
                None => Error::internal(e),
            },
        }
    }
}

impl From<patchbay_store::StoreError> for Error {
    fn from(e: patchbay_store::StoreError) -> Self {
        match e {
            patchbay_store::StoreError::Conflict(what) => {
                Error::Conflict(format!("{what} already exists"))
            }
            patchbay_store::StoreError::InvalidCursor => Error::InvalidCursor,
            e if e.is_unavailable() => Error::Unavailable(Box::new(e)),
            other => Error::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Error> {
        vec![
            Error::Validation("x".into()),
            Error::MalformedJson("x".into()),
            Error::MissingHeader("x-apideck-consumer-id"),
            Error::MissingAuthHeader("x-apideck-app-id"),
            Error::UnsupportedMediaType,
            Error::PayloadTooLarge,
            Error::Unauthorized,
            Error::MetricsUnauthorized,
            Error::MissingScope("export"),
            Error::ActionNotAllowed("delete"),
            Error::ApiKeyRequired("import"),
            Error::NotFound { entity: "consumer" },
            Error::ConnectionNotFound,
            Error::NoSuchConnection("x".into()),
            Error::IntegrationNotFound,
            Error::UnknownRoute,
            Error::UnknownCrmResource("contact".into()),
            Error::InvalidCursor,
            Error::MethodNotAllowed,
            Error::Conflict("x".into()),
            Error::InvalidState("x".into()),
            Error::OAuthCredentialsNotFound,
            Error::ConnectorDisabled,
            Error::OAuthRedirectUri("x".into()),
            Error::OAuthInvalidState("x".into()),
            Error::OAuthCodeExchange("x".into()),
            Error::OAuthConnector("x".into()),
            Error::Downstream("x".into()),
            Error::NotImplemented("x"),
            Error::NotApplicable("x"),
            Error::ConnectorCredentials {
                message: "x".into(),
                detail: None,
            },
            Error::BodyTooLarge {
                limit: 1,
                downstream: true,
            },
            Error::TokenRefresh {
                message: "x".into(),
                detail: Box::new(json!({"type": "refresh_token_connector_error"})),
                retry_after_ms: Some(1),
            },
            Error::Unified(patchbay_unified::UnifiedError::ConnectorExecution {
                status: 400,
                message: "m".into(),
                downstream_errors: vec![],
            }),
            Error::Unavailable("db password=hunter2".into()),
            Error::Internal("db password=hunter2".into()),
        ]
    }

    #[test]
    fn every_error_renders_the_apideck_envelope() {
        for e in all() {
            let v = e.envelope();
            let spec = e.spec();
            assert_eq!(v["status_code"], spec.status.as_u16());
            assert!(v["error"].as_str().is_some_and(|s| !s.is_empty()));
            assert_eq!(v["type_name"], spec.type_name);
            assert!(v["message"].is_string());
            assert!(v["detail"].is_string() || v["detail"].is_object());
            let r = v["ref"].as_str().unwrap_or_default();
            assert_eq!(
                r,
                format!(
                    "https://developers.apideck.com/errors#{}",
                    spec.type_name.to_lowercase()
                )
            );
        }
    }

    #[tokio::test]
    async fn inside_a_request_ref_is_the_request_id() {
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(|| async { Error::validation("bad").into_response() }),
            )
            .layer(axum::middleware::from_fn(crate::request_id::assign));
        let response = tower::ServiceExt::oneshot(
            app,
            axum::http::Request::builder()
                .uri("/")
                .header("x-request-id", "case-42")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
        assert_eq!(response.headers()["x-request-id"], "case-42");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["ref"], "case-42");
    }

    #[test]
    fn an_unreachable_database_is_a_503_to_retry_and_a_bad_statement_stays_a_500() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            let err = Error::from(patchbay_store::StoreError::Database(e));
            assert_eq!(
                err.spec().status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{err:?}"
            );
            let r = err.into_response();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        }
        for e in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
        ] {
            let err = Error::from(patchbay_store::StoreError::Database(e));
            assert_eq!(err.spec().status, StatusCode::INTERNAL_SERVER_ERROR);
        }
        let v = Error::Unavailable("db password=hunter2".into()).envelope();
        assert!(!v.to_string().contains("hunter2"), "{v}");
    }

    #[test]
    fn internal_errors_are_opaque() {
        let v = Error::Internal("db password=hunter2".into()).envelope();
        assert!(!v.to_string().contains("hunter2"));
        assert_eq!(v["status_code"], 500);
        assert_eq!(v["error"], "Internal Server Error");
    }

    #[test]
    fn apideck_names_for_the_spec_cases() {
        assert_eq!(Error::Unauthorized.spec().type_name, "UnauthorizedError");
        assert_eq!(
            Error::OAuthRedirectUri(String::new()).spec().type_name,
            "OAuthRedirectUriError"
        );
        assert_eq!(
            Error::NotFound { entity: "x" }.spec().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            Error::Validation(String::new()).spec().type_name,
            "RequestValidationError"
        );
    }
}

#[cfg(test)]
mod detail_tests {
    use super::*;

    #[test]
    fn missing_headers_are_named_with_what_to_send() {
        let v = Error::MissingAuthHeader(crate::auth::APP_ID_HEADER).envelope();
        assert_eq!(v["status_code"], 401);
        assert_eq!(v["type_name"], "UnauthorizedError");
        assert_eq!(v["message"], "Missing required header x-apideck-app-id");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(
            detail.starts_with("Missing required header x-apideck-app-id"),
            "{detail}"
        );
        assert!(detail.contains("patchbay apps list"), "{detail}");
        let v = Error::MissingHeader(crate::auth::CONSUMER_ID_HEADER).envelope();
        assert_eq!(v["status_code"], 400);
        assert_eq!(
            v["message"],
            "Missing required header x-apideck-consumer-id"
        );
    }

    #[test]
    fn unknown_resources_list_the_valid_ones_and_suggest_the_nearest() {
        let d = unknown_resource_detail("contact");
        assert!(d.starts_with("`contact` is not a CRM resource."), "{d}");
        assert!(d.contains("Did you mean `contacts`?"), "{d}");
        assert!(
            d.ends_with(
                "Valid resources: contacts, companies, leads, opportunities, activities, notes, users, pipelines."
            ),
            "{d}"
        );
        let d = unknown_resource_detail("invoices");
        assert!(!d.contains("Did you mean"), "{d}");
        // Odd input is not echoed.
        let d = unknown_resource_detail("a`b<script>");
        assert!(d.starts_with("That is not a CRM resource."), "{d}");
    }

    #[test]
    fn an_invalid_cursor_says_to_start_over_without_it() {
        for e in [
            Error::InvalidCursor,
            Error::Unified(patchbay_unified::UnifiedError::InvalidCursor),
        ] {
            let v = e.envelope();
            assert_eq!(v["type_name"], "InvalidCursorError");
            let detail = v["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("without `cursor`"), "{detail}");
        }
    }
}
