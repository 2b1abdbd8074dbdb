//! Views the service layer returns, serialised exactly as the Apideck spec's schemas
//! (`Consumer`, `Connection`, `Log`, `Session` responses). The CLI prints the same JSON.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use patchbay_core::{ConnectionState, ConsumerMetadata, Health, IntegrationState};

/// ISO-8601 UTC with milliseconds, as the spec's examples (`2021-05-07T12:55:42.242Z`).
pub fn iso_ms(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00.000Z".to_owned();
    };
    let base = t
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok());
    match base {
        Some(s) => format!("{}.{:03}Z", s.trim_end_matches('Z'), t.millisecond()),
        None => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// Spec `RequestCountAllocation`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RequestCountsView {
    pub unify: i64,
    pub proxy: i64,
    pub vault: i64,
}

/// Spec `ConsumerConnection` (dates are ISO strings here, unlike `Connection`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConsumerConnectionView {
    pub id: String,
    pub name: String,
    pub icon: String,
    pub logo: String,
    pub website: String,
    pub tag_line: String,
    pub service_id: String,
    pub unified_api: String,
    pub consumer_id: String,
    pub auth_type: &'static str,
    pub enabled: bool,
    pub settings: Value,
    pub metadata: Value,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub state: &'static str,
    pub health: &'static str,
    pub credentials_expire_at: Option<String>,
    pub last_refresh_failed_at: Option<String>,
}

/// Spec `Consumer`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConsumerView {
    pub consumer_id: String,
    pub application_id: String,
    pub metadata: ConsumerMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<ConsumerConnectionView>>,
    pub services: Vec<String>,
    pub aggregated_request_count: i64,
    pub request_counts: RequestCountsView,
    pub created: String,
    pub modified: String,
    pub request_count_updated: String,
}

/// Spec `Connection`. Dates are epoch milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConnectionView {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub tag_line: String,
    pub unified_api: String,
    /// Typed, so callers (the console) match on variants; serialized as the spec's strings.
    pub state: ConnectionState,
    pub integration_state: IntegrationState,
    pub auth_type: &'static str,
    pub oauth_grant_type: &'static str,
    pub status: &'static str,
    pub enabled: bool,
    pub website: String,
    pub icon: String,
    pub logo: String,
    pub authorize_url: Option<String>,
    pub revoke_url: Option<String>,
    pub settings: Option<Value>,
    pub metadata: Option<Value>,
    pub form_fields: Vec<Value>,
    pub configuration: Vec<Value>,
    pub configurable_resources: Vec<String>,
    pub resource_schema_support: Vec<String>,
    pub resource_settings_support: Vec<String>,
    pub validation_support: bool,
    pub schema_support: bool,
    pub settings_required_for_authorization: Vec<String>,
    pub subscriptions: Vec<Value>,
    pub has_guide: bool,
    pub custom_mappings: Vec<Value>,
    pub consent_state: &'static str,
    pub health: Health,
    pub credentials_expire_at: i64,
    pub last_refresh_failed_at: i64,
    pub last_downstream_error_at: i64,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

/// `ValidateConnectionStateResponse.data`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConnectionStateView {
    pub id: String,
    pub state: &'static str,
}

/// Spec `Log`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogView {
    pub id: String,
    pub parent_id: Option<String>,
    pub child_request: bool,
    pub has_children: bool,
    pub api_style: String,
    pub base_url: String,
    pub consumer_id: String,
    pub http_method: String,
    pub path: String,
    pub operation: NamedRef,
    pub service: NamedRef,
    pub unified_api: String,
    pub status_code: i64,
    pub success: bool,
    pub error_message: Option<String>,
    pub duration: f64,
    pub execution: i64,
    pub latency: f64,
    pub sandbox: bool,
    pub source_ip: Option<String>,
    pub timestamp: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// `CreateSessionResponse.data`.
#[derive(Serialize)]
pub struct SessionView {
    pub session_uri: String,
    pub session_token: String,
}

impl std::fmt::Debug for SessionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionView(<redacted>)")
    }
}

/// A page of items plus the store's opaque cursor for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Parses a JSON object given as text, or an empty object when it is not one.
pub(crate) fn object_or_empty(json: &str) -> Map<String, Value> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_620_392_142_242), "2021-05-07T12:55:42.242Z");
    }
}

/// An application as the CLI and admin console show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApplicationView {
    pub application_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: String,
}

impl From<&patchbay_store::ApplicationRow> for ApplicationView {
    fn from(a: &patchbay_store::ApplicationRow) -> Self {
        Self {
            application_id: a.id.to_string(),
            name: a.name.clone(),
            redirect_uris: a.redirect_uris.clone(),
            created_at: iso_ms(a.created_at),
        }
    }
}

/// An API key without its secret or hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&patchbay_store::ApiKeyRow> for ApiKeyView {
    fn from(k: &patchbay_store::ApiKeyRow) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name.clone(),
            scopes: k
                .scopes
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: iso_ms(k.created_at),
            last_used_at: k.last_used_at.map(iso_ms),
            revoked_at: k.revoked_at.map(iso_ms),
        }
    }
}

/// Staged credentials, without the secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StagedView {
    pub client_id: String,
    pub has_client_secret: bool,
}

/// An integration without secrets: only whether they are stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IntegrationView {
    pub id: String,
    pub unified_api: String,
    pub service_id: String,
    pub state: &'static str,
    pub enabled: bool,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    pub staged: Option<StagedView>,
    pub login_url: String,
    pub scopes: String,
    pub pkce: bool,
    pub send_secret_on_refresh: bool,
    /// Seconds between CRM change polls for webhook events.
    pub crm_poll_interval_s: u32,
}

impl From<&patchbay_core::Integration> for IntegrationView {
    fn from(i: &patchbay_core::Integration) -> Self {
        Self {
            id: patchbay_core::connection_key(&i.unified_api, &i.service_id),
            unified_api: i.unified_api.to_string(),
            service_id: i.service_id.to_string(),
            state: i.state().as_str(),
            enabled: i.enabled,
            client_id: i.client_id.clone(),
            has_client_secret: i.has_client_secret,
            staged: i.staged.as_ref().map(|s| StagedView {
                client_id: s.client_id.clone(),
                has_client_secret: s.has_client_secret,
            }),
            login_url: i.settings.login_host.as_str().to_owned(),
            scopes: i.settings.scopes.to_string(),
            pkce: i.settings.pkce,
            send_secret_on_refresh: i.settings.send_secret_on_refresh,
            crm_poll_interval_s: i.settings.crm_poll_interval_s,
        }
    }
}
