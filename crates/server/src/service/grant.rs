//! Writing a fresh grant (callback, import) and the OAuth plumbing shared by the connect
//! flow and credential operations: the usable integration, its client configuration, the
//! `instance_url` allow-list check, and diagnoses that name the provider setting to change.

use patchbay_core::{ApplicationId, ConnectionId, Health};
use patchbay_oauth::{ClientConfig, ClientSecret, DiagnosisContext, TokenSet};
use patchbay_store::{IntegrationRow, NewConnection, SealedColumn, TokenWrite};

use super::Vault;
use super::connections::ConnectionKey;
use crate::error::{Error, Result};

/// Refresh this long before the assumed expiry.
pub(crate) const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

impl Vault {
    /// Writes a fresh grant: creates the connection if needed, then the sealed tokens. A
    /// connection created here is removed again if the token write fails, so a failed flow
    /// leaves nothing behind. Returns the id and whether the connection is new.
    pub(crate) async fn store_grant(
        &self,
        key: &ConnectionKey,
        integration: &IntegrationRow,
        tokens: &TokenSet,
        instance_url: Option<String>,
        health: Health,
    ) -> Result<(ConnectionId, bool)> {
        let now = self.now_ms();
        self.store()
            .upsert_consumer(&key.application_id, &key.consumer_id, None, now)
            .await?;
        let (row, created) = match self.find_connection_row(key).await? {
            Some(row) => (row, false),
            None => {
                let created = self
                    .store()
                    .create_connection(&NewConnection {
                        id: ConnectionId::generate(),
                        application_id: key.application_id.clone(),
                        consumer_id: key.consumer_id.clone(),
                        unified_api: key.unified_api.clone(),
                        service_id: key.service_id.clone(),
                        enabled: true,
                        health,
                        login_url_override: None,
                        settings_json: "{}".to_owned(),
                        metadata_json: "{}".to_owned(),
                        now_ms: now,
                    })
                    .await;
                match created {
                    Ok(row) => (row, true),
                    // A concurrent callback for the same consumer created it first: use it.
                    Err(patchbay_store::StoreError::Conflict(_)) => (
                        self.find_connection_row(key)
                            .await?
                            .ok_or(Error::ConnectionNotFound)?,
                        false,
                    ),
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let lifetime = std::time::Duration::from_secs(
            u64::try_from(integration.session_timeout_s).unwrap_or(7200),
        );
        let expires_at = tokens.expires_at_ms(lifetime);
        let write = self.token_write(
            &row.application_id,
            &row.id,
            tokens,
            instance_url,
            Some(expires_at),
            health,
            now,
        );
        let stored = match write {
            Ok(w) => self
                .store()
                .set_tokens(&row.id, &w)
                .await
                .map_err(Error::from),
            Err(e) => Err(e),
        };
        self.forget_cached_tokens();
        match stored {
            Ok(Some(_)) => Ok((row.id, created)),
            Ok(None) | Err(_) if created => {
                if let Err(e) = self
                    .store()
                    .delete_connection(&key.application_id, &row.id)
                    .await
                {
                    tracing::error!(error = %crate::error::chain(&e), "could not remove a half-made connection");
                }
                Err(stored.err().unwrap_or(Error::ConnectionNotFound))
            }
            Ok(None) => Err(Error::ConnectionNotFound),
            Err(e) => Err(e),
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site per grant kind; a struct would only rename the arguments"
    )]
    pub(crate) fn token_write(
        &self,
        app: &ApplicationId,
        id: &ConnectionId,
        tokens: &TokenSet,
        instance_url: Option<String>,
        expires_at: Option<i64>,
        health: Health,
        now: i64,
    ) -> Result<TokenWrite> {
        let access = self.seal(
            app,
            SealedColumn::ConnectionAccessToken,
            id.as_str(),
            tokens.access_token.expose_secret(),
        )?;
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| {
                self.seal(
                    app,
                    SealedColumn::ConnectionRefreshToken,
                    id.as_str(),
                    t.expose_secret(),
                )
            })
            .transpose()?;
        Ok(TokenWrite {
            access_token: access,
            refresh_token: refresh,
            instance_url,
            granted_scopes: tokens.scope.as_ref().map(|s| s.to_string()),
            issued_at: Some(tokens.issued_at_ms),
            expires_at,
            next_refresh_at: Some(expires_at.map_or(now, |e| (e - REFRESH_MARGIN_MS).max(now))),
            health,
            now_ms: now,
        })
    }

    /// The integration, enabled and with credentials, or the Apideck error saying which.
    pub(crate) async fn usable_integration(&self, key: &ConnectionKey) -> Result<IntegrationRow> {
        let integration = self
            .store()
            .get_integration(&key.application_id, &key.unified_api, &key.service_id)
            .await?
            .ok_or(Error::IntegrationNotFound)?;
        if !integration.enabled {
            return Err(Error::ConnectorDisabled);
        }
        if integration.client_id.as_deref().is_none_or(str::is_empty)
            || integration.client_secret_sealed.is_none()
        {
            return Err(Error::OAuthCredentialsNotFound);
        }
        Ok(integration)
    }

    /// The OAuth client for `integration` at `login_url`; the secret only when needed.
    pub(crate) fn client_config(
        &self,
        integration: &IntegrationRow,
        login_url: &str,
        with_secret: bool,
    ) -> Result<ClientConfig> {
        let secret = if with_secret {
            self.client_secret(integration)?.map(ClientSecret::from)
        } else {
            None
        };
        let connector = patchbay_connectors::registry::connector(integration.service_id.as_str())
            .ok_or_else(|| {
            Error::validation(format!("no connector serves {}", integration.service_id))
        })?;
        patchbay_connectors::oauth_client::oauth_client(
            connector,
            login_url,
            integration.client_id.clone().unwrap_or_default(),
            secret,
        )
        .map_err(|e| Error::OAuthConnector(self.diagnose(&e, login_url)))
    }

    /// Checks `instance_url` from a token response by the connector's rule (which instances it
    /// trusts for an integration on `login_url`) and returns the normalised origin to store. A
    /// provider without per-connection instances stores none, whatever the response says.
    pub(crate) fn checked_instance_url(
        &self,
        service_id: &patchbay_core::ServiceId,
        login_url: &str,
        tokens: &TokenSet,
    ) -> Result<Option<String>> {
        let Some(url) = &tokens.instance_url else {
            return Ok(None);
        };
        let connector = patchbay_connectors::registry::connector(service_id.as_str())
            .ok_or_else(|| Error::validation(format!("no connector serves {service_id}")))?;
        if !connector.oauth_profile().per_connection_instance {
            return Ok(None);
        }
        connector
            .check_instance_url(login_url, url.as_str())
            .map(Some)
            .map_err(|e| {
                Error::OAuthConnector(format!(
                    "the provider returned an instance_url Patchbay does not trust ({e}); tokens were not stored. Check the integration's login URL."
                ))
            })
    }

    pub(crate) fn diag_ctx(&self, login_url: &str) -> DiagnosisContext {
        DiagnosisContext::new(self.public_url(), login_url)
    }

    pub(crate) fn diagnose(&self, e: &patchbay_oauth::OAuthError, login_url: &str) -> String {
        diagnosis_text(&patchbay_oauth::diagnose_error(
            e,
            &self.diag_ctx(login_url),
        ))
    }
}

/// "What happened. Fix: what to change."
pub(crate) fn diagnosis_text(d: &patchbay_oauth::Diagnosis) -> String {
    match &d.fix {
        Some(fix) => format!("{} Fix: {fix}", d.message),
        None => d.message.clone(),
    }
}
