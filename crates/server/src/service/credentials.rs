//! A connection's credentials after the connect flow: forced refresh (`validate`), import of
//! tokens obtained elsewhere, the audited export, and revocation at the provider.

use patchbay_core::{Health, compute_state};
use patchbay_oauth::{AccessToken, ErrorClass, RefreshToken, TokenRef, TokenSet};
use patchbay_refresh::{RefreshError, SweepReport, Sweeper, SweeperConfig};
use patchbay_store::{ConnectionRow, SealedColumn};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Vault;
use super::audit::Actor;
use super::connect::{REFRESH_MARGIN_MS, allowed_redirect};
use super::connections::{ConnectionKey, audit_details};
use super::views::ConnectionStateView;
use crate::error::{Error, Result};

/// `credentials` of the spec's `ConnectionImportData`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCredentials {
    pub access_token: AccessToken,
    pub refresh_token: Option<RefreshToken>,
    /// RFC 3339.
    pub issued_at: Option<String>,
    /// Seconds.
    pub expires_in: Option<i64>,
}

/// Body of `POST …/import` (spec `ConnectionImportData`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub credentials: ImportCredentials,
    pub settings: Option<Map<String, Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// What the audited export returns. Holds plaintext tokens: never logged, never `Debug`.
#[derive(Serialize)]
pub struct ExportedCredentials {
    pub id: String,
    pub service_id: String,
    pub unified_api: String,
    pub consumer_id: String,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub instance_url: Option<String>,
    pub token_issued_at: Option<i64>,
    pub token_expires_at: Option<i64>,
    pub granted_scopes: Option<String>,
}

impl std::fmt::Debug for ExportedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedCredentials")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// `POST …/validate`: forces a refresh whatever the expiry (through the process's
    /// coordinator, so it is shared with concurrent callers and serialised across nodes) and
    /// returns the recomputed state. A dead grant is an answer here (state `invalid`), not an
    /// error; a rejected OAuth client names the provider setting to change.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn validate_connection(&self, key: &ConnectionKey) -> Result<ConnectionStateView> {
        let integration = self.enabled_integration(key).await?;
        let row = self.connection_row(key).await?;
        if row.refresh_token_sealed.is_some() && row.enabled {
            match self.refresher().force_refresh(&row.id).await {
                Ok(_) | Err(RefreshError::NeedsAuth { .. }) => {}
                Err(RefreshError::IntegrationRejected { diagnosis, .. }) => {
                    return Err(Error::OAuthConnector(diagnosis));
                }
                Err(e) => return Err(e.into()),
            }
            self.forget_cached_tokens();
        }
        let row = self.connection_row(key).await?;
        let state = compute_state(integration.to_domain()?.state(), Some(&row.facts(true)));
        Ok(ConnectionStateView {
            id: key.apideck_id(),
            state,
        })
    }

    /// One proactive sweep with at most `limit` claimed connections (the background loop in
    /// [`crate::app`] runs the same [`Sweeper`] on an interval).
    #[tracing::instrument(skip_all)]
    pub async fn sweep_refresh(&self, limit: u32) -> Result<SweepReport> {
        let sweeper = Sweeper::new(
            self.refresher().clone(),
            SweeperConfig {
                batch: limit,
                ..SweeperConfig::default()
            },
        );
        Ok(sweeper.sweep_once().await?)
    }

    /// [`Vault::sweep_refresh`], answering how many refreshes were attempted (refreshed or
    /// failed; failures are recorded on the connections, not returned).
    pub async fn refresh_due(&self, limit: u32) -> Result<usize> {
        let r = self.sweep_refresh(limit).await?;
        Ok(r.refreshed + r.failed)
    }

    /// `POST …/import`: stores tokens obtained elsewhere. Without `issued_at`/`expires_in` the
    /// token is queued for an immediate refresh.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn import_connection(
        &self,
        key: &ConnectionKey,
        req: ImportRequest,
        actor: &Actor,
    ) -> Result<super::views::ConnectionView> {
        let integration = self.usable_integration(key).await?;
        let mut settings = req.settings.unwrap_or_default();
        let connector = patchbay_connectors::registry::connector(key.service_id.as_str())
            .ok_or_else(|| Error::validation(format!("no connector serves {}", key.service_id)))?;
        let instance_url = match settings.remove("instance_url") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        };
        if instance_url.is_none() && connector.oauth_profile().per_connection_instance {
            return Err(Error::validation(format!(
                "settings.instance_url is required for {}",
                connector.display().name
            )));
        }
        let existing = self.find_connection_row(key).await?;
        let login_url = existing
            .as_ref()
            .and_then(|r| r.login_url_override.clone())
            .unwrap_or_else(|| integration.login_url.clone());
        let instance_url = connector
            .api_base(&login_url, instance_url.as_deref())
            .map_err(|e| {
                Error::validation(format!(
                    "settings.instance_url is not allowed for this integration's login host: {e}"
                ))
            })?;
        let now = self.now_ms();
        let issued_at = match &req.credentials.issued_at {
            Some(s) => Some(parse_rfc3339_ms(s)?),
            None => None,
        };
        let expires_at = match (issued_at, req.credentials.expires_in) {
            (Some(i), Some(e)) if e > 0 => Some(i.saturating_add(e.saturating_mul(1000))),
            _ => None,
        };
        if req.credentials.access_token.expose_secret().is_empty() {
            return Err(Error::validation(
                "credentials.access_token must not be empty",
            ));
        }
        let tokens = TokenSet {
            access_token: req.credentials.access_token,
            refresh_token: req.credentials.refresh_token,
            instance_url: None,
            id: None,
            issued_at_ms: issued_at.unwrap_or(now),
            expires_in: None,
            scope: None,
            signature: None,
            signature_verified: false,
            id_token: None,
            token_type: None,
        };
        let (id, _) = self
            .store_grant(key, &integration, &tokens, Some(instance_url), Health::Ok)
            .await?;
        // Queue for refresh unless the caller told us the expiry.
        let row = self.connection_row(key).await?;
        let w = self.token_write(
            &row.application_id,
            &row.id,
            &tokens,
            row.instance_url.clone(),
            expires_at,
            Health::Ok,
            now,
        )?;
        let w = patchbay_store::TokenWrite {
            next_refresh_at: Some(expires_at.map_or(now, |e| (e - REFRESH_MARGIN_MS).max(now))),
            ..w
        };
        self.store().set_tokens(&row.id, &w).await?;
        if !settings.is_empty() || req.metadata.is_some() {
            let patch = patchbay_store::ConnectionPatch {
                enabled: None,
                settings_json: (!settings.is_empty()).then(|| Value::Object(settings).to_string()),
                metadata_json: req.metadata.map(|m| Value::Object(m).to_string()),
            };
            self.store()
                .update_connection(&key.application_id, &id, &patch, now)
                .await?;
        }
        self.forget_cached_tokens();
        let mut details = audit_details(key);
        details["via"] = json!("import");
        self.audit(
            Some(&key.application_id),
            actor,
            "connection.import",
            id.as_str(),
            details,
        )
        .await?;
        self.get_connection(key).await
    }

    /// The audited export: the audit row is written first, and without it nothing is returned.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn export_credentials(
        &self,
        key: &ConnectionKey,
        actor: &Actor,
    ) -> Result<ExportedCredentials> {
        let row = self.connection_row(key).await?;
        let access = row
            .access_token_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &row.application_id,
                    SealedColumn::ConnectionAccessToken,
                    row.id.as_str(),
                    s,
                )
            })
            .transpose()?;
        let refresh = row
            .refresh_token_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &row.application_id,
                    SealedColumn::ConnectionRefreshToken,
                    row.id.as_str(),
                    s,
                )
            })
            .transpose()?;
        let fp = |s: &Option<patchbay_crypto::SecretString>| {
            s.as_ref().map(|v| {
                self.keyring()
                    .audit_fingerprint(v.expose_secret().as_bytes())
            })
        };
        let mut details = audit_details(key);
        details["access_token_fingerprint"] = json!(fp(&access));
        details["refresh_token_fingerprint"] = json!(fp(&refresh));
        self.audit(
            Some(&key.application_id),
            actor,
            "connection.export",
            row.id.as_str(),
            details,
        )
        .await?;
        Ok(ExportedCredentials {
            id: key.apideck_id(),
            service_id: key.service_id.to_string(),
            unified_api: key.unified_api.to_string(),
            consumer_id: key.consumer_id.to_string(),
            access_token: access.map(|s| s.expose_secret().to_owned()),
            refresh_token: refresh.map(|s| s.expose_secret().to_owned()),
            instance_url: row.instance_url.clone(),
            token_issued_at: row.token_issued_at,
            token_expires_at: row.token_expires_at,
            granted_scopes: row.granted_scopes.clone(),
        })
    }

    /// `GET /vault/revoke/{service_id}/{application_id}`: revokes at the provider, wipes the
    /// tokens (`health = revoked`) and returns where to send the browser.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_via_link(
        &self,
        service_id: &str,
        application_id: &str,
        state: &str,
        redirect_uri: Option<&str>,
    ) -> Result<(String, ConnectionKey)> {
        let link = self.verify_link_state(state, true)?;
        if link.application_id.as_str() != application_id || link.service_id.as_str() != service_id
        {
            return Err(Error::OAuthInvalidState(
                "The state does not belong to this revoke URL.".to_owned(),
            ));
        }
        let key = ConnectionKey {
            application_id: link.application_id,
            consumer_id: link.consumer_id,
            unified_api: link.unified_api,
            service_id: link.service_id,
        };
        let application = self.get_application(&key.application_id).await?;
        let redirect = allowed_redirect(&application, redirect_uri, self.public_url())?;
        let row = self.connection_row(&key).await?;
        let revoked = self.revoke_at_provider_best_effort(&row).await;
        self.store()
            .clear_tokens(&row.id, Health::Revoked, self.now_ms())
            .await?;
        self.forget_cached_tokens();
        let mut details = audit_details(&key);
        details["revoked_at_provider"] = json!(revoked);
        self.audit(
            Some(&key.application_id),
            &Actor::Session {
                consumer_id: key.consumer_id.to_string(),
            },
            "connection.revoke",
            row.id.as_str(),
            details,
        )
        .await?;
        Ok((redirect, key))
    }

    /// Revokes the grant at the provider, retrying transient failures with backoff. Returns
    /// whether the provider confirmed. Never fails: the local wipe must not depend on it.
    pub(crate) async fn revoke_at_provider_best_effort(&self, row: &ConnectionRow) -> bool {
        match self.try_revoke(row).await {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(connection = %row.id, error = %crate::error::chain(&e), "revocation at the provider failed");
                false
            }
        }
    }

    async fn try_revoke(&self, row: &ConnectionRow) -> Result<bool> {
        let Some(integration) = self
            .store()
            .get_integration(&row.application_id, &row.unified_api, &row.service_id)
            .await?
        else {
            return Ok(false);
        };
        let login_url = row
            .login_url_override
            .clone()
            .unwrap_or_else(|| integration.login_url.clone());
        let cfg = self.client_config(&integration, &login_url, false)?;
        let (column, sealed) = match (&row.refresh_token_sealed, &row.access_token_sealed) {
            (Some(s), _) => (SealedColumn::ConnectionRefreshToken, s),
            (None, Some(s)) => (SealedColumn::ConnectionAccessToken, s),
            (None, None) => return Ok(true),
        };
        let token = self.open(&row.application_id, column, row.id.as_str(), sealed)?;
        let in_path = patchbay_connectors::registry::connector(row.service_id.as_str())
            .and_then(|c| c.revocation_call());
        if let Some(call) = in_path {
            if column != SealedColumn::ConnectionRefreshToken {
                // Only a refresh token can be revoked this way; an access token runs out.
                return Ok(false);
            }
            return Ok(self
                .revoke_in_path(row, &cfg, call, token.expose_secret())
                .await);
        }
        let refresh = RefreshToken::new(token.expose_secret());
        let access = AccessToken::new(token.expose_secret());
        drop(token);
        let token_ref = if column == SealedColumn::ConnectionRefreshToken {
            TokenRef::Refresh(&refresh)
        } else {
            TokenRef::Access(&access)
        };
        let policy = self.revoke_policy();
        let mut backoff = policy.first_backoff;
        for attempt in 1..=policy.attempts.max(1) {
            match patchbay_oauth::revoke(self.http(), &cfg, token_ref).await {
                Ok(()) => return Ok(true),
                // `invalid_token`: already dead at the provider, which is what we wanted.
                Err(e) if e.class() == ErrorClass::InvalidGrant => return Ok(true),
                Err(e) if e.class().is_retryable() && attempt < policy.attempts => {
                    tracing::info!(connection = %row.id, attempt, "revocation failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                Err(e) => {
                    tracing::warn!(connection = %row.id, class = ?e.class(), "revocation refused");
                    return Ok(false);
                }
            }
        }
        Ok(false)
    }

    /// Revokes a refresh token with the token in the endpoint's path (the connector's
    /// `revocation_call`), retrying transient failures as the form revocation does. A status
    /// the connector names as "already gone" counts as done.
    async fn revoke_in_path(
        &self,
        row: &ConnectionRow,
        cfg: &patchbay_oauth::ClientConfig,
        call: patchbay_connectors::connector::TokenInPath,
        token: &str,
    ) -> bool {
        let policy = self.revoke_policy();
        let attempts = policy.attempts.max(1);
        let mut backoff = policy.first_backoff;
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            match super::token_in_path::send(self.http(), cfg, call, token).await {
                Ok(answer) if (200..300).contains(&answer.status) => return true,
                Ok(answer) if call.gone.contains(&answer.status) => return true,
                Ok(answer) if last || !(answer.status == 429 || answer.status >= 500) => {
                    tracing::warn!(connection = %row.id, status = answer.status, "revocation refused");
                    return false;
                }
                Err(e) if last || !e.is_retryable() => {
                    tracing::warn!(connection = %row.id, error = e.describe(), "revocation failed");
                    return false;
                }
                Ok(_) | Err(_) => {
                    tracing::info!(connection = %row.id, attempt, "revocation failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
            }
        }
        false
    }
}

fn parse_rfc3339_ms(s: &str) -> Result<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Error::validation("credentials.issued_at must be an RFC 3339 date-time"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Error::validation("credentials.issued_at is out of range"))
}
