//! The install page, `GET /oauth/authorize` (`docs/hubspot.md §2`): checks the app, the
//! redirect URL and the scopes (errors are shown on the page, never redirected), then asks the
//! user to sign in and approve, or approves at once with `--auto-approve`. Approval redirects
//! with `code` and `state`; a refusal with `error=access_denied`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::{field, form, same_secret};
use crate::state::Emulator;
use crate::tokens::{CODE_TTL_MS, Code, TokenKind, new_value};

/// A checked install request.
struct Install {
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    code_challenge: Option<String>,
}

fn page_error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><title>Couldn't complete the connection</title></head>\
         <body><h1>Couldn't complete the connection</h1><p id=\"error\">{}</p></body></html>",
        escape(message)
    );
    (status, Html(body)).into_response()
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn words(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split([' ', '+', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `Err`: the message the page shows (with status 400, and no redirect).
fn check(emu: &Emulator, pairs: &[(String, String)]) -> Result<Install, String> {
    let config = emu.config();
    if field(pairs, "client_id") != Some(config.client_id.as_str()) {
        return Err(
            "Authorization failed because the app's client ID is missing or unknown.".to_owned(),
        );
    }
    let redirect_uri = field(pairs, "redirect_uri").unwrap_or_default();
    if !config.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Err(format!(
            "Authorization failed as the redirect URL '{redirect_uri}' doesn't match the \
                 app's registered redirect URL."
        ));
    }
    let required = words(field(pairs, "scope"));
    let optional = words(field(pairs, "optional_scope"));
    let configured = |s: &String| config.scopes.contains(s) || config.optional_scopes.contains(s);
    if !required.iter().chain(&optional).all(configured) {
        return Err(
            "Authorization failed because there is a mismatch between the scopes in the install \
             URL and the app's configured scopes."
                .to_owned(),
        );
    }
    if !config.scopes.iter().all(|s| required.contains(s)) {
        return Err(
            "Authorization failed because the provided scopes are insufficient.".to_owned(),
        );
    }
    let mut scopes = required;
    for s in optional {
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    let code_challenge = match (
        field(pairs, "code_challenge"),
        field(pairs, "code_challenge_method"),
    ) {
        (None, _) => None,
        (Some(c), None | Some("S256")) => Some(c.to_owned()),
        (Some(_), Some(_)) => {
            return Err(
                "Authorization failed because code_challenge_method must be S256.".to_owned(),
            );
        }
    };
    Ok(Install {
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: field(pairs, "state").map(str::to_owned),
        code_challenge,
    })
}

fn redirect(install: &Install, params: &[(&str, &str)]) -> Response {
    let mut query: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = &install.state {
        query.push(("state", state));
    }
    let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
    let sep = if install.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{sep}{encoded}", install.redirect_uri);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn approve(emu: &Emulator, install: &Install) -> Response {
    let code = new_value(TokenKind::Refresh);
    emu.inner().tokens.lock().codes.insert(
        code.clone(),
        Code {
            redirect_uri: install.redirect_uri.clone(),
            scopes: install.scopes.clone(),
            expires_ms: emu.now_ms() + CODE_TTL_MS,
            used: false,
            code_challenge: install.code_challenge.clone(),
        },
    );
    redirect(install, &[("code", &code)])
}

pub async fn page(State(emu): State<Emulator>, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> = query
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let install = match check(&emu, &pairs) {
        Ok(install) => install,
        Err(message) => return page_error(StatusCode::BAD_REQUEST, &message),
    };
    if emu.config().auto_approve {
        return approve(&emu, &install);
    }
    consent_page(&emu, &pairs, &install, StatusCode::OK, None)
}

fn consent_page(
    emu: &Emulator,
    pairs: &[(String, String)],
    install: &Install,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let hidden: String = pairs
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "email" | "password" | "decision"))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let scopes: String = install
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let error = error.map_or(String::new(), |e| {
        format!("<p id=\"error\">{}</p>", escape(e))
    });
    let body = format!(
        "<!doctype html><html><head><title>Connect app - HubSpot emulator</title></head><body>\
         <h1>Connect an app to account {hub}</h1>{error}\
         <p>The app is asking for these permissions:</p><ul id=\"scopes\">{scopes}</ul>\
         <form method=\"post\">{hidden}\
         <label>Email <input name=\"email\" type=\"email\" value=\"{email}\"></label>\
         <label>Password <input name=\"password\" type=\"password\"></label>\
         <button name=\"decision\" value=\"approve\" type=\"submit\">Connect app</button>\
         <button name=\"decision\" value=\"deny\" type=\"submit\">Cancel</button>\
         </form></body></html>",
        hub = emu.hub_id(),
        email = escape(&emu.config().user_email),
    );
    (status, Html(body)).into_response()
}

/// The page's form: sign in and approve, or cancel.
pub async fn decide(State(emu): State<Emulator>, body: Bytes) -> Response {
    let pairs = form(&body);
    let install = match check(&emu, &pairs) {
        Ok(install) => install,
        Err(message) => return page_error(StatusCode::BAD_REQUEST, &message),
    };
    if field(&pairs, "decision") == Some("deny") {
        return redirect(
            &install,
            &[
                ("error", "access_denied"),
                ("error_description", "The user declined to connect the app"),
            ],
        );
    }
    let config = emu.config();
    let email_ok =
        field(&pairs, "email").is_some_and(|e| e.eq_ignore_ascii_case(&config.user_email));
    let password_ok = field(&pairs, "password").is_some_and(|p| same_secret(p, &config.password));
    if !(email_ok && password_ok) {
        return consent_page(
            &emu,
            &pairs,
            &install,
            StatusCode::UNAUTHORIZED,
            Some("That email and password combination is not valid."),
        );
    }
    approve(&emu, &install)
}
