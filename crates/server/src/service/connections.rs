//! Connections: one consumer × one integration. Listing includes `available` entries for every
//! configured integration the consumer has not connected yet, as Apideck's integrations page
//! expects. `state` is computed by core from the facts; `health` is persisted.

use patchbay_core::{
    ApplicationId, ConnectionId, ConsumerId, Health, IntegrationState, ServiceId, UnifiedApi,
    compute_state,
};
use patchbay_store::{ConnectionPatch, ConnectionRow, IntegrationRow, NewConnection};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Vault;
use super::audit::Actor;
use super::dto::{ConnectionView, ConsumerConnectionView, iso_ms, object_or_empty};
use super::sessions::LinkState;
use crate::error::{Error, Result};

/// Catalogue data for the one connector Patchbay ships.
pub(crate) struct Catalogue {
    pub name: &'static str,
    pub tag_line: &'static str,
    pub website: &'static str,
    pub icon: &'static str,
    pub logo: &'static str,
}

pub(crate) const SALESFORCE: Catalogue = Catalogue {
    name: "Salesforce",
    tag_line: "CRM software solutions and enterprise cloud computing from Salesforce.",
    website: "https://www.salesforce.com",
    icon: "",
    logo: "",
};

/// A service's display name for logs and pages: the catalogue's, else its id.
pub fn service_name(service: &ServiceId) -> &str {
    if *service == ServiceId::salesforce() {
        SALESFORCE.name
    } else {
        service.as_str()
    }
}

/// Writable fields of `POST`/`PATCH …/connections/{unified_api}/{service_id}`. Read-only spec
/// fields are accepted and ignored, as Apideck does; unknown fields are accepted too.
#[derive(Debug, Default, Deserialize)]
pub struct ConnectionInput {
    pub enabled: Option<bool>,
    pub settings: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// Which connection a request addresses. The application comes from the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionKey {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
}

impl ConnectionKey {
    pub fn apideck_id(&self) -> String {
        patchbay_core::connection_key(&self.unified_api, &self.service_id)
    }
}

/// Settings a caller may not set: they decide where tokens are sent, so only the OAuth flow
/// (after the allow-list check) writes them.
const PROTECTED_SETTINGS: [&str; 1] = ["instance_url"];

fn check_settings(settings: &Map<String, Value>) -> Result<()> {
    for key in PROTECTED_SETTINGS {
        if settings.contains_key(key) {
            return Err(Error::validation(format!(
                "settings.{key} is set by the OAuth flow and cannot be written"
            )));
        }
    }
    if let Some(v) = settings.get("login_url") {
        let url = v
            .as_str()
            .ok_or_else(|| Error::validation("settings.login_url must be a string"))?;
        let host =
            patchbay_core::LoginHost::parse(url).map_err(|e| Error::validation(e.to_string()))?;
        if !host.is_salesforce() {
            return Err(Error::validation(
                "settings.login_url must be a Salesforce login host (production, sandbox or My Domain)",
            ));
        }
    }
    if Value::Object(settings.clone()).to_string().len() > 16 * 1024 {
        return Err(Error::validation("settings are too large"));
    }
    Ok(())
}

impl Vault {
    /// `GET /vault/connections`: the consumer's connections plus `available` entries for
    /// configured integrations it has not added. `api` filters by unified API, `configured`
    /// by whether the integration has credentials.
    pub async fn list_connections(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        api: Option<&str>,
        configured: Option<bool>,
    ) -> Result<Vec<ConnectionView>> {
        let integrations = self.store().list_integrations(app).await?;
        let rows = match consumer {
            Some(c) => self.store().list_connections(app, Some(c)).await?,
            None => Vec::new(),
        };
        let mut out = Vec::new();
        for integration in integrations.iter().filter(|i| i.enabled) {
            if api.is_some_and(|a| a != integration.unified_api.as_str()) {
                continue;
            }
            let state = integration.to_domain()?.state();
            if configured.is_some_and(|want| want != (state == IntegrationState::Configured)) {
                continue;
            }
            let row = rows.iter().find(|r| {
                r.unified_api == integration.unified_api && r.service_id == integration.service_id
            });
            out.push(self.connection_view(integration, consumer, row)?);
        }
        Ok(out)
    }

    pub async fn get_connection(&self, key: &ConnectionKey) -> Result<ConnectionView> {
        let integration = self.enabled_integration(key).await?;
        let row = self.find_connection_row(key).await?;
        self.connection_view(&integration, Some(&key.consumer_id), row.as_ref())
    }

    /// `POST …/connections/{unified_api}/{service_id}`: adds the connection (state `added`).
    pub async fn add_connection(
        &self,
        key: &ConnectionKey,
        input: ConnectionInput,
        actor: &Actor,
    ) -> Result<ConnectionView> {
        let integration = self.enabled_integration(key).await?;
        let settings = input.settings.unwrap_or_default();
        check_settings(&settings)?;
        let now = self.now_ms();
        self.store()
            .upsert_consumer(&key.application_id, &key.consumer_id, None, now)
            .await?;
        let new = NewConnection {
            id: ConnectionId::generate(),
            application_id: key.application_id.clone(),
            consumer_id: key.consumer_id.clone(),
            unified_api: key.unified_api.clone(),
            service_id: key.service_id.clone(),
            enabled: input.enabled.unwrap_or(true),
            health: Health::Ok,
            login_url_override: settings
                .get("login_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            settings_json: Value::Object(settings).to_string(),
            metadata_json: Value::Object(input.metadata.unwrap_or_default()).to_string(),
            now_ms: now,
        };
        let row = self
            .store()
            .create_connection(&new)
            .await
            .map_err(|e| match e {
                patchbay_store::StoreError::Conflict(_) => {
                    Error::Conflict("the connection already exists".to_owned())
                }
                other => other.into(),
            })?;
        self.audit(
            Some(&key.application_id),
            actor,
            "connection.create",
            row.id.as_str(),
            audit_details(key),
        )
        .await?;
        self.connection_view(&integration, Some(&key.consumer_id), Some(&row))
    }

    /// `PATCH …`: `enabled`, `settings` (merged), `metadata` (replaced).
    pub async fn update_connection(
        &self,
        key: &ConnectionKey,
        input: ConnectionInput,
    ) -> Result<ConnectionView> {
        let integration = self.enabled_integration(key).await?;
        let row = self.connection_row(key).await?;
        let mut patch = ConnectionPatch {
            enabled: input.enabled,
            ..ConnectionPatch::default()
        };
        if let Some(settings) = input.settings {
            check_settings(&settings)?;
            if settings.contains_key("login_url") {
                // The login host is part of the grant: changing it means authorizing again.
                return Err(Error::validation(
                    "settings.login_url can only be set when the connection is added; delete and add it to change the login host",
                ));
            }
            let mut merged = object_or_empty(&row.settings_json);
            for (k, v) in settings {
                if v.is_null() {
                    merged.remove(&k);
                } else {
                    merged.insert(k, v);
                }
            }
            patch.settings_json = Some(Value::Object(merged).to_string());
        }
        if let Some(metadata) = input.metadata {
            patch.metadata_json = Some(Value::Object(metadata).to_string());
        }
        let row = self
            .store()
            .update_connection(&key.application_id, &row.id, &patch, self.now_ms())
            .await?
            .ok_or(Error::ConnectionNotFound)?;
        self.forget_cached_tokens();
        self.connection_view(&integration, Some(&key.consumer_id), Some(&row))
    }

    /// `DELETE …`: revokes the grant at the provider (best effort, with retries), then wipes the
    /// connection and its credentials. The local delete never waits on the provider's verdict.
    pub async fn delete_connection(&self, key: &ConnectionKey, actor: &Actor) -> Result<()> {
        let row = self.connection_row(key).await?;
        let revoked = self.revoke_at_provider_best_effort(&row).await;
        if !self
            .store()
            .delete_connection(&key.application_id, &row.id)
            .await?
        {
            return Err(Error::ConnectionNotFound);
        }
        self.forget_cached_tokens();
        let mut details = audit_details(key);
        details["revoked_at_provider"] = Value::Bool(revoked);
        self.audit(
            Some(&key.application_id),
            actor,
            "connection.delete",
            row.id.as_str(),
            details,
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn enabled_integration(&self, key: &ConnectionKey) -> Result<IntegrationRow> {
        let integration = self
            .store()
            .get_integration(&key.application_id, &key.unified_api, &key.service_id)
            .await?
            .filter(|i| i.enabled)
            .ok_or(Error::ConnectionNotFound)?;
        Ok(integration)
    }

    pub(crate) async fn find_connection_row(
        &self,
        key: &ConnectionKey,
    ) -> Result<Option<ConnectionRow>> {
        Ok(self
            .store()
            .find_connection(
                &key.application_id,
                &key.consumer_id,
                &key.unified_api,
                &key.service_id,
            )
            .await?)
    }

    pub(crate) async fn connection_row(&self, key: &ConnectionKey) -> Result<ConnectionRow> {
        self.find_connection_row(key)
            .await?
            .ok_or(Error::ConnectionNotFound)
    }

    /// Builds the spec's `Connection` from an integration and, when it exists, the row.
    pub(crate) fn connection_view(
        &self,
        integration: &IntegrationRow,
        consumer: Option<&ConsumerId>,
        row: Option<&ConnectionRow>,
    ) -> Result<ConnectionView> {
        let domain = integration.to_domain()?;
        let integration_state = domain.state();
        let state = compute_state(integration_state, row.map(|r| r.facts(true)).as_ref());
        let link = consumer.map(|c| LinkState {
            application_id: integration.application_id.clone(),
            consumer_id: c.clone(),
            unified_api: integration.unified_api.clone(),
            service_id: integration.service_id.clone(),
        });
        let base = format!("{}/vault", self.public_url());
        let authorize_url = match (&link, integration_state) {
            (Some(l), IntegrationState::Configured) => Some(format!(
                "{base}/authorize/{}/{}?state={}",
                integration.service_id,
                integration.application_id,
                self.link_state(l, false)?
            )),
            _ => None,
        };
        let revoke_url = match (&link, row) {
            (Some(l), Some(r)) if r.has_tokens() => Some(format!(
                "{base}/revoke/{}/{}?state={}",
                integration.service_id,
                integration.application_id,
                self.link_state(l, true)?
            )),
            _ => None,
        };
        let mut settings = row
            .map(|r| object_or_empty(&r.settings_json))
            .unwrap_or_default();
        if let Some(url) = row.and_then(|r| r.instance_url.as_ref()) {
            settings.insert("instance_url".to_owned(), Value::String(url.clone()));
        }
        let cat = &SALESFORCE;
        Ok(ConnectionView {
            id: patchbay_core::connection_key(&integration.unified_api, &integration.service_id),
            service_id: integration.service_id.to_string(),
            name: cat.name.to_owned(),
            tag_line: cat.tag_line.to_owned(),
            unified_api: integration.unified_api.to_string(),
            state: state.as_str(),
            integration_state: integration_state.as_str(),
            auth_type: "oauth2",
            oauth_grant_type: "authorization_code",
            status: "live",
            enabled: row.is_some_and(|r| r.enabled),
            website: cat.website.to_owned(),
            icon: cat.icon.to_owned(),
            logo: cat.logo.to_owned(),
            authorize_url,
            revoke_url,
            settings: Some(Value::Object(settings)),
            metadata: Some(Value::Object(
                row.map(|r| object_or_empty(&r.metadata_json))
                    .unwrap_or_default(),
            )),
            form_fields: Vec::new(),
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
            health: row.map_or(Health::Ok, |r| r.health).as_str(),
            credentials_expire_at: row.and_then(|r| r.credentials_expire_at).unwrap_or(0),
            last_refresh_failed_at: row.and_then(|r| r.last_refresh_failed_at).unwrap_or(0),
            last_downstream_error_at: row.and_then(|r| r.last_downstream_error_at).unwrap_or(0),
            created_at: row.map_or(0, |r| r.created_at),
            updated_at: row.map(|r| r.updated_at),
        })
    }

    pub(crate) async fn consumer_connection_view(
        &self,
        row: &ConnectionRow,
    ) -> Result<ConsumerConnectionView> {
        let integration = self
            .store()
            .get_integration(&row.application_id, &row.unified_api, &row.service_id)
            .await?;
        let integration_state = match &integration {
            Some(i) => i.to_domain()?.state(),
            None => IntegrationState::Disabled,
        };
        let state = compute_state(integration_state, Some(&row.facts(true)));
        let mut settings = object_or_empty(&row.settings_json);
        if let Some(url) = &row.instance_url {
            settings.insert("instance_url".to_owned(), Value::String(url.clone()));
        }
        let cat = &SALESFORCE;
        Ok(ConsumerConnectionView {
            id: patchbay_core::connection_key(&row.unified_api, &row.service_id),
            name: cat.name.to_owned(),
            icon: cat.icon.to_owned(),
            logo: cat.logo.to_owned(),
            website: cat.website.to_owned(),
            tag_line: cat.tag_line.to_owned(),
            service_id: row.service_id.to_string(),
            unified_api: row.unified_api.to_string(),
            consumer_id: row.consumer_id.to_string(),
            auth_type: "oauth2",
            enabled: row.enabled,
            settings: Value::Object(settings),
            metadata: Value::Object(object_or_empty(&row.metadata_json)),
            created_at: iso_ms(row.created_at),
            updated_at: Some(iso_ms(row.updated_at)),
            state: state.as_str(),
            health: row.health.as_str(),
            credentials_expire_at: row.credentials_expire_at.map(iso_ms),
            last_refresh_failed_at: row.last_refresh_failed_at.map(iso_ms),
        })
    }
}

pub(crate) fn audit_details(key: &ConnectionKey) -> Value {
    serde_json::json!({
        "consumer_id": key.consumer_id.as_str(),
        "unified_api": key.unified_api.as_str(),
        "service_id": key.service_id.as_str(),
    })
}
