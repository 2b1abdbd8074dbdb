//! Identity endpoints: `/services/oauth2/userinfo`, the identity URL `/id/{org}/{user}`,
//! `/.well-known/openid-configuration` and the JWKS at `/id/keys`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::control::log::format_time;
use crate::oauth::grants::id_url;
use crate::oauth::model::{AccessToken, LoginHost, TokenState};
use crate::oauth::params::{Params, bearer_token};
use crate::oauth::users::UserView;
use crate::state::Emulator;

/// Identity endpoints answer auth failures with a plain-text 403 \[I\].
fn forbidden(body: &'static str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
        body,
    )
        .into_response()
}

const IDENTITY_SCOPES: [&str; 5] = ["id", "profile", "openid", "api", "full"];

/// The live access token presented, with its scope checked; slides the session.
/// Errors are the plain-text 403 bodies.
fn authenticate(
    emu: &Emulator,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Arc<AccessToken>, &'static str> {
    let Some(value) = bearer_token(headers, params) else {
        return Err("Missing_OAuth_Token");
    };
    let now = emu.now_ms();
    let token = emu.inner().access.read().get(&value).cloned();
    let Some(token) = token.filter(|t| t.state(now) == TokenState::Active) else {
        return Err("Bad_OAuth_Token");
    };
    if !IDENTITY_SCOPES.iter().any(|s| token.has_scope(s)) {
        return Err("Insufficient_Scope");
    }
    token.touch(now);
    Ok(token)
}

fn urls(emu: &Emulator, user: &UserView, version: &str) -> Value {
    let i = emu.instance_url();
    let org_id = emu.org_id();
    let org15 = org_id.get(..15).unwrap_or(&org_id);
    let user15 = user.id.get(..15).unwrap_or(&user.id);
    let data = format!("{i}/services/data/v{version}");
    json!({
        "enterprise": format!("{i}/services/Soap/c/{version}/{org15}"),
        "metadata": format!("{i}/services/Soap/m/{version}/{org15}"),
        "partner": format!("{i}/services/Soap/u/{version}/{org15}"),
        "rest": format!("{data}/"),
        "sobjects": format!("{data}/sobjects/"),
        "search": format!("{data}/search/"),
        "query": format!("{data}/query/"),
        "recent": format!("{data}/recent/"),
        "tooling_soap": format!("{i}/services/Soap/T/{version}/{org15}"),
        "tooling_rest": format!("{data}/tooling/"),
        "profile": format!("{i}/{user15}"),
        "feeds": format!("{data}/chatter/feeds"),
        "groups": format!("{data}/chatter/groups"),
        "users": format!("{data}/chatter/users"),
        "feed_items": format!("{data}/chatter/feed-items"),
        "feed_elements": format!("{data}/chatter/feed-elements"),
        "custom_domain": i,
    })
}

fn photos(emu: &Emulator, user: &UserView) -> Value {
    let base = emu.instance_url();
    json!({
        "picture": format!("{base}/profilephoto/005/F?u={}", user.id),
        "thumbnail": format!("{base}/profilephoto/005/T?u={}", user.id),
    })
}

/// Without `version`, Salesforce leaves the literal `{version}` in the URLs.
fn version(emu: &Emulator, params: &Params) -> String {
    match params.get("version") {
        Some("latest") => emu.latest_api_version().to_owned(),
        Some(v) if v.chars().all(|c| c.is_ascii_digit() || c == '.') => v.to_owned(),
        _ => "{version}".to_owned(),
    }
}

fn user_of(emu: &Emulator, token: &AccessToken) -> Result<UserView, &'static str> {
    emu.inner()
        .directory
        .by_id(&token.user_id)
        .ok_or("Bad_OAuth_Token")
}

pub async fn userinfo(
    State(emu): State<Emulator>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let token = match authenticate(&emu, &headers, &params) {
        Ok(t) => t,
        Err(body) => return forbidden(body),
    };
    let user = match user_of(&emu, &token) {
        Ok(u) => u,
        Err(body) => return forbidden(body),
    };
    let photos = photos(&emu, &user);
    let body = json!({
        "sub": id_url(&emu, token.host, &user.id),
        "user_id": user.id,
        "organization_id": emu.org_id(),
        "preferred_username": user.username,
        "nickname": user.username.split('@').next().unwrap_or_default(),
        "name": user.display_name(),
        "email": user.email,
        "email_verified": true,
        "given_name": user.first_name,
        "family_name": user.last_name,
        "zoneinfo": user.time_zone,
        "photos": photos,
        "profile": format!("{}/{}", emu.instance_url(), user.id),
        "picture": photos["picture"],
        "address": {"country": "US"},
        "is_salesforce_integration_user": false,
        "urls": urls(&emu, &user, &version(&emu, &params)),
        "active": user.active,
        "user_type": "STANDARD",
        "language": user.language,
        "locale": user.locale,
        "utcOffset": -28_800_000,
        "updated_at": format_time(user.modified_ms),
        "is_app_installed": true,
    });
    axum::Json(body).into_response()
}

pub async fn identity(
    State(emu): State<Emulator>,
    Extension(host): Extension<LoginHost>,
    Path((org, user_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_query(query.as_deref());
    let token = match authenticate(&emu, &headers, &params) {
        Ok(t) => t,
        Err(body) => return forbidden(body),
    };
    let org_id = emu.org_id();
    let same_org = org.len() >= 15 && org.get(..15) == org_id.get(..15);
    let Some(user) = emu.inner().directory.by_id(&user_id).filter(|_| same_org) else {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    };
    // Another user's identity needs api or full (docs/salesforce.md §7).
    if user.id != token.user_id && !(token.has_scope("api") || token.has_scope("full")) {
        return forbidden("Bad_OAuth_Token");
    }
    let id = id_url(&emu, host, &user.id);
    let body = json!({
        "id": id,
        "asserted_user": user.id == token.user_id,
        "user_id": user.id,
        "organization_id": org_id,
        "username": user.username,
        "nick_name": user.username.split('@').next().unwrap_or_default(),
        "display_name": user.display_name(),
        "email": user.email,
        "email_verified": true,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "timezone": user.time_zone,
        "photos": photos(&emu, &user),
        "addr_street": null, "addr_city": null, "addr_state": null,
        "addr_country": "US", "addr_zip": null,
        "mobile_phone": null,
        "mobile_phone_verified": false,
        "is_lightning_login_user": false,
        "status": {"created_date": null, "body": null},
        "urls": urls(&emu, &user, &version(&emu, &params)),
        "active": user.active,
        "user_type": "STANDARD",
        "language": user.language,
        "locale": user.locale,
        "utcOffset": -28_800_000,
        "last_modified_date": format_time(user.modified_ms).replace('Z', "+0000"),
        "is_app_installed": true,
    });
    axum::Json(body).into_response()
}

pub async fn openid_configuration(
    State(emu): State<Emulator>,
    Extension(host): Extension<LoginHost>,
) -> Response {
    let issuer = host.url(emu.base_url());
    let oauth = format!("{issuer}/services/oauth2");
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{oauth}/authorize"),
        "token_endpoint": format!("{oauth}/token"),
        "revocation_endpoint": format!("{oauth}/revoke"),
        "userinfo_endpoint": format!("{oauth}/userinfo"),
        "jwks_uri": format!("{issuer}/id/keys"),
        "registration_endpoint": format!("{oauth}/register"),
        "introspection_endpoint": format!("{oauth}/introspect"),
        "scopes_supported": ["api", "refresh_token", "offline_access", "id", "openid", "profile",
            "email", "address", "phone", "web", "full", "chatter_api", "visualforce", "lightning",
            "content", "custom_permissions", "wave_api", "eclair_api", "pardot_api"],
        "response_types_supported": ["code", "token", "token id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "display_values_supported": ["page", "popup", "touch"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_post", "client_secret_basic", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["active", "address", "email", "email_verified", "family_name",
            "given_name", "is_app_installed", "language", "locale", "name", "nickname",
            "organization_id", "phone_number", "phone_number_verified", "photos", "picture",
            "preferred_username", "profile", "sub", "updated_at", "urls", "user_id", "user_type",
            "zoneinfo"],
    }))
    .into_response()
}

pub async fn jwks(State(emu): State<Emulator>) -> Response {
    let keys: Vec<Value> = emu.signing_key().map(|k| k.jwk()).into_iter().collect();
    axum::Json(json!({ "keys": keys })).into_response()
}
