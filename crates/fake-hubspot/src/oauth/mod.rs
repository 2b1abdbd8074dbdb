//! HubSpot's OAuth server (`docs/hubspot.md §2–§4`): the install page on the app host, and the
//! token, metadata, introspection and revocation endpoints on the API host.

pub mod authorize;
pub mod meta;
pub mod token;

use aws_lc_rs::digest;
use axum::Router;
use axum::routing::{get, post};

use crate::state::Emulator;

pub fn router() -> Router<Emulator> {
    Router::new()
        .route(
            "/oauth/authorize",
            get(authorize::page).post(authorize::decide),
        )
        .route(
            "/oauth/{account}/authorize",
            get(authorize::page).post(authorize::decide),
        )
        .route("/oauth/v1/token", post(token::token))
        .route("/oauth/v3/token", post(token::token))
        .route("/oauth/2026-03/token", post(token::token))
        .route("/oauth/v1/access-tokens/{token}", get(meta::access_token))
        .route(
            "/oauth/v1/refresh-tokens/{token}",
            get(meta::refresh_token).delete(meta::delete_refresh_token),
        )
        .route("/oauth/v3/token/introspect", post(meta::introspect))
        .route("/oauth/2026-03/token/introspect", post(meta::introspect))
        .route("/oauth/v3/token/revoke", post(meta::revoke))
        .route("/oauth/2026-03/token/revoke", post(meta::revoke))
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, value.as_bytes()).as_ref())
}

/// Constant time, so that a test of secret checking cannot be timed.
pub fn same_secret(given: &str, expected: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(given.as_bytes(), expected.as_bytes()).is_ok()
}

/// Form parameters (body of a POST), first value of each name.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}
