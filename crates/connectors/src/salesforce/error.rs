//! Salesforce REST errors to unified errors, and the `Sforce-Limit-Info` header.

use serde::Deserialize;
use serde_json::Value;

use patchbay_unified::{DownstreamError, UnifiedError};

pub use crate::connector::{ApiUsage, CallKind, Failure};

/// One item of Salesforce's error array (docs/salesforce.md §10.2). `fields` may be missing or
/// null.
#[derive(Debug, Deserialize)]
struct SalesforceError {
    #[serde(default)]
    message: Option<String>,
    #[serde(rename = "errorCode", default)]
    error_code: Option<String>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// Maps a non-2xx Salesforce response (status and raw body) to what the caller should do.
pub fn map_error(status: u16, body: &[u8], call: CallKind) -> Failure {
    let errors: Vec<SalesforceError> = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        Ok(Value::Object(obj)) => serde_json::from_value(Value::Object(obj))
            .map(|e| vec![e])
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let codes: Vec<&str> = errors
        .iter()
        .filter_map(|e| e.error_code.as_deref())
        .collect();
    let has = |code: &str| codes.contains(&code);
    let first_message = errors
        .iter()
        .find_map(|e| e.message.as_deref())
        .unwrap_or("Salesforce returned an error without a message");

    // Any 401 means the token was refused; at our edge a 401 would blame the caller instead.
    if has("INVALID_SESSION_ID") || status == 401 {
        return Failure::RefreshAndRetry;
    }
    if status == 429 || has("REQUEST_LIMIT_EXCEEDED") {
        return Failure::Error(UnifiedError::ConnectorRateLimit {
            message: format!("Salesforce API limit reached: {first_message}"),
        });
    }
    let gone = has("NOT_FOUND")
        || has("ENTITY_IS_DELETED")
        || has("MALFORMED_ID")
        || (status == 404 && codes.is_empty());
    if call == CallKind::OneRecord && gone {
        return Failure::Error(UnifiedError::EntityNotFound {
            message: first_message.to_owned(),
        });
    }
    let downstream_errors = if errors.is_empty() {
        vec![DownstreamError {
            message: format!("Salesforce answered HTTP {status} without an error array"),
            detail: None,
            code: format!("HTTP_{status}"),
        }]
    } else {
        errors
            .iter()
            .map(|e| DownstreamError {
                message: e.message.clone().unwrap_or_default(),
                detail: e
                    .fields
                    .as_ref()
                    .filter(|f| !f.is_empty())
                    .map(|f| f.join(", ")),
                code: e.error_code.clone().unwrap_or_default(),
            })
            .collect()
    };
    Failure::Error(UnifiedError::ConnectorExecution {
        // Statuses that mean something else at our edge (401 handled above) pass as 400/502.
        status: match status {
            400..=499 => status,
            _ => 502,
        },
        message: first_message.to_owned(),
        downstream_errors,
    })
}

/// The error to answer when `INVALID_SESSION_ID` persists after one refresh.
pub fn session_still_invalid() -> UnifiedError {
    UnifiedError::ConnectorCredentials {
        message: "Salesforce refused the connection's token even after a refresh; re-authorize the connection".to_owned(),
    }
}

/// Parses `api-usage=N/M` out of a `Sforce-Limit-Info` value, leniently: other entries
/// (`per-app-api-usage=...`, `api-bursts=...`), spaces and case are tolerated; garbage gives `None`.
pub fn parse_limit_info(header: &str) -> Option<ApiUsage> {
    header.split([';', ',']).find_map(|part| {
        let (key, value) = part.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("api-usage") {
            return None;
        }
        let (used, max) = value.trim().split_once('/')?;
        let digits = |s: &str| {
            let s = s.trim();
            let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            s[..end].parse::<u64>().ok()
        };
        Some(ApiUsage {
            used: digits(used)?,
            max: digits(max)?,
            recheck_after_ms: DAILY_BUDGET_RECHECK_MS,
        })
    })
}

/// Salesforce's API budget is a rolling 24 hours: a connection low on it rests a quarter of an
/// hour before its usage is read again.
pub const DAILY_BUDGET_RECHECK_MS: u64 = 15 * 60 * 1000;

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
