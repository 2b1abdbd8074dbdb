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
use super::form_fields::{LOGIN_URL, check_login_url, form_fields};
use super::sessions::LinkState;
use super::views::{
    CatalogueView, ConnectionSettings, ConnectionView, ConsumerConnectionView, object_or_empty,
};
use crate::error::{Error, Result};

/// Catalogue data of a connector (its `Display`), or a plain one for a service no connector
/// serves.
pub(crate) struct Catalogue {
    pub name: &'static str,
    pub tag_line: &'static str,
    pub website: &'static str,
    /// File names under `/assets/connectors/` (see `routes/assets.rs`).
    pub icon: &'static str,
    pub logo: &'static str,
}

impl Catalogue {
    /// Absolute URLs of the icon and logo, served by this deployment.
    pub fn image_urls(&self, public_url: &str) -> (String, String) {
        let base = format!("{}/assets/connectors", public_url.trim_end_matches('/'));
        (
            format!("{base}/{}", self.icon),
            format!("{base}/{}", self.logo),
        )
    }
}

/// The catalogue entry of `service`, from its connector in the registry.
pub(crate) fn catalogue(service: &ServiceId) -> Catalogue {
    match patchbay_connectors::registry::connector(service.as_str()) {
        Some(c) => {
            let d = c.display();
            Catalogue {
                name: d.name,
                tag_line: d.tag_line,
                website: d.website,
                icon: d.icon,
                logo: d.logo,
            }
        }
        None => Catalogue {
            name: "",
            tag_line: "",
            website: "",
            icon: "",
            logo: "",
        },
    }
}

/// A service's display name for logs and pages: the catalogue's, else its id.
pub fn service_name(service: &ServiceId) -> &str {
    match patchbay_connectors::registry::connector(service.as_str()) {
        Some(c) => c.display().name,
        None => service.as_str(),
    }
}

/// The connector serving `service`, or a validation error naming it.
fn connector_for(
    service: &ServiceId,
) -> Result<&'static dyn patchbay_connectors::connector::Connector> {
    patchbay_connectors::registry::connector(service.as_str())
        .ok_or_else(|| Error::validation(format!("no connector serves {service}")))
}

/// Writable fields of `POST`/`PATCH …/connections/{unified_api}/{service_id}`. Read-only spec
/// fields are accepted and ignored, as Apideck does; unknown fields are accepted too.
#[derive(Debug, Default, Deserialize)]
pub struct ConnectionInput {
    pub enabled: Option<bool>,
    pub settings: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// What a connection view may offer its reader: a session without `reauthorize` gets no
/// `authorize_url` for a connection that already holds tokens (authorizing again would replace
/// them), and one without `disconnect` gets no `revoke_url`. The links are credentials in
/// their own right, so leaving them out is the enforcement, not a cosmetic choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub reauthorize: bool,
    pub disconnect: bool,
}

impl Offer {
    /// An API key's view: every link.
    pub const ALL: Offer = Offer {
        reauthorize: true,
        disconnect: true,
    };
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

fn check_settings(settings: &mut Map<String, Value>, integration: &IntegrationRow) -> Result<()> {
    let integration_login_url = integration.login_url.as_str();
    for key in PROTECTED_SETTINGS {
        if settings.contains_key(key) {
            return Err(Error::validation(format!(
                "settings.{key} is set by the OAuth flow and cannot be written"
            )));
        }
    }
    if let Some(v) = settings.get(LOGIN_URL) {
        let url = v
            .as_str()
            .ok_or_else(|| Error::validation("settings.login_url must be a string"))?;
        let connector = connector_for(&integration.service_id)?;
        let normalized = check_login_url(connector, url, integration_login_url)?;
        settings.insert(LOGIN_URL.to_owned(), Value::String(normalized));
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
    #[tracing::instrument(skip_all, fields(app = %app, consumer = ?consumer))]
    pub async fn list_connections(
        &self,
        app: &ApplicationId,
        consumer: Option<&ConsumerId>,
        api: Option<&str>,
        configured: Option<bool>,
        offer: Offer,
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
            out.push(self.connection_view_offered(integration, consumer, row, offer)?);
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn get_connection(&self, key: &ConnectionKey) -> Result<ConnectionView> {
        self.get_connection_offered(key, Offer::ALL).await
    }

    /// [`Vault::get_connection`] as a caller limited by `offer` sees it.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn get_connection_offered(
        &self,
        key: &ConnectionKey,
        offer: Offer,
    ) -> Result<ConnectionView> {
        let integration = self.enabled_integration(key).await?;
        let row = self.find_connection_row(key).await?;
        self.connection_view_offered(&integration, Some(&key.consumer_id), row.as_ref(), offer)
    }

    /// `POST …/connections/{unified_api}/{service_id}`: adds the connection (state `added`).
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn add_connection(
        &self,
        key: &ConnectionKey,
        input: ConnectionInput,
        actor: &Actor,
    ) -> Result<ConnectionView> {
        let integration = self.enabled_integration(key).await?;
        let mut settings = input.settings.unwrap_or_default();
        check_settings(&mut settings, &integration)?;
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

    /// `PATCH …` as Apideck answers it: `{"enabled": true}` on a connection the consumer has
    /// not added yet adds it (the embeddable modal's "add" click), for a brand-new consumer
    /// too; otherwise an update.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn patch_connection(
        &self,
        key: &ConnectionKey,
        input: ConnectionInput,
        actor: &Actor,
    ) -> Result<ConnectionView> {
        if input.enabled == Some(true) && self.find_connection_row(key).await?.is_none() {
            return match self.add_connection(key, input, actor).await {
                // Two clicks raced: the other one added it; answer with what is there.
                Err(Error::Conflict(_)) => self.get_connection(key).await,
                other => other,
            };
        }
        self.update_connection(key, input).await
    }

    /// `PATCH …`: `enabled`, `settings` (merged), `metadata` (replaced).
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
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
        let mut row = row;
        if let Some(mut settings) = input.settings {
            check_settings(&mut settings, &integration)?;
            if let Some(login_url) = settings.get(LOGIN_URL).and_then(Value::as_str) {
                row = self.change_login_host(&row, login_url).await?;
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

    /// A new login host for the connection. The grant belongs to the old host, so a connection
    /// holding tokens gives them up (revoked at the provider, best effort) and must be
    /// authorized again, as Apideck does for settings required for authorization.
    async fn change_login_host(
        &self,
        row: &ConnectionRow,
        login_url: &str,
    ) -> Result<ConnectionRow> {
        if row.login_url_override.as_deref() == Some(login_url) {
            return Ok(row.clone());
        }
        if row.has_tokens() {
            self.revoke_at_provider_best_effort(row).await;
            self.store()
                .clear_tokens(&row.id, Health::Ok, self.now_ms())
                .await?;
            self.forget_cached_tokens();
        }
        self.store()
            .set_login_url_override(&row.application_id, &row.id, Some(login_url), self.now_ms())
            .await?;
        self.store()
            .get_connection(&row.id)
            .await?
            .ok_or(Error::ConnectionNotFound)
    }

    /// `DELETE …`: revokes the grant at the provider (best effort, with retries), then wipes the
    /// connection and its credentials. The local delete never waits on the provider's verdict.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
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

    /// Whether the connection exists and holds tokens.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn connection_has_tokens(&self, key: &ConnectionKey) -> Result<bool> {
        Ok(self
            .find_connection_row(key)
            .await?
            .is_some_and(|r| r.has_tokens()))
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

    /// The connection view of an integration and, when it exists, the consumer's row.
    pub(crate) fn connection_view(
        &self,
        integration: &IntegrationRow,
        consumer: Option<&ConsumerId>,
        row: Option<&ConnectionRow>,
    ) -> Result<ConnectionView> {
        self.connection_view_offered(integration, consumer, row, Offer::ALL)
    }

    pub(crate) fn connection_view_offered(
        &self,
        integration: &IntegrationRow,
        consumer: Option<&ConsumerId>,
        row: Option<&ConnectionRow>,
        offer: Offer,
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
        let has_tokens = row.is_some_and(ConnectionRow::has_tokens);
        let authorize_url = match (&link, integration_state) {
            (Some(_), IntegrationState::Configured) if has_tokens && !offer.reauthorize => None,
            (Some(l), IntegrationState::Configured) => Some(format!(
                "{base}/authorize/{}/{}?state={}",
                integration.service_id,
                integration.application_id,
                self.link_state(l, false)?
            )),
            _ => None,
        };
        let revoke_url = match (&link, row) {
            (Some(l), Some(r)) if r.has_tokens() && offer.disconnect => Some(format!(
                "{base}/revoke/{}/{}?state={}",
                integration.service_id,
                integration.application_id,
                self.link_state(l, true)?
            )),
            _ => None,
        };
        let settings = row.map_or_else(ConnectionSettings::default, |r| {
            ConnectionSettings::parse(&r.settings_json, r.instance_url.as_deref())
        });
        Ok(ConnectionView {
            id: patchbay_core::connection_key(&integration.unified_api, &integration.service_id),
            service_id: integration.service_id.clone(),
            unified_api: integration.unified_api.clone(),
            catalogue: self.catalogue_view(&integration.service_id),
            state,
            integration_state,
            enabled: row.is_some_and(|r| r.enabled),
            authorize_url,
            revoke_url,
            settings,
            metadata: row
                .map(|r| object_or_empty(&r.metadata_json))
                .unwrap_or_default(),
            form_fields: form_fields(
                connector_for(&integration.service_id)?,
                &integration.login_url,
                row.and_then(|r| r.login_url_override.as_deref()),
            ),
            health: row.map_or(Health::Ok, |r| r.health),
            credentials_expire_at: row.and_then(|r| r.credentials_expire_at),
            last_refresh_failed_at: row.and_then(|r| r.last_refresh_failed_at),
            last_downstream_error_at: row.and_then(|r| r.last_downstream_error_at),
            created_at: row.map(|r| r.created_at),
            updated_at: row.map(|r| r.updated_at),
        })
    }

    /// The catalogue entry of `service` with image URLs on this deployment.
    fn catalogue_view(&self, service: &ServiceId) -> CatalogueView {
        let cat = catalogue(service);
        let (icon, logo) = cat.image_urls(self.public_url());
        CatalogueView {
            name: cat.name.to_owned(),
            tag_line: cat.tag_line.to_owned(),
            website: cat.website.to_owned(),
            icon,
            logo,
        }
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
        Ok(ConsumerConnectionView {
            id: patchbay_core::connection_key(&row.unified_api, &row.service_id),
            service_id: row.service_id.clone(),
            unified_api: row.unified_api.clone(),
            consumer_id: row.consumer_id.clone(),
            catalogue: self.catalogue_view(&row.service_id),
            enabled: row.enabled,
            settings: ConnectionSettings::parse(&row.settings_json, row.instance_url.as_deref()),
            metadata: object_or_empty(&row.metadata_json),
            state,
            health: row.health,
            created_at: row.created_at,
            updated_at: row.updated_at,
            credentials_expire_at: row.credentials_expire_at,
            last_refresh_failed_at: row.last_refresh_failed_at,
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
