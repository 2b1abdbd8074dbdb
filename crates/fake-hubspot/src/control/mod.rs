//! The control plane under `/__emulator/`, apart from the HubSpot surface. JSON in and out;
//! errors are `{"error": "..."}`. It shows secrets and tokens on purpose: it is a test and demo
//! fixture, so bind the emulator to loopback (the default). With a control token
//! (`--control-token`, `EmulatorConfig::control_token`) every request here must carry
//! `x-emulator-token: TOKEN`, and without it gets `404 {"error": "not found"}`, as the
//! Salesforce emulator's does; without one it is open to whoever reaches the port.
//!
//! | Method and path | What it does |
//! |---|---|
//! | `GET /__emulator/info` | the start-up JSON (URLs, the app's credentials, the default user) |
//! | `GET /__emulator/tokens` | every issued token: `kind`, `value`, `state` (`active`/`expired`/`revoked`/`deleted`), `scopes`, `issued_at_ms`, `expires_at_ms` |
//! | `POST /__emulator/tokens/expire` | `{"token"}`: an access token expires now |
//! | `POST /__emulator/tokens/revoke` | `{"token"}`: an access token stops working; a refresh token is deleted |
//! | `GET`/`DELETE /__emulator/requests` | the request log ([`log::LogEntry`]); clear it |
//! | `GET`/`POST`/`DELETE /__emulator/faults` | list, add, clear fault rules ([`faults::FaultRule`]) |
//! | `GET`/`POST /__emulator/clock` | read the emulator clock; `{"advance_seconds": N}` moves it |
//! | `GET`/`POST /__emulator/limits` | read the rate limits; `{"rate_limit_per_10s"?, "search_rate_limit_per_sec"?, "reset"?}` |

pub mod faults;
pub mod log;
pub mod middleware;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::control::faults::FaultRule;
use crate::state::Emulator;
use crate::tokens::TokenKind;

fn control_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// A bad body is answered with a JSON 400 (boxed: a `Response` is large for an `Err`).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(control_error(
            StatusCode::BAD_REQUEST,
            &format!("invalid JSON body: {e}"),
        ))
    })
}

pub fn router() -> Router<Emulator> {
    Router::new()
        .route("/info", get(info))
        .route("/tokens", get(list_tokens))
        .route("/tokens/expire", post(expire_token))
        .route("/tokens/revoke", post(revoke_token))
        .route("/requests", get(list_requests).delete(clear_requests))
        .route(
            "/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/clock", get(clock).post(advance_clock))
        .route("/limits", get(limits).post(set_limits))
        .fallback(|| async {
            control_error(StatusCode::NOT_FOUND, "no such control-plane endpoint")
        })
}

/// The one-line JSON printed on start: URLs, the app's credentials, the default user, and the
/// state file and control token when they are set.
pub fn startup_info(emu: &Emulator) -> Value {
    let config = emu.config();
    let base = emu.base_url();
    let mut info = json!({
        "base_url": base,
        "app_url": base,
        "api_url": base,
        "authorize_url": format!("{base}/oauth/authorize"),
        "token_url": format!("{base}/oauth/v1/token"),
        "control_plane": format!("{base}/__emulator"),
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "redirect_uris": config.redirect_uris,
        "scopes": config.scopes,
        "optional_scopes": config.optional_scopes,
        "hub_id": emu.hub_id(),
        "hub_domain": emu.hub_domain(),
        "app_id": emu.inner().app_id,
        "user": config.user_email,
        "user_id": emu.inner().user_id,
        "password": config.password,
    });
    // Only when set, so that the line without them stays as it was.
    if let Some(map) = info.as_object_mut() {
        if let Some(path) = &config.state_file {
            map.insert("state_file".to_owned(), json!(path.display().to_string()));
        }
        if let Some(token) = &config.control_token {
            map.insert("control_token".to_owned(), json!(token));
        }
    }
    info
}

async fn info(State(emu): State<Emulator>) -> Response {
    Json(startup_info(&emu)).into_response()
}

async fn list_tokens(State(emu): State<Emulator>) -> Response {
    let now = emu.now_ms();
    let tokens = emu.inner().tokens.lock();
    let out: Vec<Value> = tokens
        .issued
        .iter()
        .filter_map(|(kind, value)| match kind {
            TokenKind::Access => tokens.access.get(value).map(|t| {
                let state = if t.revoked {
                    "revoked"
                } else if now >= t.expires_ms {
                    "expired"
                } else {
                    "active"
                };
                json!({"kind": kind, "value": value, "state": state, "scopes": t.scopes,
                       "issued_at_ms": t.issued_ms, "expires_at_ms": t.expires_ms,
                       "refresh_token_sha256": crate::oauth::sha256_hex(&t.refresh_token)})
            }),
            TokenKind::Refresh => tokens.refresh.get(value).map(|t| {
                let state = if t.deleted { "deleted" } else { "active" };
                json!({"kind": kind, "value": value, "state": state, "scopes": t.scopes,
                       "issued_at_ms": t.issued_ms, "expires_at_ms": null})
            }),
        })
        .collect();
    Json(out).into_response()
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

async fn expire_token(State(emu): State<Emulator>, body: Bytes) -> Response {
    let body: TokenBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return *e,
    };
    let now = emu.now_ms();
    let mut tokens = emu.inner().tokens.lock();
    let is_refresh = tokens.refresh.contains_key(&body.token);
    match tokens.access.get_mut(&body.token) {
        Some(access) => {
            access.expires_ms = access.expires_ms.min(now);
            StatusCode::NO_CONTENT.into_response()
        }
        None if is_refresh => control_error(
            StatusCode::BAD_REQUEST,
            "HubSpot refresh tokens do not expire; revoke it instead",
        ),
        None => control_error(StatusCode::NOT_FOUND, "no such token"),
    }
}

async fn revoke_token(State(emu): State<Emulator>, body: Bytes) -> Response {
    let body: TokenBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return *e,
    };
    let mut tokens = emu.inner().tokens.lock();
    if let Some(access) = tokens.access.get_mut(&body.token) {
        access.revoked = true;
    } else if let Some(refresh) = tokens.refresh.get_mut(&body.token) {
        refresh.deleted = true;
    } else {
        return control_error(StatusCode::NOT_FOUND, "no such token");
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn list_requests(State(emu): State<Emulator>) -> Response {
    Json(emu.inner().log.snapshot()).into_response()
}

async fn clear_requests(State(emu): State<Emulator>) -> Response {
    emu.inner().log.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn list_faults(State(emu): State<Emulator>) -> Response {
    Json(emu.inner().faults.list()).into_response()
}

async fn add_fault(State(emu): State<Emulator>, body: Bytes) -> Response {
    match parse::<FaultRule>(&body) {
        Ok(rule) => {
            emu.inner().faults.add(rule.clone());
            (StatusCode::CREATED, Json(rule)).into_response()
        }
        Err(e) => *e,
    }
}

async fn clear_faults(State(emu): State<Emulator>) -> Response {
    emu.inner().faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn clock(State(emu): State<Emulator>) -> Response {
    let now = emu.now_ms();
    Json(json!({"now_ms": now, "now": patchbay_fake_hubspot_data::time::format_ms(now)}))
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    advance_seconds: i64,
}

async fn advance_clock(State(emu): State<Emulator>, body: Bytes) -> Response {
    match parse::<AdvanceBody>(&body) {
        Ok(b) if b.advance_seconds >= 0 => {
            emu.advance_clock(b.advance_seconds);
            clock(State(emu)).await
        }
        Ok(_) => control_error(StatusCode::BAD_REQUEST, "the clock only moves forward"),
        Err(e) => *e,
    }
}

async fn limits(State(emu): State<Emulator>) -> Response {
    let (burst, search) = emu.inner().limiter.limits();
    Json(json!({"rate_limit_per_10s": burst, "search_rate_limit_per_sec": search})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsBody {
    #[serde(default)]
    rate_limit_per_10s: Option<u32>,
    #[serde(default)]
    search_rate_limit_per_sec: Option<u32>,
    #[serde(default)]
    reset: bool,
}

async fn set_limits(State(emu): State<Emulator>, body: Bytes) -> Response {
    match parse::<LimitsBody>(&body) {
        Ok(b) => {
            let limiter = &emu.inner().limiter;
            limiter.set(b.rate_limit_per_10s, b.search_rate_limit_per_sec);
            if b.reset {
                limiter.reset();
            }
            limits(State(emu)).await
        }
        Err(e) => *e,
    }
}
