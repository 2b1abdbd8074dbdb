//! HubSpot API errors to unified errors (docs/hubspot.md §6, §13, §14), and the
//! `X-HubSpot-RateLimit-*` headers.

use serde::Deserialize;
use serde_json::Value;

use patchbay_unified::{DownstreamError, UnifiedError};

pub use crate::connector::{ApiUsage, CallKind, Failure};

/// HubSpot's error body. Every field may be missing.
#[derive(Debug, Default, Deserialize)]
struct HubSpotError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(rename = "subCategory", default)]
    sub_category: Option<String>,
    #[serde(rename = "policyName", default)]
    policy_name: Option<String>,
    #[serde(default)]
    errors: Option<Vec<ErrorItem>>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    context: Option<Value>,
}

/// Maps a non-2xx HubSpot answer (status and raw body) to what the caller should do.
pub fn map_error(status: u16, body: &[u8], call: CallKind) -> Failure {
    let error: HubSpotError = serde_json::from_slice(body).unwrap_or_default();
    let category = error.category.as_deref().unwrap_or("");
    let message = error
        .message
        .clone()
        .unwrap_or_else(|| format!("HubSpot answered HTTP {status} without a message"));

    // EXPIRED_AUTHENTICATION and INVALID_AUTHENTICATION (or a bare 401) all mean the token was
    // refused; a refresh either fixes it or proves the grant gone. At our edge a 401 would
    // blame the caller instead.
    if status == 401 {
        return Failure::RefreshAndRetry;
    }
    if status == 429 {
        let policy = error.policy_name.as_deref().unwrap_or("unknown");
        return Failure::Error(UnifiedError::ConnectorRateLimit {
            message: format!("HubSpot rate limit reached ({policy}): {message}"),
        });
    }
    if status == 404 && call == CallKind::OneRecord {
        return Failure::Error(UnifiedError::EntityNotFound { message });
    }
    let mut downstream_errors: Vec<DownstreamError> = error
        .errors
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|e| DownstreamError {
            message: e.message.clone().unwrap_or_default(),
            detail: e.context.as_ref().map(Value::to_string),
            code: e.code.clone().unwrap_or_else(|| category.to_owned()),
        })
        .collect();
    if downstream_errors.is_empty() {
        downstream_errors.push(DownstreamError {
            message: message.clone(),
            detail: error.sub_category.clone(),
            code: if category.is_empty() {
                format!("HTTP_{status}")
            } else {
                category.to_owned()
            },
        });
    }
    // A scope the app or the token lacks: say which, and where it is added, rather than
    // HubSpot's general words (docs/hubspot.md §5, §14).
    let message = if category == "MISSING_SCOPES" {
        missing_scopes_message(&error).unwrap_or(message)
    } else {
        message
    };
    // A `VALIDATION_ERROR` (values that do not fit HubSpot's properties) passes as its 400 with
    // HubSpot's words in `downstream_errors`, as Salesforce's refusals do: one error type for
    // "the CRM refused these values", whichever CRM it was.
    Failure::Error(UnifiedError::ConnectorExecution {
        status: match status {
            400..=499 => status,
            _ => 502,
        },
        message,
        downstream_errors,
    })
}

/// `errors[].context.requiredScopes` as a sentence naming them; `None` when the body names none.
fn missing_scopes_message(error: &HubSpotError) -> Option<String> {
    let mut scopes: Vec<&str> = Vec::new();
    for item in error.errors.as_deref().unwrap_or_default() {
        let listed = item
            .context
            .as_ref()
            .and_then(|c| c.get("requiredScopes"))
            .and_then(Value::as_array);
        for scope in listed.into_iter().flatten().filter_map(Value::as_str) {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }
    let named = match scopes.as_slice() {
        [] => return None,
        [one] => format!("the scope {one}"),
        many => format!("one of the scopes {}", many.join(", ")),
    };
    Some(format!(
        "HubSpot refused the call: the connection was not granted {named}. Add it to the \
         integration's scopes and to the app's scopes in HubSpot, then reconnect the account."
    ))
}

/// The error to answer when HubSpot still refuses the token after one refresh.
pub fn session_still_invalid() -> UnifiedError {
    UnifiedError::ConnectorCredentials {
        message: "HubSpot refused the connection's token even after a refresh; re-authorize the connection".to_owned(),
    }
}

/// HubSpot's rolling window when an answer does not name it (docs/hubspot.md §13).
const DEFAULT_WINDOW_MS: u64 = 10_000;

/// API usage from `X-HubSpot-RateLimit-Max` and `-Remaining` (the rolling 10-second window;
/// docs/hubspot.md §13). `header` looks a header up by its name, case-insensitively. Either
/// missing or not a number gives `None`.
pub fn parse_rate_limit<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<ApiUsage> {
    let number = |name: &str| header(name)?.trim().parse::<u64>().ok();
    let max = number("x-hubspot-ratelimit-max")?;
    let remaining = number("x-hubspot-ratelimit-remaining")?;
    Some(ApiUsage {
        used: max.saturating_sub(remaining),
        max,
        // The window's own length says when the budget is whole again.
        recheck_after_ms: number("x-hubspot-ratelimit-interval-milliseconds")
            .filter(|ms| *ms > 0)
            .unwrap_or(DEFAULT_WINDOW_MS),
    })
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
