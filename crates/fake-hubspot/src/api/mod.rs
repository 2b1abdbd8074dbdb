//! The CRM API (`docs/hubspot.md §6–§12`): objects, search, v4 associations, owners, the
//! users behind them (the settings API's user provisioning) and deal pipelines, behind one
//! guard that authenticates the bearer token, applies the account's rate limits and adds the
//! rate-limit and correlation headers.

pub mod assoc;
pub mod misc;
pub mod objects;
pub mod users;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use patchbay_fake_hubspot_data::ObjectType;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, CORRELATION_HEADER, correlation_id, rate_headers, rate_limited};
use crate::state::Emulator;
use crate::tokens::AccessProblem;

/// Who is calling: the scopes of the access token.
#[derive(Clone, Debug)]
pub struct Principal {
    pub scopes: Vec<String>,
}

impl Principal {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::missing_scope(scope))
        }
    }

    /// Any one of `scopes` will do (HubSpot lists alternatives per endpoint).
    pub fn require_any(&self, scopes: &[&str]) -> Result<(), ApiError> {
        if scopes
            .iter()
            .any(|want| self.scopes.iter().any(|s| s == want))
        {
            Ok(())
        } else {
            Err(ApiError::missing_scopes(scopes))
        }
    }
}

pub fn router() -> Router<Emulator> {
    Router::new()
        .route(
            "/crm/v3/objects/{object}",
            get(objects::list).post(objects::create),
        )
        .route("/crm/v3/objects/{object}/search", post(objects::search))
        .route(
            "/crm/v3/objects/{object}/{id}",
            get(objects::read)
                .patch(objects::update)
                .delete(objects::archive),
        )
        .route(
            "/crm/v4/objects/{from}/{id}/associations/{to}",
            get(assoc::list),
        )
        .route(
            "/crm/v4/associations/{from}/{to}/batch/read",
            post(assoc::batch_read),
        )
        .route(
            "/crm/v4/objects/{from}/{id}/associations/default/{to}/{to_id}",
            put(assoc::create_default),
        )
        .route(
            "/crm/v4/objects/{from}/{id}/associations/{to}/{to_id}",
            axum::routing::delete(assoc::remove),
        )
        .route("/crm/v3/properties/{object}", get(misc::list_properties))
        .route("/crm/v3/owners", get(misc::list_owners))
        .route("/crm/v3/owners/{id}", get(misc::read_owner))
        .route(
            "/settings/v3/users",
            get(users::list_users).post(users::provision_user),
        )
        .route(
            "/settings/v3/users/",
            get(users::list_users).post(users::provision_user),
        )
        .route("/settings/v3/users/roles", get(users::list_roles))
        .route("/settings/v3/users/teams", get(users::list_teams))
        .route(
            "/settings/v3/users/{user_id}",
            get(users::read_user)
                .put(users::update_user)
                .delete(users::remove_user),
        )
        .route(
            "/crm/v3/pipelines/{object}",
            get(misc::list_pipelines).post(misc::create_pipeline),
        )
        .route(
            "/crm/v3/pipelines/{object}/{id}",
            get(misc::read_pipeline)
                .patch(misc::update_pipeline)
                .put(misc::replace_pipeline)
                .delete(misc::delete_pipeline),
        )
        .fallback(|| async { ApiError::not_found() })
}

fn bearer(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Authenticates, rate-limits and stamps headers on every CRM call.
pub async fn guard(State(emu): State<Emulator>, mut request: Request, next: Next) -> Response {
    let now = emu.now_ms();
    let principal = {
        let Some(token) = bearer(&request) else {
            return ApiError::invalid_authentication().into_response();
        };
        let tokens = emu.inner().tokens.lock();
        match tokens.check_access(&token, now) {
            Ok(access) => Principal {
                scopes: access.scopes.clone(),
            },
            Err(AccessProblem::Unknown | AccessProblem::Revoked) => {
                return ApiError::invalid_authentication().into_response();
            }
            Err(AccessProblem::Expired(at)) => return ApiError::expired(at, now).into_response(),
        }
    };
    let search = request.method() == Method::POST && request.uri().path().ends_with("/search");
    let usage = match emu.inner().limiter.take(search) {
        Ok(usage) => usage,
        Err((policy, usage)) => return rate_limited(policy, usage),
    };
    request.extensions_mut().insert(principal);
    let mut response = next.run(request).await;
    rate_headers(&mut response, usage);
    if !response.headers().contains_key(CORRELATION_HEADER)
        && let Ok(value) = HeaderValue::from_str(&correlation_id())
    {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}

/// An object type from a path segment, or HubSpot's `400` for a name it cannot place.
pub fn object_type(name: &str) -> Result<ObjectType, ApiError> {
    ObjectType::parse(name)
        .ok_or_else(|| ApiError::validation(format!("Unable to infer object type from: {name}")))
}

/// JSON bodies are parsed by hand, so that bad input gets HubSpot's `400`, not axum's text.
pub fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::validation(format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })
}

/// Query parameters, repeated keys kept (`properties=a&properties=b`).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

/// Every value of a list parameter: repeated, comma-separated, or both.
pub fn list_param(pairs: &[(String, String)], key: &str) -> Option<Vec<String>> {
    let values: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    pairs.iter().any(|(k, _)| k == key).then_some(values)
}

pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `archived=true|false`; anything else is a `400`.
pub fn bool_param(pairs: &[(String, String)], key: &str) -> Result<bool, ApiError> {
    match param(pairs, key) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::validation(format!(
            "{key} must be true or false, got '{other}'"
        ))),
    }
}

/// `limit`: default `default`, capped at `max`; not a positive number is a `400`.
pub fn limit_param(
    pairs: &[(String, String)],
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match param(pairs, "limit") {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n.min(max)),
            _ => Err(ApiError::validation(format!(
                "limit must be a positive integer, got '{text}'"
            ))),
        },
    }
}

/// `after` as an offset into a list (owners, users): `0` when absent; not a number is a `400`.
pub fn offset_param(pairs: &[(String, String)]) -> Result<usize, ApiError> {
    match param(pairs, "after") {
        None => Ok(0),
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::validation(format!("after must be a number, got {a}"))),
    }
}

/// One page of `items` from offset `after`: `{"results": […]}`, with `paging.next.after` when
/// more follow.
pub fn offset_page(items: &[serde_json::Value], after: usize, limit: usize) -> serde_json::Value {
    let end = after.saturating_add(limit).min(items.len());
    let page = items.get(after.min(end)..end).unwrap_or_default();
    let mut body = serde_json::json!({"results": page});
    if let (true, Some(map)) = (end < items.len(), body.as_object_mut()) {
        map.insert(
            "paging".to_owned(),
            serde_json::json!({"next": {"after": end.to_string()}}),
        );
    }
    body
}

pub fn json(status: axum::http::StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}
