//! The settings API's user provisioning (`docs/hubspot.md §11`): list, provision, read, change
//! and remove the account's users, and read its roles and teams. A provisioned user's owner
//! appears at once; a removed user's owner is archived (the data engine's `users` module).
//!
//! Scopes, as HubSpot's spec lists them: reads take `settings.users.read` or
//! `crm.objects.users.read`; writes `settings.users.write` or `crm.objects.users.write`; a
//! role with a paid seat also needs `billing-write`; teams need `settings.users.teams.read`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use patchbay_fake_hubspot_data::Account;
use patchbay_fake_hubspot_data::users::{ROLES, UserKey};
use serde_json::{Map, Value, json};

use super::{
    Principal, json as respond, limit_param, offset_page, offset_param, param, parse_body,
    query_pairs,
};
use crate::error::ApiError;
use crate::state::Emulator;

pub const READ_SCOPES: &[&str] = &["settings.users.read", "crm.objects.users.read"];
pub const WRITE_SCOPES: &[&str] = &["settings.users.write", "crm.objects.users.write"];
pub const TEAMS_SCOPE: &str = "settings.users.teams.read";
pub const BILLING_SCOPE: &str = "billing-write";
/// A page of users holds at most this many (`after`'s description: 100 per page).
pub const MAX_USERS_LIMIT: usize = 100;

fn user_key(query: Option<&str>) -> Result<UserKey, ApiError> {
    let pairs = query_pairs(query);
    Ok(UserKey::parse(param(&pairs, "idProperty"))?)
}

fn object_body(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match parse_body::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::validation(
            "Invalid input JSON: the body must be an object",
        )),
    }
}

/// A paid-seat role needs `billing-write` besides the write scope.
fn check_role_scope(principal: &Principal, body: &Map<String, Value>) -> Result<(), ApiError> {
    if Account::role_needs_billing_write(body) {
        principal.require(BILLING_SCOPE)?;
    }
    Ok(())
}

/// `GET /settings/v3/users`: live users in owner order, `after` an offset.
pub async fn list_users(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    principal.require_any(READ_SCOPES)?;
    let pairs = query_pairs(query.as_deref());
    let limit = limit_param(&pairs, MAX_USERS_LIMIT, MAX_USERS_LIMIT)?;
    let after = offset_param(&pairs)?;
    let account = emu.inner().account.lock();
    let users: Vec<Value> = account.users().map(|o| o.render_user()).collect();
    Ok(respond(StatusCode::OK, offset_page(&users, after, limit)))
}

/// `POST /settings/v3/users`: `201` with the user, `sendWelcomeEmail` as asked.
pub async fn provision_user(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    principal.require_any(WRITE_SCOPES)?;
    let body = object_body(&body)?;
    check_role_scope(&principal, &body)?;
    let now = emu.now_ms();
    let mut account = emu.inner().account.lock();
    let id = account.provision_user(&body, now)?;
    let mut user = account
        .user(&id.to_string(), UserKey::UserId)?
        .render_user();
    let welcome = body
        .get("sendWelcomeEmail")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    user["sendWelcomeEmail"] = json!(welcome);
    Ok(respond(StatusCode::CREATED, user))
}

pub async fn read_user(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    principal.require_any(READ_SCOPES)?;
    let by = user_key(query.as_deref())?;
    let account = emu.inner().account.lock();
    Ok(respond(
        StatusCode::OK,
        account.user(&user_id, by)?.render_user(),
    ))
}

/// `PUT /settings/v3/users/{userId}`: `200` with the user.
pub async fn update_user(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    principal.require_any(WRITE_SCOPES)?;
    let by = user_key(query.as_deref())?;
    let body = object_body(&body)?;
    check_role_scope(&principal, &body)?;
    let now = emu.now_ms();
    let mut account = emu.inner().account.lock();
    let id = account.update_user(&user_id, by, &body, now)?;
    Ok(respond(
        StatusCode::OK,
        account
            .user(&id.to_string(), UserKey::UserId)?
            .render_user(),
    ))
}

/// `DELETE /settings/v3/users/{userId}`: `204`; the owner is archived.
pub async fn remove_user(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    principal.require_any(WRITE_SCOPES)?;
    let by = user_key(query.as_deref())?;
    let now = emu.now_ms();
    emu.inner().account.lock().remove_user(&user_id, by, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /settings/v3/users/roles`.
pub async fn list_roles(Extension(principal): Extension<Principal>) -> Result<Response, ApiError> {
    principal.require_any(READ_SCOPES)?;
    let results: Vec<Value> = ROLES
        .iter()
        .map(|r| json!({"id": r.id, "name": r.name, "requiresBillingWrite": r.requires_billing_write}))
        .collect();
    Ok(respond(StatusCode::OK, json!({ "results": results })))
}

/// `GET /settings/v3/users/teams`: each team with its primary and secondary members.
pub async fn list_teams(
    State(emu): State<Emulator>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    principal.require(TEAMS_SCOPE)?;
    let account = emu.inner().account.lock();
    let results: Vec<Value> = account
        .teams()
        .into_iter()
        .map(|(id, name)| {
            let primary: Vec<String> = account
                .users()
                .filter(|o| o.team.as_ref().is_some_and(|(t, _)| *t == id))
                .map(|o| o.user_id.to_string())
                .collect();
            let secondary: Vec<String> = account
                .users()
                .filter(|o| o.secondary_team_ids.contains(&id))
                .map(|o| o.user_id.to_string())
                .collect();
            json!({"id": id.to_string(), "name": name, "userIds": primary, "secondaryUserIds": secondary})
        })
        .collect();
    Ok(respond(StatusCode::OK, json!({ "results": results })))
}
