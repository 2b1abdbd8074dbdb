//! The control plane under `/__emulator/`, apart from the Salesforce surface. JSON in and out;
//! errors are `{"error": "..."}` with 400, 404 or 409. It shows secrets and tokens on purpose:
//! it is a test and demo fixture, never exposed by a real deployment.
//!
//! | Method and path | What it does |
//! |---|---|
//! | `GET /__emulator/info` | the start-up JSON (URLs, default app and user) |
//! | `GET /__emulator/apps`, `POST /__emulator/apps` | list apps; create one (any [`apps::AppPatch`] field, `profile`: `external_client_app` or `legacy_connected_app`) |
//! | `GET`/`PATCH /__emulator/apps/{client_id or id}` | read or change an app's settings |
//! | `POST /__emulator/apps/{key}/credentials/staged` | stage a second key/secret (`{client_id?, client_secret?, keep_client_id?}`); both sets work |
//! | `POST /__emulator/apps/{key}/credentials/promote` | the staged set becomes main; the old main stops working |
//! | `DELETE /__emulator/apps/{key}/credentials/{main,staged}` | remove one set (the last one cannot be removed) |
//! | `GET`/`POST /__emulator/users`, `PATCH /__emulator/users/{username}` | list, create, change users (`username`, `password`, `first_name`, `last_name`, `email`, `active`) |
//! | `GET`/`POST`/`DELETE /__emulator/faults` | list, add, clear fault rules ([`faults::FaultRule`]: `{"target":"token"|"rest"|"any", "kind":"latency","ms":N | "status","status":503 | "rate_limit","retry_after_secs":N | "connection_reset" | "drop_response" | "error","status":400,"code":"UNABLE_TO_LOCK_ROW","message":"...", "count":N, "grant_type"?, "path_contains"?}`) |
//! | `GET /__emulator/grants` | every approval: `id`, `client_id`, `username`, `scopes`, `host`, `revoked`, `created_at_ms` |
//! | `GET /__emulator/tokens` | every issued token: `kind`, `value`, `client_id`, `username`, `state` (`active`/`expired`/`revoked`/`rotated`), … (fixed contract) |
//! | `POST /__emulator/tokens/expire`, `POST /__emulator/tokens/revoke` | `{"token": "..."}`: expire or revoke one token (a refresh token's revocation takes its grant) |
//! | `GET`/`DELETE /__emulator/requests` | the log of token-endpoint and REST calls (fixed contract: `time`, `method`, `path`, `status`, `grant_type`, `refresh_token_sha256`, …); clear it |
//! | `GET`/`POST /__emulator/clock` | read the emulator clock; `{"advance_seconds": N}` moves it forward |
//! | `GET`/`POST /__emulator/limits` | read API usage; `{"daily_api_limit": N, "used": N}` sets either |

pub mod apps;
pub mod faults;
pub mod log;
pub mod middleware;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::control::faults::FaultRule;
use crate::oauth::model::{TokenKind, TokenState};
use crate::oauth::revoke::revoke_token;
use crate::state::Emulator;

/// A control-plane error: `{"error": message}`.
pub struct ControlError {
    status: StatusCode,
    message: String,
}

impl ControlError {
    pub fn bad_request(message: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.to_owned(),
        }
    }
    pub fn not_found(message: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.to_owned(),
        }
    }
    pub fn conflict(message: &str) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            message: message.to_owned(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.message}))).into_response()
    }
}

/// JSON bodies are parsed by hand so that bad input gets a JSON 400, not axum's text.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body)
        .map_err(|e| ControlError::bad_request(&format!("invalid JSON body: {e}")))
}

pub fn router() -> Router<Emulator> {
    Router::new()
        .route("/info", get(info))
        .route("/apps", get(apps::list_apps).post(apps::create_app))
        .route("/apps/{key}", get(apps::get_app).patch(apps::update_app))
        .route(
            "/apps/{key}/credentials/staged",
            post(apps::stage_credentials),
        )
        .route(
            "/apps/{key}/credentials/promote",
            post(apps::promote_credentials),
        )
        .route(
            "/apps/{key}/credentials/{slot}",
            delete(apps::remove_credentials),
        )
        .route("/users", get(apps::list_users).post(apps::create_user))
        .route("/users/{username}", axum::routing::patch(apps::update_user))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/grants", get(list_grants))
        .route("/tokens", get(list_tokens))
        .route("/tokens/expire", post(expire_token))
        .route("/tokens/revoke", post(revoke))
        .route("/requests", get(list_requests).delete(clear_requests))
        .route("/clock", get(clock).post(advance_clock))
        .route("/limits", get(limits).post(set_limits))
        .fallback(|| async { ControlError::not_found("no such control-plane endpoint") })
}

/// The one-line JSON printed on start.
pub fn startup_info(emu: &Emulator) -> Value {
    let config = emu.config();
    let base = emu.base_url();
    json!({
        "base_url": base,
        "instance_url": emu.instance_url(),
        "login_urls": {
            "my_domain": base,
            "production": format!("{base}/login"),
            "sandbox": format!("{base}/test"),
        },
        "org_id": emu.org_id(),
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "callback_urls": config.callback_urls,
        "username": config.username,
        "password": config.password,
        "control_plane": format!("{base}/__emulator"),
    })
}

async fn info(State(emu): State<Emulator>) -> Response {
    Json(startup_info(&emu)).into_response()
}

async fn list_faults(State(emu): State<Emulator>) -> Response {
    Json(emu.inner().faults.list()).into_response()
}

async fn add_fault(State(emu): State<Emulator>, body: Bytes) -> Response {
    match parse_json::<FaultRule>(&body) {
        Ok(rule) => {
            emu.inner().faults.add(rule.clone());
            (StatusCode::CREATED, Json(rule)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn clear_faults(State(emu): State<Emulator>) -> Response {
    emu.inner().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_grants(State(emu): State<Emulator>) -> Response {
    let st = emu.inner().oauth.lock();
    let mut grants: Vec<&crate::oauth::model::Grant> = st.grants.values().collect();
    grants.sort_by_key(|g| g.id);
    let out: Vec<Value> = grants
        .into_iter()
        .map(|g| {
            json!({
                "id": g.id, "client_id": g.client_id, "username": g.username,
                "scopes": g.scopes, "host": g.host, "revoked": g.revoked,
                "created_at_ms": g.created_at_ms,
            })
        })
        .collect();
    Json(out).into_response()
}

async fn list_tokens(State(emu): State<Emulator>) -> Response {
    let now = emu.now_ms();
    let st = emu.inner().oauth.lock();
    let access = emu.inner().access.read();
    let mut out = Vec::with_capacity(st.issued.len());
    for (kind, value) in &st.issued {
        let entry = match kind {
            TokenKind::Access => access.get(value).map(|t| {
                json!({
                    "kind": kind, "value": value, "client_id": t.client_id,
                    "username": t.username, "state": t.state(now), "scopes": t.scopes,
                    "grant_id": t.grant_id, "issued_at_ms": t.issued_at_ms,
                    "expires_at_ms": t.expires_at_ms(),
                })
            }),
            TokenKind::Refresh => st.refresh.get(value).map(|r| {
                json!({
                    "kind": kind, "value": value, "client_id": r.client_id,
                    "username": r.username, "state": st.refresh_state(r, now),
                    "grant_id": r.grant_id, "issued_at_ms": r.issued_at_ms,
                    "last_used_ms": r.last_used_ms,
                })
            }),
        };
        out.extend(entry);
    }
    Json(out).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    token: String,
}

async fn expire_token(State(emu): State<Emulator>, body: Bytes) -> Response {
    let request: TokenRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let found = {
        let mut st = emu.inner().oauth.lock();
        match st.refresh.get_mut(&request.token) {
            Some(r) if r.state == TokenState::Active => {
                r.state = TokenState::Expired;
                true
            }
            Some(_) => true,
            None => match emu.inner().access.read().get(&request.token) {
                Some(t) => {
                    t.force_expire();
                    // An atomic, outside the tracked locks: the state file must hear of it.
                    emu.changes().mark();
                    true
                }
                None => false,
            },
        }
    };
    if found {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ControlError::not_found("no such token").into_response()
    }
}

async fn revoke(State(emu): State<Emulator>, body: Bytes) -> Response {
    let request: TokenRequest = match parse_json(&body) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if revoke_token(&emu, &request.token) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ControlError::not_found("no such live token").into_response()
    }
}

async fn list_requests(State(emu): State<Emulator>) -> Response {
    Json(emu.inner().log.snapshot()).into_response()
}

async fn clear_requests(State(emu): State<Emulator>) -> Response {
    emu.inner().log.clear();
    StatusCode::NO_CONTENT.into_response()
}

fn clock_json(emu: &Emulator) -> Value {
    let now = emu.now_ms();
    json!({"now_ms": now, "now": log::format_time(now)})
}

async fn clock(State(emu): State<Emulator>) -> Response {
    Json(clock_json(&emu)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceRequest {
    advance_seconds: i64,
}

async fn advance_clock(State(emu): State<Emulator>, body: Bytes) -> Response {
    match parse_json::<AdvanceRequest>(&body) {
        Ok(r) if r.advance_seconds >= 0 => {
            emu.advance_clock(r.advance_seconds);
            Json(clock_json(&emu)).into_response()
        }
        Ok(_) => ControlError::bad_request("the clock only moves forward").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn limits(State(emu): State<Emulator>) -> Response {
    Json(emu.api_usage()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsRequest {
    daily_api_limit: Option<u64>,
    used: Option<u64>,
}

async fn set_limits(State(emu): State<Emulator>, body: Bytes) -> Response {
    match parse_json::<LimitsRequest>(&body) {
        Ok(r) => {
            emu.set_api_limit(r.daily_api_limit, r.used);
            Json(emu.api_usage()).into_response()
        }
        Err(e) => e.into_response(),
    }
}
