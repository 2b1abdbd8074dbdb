//! Control-plane handlers for apps, credentials and users.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::control::{ControlError, parse_json};
use crate::oauth::app::{App, AppProfile, AppSettings, Credential, RefreshTokenPolicy};
use crate::oauth::crypto;
use crate::oauth::store::OAuthState;
use crate::oauth::users::UserInput;
use crate::state::Emulator;

/// Any subset of an app's settings; absent fields keep their value (or the profile default).
/// Also the shape of an app in a seed file. No `Debug`: it may hold a secret.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPatch {
    pub name: Option<String>,
    pub profile: Option<AppProfile>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub callback_urls: Option<Vec<String>>,
    /// A list, or one space-separated string.
    pub scopes: Option<Scopes>,
    pub require_pkce: Option<bool>,
    pub require_secret_web_server: Option<bool>,
    pub require_secret_refresh: Option<bool>,
    pub rotate_refresh_tokens: Option<bool>,
    pub introspect_all_tokens: Option<bool>,
    pub refresh_token_policy: Option<RefreshTokenPolicy>,
    pub access_token_ttl_secs: Option<u64>,
    pub activation_delay_secs: Option<u64>,
    pub client_credentials_enabled: Option<bool>,
    /// `null` clears the Run As user.
    #[serde(default, deserialize_with = "double_option")]
    pub run_as_username: Option<Option<String>>,
    pub ignore_disallowed_scopes: Option<bool>,
    pub id_token_on_refresh: Option<bool>,
    pub authorization_code_ttl_secs: Option<u64>,
    pub id_token_ttl_secs: Option<u64>,
    pub reject_secret_when_optional: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Scopes {
    List(Vec<String>),
    Text(String),
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl AppPatch {
    fn apply(self, s: &mut AppSettings) {
        let scopes = self.scopes.map(|sc| match sc {
            Scopes::List(v) => v,
            Scopes::Text(t) => crate::oauth::params::split_scopes(&t),
        });
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { s.$f = v; } )* };
        }
        set!(
            callback_urls,
            require_pkce,
            require_secret_web_server,
            require_secret_refresh,
            rotate_refresh_tokens,
            introspect_all_tokens,
            refresh_token_policy,
            access_token_ttl_secs,
            activation_delay_secs,
            client_credentials_enabled,
            run_as_username,
            ignore_disallowed_scopes,
            id_token_on_refresh,
            authorization_code_ttl_secs,
            id_token_ttl_secs,
            reject_secret_when_optional
        );
        if let Some(scopes) = scopes {
            s.scopes = scopes;
        }
    }
}

/// An app as the control plane shows it, secrets included: this is a test fixture.
pub fn app_json(app: &App) -> Value {
    let cred = |c: &Option<Credential>| {
        c.as_ref()
            .map(|c| json!({"client_id": c.client_id, "client_secret": c.client_secret}))
    };
    json!({
        "id": app.id,
        "name": app.name,
        "profile": app.profile,
        "client_id": app.main.as_ref().map(|c| c.client_id.clone()),
        "client_secret": app.main.as_ref().map(|c| c.client_secret.clone()),
        "main_credentials": cred(&app.main),
        "staged_credentials": cred(&app.staged),
        "settings": app.settings,
        "created_at_ms": app.created_at_ms,
    })
}

fn new_credential() -> Credential {
    Credential {
        client_id: format!("3MVG9{}", crypto::opaque_id()),
        client_secret: crypto::opaque_id().to_uppercase(),
    }
}

pub async fn list_apps(State(emu): State<Emulator>) -> Response {
    let st = emu.inner().oauth.lock();
    Json(st.apps.values().map(app_json).collect::<Vec<_>>()).into_response()
}

pub async fn create_app(State(emu): State<Emulator>, body: axum::body::Bytes) -> Response {
    let patch: AppPatch = match parse_json(&body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let now = emu.now_ms();
    let mut st = emu.inner().oauth.lock();
    match create_app_in(&mut st, patch, now) {
        Ok(app) => (StatusCode::CREATED, Json(app_json(&app))).into_response(),
        Err(message) => ControlError::conflict(&message).into_response(),
    }
}

/// Creates an app from a patch: the profile's defaults, then the patch's fields. Keys and
/// secrets not given are generated. Shared by the control plane and the seed file.
pub fn create_app_in(st: &mut OAuthState, patch: AppPatch, now_ms: i64) -> Result<App, String> {
    let generated = new_credential();
    let credential = Credential {
        client_id: patch.client_id.clone().unwrap_or(generated.client_id),
        client_secret: patch
            .client_secret
            .clone()
            .unwrap_or(generated.client_secret),
    };
    if st.client_id_in_use(&credential.client_id) {
        return Err(format!("client_id {} already in use", credential.client_id));
    }
    let profile = patch.profile.unwrap_or_default();
    let mut settings = AppSettings::for_profile(profile);
    let id = st.next_id();
    let name = patch.name.clone().unwrap_or_else(|| format!("App {id}"));
    patch.apply(&mut settings);
    let app = App {
        id,
        name,
        profile,
        main: Some(credential),
        staged: None,
        settings,
        created_at_ms: now_ms,
    };
    st.apps.insert(id, app.clone());
    Ok(app)
}

/// Finds an app by any of its consumer keys, or by its numeric id.
fn find_app_id(st: &OAuthState, key: &str) -> Option<u64> {
    st.app_by_client_id(key).map(|(a, _)| a.id).or_else(|| {
        key.parse::<u64>()
            .ok()
            .filter(|id| st.apps.contains_key(id))
    })
}

pub async fn get_app(State(emu): State<Emulator>, Path(key): Path<String>) -> Response {
    let st = emu.inner().oauth.lock();
    match find_app_id(&st, &key).and_then(|id| st.apps.get(&id)) {
        Some(app) => Json(app_json(app)).into_response(),
        None => ControlError::not_found("no such app").into_response(),
    }
}

pub async fn update_app(
    State(emu): State<Emulator>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let patch: AppPatch = match parse_json(&body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut st = emu.inner().oauth.lock();
    let Some(id) = find_app_id(&st, &key) else {
        return ControlError::not_found("no such app").into_response();
    };
    if let Some(new_id) = &patch.client_id
        && st.app_by_client_id(new_id).is_some_and(|(a, _)| a.id != id)
    {
        return ControlError::conflict("client_id already in use").into_response();
    }
    let Some(app) = st.apps.get_mut(&id) else {
        return ControlError::not_found("no such app").into_response();
    };
    if let Some(profile) = patch.profile {
        // A profile resets the flags it presets; explicit fields below still win.
        let callbacks = std::mem::take(&mut app.settings.callback_urls);
        app.settings = AppSettings {
            callback_urls: callbacks,
            ..AppSettings::for_profile(profile)
        };
        app.profile = profile;
    }
    if let Some(name) = patch.name.clone() {
        app.name = name;
    }
    if let Some(main) = app.main.as_mut() {
        if let Some(v) = patch.client_id.clone() {
            main.client_id = v;
        }
        if let Some(v) = patch.client_secret.clone() {
            main.client_secret = v;
        }
    }
    patch.apply(&mut app.settings);
    Json(app_json(app)).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Keep the consumer key and rotate only the secret.
    #[serde(default)]
    pub keep_client_id: bool,
}

/// `POST /apps/{key}/credentials/staged`: both sets work until one is removed or promoted.
pub async fn stage_credentials(
    State(emu): State<Emulator>,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let request: StageRequest = if body.is_empty() {
        StageRequest::default()
    } else {
        match parse_json(&body) {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        }
    };
    let mut st = emu.inner().oauth.lock();
    let Some(id) = find_app_id(&st, &key) else {
        return ControlError::not_found("no such app").into_response();
    };
    let generated = new_credential();
    let main_id = st
        .apps
        .get(&id)
        .and_then(|a| a.main.as_ref())
        .map(|c| c.client_id.clone());
    let client_id = match (request.client_id, request.keep_client_id, main_id) {
        (Some(c), _, _) => c,
        (None, true, Some(main)) => main,
        _ => generated.client_id,
    };
    if st
        .app_by_client_id(&client_id)
        .is_some_and(|(a, _)| a.id != id)
    {
        return ControlError::conflict("client_id already in use").into_response();
    }
    let Some(app) = st.apps.get_mut(&id) else {
        return ControlError::not_found("no such app").into_response();
    };
    app.staged = Some(Credential {
        client_id,
        client_secret: request.client_secret.unwrap_or(generated.client_secret),
    });
    Json(app_json(app)).into_response()
}

/// `POST /apps/{key}/credentials/promote`: staged becomes main; the old main stops working.
pub async fn promote_credentials(State(emu): State<Emulator>, Path(key): Path<String>) -> Response {
    let mut st = emu.inner().oauth.lock();
    let Some(app) = find_app_id(&st, &key).and_then(|id| st.apps.get_mut(&id)) else {
        return ControlError::not_found("no such app").into_response();
    };
    let Some(staged) = app.staged.take() else {
        return ControlError::bad_request("no staged credentials").into_response();
    };
    app.main = Some(staged);
    Json(app_json(app)).into_response()
}

/// `DELETE /apps/{key}/credentials/{main|staged}`.
pub async fn remove_credentials(
    State(emu): State<Emulator>,
    Path((key, slot)): Path<(String, String)>,
) -> Response {
    let mut st = emu.inner().oauth.lock();
    let Some(app) = find_app_id(&st, &key).and_then(|id| st.apps.get_mut(&id)) else {
        return ControlError::not_found("no such app").into_response();
    };
    let (removed, other) = match slot.as_str() {
        "main" => (app.main.take(), app.staged.is_some()),
        "staged" => (app.staged.take(), app.main.is_some()),
        _ => return ControlError::bad_request("slot is main or staged").into_response(),
    };
    if removed.is_none() {
        return ControlError::not_found("no credentials in that slot").into_response();
    }
    if !other {
        // An app keeps at least one credential set; put it back.
        match slot.as_str() {
            "main" => app.main = removed,
            _ => app.staged = removed,
        }
        return ControlError::bad_request("cannot remove the only credential set").into_response();
    }
    if app.main.is_none() {
        app.main = app.staged.take();
    }
    Json(app_json(app)).into_response()
}

pub async fn list_users(State(emu): State<Emulator>) -> Response {
    Json(emu.inner().directory.list()).into_response()
}

pub async fn create_user(State(emu): State<Emulator>, body: axum::body::Bytes) -> Response {
    let input: UserInput = match parse_json(&body) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    match emu.inner().directory.create(&input, emu.now_ms()) {
        Ok(user) => (StatusCode::CREATED, Json(user)).into_response(),
        Err(e) => ControlError::bad_request(&e).into_response(),
    }
}

pub async fn update_user(
    State(emu): State<Emulator>,
    Path(username): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let input: UserInput = match parse_json(&body) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    match emu
        .inner()
        .directory
        .update(&username, &input, emu.now_ms())
    {
        Ok(user) => Json(user).into_response(),
        Err(e) => ControlError::bad_request(&e).into_response(),
    }
}
