//! Token metadata, introspection and revocation (`docs/hubspot.md §4`). Deleting a refresh
//! token leaves the access tokens made from it working, as HubSpot documents.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::token::check_client;
use super::{field, form};
use crate::error::ApiError;
use crate::state::Emulator;

fn token_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        "The token was not found, or it has expired or been deleted",
    )
}

fn access_metadata(emu: &Emulator, token: &str) -> Option<Value> {
    let now = emu.now_ms();
    let tokens = emu.inner().tokens.lock();
    let access = tokens.check_access(token, now).ok()?;
    Some(json!({
        "token": token,
        "user": emu.config().user_email,
        "hub_domain": emu.hub_domain(),
        "scopes": access.scopes,
        "hub_id": emu.hub_id(),
        "app_id": emu.inner().app_id,
        "expires_in": (access.expires_ms - now) / 1000,
        "user_id": emu.inner().user_id,
        "token_type": "access",
    }))
}

fn refresh_metadata(emu: &Emulator, token: &str) -> Option<Value> {
    let tokens = emu.inner().tokens.lock();
    let refresh = tokens.live_refresh(token)?;
    Some(json!({
        "token": token,
        "user": emu.config().user_email,
        "hub_domain": emu.hub_domain(),
        "scopes": refresh.scopes,
        "hub_id": emu.hub_id(),
        "client_id": emu.config().client_id,
        "user_id": emu.inner().user_id,
        "token_type": "refresh",
    }))
}

pub async fn access_token(State(emu): State<Emulator>, Path(token): Path<String>) -> Response {
    match access_metadata(&emu, &token) {
        Some(body) => Json(body).into_response(),
        None => token_not_found().into_response(),
    }
}

pub async fn refresh_token(State(emu): State<Emulator>, Path(token): Path<String>) -> Response {
    match refresh_metadata(&emu, &token) {
        Some(body) => Json(body).into_response(),
        None => token_not_found().into_response(),
    }
}

pub async fn delete_refresh_token(
    State(emu): State<Emulator>,
    Path(token): Path<String>,
) -> Response {
    let mut tokens = emu.inner().tokens.lock();
    match tokens.refresh.get_mut(&token).filter(|r| !r.deleted) {
        Some(refresh) => {
            refresh.deleted = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => token_not_found().into_response(),
    }
}

pub async fn introspect(State(emu): State<Emulator>, body: Bytes) -> Response {
    let pairs = form(&body);
    if let Err(e) = check_client(&emu, &pairs) {
        return e.into_response();
    }
    let Some(token) = field(&pairs, "token") else {
        return ApiError::validation("token is required").into_response();
    };
    let found = access_metadata(&emu, token)
        .map(|m| (m, "access_token"))
        .or_else(|| refresh_metadata(&emu, token).map(|m| (m, "refresh_token")));
    match found {
        Some((Value::Object(mut map), token_use)) => {
            map.insert("active".to_owned(), json!(true));
            map.insert("token_use".to_owned(), json!(token_use));
            map.insert("client_id".to_owned(), json!(emu.config().client_id));
            map.insert("app_id".to_owned(), json!(emu.inner().app_id));
            Json(Value::Object(map)).into_response()
        }
        _ => Json(json!({"active": false})).into_response(),
    }
}

/// Revokes a refresh token (or an access token) by value; unknown tokens are not an error.
pub async fn revoke(State(emu): State<Emulator>, body: Bytes) -> Response {
    let pairs = form(&body);
    if let Err(e) = check_client(&emu, &pairs) {
        return e.into_response();
    }
    let Some(token) = field(&pairs, "token") else {
        return ApiError::validation("token is required").into_response();
    };
    let mut tokens = emu.inner().tokens.lock();
    if let Some(refresh) = tokens.refresh.get_mut(token) {
        refresh.deleted = true;
    } else if let Some(access) = tokens.access.get_mut(token) {
        access.revoked = true;
    }
    Json(json!({})).into_response()
}
