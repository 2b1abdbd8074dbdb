//! The one door into the versioned REST API: authenticate, count the call against the daily
//! limit, resolve the version, then hand the request to the resource routes with a [`Ctx`].
//!
//! Doing this in one place, before routing, means no resource handler can forget to
//! authenticate, and every counted response gets `Sforce-Limit-Info`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

use super::error::RestError;
use super::query::LocatorStore;
use super::version::ApiVersion;
use crate::state::{ApiUsage, Emulator, RestAuthError, RestPrincipal};

/// What the guard learned about a request, available to every resource handler.
#[derive(Clone)]
pub struct Ctx {
    pub emu: Emulator,
    pub version: ApiVersion,
    pub principal: Arc<RestPrincipal>,
    pub locators: Arc<LocatorStore>,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, RestError> {
        // Only reachable through `serve`, which always inserts it.
        (parts.extensions.get::<Ctx>().cloned())
            .ok_or_else(|| RestError::internal("REST route reached without the guard"))
    }
}

/// The resource routes plus the per-org state that only the REST surface needs.
pub struct Api {
    pub routes: Router,
    pub locators: Arc<LocatorStore>,
}

/// Runs the guard and, if it passes, the resource routes.
pub async fn serve(emu: Emulator, api: Arc<Api>, mut req: Request) -> Response {
    let principal = match emu.authenticate_rest(bearer_token(req.headers())) {
        Ok(p) => p,
        Err(RestAuthError::NoApiScope) => return RestError::session_not_for_rest().into_response(),
        Err(RestAuthError::Missing | RestAuthError::Invalid) => {
            return RestError::invalid_session().into_response();
        }
    };
    let usage = match emu.count_api_call() {
        Ok(usage) => usage,
        Err(usage) => {
            return with_limit_info(RestError::request_limit_exceeded().into_response(), usage);
        }
    };
    let version = version_segment(req.uri().path())
        .and_then(|seg| ApiVersion::resolve(seg, emu.latest_api_version()));
    let resp = match version {
        None => RestError::not_found().into_response(),
        Some(version) => {
            req.extensions_mut().insert(Ctx {
                emu,
                version,
                principal: Arc::new(principal),
                locators: Arc::clone(&api.locators),
            });
            // Its own task, so that a panic anywhere below (a bug, never bad input by design)
            // still answers in Salesforce's shape instead of dropping the connection.
            let routes = api.routes.clone();
            match tokio::spawn(routes.oneshot(req)).await {
                Ok(Ok(resp)) => resp,
                Ok(Err(never)) => match never {},
                Err(join) => RestError::internal(join).into_response(),
            }
        }
    };
    with_limit_info(resp, usage)
}

/// The token of `Authorization: Bearer <token>`; Salesforce also takes the older `OAuth` scheme.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then_some(token.trim())
}

/// The `vXX.X` segment of `/services/data/vXX.X/...`.
fn version_segment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/services/data/")?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

fn with_limit_info(mut resp: Response, usage: ApiUsage) -> Response {
    let value = format!("api-usage={}/{}", usage.used, usage.max);
    if let Ok(value) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert("sforce-limit-info", value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_and_oauth_schemes() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc!def"),
        );
        assert_eq!(bearer_token(&h), Some("abc!def"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("OAuth tok"));
        assert_eq!(bearer_token(&h), Some("tok"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcg=="),
        );
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer"));
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn finds_the_version_segment() {
        assert_eq!(version_segment("/services/data/v66.0/query"), Some("v66.0"));
        assert_eq!(version_segment("/services/data/latest"), Some("latest"));
        assert_eq!(version_segment("/services/data/"), None);
        assert_eq!(version_segment("/other"), None);
    }
}
