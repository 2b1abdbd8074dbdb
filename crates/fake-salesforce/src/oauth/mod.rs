//! The OAuth 2.0 / OpenID Connect server of the three login hosts (see the crate doc).

pub mod app;
pub mod crypto;
pub mod error;
pub mod model;
pub mod store;
pub mod users;

use axum::Router;

use crate::state::Emulator;

/// OAuth and identity routes, mounted once per login host.
pub fn router() -> Router<Emulator> {
    Router::new()
}
