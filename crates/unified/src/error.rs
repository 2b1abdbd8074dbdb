//! Errors of the unified API, each carrying the spec's `type_name`.
//!
//! The HTTP edge owns the final error table (status, reason phrase, doc link); this enum gives it
//! the class, a suggested status and the structured detail, so connectors and the unified core can
//! return errors as values without knowing about HTTP.

use serde::Serialize;
use serde_json::Value;

/// The `detail` of every `InvalidCursorError`: how to recover.
pub const RESTART_WITHOUT_CURSOR: &str = "The cursor is not valid for this list: it is damaged, or it belongs to another list, filter or sort. Restart from the first page: repeat the request without `cursor`, then follow `meta.cursors.next`.";

/// One error reported by the downstream provider, as the spec's `downstream_errors[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DownstreamError {
    /// The provider's message.
    pub message: String,
    /// Extra detail, e.g. the fields the provider named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The provider's error code, e.g. `REQUIRED_FIELD_MISSING`.
    pub code: String,
}

/// An error of the unified CRM API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnifiedError {
    /// The request does not fit the spec (bad limit, bad filter value, missing required field...).
    #[error("{message}")]
    RequestValidation {
        /// Human-readable summary.
        message: String,
        /// Structured detail, e.g. `{"field": "limit"}`.
        detail: Option<Value>,
    },
    /// Filters the connector (or the spec, for this resource) does not support.
    #[error("unsupported filters: {}", filters.join(", "))]
    UnsupportedFilters {
        /// The offending filter names, as sent (`filter[...]` inner key).
        filters: Vec<String>,
    },
    /// A sort field the connector (or the spec, for this resource) does not support.
    #[error("unsupported sort field: {field}")]
    UnsupportedSortField {
        /// The offending `sort[by]` value.
        field: String,
    },
    /// The cursor is corrupt, tampered with, from another connector or from another query.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The downstream call failed; the downstream status is proxied through.
    #[error("{message}")]
    ConnectorExecution {
        /// The downstream HTTP status.
        status: u16,
        /// Summary.
        message: String,
        /// What the provider said, one entry per provider error.
        downstream_errors: Vec<DownstreamError>,
    },
    /// The provider refused the call because of its rate or quota limits.
    #[error("{message}")]
    ConnectorRateLimit {
        /// Summary, including the provider's message.
        message: String,
    },
    /// The record (or route) does not exist downstream.
    #[error("{message}")]
    EntityNotFound {
        /// Summary.
        message: String,
    },
    /// The connection cannot be used: its token was refused even after a refresh, or it is not
    /// authorized.
    #[error("{message}")]
    ConnectorCredentials {
        /// Summary.
        message: String,
    },
    /// The operation exists in the unified API but this connector cannot perform it.
    #[error("{message}")]
    ConnectorOperationUnsupported {
        /// Summary.
        message: String,
    },
}

impl UnifiedError {
    /// A `RequestValidationError` with a message and no structured detail.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::RequestValidation {
            message: message.into(),
            detail: None,
        }
    }

    /// A `RequestValidationError` naming the offending field in `detail`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::RequestValidation {
            message: message.into(),
            detail: Some(serde_json::json!({ "field": field })),
        }
    }

    /// The spec's `type_name` for this error.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::RequestValidation { .. } => "RequestValidationError",
            Self::UnsupportedFilters { .. } => "UnsupportedFiltersError",
            Self::UnsupportedSortField { .. } => "UnsupportedSortFieldError",
            Self::InvalidCursor => "InvalidCursorError",
            Self::ConnectorExecution { .. } => "ConnectorExecutionError",
            Self::ConnectorRateLimit { .. } => "ConnectorRateLimitError",
            Self::EntityNotFound { .. } => "EntityNotFoundError",
            Self::ConnectorCredentials { .. } => "ConnectorCredentialsError",
            Self::ConnectorOperationUnsupported { .. } => "ConnectorOperationUnsupportedError",
        }
    }

    /// The HTTP status the spec uses for this error class.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::RequestValidation { .. }
            | Self::UnsupportedFilters { .. }
            | Self::UnsupportedSortField { .. }
            | Self::InvalidCursor => 400,
            Self::ConnectorExecution { status, .. } => *status,
            Self::ConnectorRateLimit { .. } => 429,
            Self::EntityNotFound { .. } => 404,
            Self::ConnectorCredentials { .. } => 401,
            Self::ConnectorOperationUnsupported { .. } => 501,
        }
    }

    /// The structured `detail` for the error envelope, if any.
    pub fn detail(&self) -> Option<Value> {
        match self {
            Self::RequestValidation { detail, .. } => detail.clone(),
            Self::UnsupportedFilters { filters } => {
                Some(serde_json::json!({ "unsupported_filters": filters }))
            }
            Self::UnsupportedSortField { field } => {
                Some(serde_json::json!({ "unsupported_sort_field": field }))
            }
            Self::InvalidCursor => Some(Value::String(RESTART_WITHOUT_CURSOR.to_owned())),
            Self::ConnectorExecution { .. }
            | Self::ConnectorRateLimit { .. }
            | Self::EntityNotFound { .. }
            | Self::ConnectorCredentials { .. }
            | Self::ConnectorOperationUnsupported { .. } => None,
        }
    }

    /// `downstream_errors` for the envelope: only `ConnectorExecutionError` carries them.
    pub fn downstream_errors(&self) -> Option<&[DownstreamError]> {
        match self {
            Self::ConnectorExecution {
                downstream_errors, ..
            } => Some(downstream_errors),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_and_statuses_follow_the_spec() {
        let cases = [
            (UnifiedError::validation("x"), "RequestValidationError", 400),
            (
                UnifiedError::UnsupportedFilters {
                    filters: vec!["a".to_owned()],
                },
                "UnsupportedFiltersError",
                400,
            ),
            (
                UnifiedError::UnsupportedSortField {
                    field: "a".to_owned(),
                },
                "UnsupportedSortFieldError",
                400,
            ),
            (UnifiedError::InvalidCursor, "InvalidCursorError", 400),
            (
                UnifiedError::ConnectorExecution {
                    status: 422,
                    message: "m".to_owned(),
                    downstream_errors: vec![],
                },
                "ConnectorExecutionError",
                422,
            ),
            (
                UnifiedError::ConnectorRateLimit {
                    message: "m".to_owned(),
                },
                "ConnectorRateLimitError",
                429,
            ),
            (
                UnifiedError::EntityNotFound {
                    message: "m".to_owned(),
                },
                "EntityNotFoundError",
                404,
            ),
        ];
        for (error, name, status) in cases {
            assert_eq!(error.type_name(), name);
            assert_eq!(error.status_code(), status);
        }
    }

    #[test]
    fn only_execution_errors_carry_downstream_errors() {
        let error = UnifiedError::ConnectorExecution {
            status: 400,
            message: "m".to_owned(),
            downstream_errors: vec![DownstreamError {
                message: "Required fields are missing: [LastName]".to_owned(),
                detail: Some("LastName".to_owned()),
                code: "REQUIRED_FIELD_MISSING".to_owned(),
            }],
        };
        assert_eq!(error.downstream_errors().map(<[_]>::len), Some(1));
        assert!(UnifiedError::InvalidCursor.downstream_errors().is_none());
    }
}
