//! `GET /services/oauth2/authorize` and its login and consent steps.
//!
//! A request is checked in Salesforce's order: client (no redirect), redirect URI (no
//! redirect), then everything else as a redirect to the client. A valid request becomes a
//! transaction: its id rides in the pages' hidden fields, so the parameters never leave the
//! server. A session cookie per host remembers a login.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::oauth::crypto;
use crate::oauth::error::{self as err, RedirectError};
use crate::oauth::grants::{self, issue_new_grant};
use crate::oauth::model::{AuthCode, LoginHost, Session, TRANSACTION_TTL_MS, Transaction};
use crate::oauth::params::{Params, cookie, split_scopes};
use crate::oauth::token::TokenResponse;
use crate::pages;
use crate::state::Emulator;

/// Salesforce's words for a failed login.
const LOGIN_FAILED: &str = "Please check your username and password. If you still can't log in, \
                            contact your Salesforce administrator.";

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "invalid_request", "bad redirect"),
    }
}

/// `{redirect_uri}?k=v...`, or `#k=v...` for the user-agent flow.
fn redirect_with(uri: &str, pairs: &[(&str, &str)], fragment: bool) -> Response {
    let Ok(mut url) = url::Url::parse(uri) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    };
    if fragment {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        url.set_fragment(Some(&encoded));
    } else {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    redirect(url.as_str())
}

fn redirect_error(uri: &str, e: RedirectError, state: Option<&str>, fragment: bool) -> Response {
    let mut pairs = vec![("error", e.error), ("error_description", e.description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect_with(uri, &pairs, fragment)
}

/// `code`, `token` or `token id_token`, in any order.
fn response_type(value: Option<&str>) -> Option<&'static str> {
    let mut parts: Vec<&str> = value?.split_whitespace().collect();
    parts.sort_unstable();
    match parts.as_slice() {
        ["code"] => Some("code"),
        ["token"] => Some("token"),
        ["id_token", "token"] => Some("token id_token"),
        _ => None,
    }
}

pub async fn authorize(
    State(emu): State<Emulator>,
    Extension(host): Extension<LoginHost>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let p = Params::from_query(query.as_deref());
    let now = emu.now_ms();
    let resolved = {
        let mut st = emu.inner().oauth.lock();
        st.sweep(now);
        grants::resolve_client(&st, p.get("client_id"), now)
    };
    let Ok((app, _)) = resolved else {
        let e = err::INVALID_CLIENT_ID;
        return pages::error(StatusCode::BAD_REQUEST, e.error, e.error_description);
    };
    let redirect_uri = match p.get("redirect_uri") {
        Some(r) if app.settings.callback_urls.iter().any(|c| c == r) => r.to_owned(),
        _ => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            );
        }
    };
    let state = p.owned("state");
    let Some(response_type) = response_type(p.get("response_type")) else {
        return redirect_error(
            &redirect_uri,
            err::UNSUPPORTED_RESPONSE_TYPE,
            state.as_deref(),
            false,
        );
    };
    let fragment = response_type != "code";
    let fail = |e| redirect_error(&redirect_uri, e, state.as_deref(), fragment);

    let code_challenge = p.owned("code_challenge");
    if response_type == "code" {
        if code_challenge.is_none() && app.settings.require_pkce {
            return fail(err::MISSING_CHALLENGE);
        }
        if code_challenge.is_some() && p.get("code_challenge_method").is_some_and(|m| m != "S256") {
            return fail(err::BAD_CHALLENGE_METHOD);
        }
    }
    let mut scopes = match p.get("scope") {
        Some(s) => split_scopes(s),
        None => app.settings.scopes.clone(),
    };
    if app.settings.ignore_disallowed_scopes {
        scopes.retain(|s| app.settings.allows_scope(s));
    }
    if scopes.is_empty() || !scopes.iter().all(|s| app.settings.allows_scope(s)) {
        return fail(err::INVALID_SCOPE);
    }
    let prompt: Vec<&str> = p
        .get("prompt")
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default();
    let force_login = prompt.contains(&"login");
    let login_hint = p.owned("login_hint");

    // Who is already known: --auto-approve picks the hinted or default user; otherwise a session.
    let directory = &emu.inner().directory;
    let mut user_id = None;
    let mut auto_approved = false;
    if emu.config().auto_approve && !force_login {
        let user = login_hint
            .as_deref()
            .and_then(|h| directory.by_username(h))
            .or_else(|| directory.by_id(directory.default_user_id()));
        if let Some(user) = user.filter(|u| u.active) {
            user_id = Some(user.id);
            auto_approved = true;
        }
    }
    if user_id.is_none() && !force_login {
        user_id = session_user(&emu, host, &headers);
    }
    let tx = Transaction {
        app_id: app.id,
        client_id: p.owned("client_id").unwrap_or_default(),
        response_type: response_type.to_owned(),
        redirect_uri,
        scopes,
        state,
        code_challenge,
        nonce: p.owned("nonce"),
        login_hint,
        host,
        created_at_ms: now,
        user_id,
        force_consent: prompt.contains(&"consent"),
        auto_approved,
        immediate: p.get("immediate") == Some("true"),
    };
    let tx_id = crypto::opaque_id();
    emu.inner()
        .oauth
        .lock()
        .transactions
        .insert(tx_id.clone(), tx);
    next_step(&emu, &tx_id)
}

fn session_user(emu: &Emulator, host: LoginHost, headers: &HeaderMap) -> Option<String> {
    let sid = cookie(headers, host.session_cookie())?;
    let user_id = {
        let st = emu.inner().oauth.lock();
        let session = st.sessions.get(&sid)?;
        (session.host == host).then(|| session.user_id.clone())?
    };
    emu.inner()
        .directory
        .by_id(&user_id)
        .filter(|u| u.active)
        .map(|u| u.id)
}

/// Shows the login page, the consent page, or completes the authorization.
fn next_step(emu: &Emulator, tx_id: &str) -> Response {
    let (tx, needs_consent, app_name) = {
        let st = emu.inner().oauth.lock();
        let Some(tx) = st.transactions.get(tx_id).cloned() else {
            return expired_transaction();
        };
        let approved_before = tx.user_id.as_ref().is_some_and(|u| {
            st.approvals
                .get(&(u.clone(), tx.app_id))
                .is_some_and(|grants| {
                    grants
                        .iter()
                        .any(|g| st.grants.get(g).is_some_and(|g| !g.revoked))
                })
        });
        let needs_consent = !tx.auto_approved && (tx.force_consent || !approved_before);
        let app_name = st
            .apps
            .get(&tx.app_id)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        (tx, needs_consent, app_name)
    };
    if tx.immediate && (tx.user_id.is_none() || needs_consent) {
        emu.inner().oauth.lock().transactions.remove(tx_id);
        let fragment = tx.response_type != "code";
        let state = tx.state.as_deref();
        return redirect_error(
            &tx.redirect_uri,
            err::IMMEDIATE_UNSUCCESSFUL,
            state,
            fragment,
        );
    }
    let prefix = tx.host.prefix();
    let Some(user_id) = &tx.user_id else {
        let action = format!("{prefix}/services/oauth2/authorize/login");
        return pages::login(&action, tx_id, tx.login_hint.as_deref().unwrap_or(""), None);
    };
    if needs_consent {
        let username = emu
            .inner()
            .directory
            .by_id(user_id)
            .map(|u| u.username)
            .unwrap_or_default();
        let action = format!("{prefix}/services/oauth2/authorize/consent");
        return pages::consent(&action, tx_id, &app_name, &username, &tx.scopes);
    }
    finish(emu, tx_id)
}

fn expired_transaction() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the login request expired; start the authorization again",
    )
}

/// Takes the transaction and hands the client a code (or tokens, for the user-agent flow).
fn finish(emu: &Emulator, tx_id: &str) -> Response {
    let now = emu.now_ms();
    let mut st = emu.inner().oauth.lock();
    let Some(tx) = st.transactions.remove(tx_id) else {
        return expired_transaction();
    };
    let state = tx.state.as_deref();
    let user = tx
        .user_id
        .as_deref()
        .and_then(|u| emu.inner().directory.by_id(u));
    let Some(user) = user.filter(|u| u.active) else {
        return redirect_error(
            &tx.redirect_uri,
            err::INACTIVE_USER,
            state,
            tx.response_type != "code",
        );
    };
    if tx.response_type == "code" {
        let code = crypto::authorization_code();
        st.codes.insert(
            code.clone(),
            AuthCode {
                app_id: tx.app_id,
                client_id: tx.client_id.clone(),
                user_id: user.id,
                redirect_uri: tx.redirect_uri.clone(),
                scopes: tx.scopes.clone(),
                code_challenge: tx.code_challenge.clone(),
                nonce: tx.nonce.clone(),
                host: tx.host,
                created_at_ms: now,
                used: false,
            },
        );
        drop(st);
        let mut pairs = vec![("code", code.as_str())];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        return redirect_with(&tx.redirect_uri, &pairs, false);
    }
    // User-agent flow: tokens in the fragment, no refresh token \[I\].
    let Some((app, slot)) = st
        .app_by_client_id(&tx.client_id)
        .map(|(a, s)| (a.clone(), s))
    else {
        return expired_transaction();
    };
    let mut issued = issue_new_grant(
        emu,
        &mut st,
        &app,
        slot,
        &tx.client_id,
        &user,
        &tx.scopes,
        tx.host,
        tx.nonce.clone(),
        false,
    );
    drop(st);
    issued.id_token =
        tx.response_type == "token id_token" && tx.scopes.iter().any(|s| s == "openid");
    let response = TokenResponse::build(emu, issued);
    let mut pairs = vec![
        ("access_token", response.access_token.as_str()),
        ("signature", &response.signature),
        ("scope", &response.scope),
    ];
    if let Some(t) = &response.id_token {
        pairs.push(("id_token", t));
    }
    pairs.extend([
        ("instance_url", response.instance_url.as_str()),
        ("id", &response.id),
        ("token_type", response.token_type),
        ("issued_at", &response.issued_at),
    ]);
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect_with(&tx.redirect_uri, &pairs, true)
}

fn form(body: &[u8]) -> Params {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    Params::from_request(None, &headers, body)
}

/// The transaction, if it exists, belongs to this host and is fresh.
fn live_transaction(emu: &Emulator, host: LoginHost, tx_id: &str) -> Option<Transaction> {
    let now = emu.now_ms();
    let st = emu.inner().oauth.lock();
    st.transactions
        .get(tx_id)
        .filter(|t| t.host == host && now < t.created_at_ms.saturating_add(TRANSACTION_TTL_MS))
        .cloned()
}

/// `POST .../authorize/login`: checks the password, starts a session, moves on.
pub async fn login_submit(
    State(emu): State<Emulator>,
    Extension(host): Extension<LoginHost>,
    body: Bytes,
) -> Response {
    let p = form(&body);
    let tx_id = p.get("tx").unwrap_or("");
    if live_transaction(&emu, host, tx_id).is_none() {
        return expired_transaction();
    }
    let username = p.get("username").unwrap_or("");
    let password = p.get("password").unwrap_or("");
    let default_password = &emu.config().password;
    let Some(user) = emu
        .inner()
        .directory
        .check_password(username, password, default_password)
    else {
        let action = format!("{}/services/oauth2/authorize/login", host.prefix());
        return pages::login(&action, tx_id, username, Some(LOGIN_FAILED));
    };
    let sid = crypto::opaque_id();
    {
        let mut st = emu.inner().oauth.lock();
        st.sessions.insert(
            sid.clone(),
            Session {
                user_id: user.id.clone(),
                host,
                created_at_ms: emu.now_ms(),
            },
        );
        if let Some(tx) = st.transactions.get_mut(tx_id) {
            tx.user_id = Some(user.id);
        }
    }
    let mut response = next_step(&emu, tx_id);
    let secure = if emu.base_url().starts_with("https") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={sid}; Path=/; HttpOnly; SameSite=Lax{secure}",
        host.session_cookie()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST .../authorize/consent`: Allow finishes, Deny sends `access_denied`.
pub async fn consent_submit(
    State(emu): State<Emulator>,
    Extension(host): Extension<LoginHost>,
    body: Bytes,
) -> Response {
    let p = form(&body);
    let tx_id = p.get("tx").unwrap_or("");
    let Some(tx) = live_transaction(&emu, host, tx_id).filter(|t| t.user_id.is_some()) else {
        return expired_transaction();
    };
    match p.get("decision") {
        Some("allow") => finish(&emu, tx_id),
        Some("deny") => {
            emu.inner().oauth.lock().transactions.remove(tx_id);
            redirect_error(
                &tx.redirect_uri,
                err::ACCESS_DENIED,
                tx.state.as_deref(),
                tx.response_type != "code",
            )
        }
        _ => next_step(&emu, tx_id),
    }
}
