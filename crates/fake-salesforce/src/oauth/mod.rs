//! The OAuth 2.0 / OpenID Connect server of the three login hosts (see the crate doc):
//! authorize with login and consent pages, the token endpoint and its grants, revocation,
//! introspection and the identity endpoints.

pub mod app;
pub mod authorize;
pub mod crypto;
pub mod error;
pub mod grants;
pub mod identity;
pub mod model;
pub mod params;
pub mod revoke;
pub mod store;
pub mod token;
pub mod users;

use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::oauth::model::LoginHost;
use crate::state::Emulator;

/// OAuth and identity routes of one login host, without its prefix.
fn host_routes(host: LoginHost) -> Router<Emulator> {
    Router::new()
        .route("/services/oauth2/authorize", get(authorize::authorize))
        .route(
            "/services/oauth2/authorize/login",
            post(authorize::login_submit),
        )
        .route(
            "/services/oauth2/authorize/consent",
            post(authorize::consent_submit),
        )
        .route(
            "/services/oauth2/token",
            post(token::token).get(token::token_not_post),
        )
        .route(
            "/services/oauth2/revoke",
            post(revoke::revoke).get(revoke::revoke),
        )
        .route("/services/oauth2/introspect", post(revoke::introspect))
        .route(
            "/services/oauth2/userinfo",
            get(identity::userinfo).post(identity::userinfo),
        )
        .route("/id/keys", get(identity::jwks))
        .route(
            "/id/{org}/{user}",
            get(identity::identity).post(identity::identity),
        )
        .route(
            "/.well-known/openid-configuration",
            get(identity::openid_configuration),
        )
        .layer(Extension(host))
}

/// Every login host: My Domain at the root, `login` and `test` under their prefixes.
pub fn router() -> Router<Emulator> {
    let mut router = Router::new();
    for host in LoginHost::ALL {
        router = match host {
            LoginHost::MyDomain => router.merge(host_routes(host)),
            _ => router.nest(host.prefix(), host_routes(host)),
        };
    }
    router
}
