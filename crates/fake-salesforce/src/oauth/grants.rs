//! The token endpoint's grants: authorization code, refresh token (with rotation and reuse
//! detection) and client credentials. Each returns what to answer or an error from the table.
//!
//! Lock order: `oauth`, then the org (user look-ups), then `access`; nothing here awaits.

use crate::oauth::app::{App, CredentialSlot, RefreshTokenPolicy};
use crate::oauth::crypto::{pkce_matches, secrets_equal};
use crate::oauth::error::{self as err, OAuthError};
use crate::oauth::model::{Grant, LoginHost, TokenState};
use crate::oauth::params::{ClientCredentials, Params};
use crate::oauth::store::{OAuthState, secs};
use crate::oauth::users::UserView;
use crate::state::Emulator;

/// Tokens issued by one successful grant, before they are put on the wire. No `Debug`: it
/// holds tokens and the client secret.
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
    pub id_url: String,
    pub issued_at_ms: i64,
    pub client_id: String,
    /// Key of the response `signature`; never logged.
    pub signing_secret: String,
    pub host: LoginHost,
    pub user: UserView,
    pub nonce: Option<String>,
    /// Whether an id_token belongs in the answer (`openid` granted, not client credentials).
    pub id_token: bool,
    /// The app's id_token lifetime.
    pub id_token_ttl_secs: u64,
}

/// The app behind a consumer key, if it exists and has propagated.
pub fn resolve_client(
    st: &OAuthState,
    client_id: Option<&str>,
    now_ms: i64,
) -> Result<(App, CredentialSlot), OAuthError> {
    let client_id = client_id.ok_or(err::INVALID_CLIENT_ID)?;
    let (app, slot) = st
        .app_by_client_id(client_id)
        .ok_or(err::INVALID_CLIENT_ID)?;
    if !app.is_active(now_ms) {
        return Err(err::INVALID_CLIENT_ID);
    }
    Ok((app.clone(), slot))
}

/// A presented secret must match a set with the presented key (during a secret-only rotation
/// both sets share the key); a missing one is fine only when optional.
pub fn check_secret(
    app: &App,
    slot: CredentialSlot,
    secret: Option<&str>,
    required: bool,
) -> Result<(), OAuthError> {
    let key = app.credential(slot).map(|c| c.client_id.as_str());
    let mut sets = [app.main.as_ref(), app.staged.as_ref()]
        .into_iter()
        .flatten()
        .filter(|c| Some(c.client_id.as_str()) == key);
    match secret {
        Some(given) if sets.any(|c| secrets_equal(&c.client_secret, given)) => Ok(()),
        Some(_) => Err(err::INVALID_CLIENT),
        None if required => Err(err::INVALID_CLIENT),
        None => Ok(()),
    }
}

pub fn id_url(emu: &Emulator, host: LoginHost, user_id: &str) -> String {
    format!(
        "{}/id/{}/{}",
        host.url(emu.base_url()),
        emu.org_id(),
        user_id
    )
}

fn wants_refresh(app: &App, scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s == "refresh_token" || s == "offline_access")
        && app.settings.refresh_token_policy != RefreshTokenPolicy::ImmediatelyExpire
}

/// A new approval: a grant (evicting the oldest past the cap), maybe a refresh token, and an
/// access token. Used by the code exchange and by the user-agent flow.
#[allow(clippy::too_many_arguments)] // reason: the grant's facts, passed once
pub fn issue_new_grant(
    emu: &Emulator,
    st: &mut OAuthState,
    app: &App,
    slot: CredentialSlot,
    client_id: &str,
    user: &UserView,
    scopes: &[String],
    host: LoginHost,
    nonce: Option<String>,
    with_refresh: bool,
) -> Issued {
    let now = emu.now_ms();
    let grant_id = st.next_id();
    let mut access = emu.inner().access.write();
    st.create_grant(
        &access,
        Grant {
            id: grant_id,
            app_id: app.id,
            client_id: client_id.to_owned(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            scopes: scopes.to_vec(),
            host,
            created_at_ms: now,
            nonce: nonce.clone(),
            current_refresh: None,
            access_tokens: Vec::new(),
            revoked: false,
        },
    );
    let refresh_token = if with_refresh && wants_refresh(app, scopes) {
        st.issue_refresh(grant_id, now)
    } else {
        None
    };
    let org_id = emu.org_id();
    let access_token = st.mint_access(
        &mut access,
        app,
        client_id,
        &org_id,
        user,
        scopes,
        Some(grant_id),
        host,
        now,
    );
    Issued {
        access_token,
        refresh_token,
        scopes: scopes.to_vec(),
        id_url: id_url(emu, host, &user.id),
        issued_at_ms: now,
        client_id: client_id.to_owned(),
        signing_secret: app.signing_secret(slot).to_owned(),
        host,
        user: user.clone(),
        nonce,
        id_token: scopes.iter().any(|s| s == "openid"),
        id_token_ttl_secs: app.settings.id_token_ttl_secs,
    }
}

/// `grant_type=authorization_code`.
pub fn authorization_code(
    emu: &Emulator,
    creds: &ClientCredentials,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let now = emu.now_ms();
    let mut st = emu.inner().oauth.lock();
    st.sweep(now);
    let (app, slot) = resolve_client(&st, creds.client_id.as_deref(), now)?;
    if !app.settings.require_secret_web_server
        && app.settings.reject_secret_when_optional
        && creds.client_secret.is_some()
    {
        return Err(err::INVALID_CLIENT);
    }
    check_secret(
        &app,
        slot,
        creds.client_secret.as_deref(),
        app.settings.require_secret_web_server,
    )?;
    let code_value = params.get("code").ok_or(err::MISSING_CODE)?;
    let code = st.codes.get_mut(code_value).ok_or(err::INVALID_CODE)?;
    if code.app_id != app.id {
        return Err(err::INVALID_CODE);
    }
    let ttl_ms = secs(app.settings.authorization_code_ttl_secs);
    if code.used || now >= code.created_at_ms.saturating_add(ttl_ms) {
        return Err(err::EXPIRED_CODE);
    }
    // Single use: any redemption attempt that reaches the code spends it.
    code.used = true;
    let code = code.clone();
    if params.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(err::REDIRECT_MISMATCH_GRANT);
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier = params.get("code_verifier").ok_or(err::INVALID_VERIFIER)?;
        if !pkce_matches(challenge, verifier) {
            return Err(err::INVALID_VERIFIER);
        }
    }
    let user = emu
        .inner()
        .directory
        .by_id(&code.user_id)
        .filter(|u| u.active)
        .ok_or(err::AUTH_FAILURE)?;
    let client_id = creds.client_id.clone().unwrap_or_default();
    Ok(issue_new_grant(
        emu,
        &mut st,
        &app,
        slot,
        &client_id,
        &user,
        &code.scopes,
        code.host,
        code.nonce,
        true,
    ))
}

/// `grant_type=refresh_token`.
pub fn refresh(
    emu: &Emulator,
    creds: &ClientCredentials,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let now = emu.now_ms();
    let mut st = emu.inner().oauth.lock();
    let (app, slot) = resolve_client(&st, creds.client_id.as_deref(), now)?;
    check_secret(
        &app,
        slot,
        creds.client_secret.as_deref(),
        app.settings.require_secret_refresh,
    )?;
    let value = params.get("refresh_token").ok_or(err::MISSING_REFRESH)?;
    let record = st.refresh.get(value).cloned().ok_or(err::EXPIRED_TOKEN)?;
    if record.app_id != app.id {
        return Err(err::EXPIRED_TOKEN);
    }
    match st.refresh_state(&record, now) {
        TokenState::Active => {}
        TokenState::Rotated => {
            // Reuse of a rotated-out token: assume theft and kill the whole chain.
            let access = emu.inner().access.read();
            st.revoke_grant(&access, record.grant_id);
            return Err(err::EXPIRED_TOKEN);
        }
        TokenState::Expired => {
            if let Some(r) = st.refresh.get_mut(value) {
                r.state = TokenState::Expired;
            }
            return Err(err::EXPIRED_TOKEN);
        }
        TokenState::Revoked => return Err(err::EXPIRED_TOKEN),
    }
    let grant = st
        .grants
        .get(&record.grant_id)
        .cloned()
        .ok_or(err::EXPIRED_TOKEN)?;
    let user = emu
        .inner()
        .directory
        .by_id(&grant.user_id)
        .filter(|u| u.active)
        .ok_or(err::AUTH_FAILURE)?;
    let rotate = app.settings.rotate_refresh_tokens;
    if let Some(r) = st.refresh.get_mut(value) {
        r.last_used_ms = now;
        if rotate {
            r.state = TokenState::Rotated;
        }
    }
    let refresh_token = if rotate {
        st.issue_refresh(grant.id, now)
    } else {
        None
    };
    let client_id = creds.client_id.clone().unwrap_or_default();
    let org_id = emu.org_id();
    let mut access = emu.inner().access.write();
    let access_token = st.mint_access(
        &mut access,
        &app,
        &client_id,
        &org_id,
        &user,
        &grant.scopes,
        Some(grant.id),
        grant.host,
        now,
    );
    Ok(Issued {
        access_token,
        refresh_token,
        id_url: id_url(emu, grant.host, &user.id),
        issued_at_ms: now,
        client_id,
        signing_secret: app.signing_secret(slot).to_owned(),
        host: grant.host,
        nonce: None,
        id_token: app.settings.id_token_on_refresh && grant.scopes.iter().any(|s| s == "openid"),
        id_token_ttl_secs: app.settings.id_token_ttl_secs,
        scopes: grant.scopes,
        user,
    })
}

/// Scopes a client-credentials token never carries.
const NOT_FOR_CLIENT_CREDENTIALS: [&str; 4] = ["full", "web", "refresh_token", "offline_access"];

/// `grant_type=client_credentials`: My Domain only, with the app's Run As user.
pub fn client_credentials(
    emu: &Emulator,
    host: LoginHost,
    creds: &ClientCredentials,
) -> Result<Issued, OAuthError> {
    if host != LoginHost::MyDomain {
        return Err(err::WRONG_DOMAIN);
    }
    let now = emu.now_ms();
    let mut st = emu.inner().oauth.lock();
    let (app, slot) = resolve_client(&st, creds.client_id.as_deref(), now)?;
    check_secret(&app, slot, creds.client_secret.as_deref(), true)?;
    if !app.settings.client_credentials_enabled {
        return Err(err::CC_NOT_ENABLED);
    }
    let username = app
        .settings
        .run_as_username
        .as_deref()
        .ok_or(err::NO_RUN_AS_USER)?;
    let user = emu
        .inner()
        .directory
        .by_username(username)
        .ok_or(err::NO_RUN_AS_USER)?;
    if !user.active {
        return Err(err::AUTH_FAILURE);
    }
    let scopes: Vec<String> = app
        .settings
        .scopes
        .iter()
        .filter(|s| !NOT_FOR_CLIENT_CREDENTIALS.contains(&s.as_str()))
        .cloned()
        .collect();
    let client_id = creds.client_id.clone().unwrap_or_default();
    let org_id = emu.org_id();
    let mut access = emu.inner().access.write();
    let access_token = st.mint_access(
        &mut access,
        &app,
        &client_id,
        &org_id,
        &user,
        &scopes,
        None,
        host,
        now,
    );
    Ok(Issued {
        access_token,
        refresh_token: None,
        id_url: id_url(emu, host, &user.id),
        issued_at_ms: now,
        client_id,
        signing_secret: app.signing_secret(slot).to_owned(),
        host,
        nonce: None,
        id_token: false,
        id_token_ttl_secs: app.settings.id_token_ttl_secs,
        scopes,
        user,
    })
}
