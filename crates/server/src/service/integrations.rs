//! Integrations: a connector configured for one application, holding the app-level OAuth
//! client. Secrets are sealed before they reach the store and never come back out of this
//! module; views say only whether a secret is stored.
//!
//! Credential rotation without downtime: stage a second client id and secret, then promote the
//! staged set to main. Connections keep their refresh tokens, which the provider honours for any
//! credential set of the same app; after a full replacement (Connected App migrated to an
//! External Client App) existing connections keep working because refresh sends only the
//! client id unless the integration asks for the secret.

use patchbay_core::{ApplicationId, Integration, Scopes, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_store::{IntegrationRow, IntegrationWrite, SealedColumn};

use super::Vault;
use crate::error::{Error, Result};

/// A change to an integration. `None` keeps the current value (or the default on creation).
#[derive(Default)]
pub struct IntegrationInput {
    pub enabled: Option<bool>,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    pub staged_client_id: Option<String>,
    pub staged_client_secret: Option<SecretString>,
    pub login_url: Option<String>,
    pub scopes: Option<String>,
    pub send_secret_on_refresh: Option<bool>,
    pub pkce: Option<bool>,
    /// Seconds between CRM change polls (webhook events); kept in the settings object.
    pub crm_poll_interval_s: Option<u32>,
}

impl std::fmt::Debug for IntegrationInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationInput")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("staged_client_id", &self.staged_client_id)
            .field("login_url", &self.login_url)
            .field("scopes", &self.scopes)
            .field("crm_poll_interval_s", &self.crm_poll_interval_s)
            .finish_non_exhaustive()
    }
}

/// Connectors Patchbay can configure.
pub fn check_supported(unified_api: &UnifiedApi, service_id: &ServiceId) -> Result<()> {
    if unified_api.as_str() == "crm"
        && patchbay_connectors::registry::connector(service_id.as_str()).is_some()
    {
        Ok(())
    } else {
        let known: Vec<String> = patchbay_connectors::registry::all()
            .map(|c| format!("crm/{}", c.service_id()))
            .collect();
        Err(Error::validation(format!(
            "unsupported connector: available are {}",
            known.join(", ")
        )))
    }
}

pub(crate) fn integration_row_id(unified_api: &UnifiedApi, service_id: &ServiceId) -> String {
    format!("{unified_api}/{service_id}")
}

impl Vault {
    /// Creates or changes an integration (`patchbay integrations set`).
    #[tracing::instrument(skip_all, fields(app = %app, unified_api = %unified_api, service_id = %service_id))]
    pub async fn set_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
        input: IntegrationInput,
    ) -> Result<Integration> {
        check_supported(unified_api, service_id)?;
        self.get_application(app).await?;
        let now = self.now_ms();
        let existing = self
            .store()
            .get_integration(app, unified_api, service_id)
            .await?;
        let mut w = match &existing {
            Some(row) => write_from_row(row, now),
            None => {
                // A new integration starts from its own connector's defaults.
                let connector = patchbay_connectors::registry::connector(service_id.as_str())
                    .ok_or_else(|| {
                        Error::validation(format!("unsupported connector: {service_id}"))
                    })?;
                IntegrationWrite::new(
                    app.clone(),
                    unified_api.clone(),
                    service_id.clone(),
                    &connector.default_settings(),
                    now,
                )
            }
        };
        let row_id = integration_row_id(unified_api, service_id);
        let mut changed: Vec<&str> = Vec::new();
        if let Some(enabled) = input.enabled {
            w.enabled = enabled;
        }
        if let Some(id) = input.client_id {
            let id = non_empty("client id", id)?;
            if w.client_id.as_deref() != Some(id.as_str()) {
                changed.push("client_id");
            }
            w.client_id = Some(id);
        }
        if let Some(secret) = input.client_secret {
            if secret.is_empty() {
                return Err(Error::validation("client secret must not be empty"));
            }
            w.client_secret_sealed = Some(self.seal(
                app,
                SealedColumn::IntegrationClientSecret,
                &row_id,
                secret.expose_secret(),
            )?);
            changed.push("client_secret");
        }
        if let Some(id) = input.staged_client_id {
            w.staged_client_id = Some(non_empty("staged client id", id)?);
            changed.push("staged_client_id");
        }
        if let Some(secret) = input.staged_client_secret {
            if secret.is_empty() {
                return Err(Error::validation("staged client secret must not be empty"));
            }
            w.staged_client_secret_sealed = Some(self.seal(
                app,
                SealedColumn::IntegrationStagedClientSecret,
                &row_id,
                secret.expose_secret(),
            )?);
            changed.push("staged_client_secret");
        }
        if w.staged_client_secret_sealed.is_some() && w.staged_client_id.is_none() {
            return Err(Error::validation(
                "a staged client secret needs a staged client id",
            ));
        }
        if let Some(url) = input.login_url {
            let connector = patchbay_connectors::registry::connector(service_id.as_str())
                .ok_or_else(|| Error::validation(format!("no connector serves {service_id}")))?;
            w.login_url = connector
                .check_login_url(url.trim())
                .map_err(Error::validation)?;
        }
        if let Some(scopes) = input.scopes {
            w.scopes = Scopes::parse(&scopes)
                .map_err(|e| Error::validation(e.to_string()))?
                .to_string();
        }
        if let Some(v) = input.send_secret_on_refresh {
            w.send_secret_on_refresh = v;
        }
        if let Some(v) = input.pkce {
            w.pkce = v;
        }
        if let Some(seconds) = input.crm_poll_interval_s {
            let seconds = patchbay_core::check_crm_poll_interval(seconds)
                .map_err(|e| Error::validation(e.to_string()))?;
            let mut settings = match serde_json::from_str::<serde_json::Value>(&w.settings_json) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            settings.insert(
                patchbay_core::integration::CRM_POLL_INTERVAL_KEY.to_owned(),
                seconds.into(),
            );
            w.settings_json = serde_json::Value::Object(settings).to_string();
        }
        let row = self.store().upsert_integration(&w).await?;
        self.forget_cached_tokens();
        if !changed.is_empty() {
            self.audit_admin(
                app,
                "integration.credentials_change",
                &row_id,
                serde_json::json!({ "fields": changed }),
            )
            .await?;
        }
        Ok(row.to_domain()?)
    }

    #[tracing::instrument(skip_all, fields(app = %app, unified_api = %unified_api, service_id = %service_id))]
    pub async fn get_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<Integration> {
        Ok(self
            .integration_row(app, unified_api, service_id)
            .await?
            .to_domain()?)
    }

    pub(crate) async fn integration_row(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<IntegrationRow> {
        self.store()
            .get_integration(app, unified_api, service_id)
            .await?
            .ok_or(Error::IntegrationNotFound)
    }

    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn list_integrations(&self, app: &ApplicationId) -> Result<Vec<Integration>> {
        let rows = self.store().list_integrations(app).await?;
        Ok(rows
            .iter()
            .map(IntegrationRow::to_domain)
            .collect::<Result<Vec<_>, _>>()?)
    }

    #[tracing::instrument(skip_all, fields(app = %app, unified_api = %unified_api, service_id = %service_id))]
    pub async fn disable_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<()> {
        let done = self
            .store()
            .set_integration_enabled(app, unified_api, service_id, false, self.now_ms())
            .await?;
        self.forget_cached_tokens();
        if !done {
            return Err(Error::IntegrationNotFound);
        }
        self.audit_admin(
            app,
            "integration.disable",
            &integration_row_id(unified_api, service_id),
            serde_json::json!({}),
        )
        .await
    }

    /// Makes the staged credential set the main one.
    #[tracing::instrument(skip_all, fields(app = %app, unified_api = %unified_api, service_id = %service_id))]
    pub async fn promote_staged_credentials(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service_id: &ServiceId,
    ) -> Result<Integration> {
        let row = self.integration_row(app, unified_api, service_id).await?;
        if row.staged_client_id.is_none() {
            return Err(Error::InvalidState(
                "no staged credentials to promote".to_owned(),
            ));
        }
        let row_id = integration_row_id(unified_api, service_id);
        let main_sealed = match &row.staged_client_secret_sealed {
            Some(staged) => {
                let secret = self.open(
                    app,
                    SealedColumn::IntegrationStagedClientSecret,
                    &row_id,
                    staged,
                )?;
                Some(self.seal(
                    app,
                    SealedColumn::IntegrationClientSecret,
                    &row_id,
                    secret.expose_secret(),
                )?)
            }
            None => None,
        };
        let done = self
            .store()
            .promote_staged_credentials(
                app,
                unified_api,
                service_id,
                main_sealed.as_ref(),
                row.version,
                self.now_ms(),
            )
            .await?;
        self.forget_cached_tokens();
        if !done {
            return Err(Error::Conflict(
                "the integration changed meanwhile; retry".to_owned(),
            ));
        }
        self.audit_admin(
            app,
            "integration.credentials_promote",
            &row_id,
            serde_json::json!({}),
        )
        .await?;
        self.get_integration(app, unified_api, service_id).await
    }

    /// The integration's main client secret, opened (for OAuth calls only).
    pub(crate) fn client_secret(&self, row: &IntegrationRow) -> Result<Option<SecretString>> {
        let row_id = integration_row_id(&row.unified_api, &row.service_id);
        row.client_secret_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &row.application_id,
                    SealedColumn::IntegrationClientSecret,
                    &row_id,
                    s,
                )
            })
            .transpose()
    }
}

fn non_empty(what: &str, s: String) -> Result<String> {
    let t = s.trim();
    if t.is_empty() || t.len() > 255 {
        return Err(Error::validation(format!(
            "{what} must be 1..=255 characters"
        )));
    }
    Ok(t.to_owned())
}

fn write_from_row(row: &IntegrationRow, now_ms: i64) -> IntegrationWrite {
    IntegrationWrite {
        application_id: row.application_id.clone(),
        unified_api: row.unified_api.clone(),
        service_id: row.service_id.clone(),
        enabled: row.enabled,
        client_id: row.client_id.clone(),
        client_secret_sealed: row.client_secret_sealed.clone(),
        staged_client_id: row.staged_client_id.clone(),
        staged_client_secret_sealed: row.staged_client_secret_sealed.clone(),
        login_url: row.login_url.clone(),
        scopes: row.scopes.clone(),
        send_secret_on_refresh: row.send_secret_on_refresh,
        pkce: row.pkce,
        session_timeout_s: row.session_timeout_s,
        settings_json: row.settings_json.clone(),
        now_ms,
    }
}
