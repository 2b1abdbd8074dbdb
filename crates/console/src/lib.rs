//! Patchbay's admin console (`/admin`), hosted connect page (`/session/{jwt}`) and public pages
//! (the landing page `/`, the embedded docs `/docs`, the connect completion page
//! `/connect/done`), served as plain server-rendered HTML over the server crate's service layer
//! ([`Vault`]).
//!
//! It plugs into the server as a [`RouterExtension`] ([`extension`]); it sets no fallback
//! (the API router owns it) and applies its own layers: a strict Content-Security-Policy (no
//! inline script or style, scripts and styles only from the embedded `/console/assets/`; the
//! hosted page's `form-action` also names the provider login hosts its cards offer, see
//! `web::FormTargets`),
//! `Referrer-Policy: no-referrer` (the session JWT is in the page URL and must not leak to
//! the provider or to a theme's logo host), `Cache-Control: no-store`, and a body limit.
//!
//! Invariants:
//! - Every asset is compiled in (askama templates, `include_str!` CSS/JS): the pages work on a
//!   closed network and load nothing from a CDN.
//! - Secrets never reach HTML: the integration form shows only whether a secret is stored, an
//!   API key's plaintext is rendered once on the page that created it, and provider text is
//!   only ever rendered through askama's HTML escaping.
//! - Every state-changing request is a POST carrying a CSRF token bound to the admin session
//!   (or, on the connect page, to the session JWT); sign-in failures are throttled per
//!   (client address, user name) with backoff and per client address, never per user name
//!   alone, so a stranger cannot lock an admin out.
//! - The hosted page is scoped by its session JWT: it only ever passes the JWT's application
//!   and consumer to the service layer, never ids from the URL or the form.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]
// Handlers and their helpers return a ready page as the error: it is built once per request,
// so boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

mod activity;
mod admin;
mod assets;
mod auth;
mod cards;
mod connect;
mod diagnostics;
mod integrations;
mod limiter;
mod markdown;
mod public;
mod views;
mod web;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use patchbay_server::app::RouterExtension;
use patchbay_server::service::Vault;

pub use patchbay_server::service::admin_users::{
    AdminUserError, PasswordParams, create_admin_user, hash_password, verify_password,
};

/// Tunables of the console. [`ConsoleConfig::default`] is what `patchbay serve` uses.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// argon2id cost for new password hashes (verification reads the cost from the hash).
    pub password: PasswordParams,
    /// Failed sign-ins allowed per (client address, user name) before each further attempt
    /// waits (30 s, doubling, up to the window); ×4 per client address across names.
    pub max_failed_logins: u32,
    pub failed_login_window: Duration,
    /// How long an admin stays signed in without activity.
    pub admin_session_ttl: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            password: PasswordParams::default(),
            max_failed_logins: 5,
            failed_login_window: Duration::from_secs(15 * 60),
            admin_session_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

/// Where the hosted connect page asks Patchbay's callback to send the customer back. Put it on
/// an application's redirect-URI allow-list (saving an integration's settings in the console does)
/// so that customers return to the hosted page; otherwise they go straight to the session's
/// `redirect_uri`.
pub fn hosted_return_url(public_url: &str) -> String {
    format!("{}/connect/return", public_url.trim_end_matches('/'))
}

/// The console as a server extension, with default settings.
pub fn extension() -> RouterExtension {
    extension_with(ConsoleConfig::default())
}

/// The console as a server extension.
pub fn extension_with(config: ConsoleConfig) -> RouterExtension {
    Arc::new(move |vault: &Vault| router(vault.clone(), config.clone()))
}

/// The console's routes over `vault`.
pub fn router(vault: Vault, config: ConsoleConfig) -> Router {
    let state = web::ConsoleState::new(vault, config);
    Router::new()
        .merge(admin::routes())
        .merge(activity::routes())
        .merge(integrations::routes())
        .merge(webhooks::routes())
        .merge(connect::routes())
        .merge(assets::routes())
        .merge(public::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(web::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(web::FORM_LIMIT_BYTES))
}
