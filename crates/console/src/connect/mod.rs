//! The hosted connect page (`session_uri` = `{public_url}/session/{jwt}`).
//!
//! Everything is scoped by the verified session JWT: the application and consumer come from its
//! claims only. Connect is a POST form carrying the login-host choice (when the connector has
//! one), answered with a 303 to the provider; re-authorize is also a link (a top-level GET
//! that ends at the provider, like Apideck's `authorize_url`, which takes `?login_url=`);
//! disconnect, disable and delete are POST forms. Every form carries a CSRF token derived from
//! the JWT. What each card offers is decided in `cards.rs`, the page itself in `page.rs`.
//! After the provider, Patchbay's callback sends the customer to `/connect/return` (when the
//! application allow-lists it) and from there back to this page, or with `auto_redirect`
//! straight on to the session's `redirect_uri`.

mod page;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_server::service::SessionClaims;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connect::AuthorizeRequest;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::auth::same_token;
use crate::views::{Notice, customer_notice};
use crate::web::{CONNECT_COOKIE, ConsoleState, Form, render_status};
use page::allowed_actions;
use patchbay_connectors::connector::Connector;

/// The connector a page path's `{service_id}` names, for its wording.
fn provider(service_id: &str) -> Option<&'static dyn Connector> {
    patchbay_connectors::registry::connector(service_id)
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/session/{jwt}", get(show_page))
        .route("/session/{jwt}/theme.css", get(theme_css))
        .route(
            "/session/{jwt}/connect/{unified_api}/{service_id}",
            get(connect).post(connect_with_host),
        )
        .route(
            "/session/{jwt}/action/{unified_api}/{service_id}",
            post(action),
        )
        .route("/connect/return", get(back_from_provider))
}

/// The verified session plus the display parts of its claims (theme, consumer metadata).
struct Session {
    claims: SessionClaims,
    theme: Map<String, Value>,
    consumer_label: String,
    /// Shown under the label when the label is not the email itself.
    consumer_email: String,
}

/// Verifies the JWT with the service layer, which parses its claims.
fn session(state: &ConsoleState, jwt: &str) -> Option<Session> {
    let claims = state.vault.verify_session(jwt).ok()?;
    let theme = claims.theme.clone();
    let pick = |k: &str| {
        claims
            .consumer_metadata
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let consumer_label = pick("account_name")
        .or_else(|| pick("user_name"))
        .or_else(|| pick("email"))
        .unwrap_or_default();
    let consumer_email = pick("email")
        .filter(|e| *e != consumer_label)
        .unwrap_or_default();
    Some(Session {
        claims,
        theme,
        consumer_label,
        consumer_email,
    })
}

#[derive(Template)]
#[template(path = "connect_expired.html")]
struct ExpiredPage {}

fn expired() -> Response {
    render_status(StatusCode::UNAUTHORIZED, &ExpiredPage {})
}

#[derive(Deserialize, Default)]
struct PageQuery {
    result: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn show_page(
    State(state): State<ConsoleState>,
    Path(jwt): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(s) = session(&state, &jwt) else {
        return expired();
    };
    let notice = match (&q.error, q.result.as_deref()) {
        (Some(e), _) => Some(customer_notice(
            None,
            e,
            q.error_description.as_deref().unwrap_or(""),
        )),
        (None, Some("connected")) => Some(Notice {
            kind: "success",
            title: "Connected".to_owned(),
            text: "Your account is connected. You can close this page.".to_owned(),
            detail: None,
        }),
        (None, Some("disconnected")) => Some(success(
            "Disconnected",
            "The connection was disconnected and its access revoked.",
        )),
        (None, Some("deleted")) => Some(success("Deleted", "The connection was deleted.")),
        (None, Some("disabled")) => Some(success("Disabled", "The connection is disabled.")),
        (None, Some("enabled")) => Some(success("Enabled", "The connection is enabled again.")),
        _ => None,
    };
    render_page(&state, &jwt, &s, notice).await
}

fn success(title: &str, text: &str) -> Notice {
    Notice {
        kind: "success",
        title: title.to_owned(),
        text: text.to_owned(),
        detail: None,
    }
}

async fn theme_css(State(state): State<ConsoleState>, Path(jwt): Path<String>) -> Response {
    page::theme_css(session(&state, &jwt).as_ref())
}

async fn render_page(
    state: &ConsoleState,
    jwt: &str,
    s: &Session,
    notice: Option<Notice>,
) -> Response {
    page::render_page(state, jwt, s, notice, None).await
}

/// The connection a request names, within the session: its application and consumer, and
/// only a unified API the session's `unified_apis` lists (when it lists any), as on the API.
fn key_for(s: &Session, unified_api: &str, service_id: &str) -> Option<ConnectionKey> {
    if !s.claims.settings.includes_api(unified_api) {
        return None;
    }
    Some(ConnectionKey {
        application_id: s.claims.application_id.clone(),
        consumer_id: s.claims.consumer_id.clone(),
        unified_api: UnifiedApi::parse(unified_api).ok()?,
        service_id: ServiceId::parse(service_id).ok()?,
    })
}

/// Where Patchbay's callback should send the customer: back to this page through
/// `/connect/return` when the application allow-lists it, else the session's `redirect_uri`.
async fn return_target(state: &ConsoleState, s: &Session) -> Option<String> {
    let own = state.connect_return_url();
    let app = state
        .vault
        .get_application(&s.claims.application_id)
        .await
        .ok()?;
    if app.redirect_uris.contains(&own) {
        Some(own)
    } else {
        s.claims.redirect_uri.clone()
    }
}

/// Connect / Re-authorize: opens the OAuth transaction and sends the browser to the provider.
#[derive(Deserialize, Default)]
struct ConnectQuery {
    login_url: Option<String>,
}

async fn connect(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Path((jwt, unified_api, service_id)): Path<(String, String, String)>,
    Query(q): Query<ConnectQuery>,
) -> Response {
    let Some(s) = session(&state, &jwt) else {
        return expired();
    };
    let Some(key) = key_for(&s, &unified_api, &service_id) else {
        return render_page(
            &state,
            &jwt,
            &s,
            Some(customer_notice(None, "unknown", "Unknown integration.")),
        )
        .await;
    };
    if let Some(login_url) = q.login_url.filter(|u| !u.trim().is_empty())
        && let Err(e) = choose_login_host(&state, &s, &key, &login_url).await
    {
        return render_page(
            &state,
            &jwt,
            &s,
            Some(customer_notice(
                provider(&service_id),
                "invalid_login_host",
                &e.message(),
            )),
        )
        .await;
    }
    start(&state, jar, &jwt, &s, &key).await
}

/// A card's form post: a live session, the page's CSRF token, and a connection this session
/// may address; otherwise the answer to give instead.
async fn posted(
    state: &ConsoleState,
    jwt: &str,
    unified_api: &str,
    service_id: &str,
    body: &[u8],
) -> Result<(Session, Form, ConnectionKey), Response> {
    let Some(s) = session(state, jwt) else {
        return Err(expired());
    };
    let form = Form::parse(body);
    if !same_token(form.get("csrf"), &state.connect_csrf(jwt)) {
        return Err(crate::web::csrf_rejected());
    }
    let Some(key) = key_for(&s, unified_api, service_id) else {
        let notice = customer_notice(None, "unknown", "Unknown integration.");
        return Err(render_page(state, jwt, &s, Some(notice)).await);
    };
    Ok((s, form, key))
}

/// The login-host form on a card: checks the choice (an offered host, or a typed-in host the
/// connector accepts), stores it, and goes on to the provider (303). A bad choice comes back on the card.
async fn connect_with_host(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Path((jwt, unified_api, service_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (s, form, key) = match posted(&state, &jwt, &unified_api, &service_id, &body).await {
        Ok(parts) => parts,
        Err(page) => return page,
    };
    let view = match state.vault.get_connection(&key).await {
        Ok(v) => v,
        Err(e) => {
            let notice = customer_notice(provider(&service_id), "oauth_connector", &e.message());
            return render_page(&state, &jwt, &s, Some(notice)).await;
        }
    };
    let stored = view.settings.login_url.as_deref();
    let picked = form.get("login_host");
    let connector = provider(&service_id);
    if let Some(connector) = connector
        && let Some(choice) = crate::cards::host_choice(connector, &view.form_fields, stored)
        && !picked.is_empty()
    {
        let bad = |message: String| page::HostError {
            unified_api: unified_api.clone(),
            service_id: service_id.clone(),
            my_domain: form.get("my_domain").to_owned(),
            message,
        };
        let login_url =
            match crate::cards::chosen_login_url(connector, &choice, picked, form.get("my_domain"))
            {
                Ok(u) => u,
                Err(message) => {
                    return page::render_page(&state, &jwt, &s, None, Some(bad(message))).await;
                }
            };
        if let Err(e) = choose_login_host(&state, &s, &key, &login_url).await {
            return page::render_page(&state, &jwt, &s, None, Some(bad(e.message().into_owned())))
                .await;
        }
    }
    start(&state, jar, &jwt, &s, &key).await
}

/// Opens the OAuth transaction for the connection's stored login host and sends the browser
/// to it.
async fn start(
    state: &ConsoleState,
    jar: CookieJar,
    jwt: &str,
    s: &Session,
    key: &ConnectionKey,
) -> Response {
    let connector = provider(key.service_id.as_str());
    let fail =
        |e: &patchbay_server::Error| customer_notice(connector, "oauth_connector", &e.message());
    let view = match state.vault.get_connection(key).await {
        Ok(v) => v,
        Err(e) => return render_page(state, jwt, s, Some(fail(&e))).await,
    };
    if view.state.has_grant() && !allowed_actions(&s.claims.settings).reauthorize {
        return render_page(
            state,
            jwt,
            s,
            Some(customer_notice(
                connector,
                "not_allowed",
                "Re-authorizing is not available here.",
            )),
        )
        .await;
    }
    let link_state = view
        .authorize_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        });
    let Some(link_state) = link_state else {
        return render_page(
            state,
            jwt,
            s,
            Some(customer_notice(
                None,
                "unavailable",
                "This integration cannot be connected yet.",
            )),
        )
        .await;
    };
    let request = AuthorizeRequest {
        service_id: key.service_id.to_string(),
        application_id: key.application_id.to_string(),
        state: link_state,
        redirect_uri: return_target(state, s).await,
        scope: None,
        nonce: None,
    };
    match state.vault.start_connect(&request).await {
        Ok((provider_url, _)) => {
            let mut cookie = state.cookie(CONNECT_COOKIE, jwt.to_owned(), "/connect");
            cookie.set_max_age(time::Duration::minutes(15));
            (jar.add(cookie), Redirect::to(&provider_url)).into_response()
        }
        Err(e) => render_page(state, jwt, s, Some(fail(&e))).await,
    }
}

/// The login host a connection without its own uses: the integration's, listed first.
fn integration_login_host(form_fields: &[Value]) -> Option<String> {
    let options = form_fields
        .iter()
        .find(|f| f["id"] == "login_url")?
        .get("options")?
        .as_array()?;
    options
        .first()
        .and_then(|o| o["value"].as_str())
        .map(str::to_owned)
}

/// Stores the login host given as `?login_url=` on the Connect link: adds the
/// connection with it, or changes it (which gives up an existing grant, so only when the
/// session may re-authorize).
async fn choose_login_host(
    state: &ConsoleState,
    s: &Session,
    key: &ConnectionKey,
    login_url: &str,
) -> Result<(), patchbay_server::Error> {
    let current = state.vault.get_connection(key).await?;
    let stored = current
        .settings
        .login_url
        .clone()
        .or_else(|| integration_login_host(&current.form_fields));
    // The host it would use anyway: nothing to store (and, for a connection not added yet,
    // nothing to add until the provider says yes).
    if stored.as_deref() == Some(login_url.trim()) {
        return Ok(());
    }
    if s.claims.settings.hide_resource_settings {
        return Err(patchbay_server::Error::ActionNotAllowed(
            "resource_settings",
        ));
    }
    let has_grant = current.state.has_grant();
    if has_grant && !allowed_actions(&s.claims.settings).reauthorize {
        return Err(patchbay_server::Error::ActionNotAllowed("reauthorize"));
    }
    let mut settings = Map::new();
    settings.insert(
        "login_url".to_owned(),
        Value::String(login_url.trim().to_owned()),
    );
    let input = ConnectionInput {
        enabled: Some(true),
        settings: Some(settings),
        metadata: None,
    };
    let actor = Actor::Session {
        consumer_id: s.claims.consumer_id.to_string(),
    };
    state.vault.patch_connection(key, input, &actor).await?;
    Ok(())
}

#[derive(Deserialize, Default)]
struct ReturnQuery {
    error: Option<String>,
    error_description: Option<String>,
}

/// Patchbay's callback redirected here: back to the session's page with the outcome.
async fn back_from_provider(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Query(q): Query<ReturnQuery>,
) -> Response {
    let Some(jwt) = jar.get(CONNECT_COOKIE).map(|c| c.value().to_owned()) else {
        return expired();
    };
    let jar = jar.remove(Cookie::build(CONNECT_COOKIE).path("/connect"));
    let Some(s) = session(&state, &jwt) else {
        return (jar, expired()).into_response();
    };
    let location = match &q.error {
        Some(error) => {
            let query = serde_urlencoded::to_string([
                ("error", error.as_str()),
                (
                    "error_description",
                    q.error_description.as_deref().unwrap_or(""),
                ),
            ])
            .unwrap_or_default();
            format!("/session/{jwt}?{query}")
        }
        None => match (&s.claims.redirect_uri, s.claims.settings.auto_redirect) {
            (Some(uri), true) => uri.clone(),
            _ => format!("/session/{jwt}?result=connected"),
        },
    };
    (jar, Redirect::to(&location)).into_response()
}

/// Disconnect, disable/enable and delete, each only when `allow_actions` permits it.
async fn action(
    State(state): State<ConsoleState>,
    Path((jwt, unified_api, service_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let (s, form, key) = match posted(&state, &jwt, &unified_api, &service_id, &body).await {
        Ok(parts) => parts,
        Err(page) => return page,
    };
    let allowed = allowed_actions(&s.claims.settings);
    let actor = Actor::Session {
        consumer_id: s.claims.consumer_id.to_string(),
    };
    let not_allowed = || customer_notice(None, "not_allowed", "This action is not available here.");
    let outcome: Result<&str, Notice> = match form.get("action") {
        "disconnect" if allowed.disconnect => disconnect(&state, &s, &key).await,
        "disable" | "enable" if allowed.disable => {
            let enabled = form.get("action") == "enable";
            state
                .vault
                .update_connection(
                    &key,
                    ConnectionInput {
                        enabled: Some(enabled),
                        ..ConnectionInput::default()
                    },
                )
                .await
                .map(|_| if enabled { "enabled" } else { "disabled" })
                .map_err(|e| customer_notice(None, "failed", &e.message()))
        }
        "delete" if allowed.delete => state
            .vault
            .delete_connection(&key, &actor)
            .await
            .map(|()| "deleted")
            .map_err(|e| customer_notice(None, "failed", &e.message())),
        _ => Err(not_allowed()),
    };
    match outcome {
        Ok(result) => Redirect::to(&format!("/session/{jwt}?result={result}")).into_response(),
        Err(notice) => render_page(&state, &jwt, &s, Some(notice)).await,
    }
}

/// Revokes the grant through the connection's signed revoke link (as the spec's `revoke_url`).
async fn disconnect(
    state: &ConsoleState,
    s: &Session,
    key: &ConnectionKey,
) -> Result<&'static str, Notice> {
    let fail = |e: &patchbay_server::Error| customer_notice(None, "failed", &e.message());
    let view = state
        .vault
        .get_connection(key)
        .await
        .map_err(|e| fail(&e))?;
    let link_state = view
        .revoke_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(|| {
            customer_notice(None, "failed", "This connection has nothing to disconnect.")
        })?;
    let target = return_target(state, s).await;
    state
        .vault
        .revoke_via_link(
            key.service_id.as_str(),
            key.application_id.as_str(),
            &link_state,
            target.as_deref(),
        )
        .await
        .map(|_| "disconnected")
        .map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchbay_server::service::SessionSettings;
    use serde_json::json;

    fn settings(v: Value) -> SessionSettings {
        SessionSettings::parse(&v.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn allow_actions_default_all_and_empty_none() {
        let all = allowed_actions(&SessionSettings::default());
        assert!(all.delete && all.disconnect && all.reauthorize && all.disable);
        let none = allowed_actions(&settings(json!({"allow_actions": []})));
        assert!(!none.delete && !none.disconnect && !none.reauthorize && !none.disable);
        let some = allowed_actions(&settings(json!({"allow_actions": ["disconnect"]})));
        assert!(some.disconnect && !some.delete);
    }
}
