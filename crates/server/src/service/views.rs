//! What the service layer returns: typed domain views. States and health are core's enums,
//! instants are epoch milliseconds, ids are core's typed ids, settings are parsed. The Apideck
//! wire shapes (strings, ISO dates, constant fields) are built from these at the HTTP edge
//! (`crate::wire`), so the console and the CLI match on variants, never on spellings.

use serde_json::{Map, Value};

use patchbay_core::{
    ApplicationId, ConnectionState, ConsumerId, ConsumerMetadata, Health, IntegrationState,
    ServiceId, UnifiedApi,
};

/// Request counts per API family: the store's own type, already typed.
pub use patchbay_store::RequestCounts;

/// A connection's settings: the ones Patchbay reads, typed, plus every stored setting as the
/// consumer wrote it (Apideck echoes them back).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionSettings {
    /// The login host the consumer chose, when it chose one.
    pub login_url: Option<String>,
    /// Where the connection's API lives, learned when it was authorized.
    pub instance_url: Option<String>,
    stored: Map<String, Value>,
}

impl ConnectionSettings {
    /// Parses the stored settings object (anything else reads as no settings) and the
    /// connection's instance URL.
    pub fn parse(settings_json: &str, instance_url: Option<&str>) -> Self {
        let stored = object_or_empty(settings_json);
        Self {
            login_url: stored
                .get("login_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            instance_url: instance_url.map(str::to_owned),
            stored,
        }
    }

    /// Every setting as one object: the stored ones, then `instance_url` (which the stored
    /// object never overrides: the authorization's answer is the truth).
    pub fn to_map(&self) -> Map<String, Value> {
        let mut out = self.stored.clone();
        if let Some(url) = &self.instance_url {
            out.insert("instance_url".to_owned(), Value::String(url.clone()));
        }
        out
    }
}

/// Catalogue data of the connection's service, as this deployment serves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogueView {
    pub name: String,
    pub tag_line: String,
    pub website: String,
    /// Absolute URLs.
    pub icon: String,
    pub logo: String,
}

/// A consumer's connection to one integration (or the integration it could connect).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionView {
    /// `{unified_api}+{service_id}`, the spec's connection id.
    pub id: String,
    pub service_id: ServiceId,
    pub unified_api: UnifiedApi,
    pub catalogue: CatalogueView,
    pub state: ConnectionState,
    pub integration_state: IntegrationState,
    pub enabled: bool,
    pub authorize_url: Option<String>,
    pub revoke_url: Option<String>,
    pub settings: ConnectionSettings,
    /// Free-form: whatever the application stored.
    pub metadata: Map<String, Value>,
    /// The spec's `FormField` objects the connect UI renders.
    pub form_fields: Vec<Value>,
    pub health: Health,
    /// Epoch ms; `None` when unknown or when there is no connection row.
    pub credentials_expire_at: Option<i64>,
    pub last_refresh_failed_at: Option<i64>,
    pub last_downstream_error_at: Option<i64>,
    /// `None` for an integration the consumer has not added.
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
}

/// A connection as a consumer lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerConnectionView {
    pub id: String,
    pub service_id: ServiceId,
    pub unified_api: UnifiedApi,
    pub consumer_id: ConsumerId,
    pub catalogue: CatalogueView,
    pub enabled: bool,
    pub settings: ConnectionSettings,
    pub metadata: Map<String, Value>,
    pub state: ConnectionState,
    pub health: Health,
    pub created_at: i64,
    pub updated_at: i64,
    pub credentials_expire_at: Option<i64>,
    pub last_refresh_failed_at: Option<i64>,
}

/// A consumer with its request counts and, when asked for, its connections.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerView {
    pub consumer_id: ConsumerId,
    pub application_id: ApplicationId,
    pub metadata: ConsumerMetadata,
    pub connections: Option<Vec<ConsumerConnectionView>>,
    pub services: Vec<ServiceId>,
    pub request_counts: RequestCounts,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the counts were taken.
    pub counted_at: i64,
}

/// A consumer's request counts in a time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerStats {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub start_ms: i64,
    pub end_ms: i64,
    pub request_counts: RequestCounts,
}

/// A connection's state after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStateView {
    pub id: String,
    pub state: ConnectionState,
}

/// One request-log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogView {
    /// The request id a caller saw (`x-request-id`), or the row id for older rows.
    pub id: String,
    pub parent_id: Option<String>,
    pub child_request: bool,
    pub has_children: bool,
    pub api_style: String,
    pub base_url: String,
    pub consumer_id: ConsumerId,
    pub http_method: String,
    pub path: String,
    pub operation: NamedRef,
    pub service: NamedRef,
    pub unified_api: String,
    pub status_code: i64,
    pub success: bool,
    pub error_message: Option<String>,
    /// Time at the provider, ms.
    pub duration: f64,
    pub execution: i64,
    pub latency: f64,
    pub sandbox: bool,
    pub source_ip: Option<String>,
    /// Epoch ms.
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

/// A new hosted-page session.
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
    fn settings_parse_reads_login_url_and_keeps_every_stored_setting() {
        let s = ConnectionSettings::parse(
            r#"{"zeta":1,"login_url":"https://login.example.com","alpha":true}"#,
            Some("https://api.example.com"),
        );
        assert_eq!(s.login_url.as_deref(), Some("https://login.example.com"));
        assert_eq!(s.instance_url.as_deref(), Some("https://api.example.com"));
        // Compared as values: key order depends on whether serde_json's `preserve_order` is
        // unified on in the build, and JSON objects have none.
        assert_eq!(
            Value::Object(s.to_map()),
            serde_json::json!({
                "alpha": true,
                "instance_url": "https://api.example.com",
                "login_url": "https://login.example.com",
                "zeta": 1
            })
        );
    }

    #[test]
    fn settings_that_are_not_an_object_read_as_none() {
        let s = ConnectionSettings::parse("[1,2]", None);
        assert_eq!(s, ConnectionSettings::default());
        assert!(s.to_map().is_empty());
        let s = ConnectionSettings::parse(r#"{"login_url":7}"#, None);
        assert_eq!(s.login_url, None);
    }
}
