//! Admin console pages: sign-in, applications, consumers and their connections, logs, API
//! keys, the audit log and the encryption key status. The integration pages (one per
//! registered connector) live in `integrations.rs`.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use patchbay_core::{ApiKeyId, ApplicationId, ConnectionState, ConsumerId, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::ConsumerFilter;
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::ConnectionKey;
use patchbay_server::service::sessions::SessionRequest;
use patchbay_server::service::{Scope, Vault};
use serde::Deserialize;

use crate::auth::same_token;
use crate::views::{Badge, connection_badge, date_time, health_badge, when};
use crate::web::{
    ADMIN_COOKIE, Admin, ConsoleState, FORM_LIMIT_BYTES, Form, LOGIN_CSRF_COOKIE, csrf_rejected,
    error_text, message, new_login_token, no_such_application, render, render_status,
};

/// One integration tab of an application's pages (and a line of the landing page): a
/// registered connector's id, name, what its OAuth app is called and its setup guide's anchor.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationTab {
    pub service_id: &'static str,
    pub name: &'static str,
    pub app_noun: &'static str,
    pub guide_anchor: &'static str,
}

/// Every registered connector, in catalogue order (the templates' tab bar calls this).
pub fn integration_tabs() -> Vec<IntegrationTab> {
    patchbay_connectors::registry::all()
        .map(|c| IntegrationTab {
            service_id: c.service_id(),
            name: c.display().name,
            app_noun: c.setup().app_noun,
            guide_anchor: c.setup().guide_anchor,
        })
        .collect()
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/admin/login", get(login_page).post(login_submit))
        .route("/admin/logout", post(logout))
        .route("/admin", get(home).post(create_app))
        .route("/admin/apps/{app}", get(app_page).post(update_app))
        .route("/admin/apps/{app}/consumers", get(consumers_page))
        .route("/admin/apps/{app}/consumers/{consumer}", get(consumer_page))
        .route(
            "/admin/apps/{app}/consumers/{consumer}/session",
            post(consumer_session),
        )
        .route(
            "/admin/apps/{app}/consumers/{consumer}/connections/{unified_api}/{service_id}/{action}",
            post(connection_action),
        )
        .route("/admin/apps/{app}/api-keys", get(api_keys_page).post(create_api_key))
        .route("/admin/apps/{app}/api-keys/{key}/revoke", post(revoke_api_key))
        .route("/admin/keys", get(keys_page))
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    signed_in: bool,
    csrf: String,
    username: String,
    error: Option<String>,
}

async fn login_page(State(state): State<ConsoleState>, jar: CookieJar) -> Response {
    let signed_in = match jar.get(ADMIN_COOKIE) {
        Some(c) => state.sessions.get(c.value()).await.is_some(),
        None => false,
    };
    if signed_in {
        return Redirect::to("/admin").into_response();
    }
    let token = new_login_token();
    let jar = jar.add(state.cookie(LOGIN_CSRF_COOKIE, token.clone(), "/admin"));
    (
        jar,
        render(&LoginPage {
            signed_in: false,
            csrf: token,
            username: String::new(),
            error: None,
        }),
    )
        .into_response()
}

async fn login_submit(State(state): State<ConsoleState>, jar: CookieJar, req: Request) -> Response {
    // The accept loop resolves the client address (X-Forwarded-For only from a trusted proxy);
    // a router served some other way falls back to the TCP peer.
    let ip = req
        .extensions()
        .get::<patchbay_server::listener::ClientAddr>()
        .map(|c| c.0.to_string())
        .or_else(|| {
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let Ok(body) = axum::body::to_bytes(req.into_body(), FORM_LIMIT_BYTES).await else {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "The form is too large.",
        );
    };
    let form = Form::parse(&body);
    let cookie_token = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if !same_token(form.get("csrf"), &cookie_token) {
        return csrf_rejected();
    }
    let username = form.get("username").trim().to_owned();
    let password = SecretString::new(form.get("password").to_owned());
    let now = crate::auth::now_ms();
    let blocked = match state.limiter.blocked_for(&ip, &username, now).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "sign-in throttle lookup failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                "The database could not be reached. Try again shortly.",
            );
        }
    };
    if let Some(secs) = blocked {
        tracing::warn!("admin sign-in refused: too many failures");
        let minutes = secs.div_ceil(60);
        return render_status(
            StatusCode::TOO_MANY_REQUESTS,
            &LoginPage {
                signed_in: false,
                csrf: cookie_token,
                username,
                error: Some(format!(
                    "Too many failed sign-in attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )),
            },
        );
    }
    let user = match state
        .vault
        .verify_admin_login(&username, password, &state.dummy_hash())
        .await
    {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "admin user lookup failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is unavailable",
                "The database could not be reached. Try again shortly.",
            );
        }
    };
    let Some(user) = user else {
        if let Err(e) = state.limiter.record_failure(&ip, &username, now).await {
            tracing::error!(error = %e, "could not count a failed sign-in");
        }
        tracing::info!("admin sign-in failed");
        return render_status(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                signed_in: false,
                csrf: cookie_token,
                username,
                error: Some("Wrong user name or password.".to_owned()),
            },
        );
    };
    if let Err(e) = state.limiter.record_success(&ip, &username).await {
        tracing::warn!(error = %e, "could not clear the sign-in throttle");
    }
    let Some(token) = state.sessions.start(&user.username).await else {
        return message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in failed",
            "The session could not be stored. Try again shortly.",
        );
    };
    if let Err(e) = state.vault.record_admin_login(&user).await {
        tracing::warn!(error = %e, "could not record the admin's last sign-in");
    }
    tracing::info!(admin = %user.username, "admin signed in");
    let jar = jar
        .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/admin"))
        .add(state.cookie(ADMIN_COOKIE, token, "/"));
    (jar, Redirect::to("/admin")).into_response()
}

async fn logout(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    admin: Admin,
    body: Bytes,
) -> Response {
    if let Err(r) = admin.check_csrf(&Form::parse(&body)) {
        return r;
    }
    if let Some(c) = jar.get(ADMIN_COOKIE) {
        state.sessions.end(c.value()).await;
    }
    let jar = jar.remove(Cookie::build(ADMIN_COOKIE).path("/"));
    (jar, Redirect::to("/admin/login")).into_response()
}

// ---------------------------------------------------------------------------------------------
// Applications

struct AppRow {
    id: String,
    name: String,
    redirect_uris: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    signed_in: bool,
    csrf: String,
    username: String,
    apps: Vec<AppRow>,
    created: Option<(String, String)>,
    error: Option<String>,
}

async fn home(State(state): State<ConsoleState>, admin: Admin) -> Response {
    home_with(&state, &admin, None, None).await
}

async fn home_with(
    state: &ConsoleState,
    admin: &Admin,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Response {
    let apps = match state.vault.list_applications().await {
        Ok(a) => a,
        Err(e) => return message(StatusCode::INTERNAL_SERVER_ERROR, "Error", &error_text(&e)),
    };
    render(&HomePage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        username: admin.0.username.clone(),
        apps: apps
            .iter()
            .map(|a| AppRow {
                id: a.id.to_string(),
                name: a.name.clone(),
                redirect_uris: a.redirect_uris.join(", "),
            })
            .collect(),
        created,
        error,
    })
}

async fn create_app(State(state): State<ConsoleState>, admin: Admin, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if let Err(r) = admin.check_csrf(&form) {
        return r;
    }
    let Some(name) = form.text("name") else {
        return home_with(
            &state,
            &admin,
            None,
            Some("Give the application a name.".to_owned()),
        )
        .await;
    };
    let mut uris: Vec<String> = form
        .get("redirect_uris")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let hosted = state.connect_return_url();
    if !uris.contains(&hosted) {
        uris.push(hosted);
    }
    match state.vault.create_application(&name, &uris).await {
        Ok(created) => {
            let key = created.api_key.key.expose_secret().to_owned();
            home_with(
                &state,
                &admin,
                Some((created.application.id.to_string(), key)),
                None,
            )
            .await
        }
        Err(e) => home_with(&state, &admin, None, Some(error_text(&e))).await,
    }
}

/// The application named in the path, or a 404 page.
pub(crate) async fn application(
    vault: &Vault,
    raw: &str,
) -> Result<patchbay_server::service::ApplicationRow, Response> {
    let id = ApplicationId::parse(raw).map_err(|_| no_such_application())?;
    vault
        .get_application(&id)
        .await
        .map_err(|_| no_such_application())
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    redirect_uris: Vec<String>,
    return_url: String,
    return_allowed: bool,
    integrations: Vec<(IntegrationTab, String)>,
    /// The settings form's values: the stored ones, or what was submitted when it failed.
    form_name: String,
    form_uris: String,
    form_cors: String,
    /// Every origin allowed for CORS: the redirect URIs' origins plus the extra ones.
    allowed_origins: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn app_page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
) -> Response {
    match application(&state.vault, &app).await {
        Ok(app) => render_app(&state, &admin, &app, AppForm::default()).await,
        Err(r) => r,
    }
}

/// What the settings form adds to the application page after a submission.
#[derive(Default)]
struct AppForm {
    /// The submitted `(name, redirect URIs, CORS origins)` to show again after an error.
    submitted: Option<(String, String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

async fn render_app(
    state: &ConsoleState,
    admin: &Admin,
    app: &patchbay_server::service::ApplicationRow,
    form: AppForm,
) -> Response {
    let mut integrations = Vec::new();
    for t in integration_tabs() {
        let Ok(service) = ServiceId::parse(t.service_id) else {
            continue;
        };
        let integration_state = state
            .vault
            .get_integration(&app.id, &UnifiedApi::crm(), &service)
            .await
            .map(|i| i.state().as_str().replace('_', " "))
            .unwrap_or_else(|_| "not set up".to_owned());
        integrations.push((t, integration_state));
    }
    let return_url = state.connect_return_url();
    let extra = state.vault.cors_origins(&app.id).await.unwrap_or_default();
    let allowed_origins =
        patchbay_server::service::cors::allowed_origins(&app.redirect_uris, &extra);
    let (form_name, form_uris, form_cors) = form.submitted.unwrap_or_else(|| {
        (
            app.name.clone(),
            app.redirect_uris.join("\n"),
            extra.join("\n"),
        )
    });
    render(&AppPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        tab: "overview",
        return_allowed: app.redirect_uris.contains(&return_url),
        redirect_uris: app.redirect_uris.clone(),
        return_url,
        integrations,
        form_name,
        form_uris,
        form_cors,
        allowed_origins,
        notice: form.notice,
        error: form.error,
    })
}

/// The settings form: the application's name and its redirect-URI allow-list (one per line;
/// the submitted list replaces the stored one). Audited by the service layer.
async fn update_app(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let (form, app_id) = match admin.app_form(&app, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let name = form.get("name").to_owned();
    let uris_text = form.get("redirect_uris").to_owned();
    let uris: Vec<String> = uris_text.split_whitespace().map(str::to_owned).collect();
    let cors_text = form.get("cors_origins").to_owned();
    let origins: Vec<String> = cors_text.split_whitespace().map(str::to_owned).collect();
    let outcome = match state.vault.set_cors_origins(&app_id, &origins).await {
        Ok(_) => {
            state
                .vault
                .update_application(&app_id, Some(&name), Some(&uris))
                .await
        }
        Err(e) => Err(e),
    };
    let current = match application(&state.vault, &app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let form = match outcome {
        Ok(_) => AppForm {
            notice: Some("Saved.".to_owned()),
            ..AppForm::default()
        },
        Err(e) => AppForm {
            submitted: Some((name, uris_text, cors_text)),
            error: Some(error_text(&e)),
            ..AppForm::default()
        },
    };
    render_app(&state, &admin, &current, form).await
}

// ---------------------------------------------------------------------------------------------
// Consumers and connections

struct ConsumerItem {
    id: String,
    name: String,
    email: String,
    services: String,
    created: String,
}

#[derive(Template)]
#[template(path = "consumers.html")]
struct ConsumersPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    q: String,
    consumers: Vec<ConsumerItem>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    cursor: Option<String>,
}

async fn consumers_page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    Query(query): Query<ListQuery>,
) -> Response {
    let app = match application(&state.vault, &app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = query.q.unwrap_or_default();
    let filter = ConsumerFilter {
        consumer_id_prefix: None,
        search: (!q.trim().is_empty()).then(|| q.trim().to_owned()),
    };
    let page = match state
        .vault
        .list_consumers(
            &app.id,
            &filter,
            query.cursor.as_deref().filter(|c| !c.is_empty()),
            50,
        )
        .await
    {
        Ok(p) => p,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                "Cannot list consumers",
                &error_text(&e),
            );
        }
    };
    render(&ConsumersPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        tab: "consumers",
        q,
        consumers: page
            .items
            .iter()
            .map(|c| ConsumerItem {
                id: c.consumer_id.to_string(),
                name: c
                    .metadata
                    .account_name
                    .clone()
                    .or_else(|| c.metadata.user_name.clone())
                    .unwrap_or_default(),
                email: c.metadata.email.clone().unwrap_or_default(),
                services: c
                    .services
                    .iter()
                    .map(ServiceId::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                created: date_time(c.created_at),
            })
            .collect(),
        next: page.next_cursor,
    })
}

struct ConnItem {
    unified_api: String,
    service_id: String,
    name: String,
    state: Badge,
    health: Badge,
    enabled: bool,
    instance_url: String,
    last_refresh: String,
    last_refresh_failed: String,
    last_error: String,
    created: String,
}

#[derive(Template)]
#[template(path = "consumer.html")]
struct ConsumerPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    consumer_id: String,
    consumer_name: String,
    connections: Vec<ConnItem>,
    notice: Option<String>,
    error: Option<String>,
    session_link: Option<String>,
    export_json: Option<String>,
}

#[derive(Default)]
struct ConsumerExtras {
    notice: Option<String>,
    error: Option<String>,
    session_link: Option<String>,
    export_json: Option<String>,
}

async fn consumer_page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, consumer)): Path<(String, String)>,
) -> Response {
    render_consumer(&state, &admin, &app, &consumer, ConsumerExtras::default()).await
}

async fn render_consumer(
    state: &ConsoleState,
    admin: &Admin,
    app: &str,
    consumer: &str,
    extras: ConsumerExtras,
) -> Response {
    let app = match application(&state.vault, app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let not_found = || {
        message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such consumer.",
        )
    };
    let Ok(consumer_id) = ConsumerId::parse(consumer) else {
        return not_found();
    };
    let Ok(view) = state.vault.get_consumer(&app.id, &consumer_id).await else {
        return not_found();
    };
    let views = state
        .vault
        .list_connections(
            &app.id,
            Some(&consumer_id),
            None,
            None,
            patchbay_server::service::connections::Offer::ALL,
        )
        .await
        .unwrap_or_default();
    let rows = state
        .vault
        .connection_details(&app.id, &consumer_id)
        .await
        .unwrap_or_default();
    let connections = views
        .iter()
        .filter(|v| v.state != ConnectionState::Available)
        .map(|v| {
            let row = rows.iter().find(|r| {
                r.unified_api == v.unified_api.as_str() && r.service_id == v.service_id.as_str()
            });
            ConnItem {
                unified_api: v.unified_api.to_string(),
                service_id: v.service_id.to_string(),
                name: v.catalogue.name.clone(),
                state: connection_badge(v.state, v.health, v.enabled, v.integration_state),
                health: health_badge(v.health),
                enabled: v.enabled,
                instance_url: row.and_then(|r| r.instance_url.clone()).unwrap_or_default(),
                last_refresh: when(row.and_then(|r| r.last_refreshed_at)),
                last_refresh_failed: when(row.and_then(|r| r.last_refresh_failed_at)),
                last_error: row
                    .and_then(|r| r.last_refresh_error.clone())
                    .unwrap_or_default(),
                created: when(v.created_at),
            }
        })
        .collect();
    render(&ConsumerPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        tab: "consumers",
        consumer_id: view.consumer_id.to_string(),
        consumer_name: view
            .metadata
            .account_name
            .clone()
            .or_else(|| view.metadata.user_name.clone())
            .unwrap_or_default(),
        connections,
        notice: extras.notice,
        error: extras.error,
        session_link: extras.session_link,
        export_json: extras.export_json,
    })
}

/// Creates a hosted-page link for this consumer (as `POST /vault/sessions` would).
async fn consumer_session(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, consumer)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin.check_csrf(&Form::parse(&body)) {
        return r;
    }
    let (Ok(app_id), Ok(consumer_id)) = (ApplicationId::parse(&app), ConsumerId::parse(&consumer))
    else {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such consumer.",
        );
    };
    let extras = match state
        .vault
        .create_session(&app_id, &consumer_id, SessionRequest::default())
        .await
    {
        Ok(s) => ConsumerExtras {
            session_link: Some(s.session_uri),
            ..ConsumerExtras::default()
        },
        Err(e) => ConsumerExtras {
            error: Some(error_text(&e)),
            ..ConsumerExtras::default()
        },
    };
    render_consumer(&state, &admin, &app, &consumer, extras).await
}

async fn connection_action(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, consumer, unified_api, service_id, action)): Path<(
        String,
        String,
        String,
        String,
        String,
    )>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin.check_csrf(&Form::parse(&body)) {
        return r;
    }
    let key = match (
        ApplicationId::parse(&app),
        ConsumerId::parse(&consumer),
        UnifiedApi::parse(&unified_api),
        ServiceId::parse(&service_id),
    ) {
        (Ok(application_id), Ok(consumer_id), Ok(unified_api), Ok(service_id)) => ConnectionKey {
            application_id,
            consumer_id,
            unified_api,
            service_id,
        },
        _ => {
            return message(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such connection.",
            );
        }
    };
    let mut extras = ConsumerExtras::default();
    match action.as_str() {
        "validate" => match state.vault.validate_connection(&key).await {
            Ok(v) => {
                extras.notice = Some(format!(
                    "Validated {}: the token was refreshed and the connection is {}.",
                    v.id, v.state
                ));
            }
            Err(e) => extras.error = Some(format!("Validation failed: {}", error_text(&e))),
        },
        "delete" => match state.vault.delete_connection(&key, &Actor::Admin).await {
            Ok(()) => {
                let provider = patchbay_connectors::registry::connector(key.service_id.as_str())
                    .map_or("the provider", |c| c.display().name);
                extras.notice = Some(format!(
                    "Deleted {}: the token was revoked at {provider} and the credentials were wiped.",
                    key.apideck_id()
                ));
            }
            Err(e) => extras.error = Some(error_text(&e)),
        },
        "export" => match state.vault.export_credentials(&key, &Actor::Admin).await {
            Ok(exported) => {
                extras.notice = Some(
                    "Exported. This export was written to the audit log. The tokens below are shown once; store them safely.".to_owned(),
                );
                extras.export_json = serde_json::to_string_pretty(&exported).ok();
            }
            Err(e) => extras.error = Some(error_text(&e)),
        },
        _ => return message(StatusCode::NOT_FOUND, "Not found", "Unknown action."),
    }
    render_consumer(&state, &admin, &app, &consumer, extras).await
}

// ---------------------------------------------------------------------------------------------
// API keys

struct KeyItem {
    id: String,
    name: String,
    scopes: String,
    created: String,
    last_used: String,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    keys: Vec<KeyItem>,
    created_key: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn api_keys_page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
) -> Response {
    render_keys(&state, &admin, &app, None, None, None).await
}

async fn render_keys(
    state: &ConsoleState,
    admin: &Admin,
    app: &str,
    created_key: Option<String>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let app = match application(&state.vault, app).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let keys = state.vault.list_api_keys(&app.id).await.unwrap_or_default();
    render(&ApiKeysPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app.id.to_string(),
        app_name: app.name.clone(),
        tab: "keys",
        keys: keys
            .iter()
            .map(|k| KeyItem {
                id: k.id.to_string(),
                name: k.name.clone(),
                scopes: k.scopes.clone(),
                created: when(Some(k.created_at)),
                last_used: when(k.last_used_at),
                revoked: k.revoked_at.is_some(),
            })
            .collect(),
        created_key,
        notice,
        error,
    })
}

async fn create_api_key(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let (form, app_id) = match admin.app_form(&app, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let scopes: Vec<Scope> = Scope::ALL
        .into_iter()
        .filter(|s| form.checked(&format!("scope_{}", s.as_str())))
        .collect();
    let name = form.text("name").unwrap_or_else(|| "console".to_owned());
    match state.vault.create_api_key(&app_id, &name, &scopes).await {
        Ok(created) => {
            let key = created.key.expose_secret().to_owned();
            render_keys(&state, &admin, &app, Some(key), None, None).await
        }
        Err(e) => render_keys(&state, &admin, &app, None, None, Some(error_text(&e))).await,
    }
}

async fn revoke_api_key(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, key)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin.check_csrf(&Form::parse(&body)) {
        return r;
    }
    let (Ok(app_id), Ok(key_id)) = (ApplicationId::parse(&app), ApiKeyId::parse(&key)) else {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such API key.",
        );
    };
    match state.vault.revoke_api_key(&app_id, &key_id).await {
        Ok(()) => {
            render_keys(
                &state,
                &admin,
                &app,
                None,
                Some(format!("Revoked {key}.")),
                None,
            )
            .await
        }
        Err(e) => render_keys(&state, &admin, &app, None, None, Some(error_text(&e))).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Encryption keys

struct KeyRow {
    id: String,
    active: bool,
    created: String,
    values: usize,
}

#[derive(Template)]
#[template(path = "keys.html")]
struct KeysPage {
    signed_in: bool,
    csrf: String,
    active: String,
    keys: Vec<KeyRow>,
    missing: Vec<(String, usize)>,
}

async fn keys_page(State(state): State<ConsoleState>, admin: Admin) -> Response {
    let status = match state.vault.key_status().await {
        Ok(s) => s,
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Key status unavailable",
                &error_text(&e),
            );
        }
    };
    let keys: Vec<KeyRow> = status
        .keys
        .iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            active: k.active,
            created: k
                .created_at
                .map(|t| t.unix_timestamp() * 1000)
                .map_or_else(|| "—".to_owned(), |ms| when(Some(ms))),
            values: status
                .values_per_key
                .get(&k.id.to_string())
                .copied()
                .unwrap_or(0),
        })
        .collect();
    let missing = status
        .values_per_key
        .iter()
        .filter(|(id, _)| !keys.iter().any(|k| &k.id == *id))
        .map(|(id, n)| (id.clone(), *n))
        .collect();
    render(&KeysPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        active: status.active_key_id,
        keys,
        missing,
    })
}
