//! `POST /services/oauth2/token` and the token response as Salesforce shapes it: fixed field
//! order, no `expires_in`, `issued_at` in milliseconds as a string, and a `signature`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::oauth::crypto::{at_hash, response_signature};
use crate::oauth::error::{self as err, OAuthError, no_store};
use crate::oauth::grants::{self, Issued};
use crate::oauth::model::LoginHost;
use crate::oauth::params::{ClientCredentials, Params};
use crate::state::Emulator;

/// The token response; field order is Salesforce's. No `Debug`: it holds tokens.
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub signature: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub instance_url: String,
    pub id: String,
    pub token_type: &'static str,
    pub issued_at: String,
}

impl TokenResponse {
    pub fn build(emu: &Emulator, issued: Issued) -> Self {
        let issued_at = issued.issued_at_ms.to_string();
        let signature = response_signature(&issued.signing_secret, &issued.id_url, &issued_at);
        let id_token = issued.id_token.then(|| id_token(emu, &issued)).flatten();
        TokenResponse {
            signature,
            scope: issued.scopes.join(" "),
            id_token,
            instance_url: emu.instance_url(),
            id: issued.id_url,
            token_type: "Bearer",
            issued_at,
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
        }
    }

    /// `(name, value)` pairs in field order, for the urlencoded and XML formats.
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = vec![("access_token", self.access_token.as_str())];
        if let Some(r) = &self.refresh_token {
            pairs.push(("refresh_token", r));
        }
        pairs.push(("signature", &self.signature));
        pairs.push(("scope", &self.scope));
        if let Some(t) = &self.id_token {
            pairs.push(("id_token", t));
        }
        pairs.push(("instance_url", &self.instance_url));
        pairs.push(("id", &self.id));
        pairs.push(("token_type", self.token_type));
        pairs.push(("issued_at", &self.issued_at));
        pairs
    }
}

fn id_token(emu: &Emulator, issued: &Issued) -> Option<String> {
    let iat = issued.issued_at_ms / 1000;
    let user = &issued.user;
    let mut claims = serde_json::json!({
        "at_hash": at_hash(&issued.access_token),
        "sub": issued.id_url,
        "aud": issued.client_id,
        "iss": issued.host.url(emu.base_url()),
        "exp": iat.saturating_add(i64::try_from(issued.id_token_ttl_secs).unwrap_or(i64::MAX / 4)),
        "iat": iat,
        "auth_time": iat,
        "preferred_username": user.username,
        "name": user.display_name(),
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": user.time_zone,
    });
    if issued.scopes.iter().any(|s| s == "email") {
        claims["email"] = user.email.clone().into();
        claims["email_verified"] = true.into();
    }
    if let Some(nonce) = &issued.nonce {
        claims["nonce"] = nonce.clone().into();
    }
    emu.signing_key()?.sign_jwt(&claims).ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    UrlEncoded,
    Xml,
}

fn response_format(params: &Params, headers: &HeaderMap) -> Format {
    match params.get("format") {
        Some("urlencoded") => return Format::UrlEncoded,
        Some("xml") => return Format::Xml,
        Some("json") => return Format::Json,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.starts_with("application/x-www-form-urlencoded") {
        Format::UrlEncoded
    } else if accept.starts_with("application/xml") {
        Format::Xml
    } else {
        Format::Json
    }
}

fn render(response: &TokenResponse, format: Format) -> Response {
    let mut answer = match format {
        Format::Json => (StatusCode::OK, axum::Json(response)).into_response(),
        Format::UrlEncoded => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(response.pairs())
                .finish();
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
                body,
            )
                .into_response()
        }
        Format::Xml => {
            let fields: String = response
                .pairs()
                .into_iter()
                .map(|(k, v)| format!("<{k}>{}</{k}>", crate::pages::escape(v)))
                .collect();
            let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><OAuth>{fields}</OAuth>");
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/xml")],
                body,
            )
                .into_response()
        }
    };
    no_store(&mut answer);
    answer
}

pub async fn token(
    State(emu): State<Emulator>,
    Extension(host): Extension<LoginHost>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_request(query.as_deref(), &headers, &body);
    let creds = ClientCredentials::from_request(&headers, &params);
    let result = match params.get("grant_type") {
        Some("authorization_code") => grants::authorization_code(&emu, &creds, &params),
        Some("refresh_token") => grants::refresh(&emu, &creds, &params),
        Some("client_credentials") => grants::client_credentials(&emu, host, &creds),
        _ => Err(err::UNSUPPORTED_GRANT),
    };
    match result {
        Ok(issued) => render(
            &TokenResponse::build(&emu, issued),
            response_format(&params, &headers),
        ),
        Err(e) => e.into_response(),
    }
}

const MUST_POST: OAuthError = OAuthError {
    status: 400,
    error: "invalid_request",
    error_description: "must use HTTP POST",
};

/// Salesforce refuses token requests that are not POSTs.
pub async fn token_not_post() -> Response {
    let mut response = MUST_POST.into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}
