//! The HTTP edge's wire shapes: the Apideck spec's schemas (`Connection`, `ConsumerConnection`,
//! `Consumer`, `Log`, `CreateSessionResponse.data`, …) and the JSON the CLI prints for
//! applications, API keys and integrations. Each is built `From` a typed service view; here,
//! and only here, states become spec strings, instants become ISO text or epoch ms as the spec
//! wants, and Apideck's constant fields are filled in. The CLI prints these very types
//! (`patchbay_server::wire`), so its JSON is the API's JSON.

use serde::Serialize;
use serde_json::Value;

use patchbay_core::{ConnectionState, ConsumerMetadata, Health, IntegrationState};

use crate::service::views;
pub use crate::timefmt::iso_ms;

/// Spec `RequestCountAllocation`.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RequestCounts {
    pub unify: i64,
    pub proxy: i64,
    pub vault: i64,
}

impl From<&views::RequestCounts> for RequestCounts {
    fn from(c: &views::RequestCounts) -> Self {
        Self {
            unify: c.unify,
            proxy: c.proxy,
            vault: c.vault,
        }
    }
}

/// Spec `ConsumerConnection` (dates are ISO strings here, unlike `Connection`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConsumerConnection {
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

impl From<&views::ConsumerConnectionView> for ConsumerConnection {
    fn from(c: &views::ConsumerConnectionView) -> Self {
        Self {
            id: c.id.clone(),
            name: c.catalogue.name.clone(),
            icon: c.catalogue.icon.clone(),
            logo: c.catalogue.logo.clone(),
            website: c.catalogue.website.clone(),
            tag_line: c.catalogue.tag_line.clone(),
            service_id: c.service_id.to_string(),
            unified_api: c.unified_api.to_string(),
            consumer_id: c.consumer_id.to_string(),
            auth_type: AUTH_TYPE,
            enabled: c.enabled,
            settings: Value::Object(c.settings.to_map()),
            metadata: Value::Object(c.metadata.clone()),
            created_at: iso_ms(c.created_at),
            updated_at: Some(iso_ms(c.updated_at)),
            state: c.state.as_str(),
            health: c.health.as_str(),
            credentials_expire_at: c.credentials_expire_at.map(iso_ms),
            last_refresh_failed_at: c.last_refresh_failed_at.map(iso_ms),
        }
    }
}

/// Spec `Consumer`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Consumer {
    pub consumer_id: String,
    pub application_id: String,
    pub metadata: ConsumerMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<ConsumerConnection>>,
    pub services: Vec<String>,
    pub aggregated_request_count: i64,
    pub request_counts: RequestCounts,
    pub created: String,
    pub modified: String,
    pub request_count_updated: String,
}

impl From<&views::ConsumerView> for Consumer {
    fn from(c: &views::ConsumerView) -> Self {
        Self {
            consumer_id: c.consumer_id.to_string(),
            application_id: c.application_id.to_string(),
            metadata: c.metadata.clone(),
            connections: c
                .connections
                .as_ref()
                .map(|list| list.iter().map(ConsumerConnection::from).collect()),
            services: c.services.iter().map(ToString::to_string).collect(),
            aggregated_request_count: c.request_counts.total(),
            request_counts: RequestCounts::from(&c.request_counts),
            created: iso_ms(c.created_at),
            modified: iso_ms(c.updated_at),
            request_count_updated: iso_ms(c.counted_at),
        }
    }
}

/// `GetConsumerStatsResponse.data`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsumerStats {
    pub application_id: String,
    pub consumer_id: String,
    pub start_datetime: String,
    pub end_datetime: String,
    pub aggregated_request_count: i64,
    pub request_counts: RequestCounts,
}

impl From<&views::ConsumerStats> for ConsumerStats {
    fn from(s: &views::ConsumerStats) -> Self {
        Self {
            application_id: s.application_id.to_string(),
            consumer_id: s.consumer_id.to_string(),
            start_datetime: iso_ms(s.start_ms),
            end_datetime: iso_ms(s.end_ms),
            aggregated_request_count: s.request_counts.total(),
            request_counts: RequestCounts::from(&s.request_counts),
        }
    }
}

/// Patchbay serves OAuth 2 authorization-code connections only.
const AUTH_TYPE: &str = "oauth2";

/// Spec `Connection`. Dates are epoch milliseconds, 0 when unknown.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Connection {
    pub id: String,
    pub service_id: String,
    pub name: String,
    pub tag_line: String,
    pub unified_api: String,
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

impl From<&views::ConnectionView> for Connection {
    fn from(c: &views::ConnectionView) -> Self {
        Self {
            id: c.id.clone(),
            service_id: c.service_id.to_string(),
            name: c.catalogue.name.clone(),
            tag_line: c.catalogue.tag_line.clone(),
            unified_api: c.unified_api.to_string(),
            state: c.state,
            integration_state: c.integration_state,
            auth_type: AUTH_TYPE,
            oauth_grant_type: "authorization_code",
            status: "live",
            enabled: c.enabled,
            website: c.catalogue.website.clone(),
            icon: c.catalogue.icon.clone(),
            logo: c.catalogue.logo.clone(),
            authorize_url: c.authorize_url.clone(),
            revoke_url: c.revoke_url.clone(),
            settings: Some(Value::Object(c.settings.to_map())),
            metadata: Some(Value::Object(c.metadata.clone())),
            form_fields: c.form_fields.clone(),
            // No connector has configurable resources, schemas, subscriptions or guides.
            configuration: Vec::new(),
            configurable_resources: Vec::new(),
            resource_schema_support: Vec::new(),
            resource_settings_support: Vec::new(),
            validation_support: true,
            schema_support: false,
            settings_required_for_authorization: Vec::new(),
            subscriptions: Vec::new(),
            has_guide: false,
            custom_mappings: Vec::new(),
            consent_state: "implicit",
            health: c.health,
            credentials_expire_at: c.credentials_expire_at.unwrap_or(0),
            last_refresh_failed_at: c.last_refresh_failed_at.unwrap_or(0),
            last_downstream_error_at: c.last_downstream_error_at.unwrap_or(0),
            created_at: c.created_at.unwrap_or(0),
            updated_at: c.updated_at,
        }
    }
}

/// `ValidateConnectionStateResponse.data`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConnectionStateData {
    pub id: String,
    pub state: &'static str,
}

impl From<&views::ConnectionStateView> for ConnectionStateData {
    fn from(v: &views::ConnectionStateView) -> Self {
        Self {
            id: v.id.clone(),
            state: v.state.as_str(),
        }
    }
}

/// Spec `Log`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Log {
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

impl From<&views::NamedRef> for NamedRef {
    fn from(r: &views::NamedRef) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
        }
    }
}

impl From<&views::LogView> for Log {
    fn from(l: &views::LogView) -> Self {
        Self {
            id: l.id.clone(),
            parent_id: l.parent_id.clone(),
            child_request: l.child_request,
            has_children: l.has_children,
            api_style: l.api_style.clone(),
            base_url: l.base_url.clone(),
            consumer_id: l.consumer_id.to_string(),
            http_method: l.http_method.clone(),
            path: l.path.clone(),
            operation: NamedRef::from(&l.operation),
            service: NamedRef::from(&l.service),
            unified_api: l.unified_api.clone(),
            status_code: l.status_code,
            success: l.success,
            error_message: l.error_message.clone(),
            duration: l.duration,
            execution: l.execution,
            latency: l.latency,
            sandbox: l.sandbox,
            source_ip: l.source_ip.clone(),
            timestamp: iso_ms(l.timestamp),
        }
    }
}

/// `CreateSessionResponse.data`.
#[derive(Serialize)]
pub struct Session {
    pub session_uri: String,
    pub session_token: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session(<redacted>)")
    }
}

impl From<&views::SessionView> for Session {
    fn from(s: &views::SessionView) -> Self {
        Self {
            session_uri: s.session_uri.clone(),
            session_token: s.session_token.clone(),
        }
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

/// Converts every item of a list for the wire.
pub fn all<'a, V: 'a, W: From<&'a V>>(items: &'a [V]) -> Vec<W> {
    items.iter().map(W::from).collect()
}

#[cfg(test)]
mod tests {
    use patchbay_core::{ApplicationId, ConsumerId, ServiceId, UnifiedApi};
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::service::views::{
        CatalogueView, ConnectionSettings, ConnectionStateView, ConnectionView,
        ConsumerConnectionView, ConsumerStats as StatsView, ConsumerView, LogView,
        NamedRef as NamedRefView, RequestCounts as CountsView, SessionView,
    };

    /// What the envelope sends: the serialised value.
    fn wire<T: Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }

    fn service() -> ServiceId {
        ServiceId::parse("examplecrm").unwrap()
    }

    fn catalogue() -> CatalogueView {
        CatalogueView {
            name: "Example CRM".to_owned(),
            tag_line: "Sells things".to_owned(),
            website: "https://crm.example.com".to_owned(),
            icon: "https://pb.example.com/assets/connectors/icon.png".to_owned(),
            logo: "https://pb.example.com/assets/connectors/logo.png".to_owned(),
        }
    }

    /// An integration the consumer has not added: no row, so no dates, settings or metadata.
    fn available() -> ConnectionView {
        ConnectionView {
            id: "crm+examplecrm".to_owned(),
            service_id: service(),
            unified_api: UnifiedApi::crm(),
            catalogue: catalogue(),
            state: ConnectionState::Available,
            integration_state: IntegrationState::NeedsConfiguration,
            enabled: false,
            authorize_url: None,
            revoke_url: None,
            settings: ConnectionSettings::default(),
            metadata: Map::new(),
            form_fields: Vec::new(),
            health: Health::Ok,
            credentials_expire_at: None,
            last_refresh_failed_at: None,
            last_downstream_error_at: None,
            created_at: None,
            updated_at: None,
        }
    }

    #[test]
    fn connection_without_a_row_has_zero_dates_null_urls_and_empty_objects() {
        assert_eq!(
            wire(Connection::from(&available())),
            json!({
                "id": "crm+examplecrm",
                "service_id": "examplecrm",
                "name": "Example CRM",
                "tag_line": "Sells things",
                "unified_api": "crm",
                "state": "available",
                "integration_state": "needs_configuration",
                "auth_type": "oauth2",
                "oauth_grant_type": "authorization_code",
                "status": "live",
                "enabled": false,
                "website": "https://crm.example.com",
                "icon": "https://pb.example.com/assets/connectors/icon.png",
                "logo": "https://pb.example.com/assets/connectors/logo.png",
                "authorize_url": null,
                "revoke_url": null,
                "settings": {},
                "metadata": {},
                "form_fields": [],
                "configuration": [],
                "configurable_resources": [],
                "resource_schema_support": [],
                "resource_settings_support": [],
                "validation_support": true,
                "schema_support": false,
                "settings_required_for_authorization": [],
                "subscriptions": [],
                "has_guide": false,
                "custom_mappings": [],
                "consent_state": "implicit",
                "health": "ok",
                "credentials_expire_at": 0,
                "last_refresh_failed_at": 0,
                "last_downstream_error_at": 0,
                "created_at": 0,
                "updated_at": null,
            })
        );
    }

    #[test]
    fn connection_with_a_row_carries_its_settings_metadata_and_epoch_dates() {
        let mut metadata = Map::new();
        metadata.insert("plan".to_owned(), json!({"tier": 2}));
        let v = ConnectionView {
            state: ConnectionState::Callable,
            integration_state: IntegrationState::Configured,
            enabled: true,
            revoke_url: Some("https://pb.example.com/vault/revoke/x".to_owned()),
            settings: ConnectionSettings::parse(
                r#"{"login_url":"https://login.example.com","note":null}"#,
                Some("https://api.example.com"),
            ),
            metadata,
            form_fields: vec![json!({"id": "login_url"})],
            health: Health::PendingRefresh,
            credentials_expire_at: Some(1_700_000_000_000),
            last_refresh_failed_at: Some(1_700_000_000_001),
            created_at: Some(1_600_000_000_000),
            updated_at: Some(1_650_000_000_000),
            ..available()
        };
        let w = wire(Connection::from(&v));
        assert_eq!(w["state"], "callable");
        assert_eq!(w["integration_state"], "configured");
        assert_eq!(w["health"], "pending_refresh");
        assert_eq!(w["enabled"], true);
        assert_eq!(w["authorize_url"], Value::Null);
        assert_eq!(w["revoke_url"], "https://pb.example.com/vault/revoke/x");
        assert_eq!(
            w["settings"],
            json!({
                "login_url": "https://login.example.com",
                "note": null,
                "instance_url": "https://api.example.com",
            })
        );
        assert_eq!(w["metadata"], json!({"plan": {"tier": 2}}));
        assert_eq!(w["form_fields"], json!([{"id": "login_url"}]));
        assert_eq!(w["credentials_expire_at"], 1_700_000_000_000_i64);
        assert_eq!(w["last_refresh_failed_at"], 1_700_000_000_001_i64);
        assert_eq!(w["last_downstream_error_at"], 0);
        assert_eq!(w["created_at"], 1_600_000_000_000_i64);
        assert_eq!(w["updated_at"], 1_650_000_000_000_i64);
    }

    fn consumer_connection() -> ConsumerConnectionView {
        ConsumerConnectionView {
            id: "crm+examplecrm".to_owned(),
            service_id: service(),
            unified_api: UnifiedApi::crm(),
            consumer_id: ConsumerId::parse("acme-1").unwrap(),
            catalogue: catalogue(),
            enabled: true,
            settings: ConnectionSettings::parse("{}", Some("https://api.example.com")),
            metadata: Map::new(),
            state: ConnectionState::Invalid,
            health: Health::NeedsAuth,
            created_at: 1_620_392_142_242,
            updated_at: 1_620_392_142_243,
            credentials_expire_at: None,
            last_refresh_failed_at: Some(0),
        }
    }

    #[test]
    fn consumer_connection_has_iso_dates_and_nulls_for_unknown_ones() {
        assert_eq!(
            wire(ConsumerConnection::from(&consumer_connection())),
            json!({
                "id": "crm+examplecrm",
                "name": "Example CRM",
                "icon": "https://pb.example.com/assets/connectors/icon.png",
                "logo": "https://pb.example.com/assets/connectors/logo.png",
                "website": "https://crm.example.com",
                "tag_line": "Sells things",
                "service_id": "examplecrm",
                "unified_api": "crm",
                "consumer_id": "acme-1",
                "auth_type": "oauth2",
                "enabled": true,
                "settings": {"instance_url": "https://api.example.com"},
                "metadata": {},
                "created_at": "2021-05-07T12:55:42.242Z",
                "updated_at": "2021-05-07T12:55:42.243Z",
                "state": "invalid",
                "health": "needs_auth",
                "credentials_expire_at": null,
                "last_refresh_failed_at": "1970-01-01T00:00:00.000Z",
            })
        );
    }

    fn consumer(connections: Option<Vec<ConsumerConnectionView>>) -> ConsumerView {
        ConsumerView {
            consumer_id: ConsumerId::parse("acme-1").unwrap(),
            application_id: ApplicationId::parse("6a1c4d7e-0c2b-4e8a-9a51-3f1e2d4c5b6a").unwrap(),
            metadata: ConsumerMetadata {
                account_name: Some("Acme".to_owned()),
                ..ConsumerMetadata::default()
            },
            connections,
            services: vec![service()],
            request_counts: CountsView {
                unify: 3,
                proxy: 2,
                vault: 1,
            },
            created_at: 0,
            updated_at: 1_620_392_142_242,
            counted_at: 1_620_392_142_999,
        }
    }

    #[test]
    fn consumer_without_connections_leaves_the_key_out() {
        assert_eq!(
            wire(Consumer::from(&consumer(None))),
            json!({
                "consumer_id": "acme-1",
                "application_id": "6a1c4d7e-0c2b-4e8a-9a51-3f1e2d4c5b6a",
                "metadata": {"account_name": "Acme"},
                "services": ["examplecrm"],
                "aggregated_request_count": 6,
                "request_counts": {"unify": 3, "proxy": 2, "vault": 1},
                "created": "1970-01-01T00:00:00.000Z",
                "modified": "2021-05-07T12:55:42.242Z",
                "request_count_updated": "2021-05-07T12:55:42.999Z",
            })
        );
    }

    #[test]
    fn consumer_with_connections_lists_them_in_their_wire_shape() {
        let w = wire(Consumer::from(&consumer(Some(vec![consumer_connection()]))));
        assert_eq!(
            w["connections"],
            json!([wire(ConsumerConnection::from(&consumer_connection()))])
        );
        let w = wire(Consumer::from(&consumer(Some(Vec::new()))));
        assert_eq!(w["connections"], json!([]));
    }

    #[test]
    fn stats_state_log_and_session_shapes() {
        let stats = StatsView {
            application_id: ApplicationId::parse("6a1c4d7e-0c2b-4e8a-9a51-3f1e2d4c5b6a").unwrap(),
            consumer_id: ConsumerId::parse("acme-1").unwrap(),
            start_ms: 0,
            end_ms: 1_620_392_142_242,
            request_counts: CountsView::default(),
        };
        assert_eq!(
            wire(ConsumerStats::from(&stats)),
            json!({
                "application_id": "6a1c4d7e-0c2b-4e8a-9a51-3f1e2d4c5b6a",
                "consumer_id": "acme-1",
                "start_datetime": "1970-01-01T00:00:00.000Z",
                "end_datetime": "2021-05-07T12:55:42.242Z",
                "aggregated_request_count": 0,
                "request_counts": {"unify": 0, "proxy": 0, "vault": 0},
            })
        );

        let state = ConnectionStateView {
            id: "crm+examplecrm".to_owned(),
            state: ConnectionState::Authorized,
        };
        assert_eq!(
            serde_json::to_string(&ConnectionStateData::from(&state)).unwrap(),
            r#"{"id":"crm+examplecrm","state":"authorized"}"#
        );

        let log = LogView {
            id: "req-1".to_owned(),
            parent_id: None,
            child_request: false,
            has_children: true,
            api_style: "REST".to_owned(),
            base_url: "https://pb.example.com".to_owned(),
            consumer_id: ConsumerId::parse("acme-1").unwrap(),
            http_method: "GET".to_owned(),
            path: "/crm/contacts".to_owned(),
            operation: NamedRefView {
                id: "contactsAll".to_owned(),
                name: "List contacts".to_owned(),
            },
            service: NamedRefView {
                id: "examplecrm".to_owned(),
                name: "Example CRM".to_owned(),
            },
            unified_api: "crm".to_owned(),
            status_code: 200,
            success: true,
            error_message: None,
            duration: 12.5,
            execution: 14,
            latency: 1.5,
            sandbox: false,
            source_ip: Some("203.0.113.9".to_owned()),
            timestamp: 1_620_392_142_242,
        };
        assert_eq!(
            wire(Log::from(&log)),
            json!({
                "id": "req-1",
                "parent_id": null,
                "child_request": false,
                "has_children": true,
                "api_style": "REST",
                "base_url": "https://pb.example.com",
                "consumer_id": "acme-1",
                "http_method": "GET",
                "path": "/crm/contacts",
                "operation": {"id": "contactsAll", "name": "List contacts"},
                "service": {"id": "examplecrm", "name": "Example CRM"},
                "unified_api": "crm",
                "status_code": 200,
                "success": true,
                "error_message": null,
                "duration": 12.5,
                "execution": 14,
                "latency": 1.5,
                "sandbox": false,
                "source_ip": "203.0.113.9",
                "timestamp": "2021-05-07T12:55:42.242Z",
            })
        );

        let session = SessionView {
            session_uri: "https://pb.example.com/session/jwt".to_owned(),
            session_token: "jwt-secret".to_owned(),
        };
        let w = Session::from(&session);
        assert_eq!(
            wire(&w),
            json!({"session_uri": "https://pb.example.com/session/jwt", "session_token": "jwt-secret"})
        );
        assert!(!format!("{w:?}{session:?}").contains("jwt-secret"));
    }
}
