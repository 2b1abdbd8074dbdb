//! The connect flow (OAuth 2.0 authorization code + PKCE S256), Apideck-style:
//!
//! 1. `authorize_url` (from `GET /vault/connections`) carries a signed link state naming the
//!    application, consumer and integration. [`Vault::start_connect`] checks it and the
//!    `redirect_uri` allow-list, then opens a server-side transaction (single-use, 10 minutes)
//!    with a fresh random OAuth `state`, the PKCE verifier (sealed) and the login host, and
//!    sends the browser to that login host.
//! 2. [`Vault::finish_connect`] (`GET /vault/callback`) trusts nothing but that transaction: the
//!    code is redeemed only at the transaction's login host, `instance_url` is checked against
//!    the allow-list, tokens are sealed and stored, and the browser goes back to the
//!    transaction's `redirect_uri`. Failures go back as escaped `error`/`error_description`
//!    naming the Salesforce setting to change, and leave no half-made connection.
//! 3. With a `nonce`, tokens are stored unconfirmed and a single-use `confirm_token` (30 min)
//!    comes back in the fragment; [`Vault::confirm_connection`] activates the connection.

use patchbay_core::{ApplicationId, ConnectionId, Health};
use patchbay_crypto::sha256_hex;
use patchbay_oauth::{
    CallbackResult, ClientConfig, ClientSecret, DiagnosisContext, PkceVerifier, Scopes, TokenSet,
};
use patchbay_store::{
    ApplicationRow, IntegrationRow, NewConnection, NewOAuthTransaction, OAuthTransactionRow,
    SealedColumn, TokenWrite,
};
use url::Url;

use super::Vault;
use super::audit::Actor;
use super::connections::{ConnectionKey, audit_details};
use crate::error::{Error, Result};

pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
pub const CONFIRM_TTL_MS: i64 = 30 * 60 * 1000;
const PURPOSE_AUTHORIZE: &str = "authorize";
const PURPOSE_CONFIRM: &str = "confirm";
/// Refresh this long before the assumed expiry.
pub(crate) const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

/// `GET /vault/authorize/{service_id}/{application_id}` query and path.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub service_id: String,
    pub application_id: String,
    pub state: String,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub nonce: Option<String>,
}

/// Where to send the browser after the callback, and which tenant the request belonged to.
#[derive(Debug, Clone)]
pub struct CallbackOutcome {
    pub location: String,
    pub application_id: ApplicationId,
    pub consumer_id: patchbay_core::ConsumerId,
    pub succeeded: bool,
}

impl Vault {
    /// Step 1: validates the link and returns the provider's authorize URL.
    pub async fn start_connect(&self, req: &AuthorizeRequest) -> Result<(String, ConnectionKey)> {
        let link = self.verify_link_state(&req.state, false)?;
        if link.application_id.as_str() != req.application_id
            || link.service_id.as_str() != req.service_id
        {
            return Err(Error::OAuthInvalidState(
                "The state does not belong to this authorize URL.".to_owned(),
            ));
        }
        let key = ConnectionKey {
            application_id: link.application_id,
            consumer_id: link.consumer_id,
            unified_api: link.unified_api,
            service_id: link.service_id,
        };
        let application = self.get_application(&key.application_id).await?;
        let redirect_uri = allowed_redirect(&application, req.redirect_uri.as_deref())?;
        self.open_authorization(
            &key,
            &redirect_uri,
            req.scope.as_deref(),
            req.nonce.as_deref(),
        )
        .await
        .map(|(url, _)| (url, key))
    }

    /// `POST …/callback-state`: a transaction usable with `/vault/callback`, for callers that
    /// drive the provider redirect themselves. Returns the provider URL and the state.
    pub async fn create_callback_state(
        &self,
        key: &ConnectionKey,
        redirect_uri: Option<&str>,
    ) -> Result<String> {
        let application = self.get_application(&key.application_id).await?;
        let redirect_uri = allowed_redirect(&application, redirect_uri)?;
        let (_, state) = self
            .open_authorization(key, &redirect_uri, None, None)
            .await?;
        Ok(state)
    }

    async fn open_authorization(
        &self,
        key: &ConnectionKey,
        redirect_uri: &str,
        scope: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<(String, String)> {
        let integration = self.usable_integration(key).await?;
        let existing = self.find_connection_row(key).await?;
        let login_url = existing
            .as_ref()
            .and_then(|r| r.login_url_override.clone())
            .unwrap_or_else(|| integration.login_url.clone());
        let cfg = self.client_config(&integration, &login_url, false)?;
        self.preflight(&cfg, &login_url).await?;
        let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => {
                patchbay_core::Scopes::parse(s)
                    .map_err(|e| Error::validation(format!("scope: {e}")))?;
                Scopes::parse(s)
            }
            None => Scopes::parse(&integration.scopes),
        };
        if nonce.is_some_and(|n| n.is_empty() || n.len() > 256) {
            return Err(Error::validation("nonce must be 1..=256 characters"));
        }
        let request =
            patchbay_oauth::start_authorization(&cfg, &self.callback_url(), &scopes, None, None)
                .map_err(|e| Error::OAuthConnector(self.diagnose(&e, &login_url)))?;
        let mut url = request.url.clone();
        if !integration.pkce {
            // PKCE off in the integration: send no challenge, so an app that requires PKCE
            // fails exactly as Salesforce documents and the diagnosis names the setting.
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "code_challenge" && k != "code_challenge_method")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        let state = request.state.expose().to_owned();
        let state_hash = sha256_hex(state.as_bytes());
        let verifier = self.seal(
            &key.application_id,
            SealedColumn::OAuthCodeVerifier,
            &state_hash,
            request.pkce_verifier.expose(),
        )?;
        let now = self.now_ms();
        self.store()
            .upsert_consumer(&key.application_id, &key.consumer_id, None, now)
            .await?;
        self.store()
            .insert_oauth_transaction(&NewOAuthTransaction {
                state_hash,
                purpose: PURPOSE_AUTHORIZE.to_owned(),
                application_id: key.application_id.clone(),
                consumer_id: key.consumer_id.clone(),
                unified_api: key.unified_api.clone(),
                service_id: key.service_id.clone(),
                login_url: Some(login_url),
                redirect_uri: Some(redirect_uri.to_owned()),
                code_verifier_sealed: Some(verifier),
                nonce: nonce.map(str::to_owned),
                now_ms: now,
                expires_at: now + STATE_TTL_MS,
            })
            .await?;
        Ok((url.to_string(), state))
    }

    /// Asks the login host, before the browser goes there, whether it accepts our client id
    /// and callback URL. Salesforce answers those two errors with its own page instead of
    /// redirecting back, so without this check the user would be stranded there and Patchbay
    /// could not name the fix. `prompt=login` keeps the probe from approving anything; any
    /// other answer (a login page, a redirect to our callback) means "go ahead".
    async fn preflight(&self, cfg: &ClientConfig, login_url: &str) -> Result<()> {
        let mut url = cfg.endpoint_url(patchbay_oauth::Endpoint::Authorize);
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", &self.callback_url())
            .append_pair("prompt", "login");
        let mut response = match self.http().get(url).send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::info!(kind = ?e.is_timeout(), "authorize preflight could not reach the login host");
                return Ok(());
            }
        };
        let status = response.status();
        let mut haystack = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|l| !l.starts_with(&self.callback_url()))
            .unwrap_or("")
            .to_owned();
        if status.is_client_error() {
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() > 64 * 1024 {
                    break;
                }
            }
            haystack.push_str(&String::from_utf8_lossy(&body));
        }
        for (error, description) in [
            ("invalid_client_id", "client identifier invalid"),
            (
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ),
        ] {
            if haystack.contains(error) {
                tracing::info!(
                    error,
                    "authorize preflight: the login host refuses this integration"
                );
                let d = patchbay_oauth::diagnose_authorize_error(
                    error,
                    Some(description),
                    &self.diag_ctx(login_url),
                );
                return Err(Error::OAuthConnector(diagnosis_text(&d)));
            }
        }
        Ok(())
    }

    /// Step 2: handles `GET /vault/callback?{raw_query}`.
    ///
    /// `Err` means the transaction could not be identified (no redirect is safe then); every
    /// later failure is an `Ok` outcome that redirects with `error`/`error_description`.
    pub async fn finish_connect(&self, raw_query: &str) -> Result<CallbackOutcome> {
        let parsed = patchbay_oauth::parse_callback(raw_query)
            .map_err(|e| Error::OAuthInvalidState(format!("The callback is malformed: {e}.")))?;
        let state = match &parsed {
            CallbackResult::Code { state, .. } => Some(state.expose().to_owned()),
            CallbackResult::Error { state, .. } => state.as_ref().map(|s| s.expose().to_owned()),
        };
        let Some(state) = state else {
            // An error without state cannot be tied to a transaction: show the diagnosis here
            // instead of redirecting anywhere.
            if let CallbackResult::Error {
                error,
                error_description,
                ..
            } = &parsed
            {
                let d = patchbay_oauth::diagnose_authorize_error(
                    error,
                    error_description.as_deref(),
                    &self.diag_ctx(""),
                );
                return Err(Error::OAuthConnector(diagnosis_text(&d)));
            }
            return Err(Error::OAuthInvalidState(
                "The callback has no state.".to_owned(),
            ));
        };
        let tx = self
            .store()
            .take_oauth_transaction(&sha256_hex(state.as_bytes()), self.now_ms())
            .await?
            .filter(|t| t.purpose == PURPOSE_AUTHORIZE)
            .ok_or_else(|| Error::OAuthInvalidState(
                "The state is unknown, expired or already used. Start the connection again from a fresh authorize_url.".to_owned(),
            ))?;
        let redirect_uri = tx.redirect_uri.clone().unwrap_or_default();
        let outcome = |location: String, succeeded: bool| CallbackOutcome {
            location,
            application_id: tx.application_id.clone(),
            consumer_id: tx.consumer_id.clone(),
            succeeded,
        };
        let login_url = tx.login_url.clone().unwrap_or_default();
        let code = match parsed {
            CallbackResult::Error {
                error,
                error_description,
                ..
            } => {
                let d = patchbay_oauth::diagnose_authorize_error(
                    &error,
                    error_description.as_deref(),
                    &self.diag_ctx(&login_url),
                );
                tracing::info!(error = %sanitize_code(&error), check = ?d.check, "authorization was refused at the provider");
                return Ok(outcome(
                    error_redirect(&redirect_uri, &sanitize_code(&error), &diagnosis_text(&d)),
                    false,
                ));
            }
            CallbackResult::Code { code, .. } => code,
        };
        match self.redeem(&tx, &code).await {
            Ok(fragment) => {
                let location = match fragment {
                    Some(f) => format!("{}#{f}", strip_fragment(&redirect_uri)),
                    None => redirect_uri.clone(),
                };
                Ok(outcome(location, true))
            }
            Err(RedeemError { code, description }) => Ok(outcome(
                error_redirect(&redirect_uri, code, &description),
                false,
            )),
        }
    }

    /// Exchanges the code and stores the connection. Returns the confirm fragment, if any.
    async fn redeem(
        &self,
        tx: &OAuthTransactionRow,
        code: &patchbay_oauth::AuthorizationCode,
    ) -> std::result::Result<Option<String>, RedeemError> {
        let login_url = tx.login_url.clone().unwrap_or_default();
        let key = ConnectionKey {
            application_id: tx.application_id.clone(),
            consumer_id: tx.consumer_id.clone(),
            unified_api: tx.unified_api.clone(),
            service_id: tx.service_id.clone(),
        };
        let internal = |e: Error| {
            tracing::error!(error = %crate::error::chain(&e), "connect flow failed internally");
            RedeemError {
                code: "server_error",
                description: "Patchbay could not complete the connection. Try again.".to_owned(),
            }
        };
        let integration = self
            .usable_integration(&key)
            .await
            .map_err(|e| RedeemError {
                code: "integration_unavailable",
                description: e.message().into_owned(),
            })?;
        let cfg = self
            .client_config(&integration, &login_url, true)
            .map_err(internal)?;
        let verifier = tx
            .code_verifier_sealed
            .as_ref()
            .map(|s| {
                self.open(
                    &tx.application_id,
                    SealedColumn::OAuthCodeVerifier,
                    &tx.state_hash,
                    s,
                )
            })
            .transpose()
            .map_err(internal)?
            .map(|v| PkceVerifier::new(v.expose_secret()))
            .ok_or_else(|| {
                internal(Error::InvalidState(
                    "transaction has no PKCE verifier".to_owned(),
                ))
            })?;
        let tokens =
            patchbay_oauth::exchange_code(self.http(), &cfg, code, &verifier, &self.callback_url())
                .await
                .map_err(|e| {
                    tracing::info!(class = ?e.class(), "code exchange failed");
                    RedeemError {
                        code: "oauth_code_exchange_error",
                        description: self.diagnose(&e, &login_url),
                    }
                })?;
        let instance_url = self
            .checked_instance_url(&login_url, &tokens)
            .map_err(|e| RedeemError {
                code: "invalid_instance_url",
                description: e.message().into_owned(),
            })?;
        let confirm = tx.nonce.is_some();
        let health = if confirm {
            Health::PendingConfirmation
        } else {
            Health::Ok
        };
        let connection_id = self
            .store_grant(&key, &integration, &tokens, instance_url, health)
            .await
            .map_err(internal)?;
        let mut details = audit_details(&key);
        details["via"] = serde_json::Value::String("oauth".to_owned());
        self.audit(
            Some(&key.application_id),
            &Actor::Session {
                consumer_id: key.consumer_id.to_string(),
            },
            "connection.authorize",
            connection_id.as_str(),
            details,
        )
        .await
        .map_err(internal)?;
        let Some(nonce) = &tx.nonce else {
            return Ok(None);
        };
        let confirm_token =
            patchbay_crypto::random_token(32).map_err(|e| internal(Error::internal(e)))?;
        let now = self.now_ms();
        self.store()
            .insert_oauth_transaction(&NewOAuthTransaction {
                state_hash: sha256_hex(confirm_token.expose_secret().as_bytes()),
                purpose: PURPOSE_CONFIRM.to_owned(),
                application_id: key.application_id.clone(),
                consumer_id: key.consumer_id.clone(),
                unified_api: key.unified_api.clone(),
                service_id: key.service_id.clone(),
                login_url: None,
                redirect_uri: None,
                code_verifier_sealed: None,
                nonce: None,
                now_ms: now,
                expires_at: now + CONFIRM_TTL_MS,
            })
            .await
            .map_err(|e| internal(e.into()))?;
        let fragment = serde_urlencoded::to_string([
            ("nonce", nonce.as_str()),
            ("confirm_token", confirm_token.expose_secret()),
            ("service_id", key.service_id.as_str()),
        ])
        .map_err(|e| internal(Error::internal(e)))?;
        Ok(Some(fragment))
    }

    /// Writes a fresh grant: creates the connection if needed, then the sealed tokens. A
    /// connection created here is removed again if the token write fails, so a failed flow
    /// leaves nothing behind.
    pub(crate) async fn store_grant(
        &self,
        key: &ConnectionKey,
        integration: &IntegrationRow,
        tokens: &TokenSet,
        instance_url: Option<String>,
        health: Health,
    ) -> Result<ConnectionId> {
        let now = self.now_ms();
        self.store()
            .upsert_consumer(&key.application_id, &key.consumer_id, None, now)
            .await?;
        let (row, created) = match self.find_connection_row(key).await? {
            Some(row) => (row, false),
            None => {
                let row = self
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
                    .await?;
                (row, true)
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
        match stored {
            Ok(Some(_)) => Ok(row.id),
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
            tokens.access_token.expose(),
        )?;
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| {
                self.seal(
                    app,
                    SealedColumn::ConnectionRefreshToken,
                    id.as_str(),
                    t.expose(),
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

    /// `POST …/confirm`: the second step of the nonce flow.
    pub async fn confirm_connection(&self, key: &ConnectionKey, confirm_token: &str) -> Result<()> {
        let invalid = || {
            Error::InvalidState("The confirm_token is unknown, expired or already used.".to_owned())
        };
        if confirm_token.is_empty() || confirm_token.len() > 512 {
            return Err(invalid());
        }
        let tx = self
            .store()
            .take_oauth_transaction(&sha256_hex(confirm_token.as_bytes()), self.now_ms())
            .await?
            .ok_or_else(invalid)?;
        let belongs = tx.purpose == PURPOSE_CONFIRM
            && tx.application_id == key.application_id
            && tx.consumer_id == key.consumer_id
            && tx.unified_api == key.unified_api
            && tx.service_id == key.service_id;
        if !belongs {
            return Err(invalid());
        }
        let row = self.connection_row(key).await?;
        if row.health != Health::PendingConfirmation {
            return Err(Error::InvalidState(
                "The connection is not waiting for confirmation.".to_owned(),
            ));
        }
        self.store()
            .set_health(&row.id, Health::Ok, self.now_ms())
            .await?;
        Ok(())
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
        let login = patchbay_oauth::LoginHost::parse(login_url)
            .map_err(|e| Error::OAuthConnector(self.diagnose(&e, login_url)))?;
        let secret = if with_secret {
            self.client_secret(integration)?
                .map(|s| ClientSecret::new(s.expose_secret()))
        } else {
            None
        };
        Ok(ClientConfig::salesforce(
            login,
            integration.client_id.clone().unwrap_or_default(),
            secret,
        ))
    }

    /// Checks `instance_url` from a token response against the login host's allow-list and
    /// returns the normalised origin to store.
    pub(crate) fn checked_instance_url(
        &self,
        login_url: &str,
        tokens: &TokenSet,
    ) -> Result<Option<String>> {
        let Some(url) = &tokens.instance_url else {
            return Ok(None);
        };
        let host = patchbay_core::LoginHost::parse(login_url)
            .map_err(|e| Error::OAuthConnector(e.to_string()))?;
        host.check_instance_url(url.as_str()).map(Some).map_err(|e| {
            Error::OAuthConnector(format!(
                "Salesforce returned an instance_url Patchbay does not trust ({e}); tokens were not stored. Check the integration's login URL."
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

struct RedeemError {
    code: &'static str,
    description: String,
}

/// "What happened. Fix: what to change."
pub(crate) fn diagnosis_text(d: &patchbay_oauth::Diagnosis) -> String {
    match &d.fix {
        Some(fix) => format!("{} Fix: {fix}", d.message),
        None => d.message.clone(),
    }
}

/// The redirect target: the exact allow-listed URI, or the application's first one when the
/// caller gave none. Anything else is `OAuthRedirectUriError`; there is no open redirect.
pub(crate) fn allowed_redirect(app: &ApplicationRow, requested: Option<&str>) -> Result<String> {
    match requested.filter(|s| !s.is_empty()) {
        Some(uri) if app.redirect_uris.iter().any(|u| u == uri) => Ok(uri.to_owned()),
        Some(_) => Err(Error::OAuthRedirectUri(
            "redirect_uri is not on the application's allow-list; add it with `patchbay apps` (--redirect-uri).".to_owned(),
        )),
        None => app.redirect_uris.first().cloned().ok_or_else(|| {
            Error::OAuthRedirectUri("redirect_uri is required: the application has no default redirect URI.".to_owned())
        }),
    }
}

/// Provider error codes are echoed only as `[a-z0-9_-]`, at most 64 characters.
fn sanitize_code(code: &str) -> String {
    let s: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    if s.is_empty() {
        "oauth_error".to_owned()
    } else {
        s
    }
}

fn strip_fragment(uri: &str) -> &str {
    uri.split('#').next().unwrap_or(uri)
}

/// `redirect_uri` with `error` and `error_description` added as properly encoded query
/// parameters (the values are provider-influenced, so they are only ever encoded data).
pub(crate) fn error_redirect(redirect_uri: &str, error: &str, description: &str) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            url.set_fragment(None);
            url.query_pairs_mut()
                .append_pair("error", error)
                .append_pair("error_description", description);
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_redirect_escapes() {
        let u = error_redirect(
            "https://app.example.com/cb?x=1#f",
            "access_denied",
            "<script>alert(1)</script> & more",
        );
        assert!(
            u.starts_with("https://app.example.com/cb?x=1&error=access_denied&error_description=")
        );
        assert!(!u.contains('<') && !u.contains("& more") && !u.contains('#'));
    }

    #[test]
    fn codes_are_sanitised() {
        assert_eq!(sanitize_code("access_denied"), "access_denied");
        assert_eq!(sanitize_code("<b>x</b>"), "bxb");
        assert_eq!(sanitize_code("\"\""), "oauth_error");
    }
}
