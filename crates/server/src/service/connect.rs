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
//!    naming the provider setting to change, and leave no half-made connection.
//! 3. With a `nonce`, tokens are stored unconfirmed and a single-use `confirm_token` (30 min)
//!    comes back in the fragment; [`Vault::confirm_connection`] activates the connection.

use patchbay_core::{ApplicationId, Health};
use patchbay_crypto::sha256_hex;
use patchbay_oauth::{CallbackResult, PkceVerifier, Scopes};
use patchbay_store::{ApplicationRow, NewOAuthTransaction, OAuthTransactionRow, SealedColumn};
use url::Url;

use super::Vault;
use super::audit::Actor;
use super::connections::{ConnectionKey, audit_details};
pub(crate) use super::grant::REFRESH_MARGIN_MS;
use super::grant::diagnosis_text;
use crate::error::{Error, Result};

pub const STATE_TTL_MS: i64 = 10 * 60 * 1000;
pub const CONFIRM_TTL_MS: i64 = 30 * 60 * 1000;
const PURPOSE_AUTHORIZE: &str = "authorize";
const PURPOSE_CONFIRM: &str = "confirm";

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
    #[tracing::instrument(skip_all)]
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
        let redirect_uri =
            allowed_redirect(&application, req.redirect_uri.as_deref(), self.public_url())?;
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
    /// drive the provider redirect themselves. Returns the state (single-use, 10 minutes).
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
    pub async fn create_callback_state(
        &self,
        key: &ConnectionKey,
        redirect_uri: Option<&str>,
    ) -> Result<String> {
        let application = self.get_application(&key.application_id).await?;
        let redirect_uri = allowed_redirect(&application, redirect_uri, self.public_url())?;
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
        let pkce_unsupported =
            patchbay_connectors::registry::connector(integration.service_id.as_str()).is_some_and(
                |c| c.oauth_profile().pkce == patchbay_connectors::connector::Pkce::Unsupported,
            );
        if !integration.pkce || pkce_unsupported {
            // PKCE off in the integration (or unknown to the provider): send no challenge, so
            // an app that requires PKCE fails exactly as the provider documents and the
            // diagnosis names the setting.
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "code_challenge" && k != "code_challenge_method")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        let state = request.state.expose_secret().to_owned();
        let state_hash = sha256_hex(state.as_bytes());
        let verifier = self.seal(
            &key.application_id,
            SealedColumn::OAuthCodeVerifier,
            &state_hash,
            request.pkce_verifier.expose_secret(),
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

    /// Step 2: handles `GET /vault/callback?{raw_query}`.
    ///
    /// `Err` means the transaction could not be identified (no redirect is safe then); every
    /// later failure is an `Ok` outcome that redirects with `error`/`error_description`.
    #[tracing::instrument(skip_all)]
    pub async fn finish_connect(&self, raw_query: &str) -> Result<CallbackOutcome> {
        let parsed = patchbay_oauth::parse_callback(raw_query)
            .map_err(|e| Error::OAuthInvalidState(format!("The callback is malformed: {e}.")))?;
        let state = match &parsed {
            CallbackResult::Code { state, .. } => Some(state.expose_secret().to_owned()),
            CallbackResult::Error { state, .. } => {
                state.as_ref().map(|s| s.expose_secret().to_owned())
            }
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
            CallbackResult::Code { code, iss, .. } => (code, iss),
        };
        match self.redeem(&tx, &code.0, code.1.as_deref()).await {
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
        iss: Option<&str>,
    ) -> std::result::Result<Option<String>, RedeemError> {
        let login_url = tx.login_url.clone().unwrap_or_default();
        // RFC 9207 mix-up defence: an issuer, when sent, must be the login host this
        // transaction was opened for, compared as exact strings.
        if iss.is_some_and(|i| i != login_url) {
            tracing::warn!("callback issuer does not match the transaction's login host");
            return Err(RedeemError {
                code: "invalid_issuer",
                description: "The authorization response came from a different issuer than the one Patchbay sent you to. Start the connection again.".to_owned(),
            });
        }
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
            .checked_instance_url(&key.service_id, &login_url, &tokens)
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
        let (connection_id, created) = self
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
            if created {
                "connection.create"
            } else {
                "connection.reauthorize"
            },
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

    /// `POST …/confirm`: the second step of the nonce flow.
    #[tracing::instrument(skip_all, fields(app = %key.application_id, consumer = %key.consumer_id, service = %key.service_id))]
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
}

struct RedeemError {
    code: &'static str,
    description: String,
}

/// Patchbay's own completion page for popups of `app` (the default `redirect_uri` of a session
/// created without one): it tells the opener and closes itself. Always allowed for its own
/// application, since it is Patchbay's page, not a redirect elsewhere.
pub fn completion_url(public_url: &str, app: &ApplicationId) -> String {
    format!(
        "{}/vault/connect-complete/{app}",
        public_url.trim_end_matches('/')
    )
}

/// The redirect target: the exact allow-listed URI (or the application's own completion
/// page), or the application's first one when the caller gave none. Anything else is
/// `OAuthRedirectUriError`; there is no open redirect.
pub(crate) fn allowed_redirect(
    app: &ApplicationRow,
    requested: Option<&str>,
    public_url: &str,
) -> Result<String> {
    match requested.filter(|s| !s.is_empty()) {
        Some(uri) if app.redirect_uris.iter().any(|u| u == uri) => Ok(uri.to_owned()),
        Some(uri) if uri == completion_url(public_url, &app.id) => Ok(uri.to_owned()),
        Some(uri) => Err(super::applications::redirect_uri_not_allowed(&app.id, uri)),
        None => app.redirect_uris.first().cloned().ok_or_else(|| {
            Error::OAuthRedirectUri(
                "redirect_uri is required: the application has no default redirect URI.".to_owned(),
            )
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
