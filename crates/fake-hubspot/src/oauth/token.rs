//! `POST /oauth/v1/token`, `/oauth/v3/token` and `/oauth/2026-03/token`
//! (`docs/hubspot.md §3`): form-encoded, client secret always required, refresh tokens that do
//! not rotate, and HubSpot's error bodies.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use super::{field, form, same_secret};
use crate::error::{
    BAD_AUTH_CODE, BAD_CLIENT_ID, BAD_CLIENT_SECRET, BAD_GRANT_TYPE, BAD_REDIRECT_URI,
    BAD_REFRESH_TOKEN, OAuthError,
};
use crate::state::Emulator;

/// Checks `client_id` and `client_secret` against the app.
pub fn check_client(emu: &Emulator, pairs: &[(String, String)]) -> Result<(), OAuthError> {
    let config = emu.config();
    match field(pairs, "client_id") {
        Some(id) if id == config.client_id => {}
        _ => return Err(BAD_CLIENT_ID),
    }
    match field(pairs, "client_secret") {
        Some(secret) if same_secret(secret, &config.client_secret) => Ok(()),
        _ => Err(BAD_CLIENT_SECRET),
    }
}

pub async fn token(State(emu): State<Emulator>, body: Bytes) -> Response {
    let pairs = form(&body);
    match issue(&emu, &pairs) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn issue(emu: &Emulator, pairs: &[(String, String)]) -> Result<Response, OAuthError> {
    let grant = field(pairs, "grant_type");
    if !matches!(grant, Some("authorization_code" | "refresh_token")) {
        return Err(BAD_GRANT_TYPE);
    }
    check_client(emu, pairs)?;
    let now = emu.now_ms();
    let ttl_ms = i64::try_from(emu.config().access_token_ttl_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let mut tokens = emu.inner().tokens.lock();
    let (refresh, access) = if grant == Some("authorization_code") {
        let value = field(pairs, "code").ok_or(BAD_AUTH_CODE)?;
        let code = tokens.codes.get_mut(value).ok_or(BAD_AUTH_CODE)?;
        if code.used || now >= code.expires_ms {
            return Err(BAD_AUTH_CODE);
        }
        if field(pairs, "redirect_uri") != Some(code.redirect_uri.as_str()) {
            return Err(BAD_REDIRECT_URI);
        }
        if let Some(challenge) = &code.code_challenge {
            let verifier = field(pairs, "code_verifier").unwrap_or_default();
            let hashed = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                verifier.as_bytes(),
            ));
            if !same_secret(&hashed, challenge) {
                return Err(BAD_AUTH_CODE);
            }
        }
        code.used = true;
        let scopes = code.scopes.clone();
        let refresh = tokens.issue_refresh(&scopes, now);
        let access = tokens.issue_access(&refresh, &scopes, now, ttl_ms);
        (refresh, access)
    } else {
        let value = field(pairs, "refresh_token").ok_or(BAD_REFRESH_TOKEN)?;
        let scopes = tokens
            .live_refresh(value)
            .ok_or(BAD_REFRESH_TOKEN)?
            .scopes
            .clone();
        let access = tokens.issue_access(value, &scopes, now, ttl_ms);
        (value.to_owned(), access)
    };
    let body = json!({
        "token_type": "bearer",
        "refresh_token": refresh,
        "access_token": access,
        "expires_in": emu.config().access_token_ttl_secs,
    });
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(response)
}
