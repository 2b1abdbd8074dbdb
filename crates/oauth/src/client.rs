//! The back-channel calls: code exchange, refresh, revoke and introspect.
//!
//! Every call is one form POST with client authentication, a bounded response read, and a
//! response turned into a typed value or an [`OAuthError`]. Nothing here retries: whether a retry
//! is safe (a code is single-use; a rotated refresh token is too) is the caller's decision, made
//! from [`OAuthError::class`] and [`OAuthError::outcome_unknown`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use zeroize::Zeroizing;

use crate::error::{OAuthError, Operation, TransportKind};
use crate::introspection::{Introspection, parse_introspection};
use crate::provider::{ClientAuthMethod, ClientConfig, Endpoint};
use crate::token::{
    TokenParseError, TokenSet, parse_error_response, parse_token_response, verify_signature,
};
use patchbay_crypto::{AccessToken, AuthorizationCode, PkceVerifier, RefreshToken};

/// Timeouts for the provider's OAuth endpoints.
#[derive(Debug, Clone, Copy)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// The whole request, including reading the body. Keep it below the refresh lease TTL.
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        }
    }
}

/// The HTTP client for OAuth endpoints: redirects off (a token endpoint that redirects is
/// misconfigured, and following it would post credentials elsewhere), and bounded timeouts.
pub fn http_client(options: HttpOptions) -> Result<reqwest::Client, OAuthError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .build()
        .map_err(|_| OAuthError::InvalidConfig("the HTTP client could not be built".to_owned()))
}

/// A token to revoke or introspect, with its kind (sent as `token_type_hint`).
#[derive(Debug, Clone, Copy)]
pub enum TokenRef<'a> {
    Access(&'a AccessToken),
    Refresh(&'a RefreshToken),
}

impl TokenRef<'_> {
    fn expose_secret(&self) -> &str {
        match self {
            TokenRef::Access(t) => t.expose_secret(),
            TokenRef::Refresh(t) => t.expose_secret(),
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            TokenRef::Access(_) => "access_token",
            TokenRef::Refresh(_) => "refresh_token",
        }
    }
}

/// Redeems an authorization code (`grant_type=authorization_code`) with its PKCE verifier.
/// `redirect_uri` must be the exact string sent to [`crate::start_authorization`].
pub async fn exchange_code(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    code: &AuthorizationCode,
    verifier: &PkceVerifier,
    redirect_uri: &str,
) -> Result<TokenSet, OAuthError> {
    let op = Operation::ExchangeCode;
    let form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.expose_secret()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier.expose_secret()),
    ];
    // "Require Secret for Web Server Flow" is on by default, so the secret goes whenever we
    // have one; a public client has none.
    let send_secret = cfg.client_secret.is_some();
    token_request(http, cfg, op, form, send_secret).await
}

/// Refreshes an access token (`grant_type=refresh_token`).
///
/// `send_secret` follows the integration's setting: Patchbay's default is `false`, matching the
/// setup guide's "Require Secret for Refresh Token Flow: unchecked". A response without a
/// `refresh_token` means the old one stays valid; with one, the old one is already dead.
pub async fn refresh(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    refresh_token: &RefreshToken,
    send_secret: bool,
) -> Result<TokenSet, OAuthError> {
    let op = Operation::Refresh {
        sent_secret: send_secret,
    };
    let form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose_secret()),
    ];
    token_request(http, cfg, op, form, send_secret).await
}

/// Revokes a token (RFC 7009). Revoking a refresh token also kills its access tokens. A 200 is
/// success even for an unknown token; `invalid_token` means it was already dead.
pub async fn revoke(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    token: TokenRef<'_>,
) -> Result<(), OAuthError> {
    let op = Operation::Revoke;
    // Salesforce's revoke takes only `token` (docs/salesforce.md §5).
    let form = vec![("token", token.expose_secret())];
    let send_secret = cfg.provider.quirks.revoke_needs_client_auth && cfg.client_secret.is_some();
    let client_auth = cfg.provider.quirks.revoke_needs_client_auth;
    let reply = post(
        http,
        cfg,
        op,
        Endpoint::Revoke,
        form,
        client_auth,
        send_secret,
    )
    .await?;
    if reply.is_success() {
        Ok(())
    } else {
        Err(reply.into_error(op, Endpoint::Revoke))
    }
}

/// Introspects a token (RFC 7662). Client authentication always includes the secret, when one
/// is configured.
pub async fn introspect(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    token: TokenRef<'_>,
) -> Result<Introspection, OAuthError> {
    let op = Operation::Introspect;
    let form = vec![
        ("token", token.expose_secret()),
        ("token_type_hint", token.hint()),
    ];
    let send_secret = cfg.client_secret.is_some();
    let reply = post(http, cfg, op, Endpoint::Introspect, form, true, send_secret).await?;
    if !reply.is_success() {
        return Err(reply.into_error(op, Endpoint::Introspect));
    }
    parse_introspection(&reply.body).ok_or_else(|| OAuthError::MalformedResponse {
        operation: op,
        endpoint: Endpoint::Introspect,
        status: reply.status,
        reason: "the body is not an introspection response".to_owned(),
        retry_after: None,
    })
}

async fn token_request(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    op: Operation,
    form: Vec<(&str, &str)>,
    send_secret: bool,
) -> Result<TokenSet, OAuthError> {
    let received_at_ms = now_ms();
    let reply = post(http, cfg, op, Endpoint::Token, form, true, send_secret).await?;
    if !reply.is_success() {
        return Err(reply.into_error(op, Endpoint::Token));
    }
    let malformed = |e: TokenParseError| OAuthError::MalformedResponse {
        operation: op,
        endpoint: Endpoint::Token,
        status: reply.status,
        reason: e.reason(),
        retry_after: None,
    };
    let parsed = parse_token_response(&reply.body, &cfg.provider.quirks, received_at_ms)
        .map_err(malformed)?;
    let mut tokens = parsed.tokens;
    if cfg.provider.quirks.signed_identity
        && let (Some(secret), Some(id), Some(issued_at), Some(signature)) = (
            &cfg.client_secret,
            &tokens.id,
            &parsed.issued_at_raw,
            &tokens.signature,
        )
    {
        if !verify_signature(secret, id, issued_at, signature) {
            tracing::warn!(operation = %op, "token response signature mismatch");
            return Err(OAuthError::SignatureMismatch { operation: op });
        }
        tokens.signature_verified = true;
    }
    tracing::debug!(
        operation = %op,
        rotated = tokens.refresh_token.is_some(),
        signature_verified = tokens.signature_verified,
        "token endpoint succeeded"
    );
    Ok(tokens)
}

/// Token responses are a few kilobytes; a cap keeps a hostile or broken server from filling
/// memory.
const MAX_BODY: usize = 64 * 1024;

struct Reply {
    status: u16,
    headers: HeaderMap,
    /// May hold tokens, so it is wiped when dropped.
    body: Zeroizing<Vec<u8>>,
}

impl Reply {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn into_error(self, op: Operation, endpoint: Endpoint) -> OAuthError {
        match parse_error_response(&self.body) {
            Some((error, description)) => {
                tracing::info!(
                    operation = %op, %endpoint, status = self.status, error = %error,
                    error_description = description.as_deref().unwrap_or(""),
                    "provider refused the request"
                );
                OAuthError::provider(op, endpoint, self.status, error, description, &self.headers)
            }
            None => {
                let content_type = self
                    .headers
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none");
                tracing::info!(operation = %op, %endpoint, status = self.status, content_type,
                    "provider answered without an OAuth error body");
                OAuthError::MalformedResponse {
                    operation: op,
                    endpoint,
                    status: self.status,
                    reason: format!(
                        "no OAuth error object in the body (content type {content_type})"
                    ),
                    retry_after: crate::error::RetryAfter::from_headers(&self.headers),
                }
            }
        }
    }
}

/// Sends one form POST. `client_auth` adds `client_id` (and, with `send_secret`, the secret in
/// the configured way).
async fn post(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    op: Operation,
    endpoint: Endpoint,
    mut form: Vec<(&str, &str)>,
    client_auth: bool,
    send_secret: bool,
) -> Result<Reply, OAuthError> {
    let url = cfg.endpoint_url(endpoint);
    let secret = match (send_secret, &cfg.client_secret) {
        (false, _) => None,
        (true, Some(s)) => Some(s),
        (true, None) => {
            return Err(OAuthError::InvalidConfig(
                "sending the client secret is configured, but the integration has none".to_owned(),
            ));
        }
    };
    let mut request = http.post(url).header(ACCEPT, "application/json");
    if client_auth {
        match (cfg.auth_method, secret) {
            (ClientAuthMethod::BasicAuth, Some(secret)) => {
                request = request.header(
                    AUTHORIZATION,
                    basic_auth(&cfg.client_id, secret.expose_secret())?,
                );
            }
            (ClientAuthMethod::RequestBody, Some(secret)) => {
                form.push(("client_id", &cfg.client_id));
                form.push(("client_secret", secret.expose_secret()));
            }
            (_, None) => form.push(("client_id", &cfg.client_id)),
        }
    }
    let body = Zeroizing::new(
        serde_urlencoded::to_string(&form)
            .map_err(|_| OAuthError::InvalidConfig("form encoding failed".to_owned()))?,
    );
    drop(form);
    let response = request
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body.as_bytes().to_vec())
        .send()
        .await
        .map_err(|e| transport(op, endpoint, e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = read_capped(response, op, endpoint).await?;
    tracing::debug!(operation = %op, %endpoint, status, "provider answered");
    Ok(Reply {
        status,
        headers,
        body,
    })
}

async fn read_capped(
    mut response: reqwest::Response,
    op: Operation,
    endpoint: Endpoint,
) -> Result<Zeroizing<Vec<u8>>, OAuthError> {
    let status = response.status().as_u16();
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport(op, endpoint, e))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(OAuthError::MalformedResponse {
                operation: op,
                endpoint,
                status,
                reason: format!("the body is larger than {MAX_BODY} bytes"),
                retry_after: None,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport(op: Operation, endpoint: Endpoint, e: reqwest::Error) -> OAuthError {
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Other
    };
    tracing::info!(operation = %op, %endpoint, ?kind, "OAuth request failed in transport");
    OAuthError::Transport {
        operation: op,
        endpoint,
        kind,
        source: e,
    }
}

/// RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
fn basic_auth(client_id: &str, secret: &str) -> Result<HeaderValue, OAuthError> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = Zeroizing::new(format!("{}:{}", enc(client_id), enc(secret)));
    let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(raw.as_bytes())))
        .map_err(|_| {
            OAuthError::InvalidConfig("client credentials are not header-safe".to_owned())
        })?;
    value.set_sensitive(true);
    Ok(value)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_parts() {
        let v = basic_auth("id:1", "s e+cret").expect("header");
        assert!(v.is_sensitive());
        let text = v.to_str().expect("ascii");
        let decoded = STANDARD
            .decode(text.trim_start_matches("Basic "))
            .expect("b64");
        assert_eq!(decoded, b"id%3A1:s+e%2Bcret");
    }
}
