//! `/services/oauth2/revoke` and `/services/oauth2/introspect`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oauth::app::RefreshTokenPolicy;
use crate::oauth::error::{self as err, OAuthError, no_store};
use crate::oauth::grants::{check_secret, id_url, resolve_client};
use crate::oauth::model::{LoginHost, TokenState};
use crate::oauth::params::{ClientCredentials, Params};
use crate::oauth::store::secs;
use crate::state::Emulator;

/// Revokes an access token (only it) or a refresh token (its whole grant). `false` when the
/// token is unknown or already dead.
pub fn revoke_token(emu: &Emulator, value: &str) -> bool {
    let now = emu.now_ms();
    let mut st = emu.inner().oauth.lock();
    if let Some(record) = st.refresh.get(value).cloned() {
        return match st.refresh_state(&record, now) {
            TokenState::Active | TokenState::Expired => {
                let access = emu.inner().access.read();
                st.revoke_grant(&access, record.grant_id);
                if let Some(r) = st.refresh.get_mut(value) {
                    r.state = TokenState::Revoked;
                }
                true
            }
            TokenState::Revoked | TokenState::Rotated => false,
        };
    }
    drop(st);
    let access = emu.inner().access.read();
    match access.get(value) {
        Some(token) if token.state(now) != TokenState::Revoked => {
            token
                .revoked
                .store(true, std::sync::atomic::Ordering::Release);
            // An atomic, outside the tracked locks: the state file must hear of it.
            emu.changes().mark();
            true
        }
        _ => false,
    }
}

/// JSONP callbacks are echoed into script, so only plain identifiers are allowed.
fn jsonp_callback(params: &Params) -> Option<&str> {
    params.get("callback").filter(|c| {
        c.len() <= 64
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' || ch == '$')
    })
}

pub async fn revoke(
    State(emu): State<Emulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_request(query.as_deref(), &headers, &body);
    let outcome: Result<(), OAuthError> = match (params.get("token"), params.get("token_type_hint"))
    {
        (_, Some(hint)) if hint != "access_token" && hint != "refresh_token" => {
            Err(err::REVOKE_UNSUPPORTED)
        }
        (Some(token), _) if revoke_token(&emu, token) => Ok(()),
        _ => Err(err::REVOKE_INVALID),
    };
    if let Some(callback) = jsonp_callback(&params) {
        let payload = match outcome {
            Ok(()) => "{}".to_owned(),
            Err(e) => json!({"error": e.error}).to_string(),
        };
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/javascript")],
            format!("{callback}({payload});"),
        )
            .into_response();
    }
    match outcome {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(&mut response);
            response
        }
        Err(e) => e.into_response(),
    }
}

pub async fn introspect(
    State(emu): State<Emulator>,
    Extension(_host): Extension<LoginHost>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::from_request(query.as_deref(), &headers, &body);
    let creds = ClientCredentials::from_request(&headers, &params);
    let now = emu.now_ms();
    let app = {
        let st = emu.inner().oauth.lock();
        resolve_client(&st, creds.client_id.as_deref(), now)
            .map_err(|_| err::INVALID_CLIENT_401)
            .and_then(|(app, slot)| {
                check_secret(&app, slot, creds.client_secret.as_deref(), true)
                    .map(|()| app)
                    .map_err(|_| err::INVALID_CLIENT_401)
            })
    };
    let app = match app {
        Ok(app) => app,
        Err(e) => return e.into_response(),
    };
    let Some(token) = params.get("token") else {
        return err::MISSING_TOKEN.into_response();
    };
    let visible = |owner: u64| owner == app.id || app.settings.introspect_all_tokens;
    let mut answer = introspect_access(&emu, token, now, &visible)
        .or_else(|| introspect_refresh(&emu, token, now, &visible))
        .unwrap_or_else(|| json!({"active": false}));
    if answer.get("active") != Some(&json!(true)) {
        answer = json!({"active": false});
    }
    let mut response = (StatusCode::OK, axum::Json(answer)).into_response();
    no_store(&mut response);
    response
}

fn introspect_access(
    emu: &Emulator,
    token: &str,
    now: i64,
    visible: &dyn Fn(u64) -> bool,
) -> Option<serde_json::Value> {
    let access = emu.inner().access.read();
    let t = access.get(token)?;
    if !visible(t.app_id) || t.state(now) != TokenState::Active {
        return Some(json!({"active": false}));
    }
    let iat = t.issued_at_ms / 1000;
    Some(json!({
        "active": true,
        "scope": t.scopes.join(" "),
        "client_id": t.client_id,
        "username": t.username,
        "sub": id_url(emu, t.host, &t.user_id),
        "token_type": "access_token",
        "exp": t.expires_at_ms() / 1000,
        "iat": iat,
        "nbf": iat,
    }))
}

fn introspect_refresh(
    emu: &Emulator,
    token: &str,
    now: i64,
    visible: &dyn Fn(u64) -> bool,
) -> Option<serde_json::Value> {
    let st = emu.inner().oauth.lock();
    let record = st.refresh.get(token)?;
    if !visible(record.app_id) || st.refresh_state(record, now) != TokenState::Active {
        return Some(json!({"active": false}));
    }
    let grant = st.grants.get(&record.grant_id)?;
    let app = st.apps.get(&record.app_id)?;
    let iat = record.issued_at_ms / 1000;
    let mut answer = json!({
        "active": true,
        "scope": grant.scopes.join(" "),
        "client_id": record.client_id,
        "username": record.username,
        "sub": id_url(emu, grant.host, &grant.user_id),
        "token_type": "refresh_token",
        "iat": iat,
        "nbf": iat,
    });
    let exp_ms = match app.settings.refresh_token_policy {
        RefreshTokenPolicy::ExpireAfter { seconds } => Some(grant.created_at_ms + secs(seconds)),
        RefreshTokenPolicy::ExpireIfUnused { seconds } => Some(record.last_used_ms + secs(seconds)),
        RefreshTokenPolicy::Infinite | RefreshTokenPolicy::ImmediatelyExpire => None,
    };
    if let Some(exp) = exp_ms {
        answer["exp"] = json!(exp / 1000);
    }
    Some(answer)
}
