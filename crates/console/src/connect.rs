//! The hosted connect page (`session_uri` = `{public_url}/session/{jwt}`).
//!
//! Everything is scoped by the verified session JWT: the application and consumer come from its
//! claims only. Connect and re-authorize are links (a top-level GET that ends at Salesforce,
//! like Apideck's `authorize_url`); disconnect, disable and delete are POST forms with a CSRF
//! token derived from the JWT. After Salesforce, Patchbay's callback sends the customer to
//! `/connect/return` (when the application allow-lists it) and from there back to this page,
//! or with `auto_redirect` straight on to the session's `redirect_uri`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use base64::Engine;
use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_server::service::SessionClaims;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connect::AuthorizeRequest;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::auth::same_token;
use crate::views::{Notice, connection_badge, customer_notice, https_url, text_on, valid_color};
use crate::web::{CONNECT_COOKIE, ConsoleState, Form, render, render_status};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/session/{jwt}", get(page))
        .route("/session/{jwt}/theme.css", get(theme_css))
        .route(
            "/session/{jwt}/connect/{unified_api}/{service_id}",
            get(connect),
        )
        .route(
            "/session/{jwt}/action/{unified_api}/{service_id}",
            post(action),
        )
        .route("/connect/return", get(back_from_provider))
}

/// `allow_actions`, defaulting to all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub delete: bool,
    pub disconnect: bool,
    pub reauthorize: bool,
    pub disable: bool,
}

pub fn allowed_actions(settings: &Map<String, Value>) -> Allowed {
    match settings.get("allow_actions").and_then(Value::as_array) {
        None => Allowed {
            delete: true,
            disconnect: true,
            reauthorize: true,
            disable: true,
        },
        Some(list) => {
            let has = |a: &str| list.iter().any(|v| v.as_str() == Some(a));
            Allowed {
                delete: has("delete"),
                disconnect: has("disconnect"),
                reauthorize: has("reauthorize"),
                disable: has("disable"),
            }
        }
    }
}

fn flag(settings: &Map<String, Value>, name: &str) -> bool {
    settings.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// The verified session plus the display parts of its claims (theme, consumer metadata).
struct Session {
    claims: SessionClaims,
    theme: Map<String, Value>,
    consumer_label: String,
}

/// Verifies the JWT with the service layer, then reads the claims it does not expose. The
/// payload is only decoded after the signature and expiry were checked.
fn session(state: &ConsoleState, jwt: &str) -> Option<Session> {
    let claims = state.vault.verify_session(jwt).ok()?;
    let payload = jwt
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
        .unwrap_or_default();
    let theme = payload
        .get("theme")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let meta = payload.get("consumer_metadata").and_then(Value::as_object);
    let pick = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let consumer_label = pick("account_name")
        .or_else(|| pick("user_name"))
        .or_else(|| pick("email"))
        .unwrap_or_default();
    Some(Session {
        claims,
        theme,
        consumer_label,
    })
}

struct Item {
    name: String,
    /// The provider's logo, served by Patchbay.
    logo: String,
    unified_api: String,
    service_id: String,
    badge_label: &'static str,
    badge_class: &'static str,
    instance_url: String,
    connect_label: &'static str,
    show_connect: bool,
    show_disconnect: bool,
    show_disable: bool,
    show_enable: bool,
    show_delete: bool,
}

#[derive(Template)]
#[template(path = "connect.html")]
struct ConnectPage {
    jwt: String,
    csrf: String,
    vault_name: String,
    logo: Option<String>,
    favicon: Option<String>,
    privacy_url: Option<String>,
    terms_url: Option<String>,
    consumer_label: String,
    show_sidebar: bool,
    sandbox: bool,
    hide_guides: bool,
    items: Vec<Item>,
    notice: Option<Notice>,
    redirect_uri: Option<String>,
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

async fn page(
    State(state): State<ConsoleState>,
    Path(jwt): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let Some(s) = session(&state, &jwt) else {
        return expired();
    };
    let notice = match (&q.error, q.result.as_deref()) {
        (Some(e), _) => Some(customer_notice(
            e,
            q.error_description.as_deref().unwrap_or(""),
        )),
        (None, Some("connected")) => Some(Notice {
            kind: "success",
            title: "Connected".to_owned(),
            text: "Your Salesforce account is connected. You can close this page.".to_owned(),
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

async fn render_page(
    state: &ConsoleState,
    jwt: &str,
    s: &Session,
    notice: Option<Notice>,
) -> Response {
    let settings = &s.claims.settings;
    let apis: Vec<String> = settings
        .get("unified_apis")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let allowed = allowed_actions(settings);
    let views = match state
        .vault
        .list_connections(
            &s.claims.application_id,
            Some(&s.claims.consumer_id),
            None,
            None,
            patchbay_server::service::connections::Offer::ALL,
        )
        .await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "hosted page could not list connections");
            Vec::new()
        }
    };
    let items = views
        .iter()
        .filter(|v| apis.is_empty() || apis.iter().any(|a| a == &v.unified_api))
        .map(|v| {
            let badge = connection_badge(v.state, v.health, v.enabled, v.integration_state);
            let configured = v.integration_state == "configured";
            let exists = v.state != "available";
            let has_grant = matches!(v.state, "authorized" | "callable" | "invalid");
            Item {
                name: v.name.clone(),
                logo: v.logo.clone(),
                unified_api: v.unified_api.clone(),
                service_id: v.service_id.clone(),
                badge_label: badge.label,
                badge_class: badge.class,
                instance_url: v
                    .settings
                    .as_ref()
                    .and_then(|s| s.get("instance_url"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                connect_label: if has_grant { "Re-authorize" } else { "Connect" },
                show_connect: configured
                    && (!exists || v.enabled)
                    && (!has_grant || allowed.reauthorize),
                show_disconnect: has_grant && v.state != "invalid" && allowed.disconnect,
                show_disable: exists && v.enabled && allowed.disable,
                show_enable: exists && !v.enabled && allowed.disable,
                show_delete: exists && allowed.delete,
            }
        })
        .collect();
    let theme_str = |k: &str| s.theme.get(k).and_then(Value::as_str).map(str::to_owned);
    render(&ConnectPage {
        jwt: jwt.to_owned(),
        csrf: state.connect_csrf(jwt),
        vault_name: theme_str("vault_name")
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Connect your apps".to_owned()),
        logo: theme_str("logo").and_then(|u| https_url(&u)),
        privacy_url: theme_str("privacy_url").and_then(|u| https_url(&u)),
        terms_url: theme_str("terms_url").and_then(|u| https_url(&u)),
        consumer_label: s.consumer_label.clone(),
        // Isolation mode shows only the connection screen, as Apideck's hosted Vault does.
        show_sidebar: settings
            .get("show_sidebar")
            .and_then(Value::as_bool)
            .unwrap_or(true)
            && !flag(settings, "isolation_mode"),
        favicon: theme_str("favicon").and_then(|u| https_url(&u)),
        sandbox: flag(settings, "sandbox_mode"),
        hide_guides: flag(settings, "hide_guides"),
        items,
        notice,
        redirect_uri: s.claims.redirect_uri.clone(),
    })
}

/// The theme's colours as CSS custom properties; only validated `#rgb`/`#rrggbb` values.
async fn theme_css(State(state): State<ConsoleState>, Path(jwt): Path<String>) -> Response {
    let mut css = String::new();
    if let Some(s) = session(&state, &jwt) {
        let color = |k: &str| {
            s.theme
                .get(k)
                .and_then(Value::as_str)
                .filter(|c| valid_color(c))
                .map(str::to_owned)
        };
        let mut vars = Vec::new();
        if let Some(p) = color("primary_color") {
            vars.push(format!("--primary:{p};--on-primary:{}", text_on(&p)));
        }
        if let Some(bg) = color("sidepanel_background_color") {
            vars.push(format!("--side-bg:{bg};--side-text:{}", text_on(&bg)));
        }
        if let Some(t) = color("sidepanel_text_color") {
            vars.push(format!("--side-text:{t}"));
        }
        if !vars.is_empty() {
            css = format!(":root{{{}}}\n", vars.join(";"));
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        css,
    )
        .into_response()
}

fn key_for(s: &Session, unified_api: &str, service_id: &str) -> Option<ConnectionKey> {
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

/// Connect / Re-authorize: opens the OAuth transaction and sends the browser to Salesforce.
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
            Some(customer_notice("unknown", "Unknown integration.")),
        )
        .await;
    };
    let fail = |e: &patchbay_server::Error| customer_notice("oauth_connector", &e.message());
    if let Some(login_url) = q.login_url.filter(|u| !u.trim().is_empty())
        && let Err(e) = choose_login_host(&state, &s, &key, &login_url).await
    {
        return render_page(
            &state,
            &jwt,
            &s,
            Some(customer_notice("invalid_login_host", &e.message())),
        )
        .await;
    }
    let view = match state.vault.get_connection(&key).await {
        Ok(v) => v,
        Err(e) => return render_page(&state, &jwt, &s, Some(fail(&e))).await,
    };
    if matches!(view.state, "authorized" | "callable" | "invalid")
        && !allowed_actions(&s.claims.settings).reauthorize
    {
        return render_page(
            &state,
            &jwt,
            &s,
            Some(customer_notice(
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
            &state,
            &jwt,
            &s,
            Some(customer_notice(
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
        redirect_uri: return_target(&state, &s).await,
        scope: None,
        nonce: None,
    };
    match state.vault.start_connect(&request).await {
        Ok((provider_url, _)) => {
            let mut cookie = state.cookie(CONNECT_COOKIE, jwt.clone(), "/connect");
            cookie.set_max_age(time::Duration::minutes(15));
            (jar.add(cookie), Redirect::to(&provider_url)).into_response()
        }
        Err(e) => render_page(&state, &jwt, &s, Some(fail(&e))).await,
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
        .as_ref()
        .and_then(|s| s.get("login_url"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| integration_login_host(&current.form_fields));
    if current.state != "available" && stored.as_deref() == Some(login_url.trim()) {
        return Ok(());
    }
    let has_grant = matches!(current.state, "authorized" | "callable" | "invalid");
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
        None => match (
            &s.claims.redirect_uri,
            flag(&s.claims.settings, "auto_redirect"),
        ) {
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
    let Some(s) = session(&state, &jwt) else {
        return expired();
    };
    let form = Form::parse(&body);
    if !same_token(form.get("csrf"), &state.connect_csrf(&jwt)) {
        return crate::web::csrf_rejected();
    }
    let Some(key) = key_for(&s, &unified_api, &service_id) else {
        return render_page(
            &state,
            &jwt,
            &s,
            Some(customer_notice("unknown", "Unknown integration.")),
        )
        .await;
    };
    let allowed = allowed_actions(&s.claims.settings);
    let actor = Actor::Session {
        consumer_id: s.claims.consumer_id.to_string(),
    };
    let not_allowed = || customer_notice("not_allowed", "This action is not available here.");
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
                .map_err(|e| customer_notice("failed", &e.message()))
        }
        "delete" if allowed.delete => state
            .vault
            .delete_connection(&key, &actor)
            .await
            .map(|()| "deleted")
            .map_err(|e| customer_notice("failed", &e.message())),
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
    let fail = |e: &patchbay_server::Error| customer_notice("failed", &e.message());
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
        .ok_or_else(|| customer_notice("failed", "This connection has nothing to disconnect."))?;
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
    use serde_json::json;

    fn settings(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn allow_actions_default_all_and_empty_none() {
        let all = allowed_actions(&Map::new());
        assert!(all.delete && all.disconnect && all.reauthorize && all.disable);
        let none = allowed_actions(&settings(json!({"allow_actions": []})));
        assert!(!none.delete && !none.disconnect && !none.reauthorize && !none.disable);
        let some = allowed_actions(&settings(json!({"allow_actions": ["disconnect"]})));
        assert!(some.disconnect && !some.delete);
    }
}
