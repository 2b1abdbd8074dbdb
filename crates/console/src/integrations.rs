//! One integration page per registered connector, mirroring the setup guide: callback URL,
//! client id and write-only secret, staged credentials and "Promote to main", login host,
//! scopes, refresh secret and PKCE settings, **Save settings** and **Test Vault**. Every
//! provider-specific word and choice comes from the connector's [`Setup`], so the page renders
//! whichever CRM the integration is.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use patchbay_connectors::connector::{Connector, Pkce, Setup};
use patchbay_connectors::registry;
use patchbay_core::{ApplicationId, IntegrationState, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::integrations::IntegrationInput;

use crate::views::{
    CUSTOM_HOST, OWN_HOST, ScopeBox, login_radio, login_url_from_form, scope_boxes,
    scopes_from_form,
};
use crate::web::{Admin, ConsoleState, Form, error_text, message, no_such_application, render};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/admin/apps/{app}/integrations/{service}",
            get(page).post(save),
        )
        .route(
            "/admin/apps/{app}/integrations/{service}/promote",
            post(promote),
        )
        .route(
            "/admin/apps/{app}/integrations/{service}/test",
            post(test_vault),
        )
}

/// The connector a page's `{service}` names (CRM integrations only) and its service id, or
/// the page's 404.
fn connector_of(service: &str) -> Result<(&'static dyn Connector, ServiceId), Response> {
    registry::connector(service)
        .and_then(|c| Some((c, ServiceId::parse(c.service_id()).ok()?)))
        .ok_or_else(|| {
            message(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such integration.",
            )
        })
}

/// One login-host radio button of the integration page.
struct LoginOption {
    value: &'static str,
    label: String,
}

/// One Test Vault check as shown.
pub struct CheckItem {
    pub id: String,
    pub title: String,
    pub passed: bool,
    pub status: String,
    pub detail: String,
    pub fix: String,
}

#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: String,
    service_id: &'static str,
    name: &'static str,
    setup: &'static Setup,
    client_id_label: String,
    client_secret_label: String,
    login_options: Vec<LoginOption>,
    own_host_label: &'static str,
    own_host_example: &'static str,
    custom_value: &'static str,
    own_value: &'static str,
    show_refresh_secret: bool,
    show_pkce: bool,
    callback_url: String,
    state: String,
    enabled: bool,
    client_id: String,
    has_secret: bool,
    staged_client_id: String,
    staged_has_secret: bool,
    has_staged: bool,
    configured: bool,
    login: &'static str,
    my_domain: String,
    custom_url: String,
    scopes: Vec<ScopeBox>,
    extra_scopes: String,
    send_secret_on_refresh: bool,
    pkce: bool,
    crm_poll_interval_s: u32,
    notice: Option<String>,
    error: Option<String>,
    checks: Option<Vec<CheckItem>>,
    checks_ok: bool,
}

#[derive(Default)]
struct Extras {
    notice: Option<String>,
    error: Option<String>,
    checks: Option<(Vec<CheckItem>, bool)>,
}

async fn page(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, service)): Path<(String, String)>,
) -> Response {
    render_page(&state, &admin, &app, &service, Extras::default()).await
}

/// `consumer key` → `Consumer key`.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

async fn render_page(
    state: &ConsoleState,
    admin: &Admin,
    app: &str,
    service: &str,
    extras: Extras,
) -> Response {
    let Ok(app_id) = ApplicationId::parse(app) else {
        return no_such_application();
    };
    let (connector, service_id) = match connector_of(service) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Ok(application) = state.vault.get_application(&app_id).await else {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such application.",
        );
    };
    let integration = state
        .vault
        .get_integration(&app_id, &UnifiedApi::crm(), &service_id)
        .await
        .ok();
    let setup = connector.setup();
    let default_scopes = connector.oauth_provider().default_scopes.join(" ");
    let (scopes, extra_scopes) = scope_boxes(
        setup.scopes,
        integration
            .as_ref()
            .map_or(default_scopes, |i| i.settings.scopes.to_string())
            .as_str(),
    );
    let login_url = integration.as_ref().map_or_else(
        || connector.default_login_url().to_owned(),
        |i| i.settings.login_host.as_str().to_owned(),
    );
    let login = login_radio(connector, &login_url);
    let (checks, checks_ok) = match extras.checks {
        Some((c, ok)) => (Some(c), ok),
        None => (None, false),
    };
    let profile = connector.oauth_profile();
    let diagnostics = connector.diagnostics();
    render(&IntegrationPage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app_id.to_string(),
        app_name: application.name.clone(),
        tab: connector.service_id().to_owned(),
        service_id: connector.service_id(),
        name: connector.display().name,
        setup,
        client_id_label: capitalised(diagnostics.client_id_label),
        client_secret_label: capitalised(diagnostics.client_secret_label),
        login_options: setup
            .login_presets
            .iter()
            .map(|(value, label, url)| LoginOption {
                value,
                label: format!("{label} ({url})"),
            })
            .collect(),
        own_host_label: setup.own_host.map_or("", |o| o.label),
        own_host_example: setup.own_host.map_or("", |o| o.example),
        custom_value: CUSTOM_HOST,
        own_value: OWN_HOST,
        show_refresh_secret: !profile.refresh_needs_secret,
        show_pkce: profile.pkce == Pkce::Supported,
        callback_url: state.vault.callback_url(),
        state: integration
            .as_ref()
            .map_or("not set up", |i| i.state().as_str())
            .replace('_', " "),
        enabled: integration.as_ref().is_none_or(|i| i.enabled),
        client_id: integration
            .as_ref()
            .and_then(|i| i.client_id.clone())
            .unwrap_or_default(),
        has_secret: integration.as_ref().is_some_and(|i| i.has_client_secret),
        staged_client_id: integration
            .as_ref()
            .and_then(|i| i.staged.as_ref().map(|s| s.client_id.clone()))
            .unwrap_or_default(),
        staged_has_secret: integration
            .as_ref()
            .and_then(|i| i.staged.as_ref())
            .is_some_and(|s| s.has_client_secret),
        has_staged: integration.as_ref().is_some_and(|i| i.staged.is_some()),
        configured: integration
            .as_ref()
            .is_some_and(|i| i.state() == IntegrationState::Configured),
        login,
        my_domain: if login == OWN_HOST {
            login_url.clone()
        } else {
            String::new()
        },
        custom_url: if login == CUSTOM_HOST {
            login_url
        } else {
            String::new()
        },
        scopes,
        extra_scopes,
        send_secret_on_refresh: integration
            .as_ref()
            .is_some_and(|i| i.settings.send_secret_on_refresh),
        pkce: integration.as_ref().is_none_or(|i| i.settings.pkce),
        crm_poll_interval_s: integration.as_ref().map_or(
            patchbay_core::integration::DEFAULT_CRM_POLL_INTERVAL_S,
            |i| i.settings.crm_poll_interval_s,
        ),
        notice: extras.notice,
        error: extras.error,
        checks,
        checks_ok,
    })
}

/// The integration change a submitted form asks for. Blank secrets keep the stored ones.
fn input_from_form(connector: &dyn Connector, form: &Form) -> Result<IntegrationInput, String> {
    let login_url = login_url_from_form(
        connector,
        form.get("login"),
        form.get("my_domain"),
        form.get("custom_url"),
    )?;
    let setup = connector.setup();
    let scopes = scopes_from_form(setup.scopes, |f| form.checked(f), form.get("extra_scopes"));
    let profile = connector.oauth_profile();
    if scopes.is_empty() {
        return Err("Choose at least one scope.".to_owned());
    }
    let secret = |name: &str| {
        let v = form.get(name);
        (!v.trim().is_empty()).then(|| SecretString::new(v.trim().to_owned()))
    };
    // Blank keeps the stored interval; anything else must be a whole number of seconds (the
    // service checks the range).
    let crm_poll_interval_s = match form.get("crm_poll_interval_s").trim() {
        "" => None,
        v => Some(v.parse::<u32>().map_err(|_| {
            "The CRM poll interval must be a whole number of seconds (1 to 86400).".to_owned()
        })?),
    };
    Ok(IntegrationInput {
        enabled: Some(form.checked("enabled")),
        client_id: form.text("client_id"),
        client_secret: secret("client_secret"),
        staged_client_id: form.text("staged_client_id"),
        staged_client_secret: secret("staged_client_secret"),
        login_url: Some(login_url),
        scopes: Some(scopes),
        // A setting the page does not offer for this provider is left as stored.
        send_secret_on_refresh: (!profile.refresh_needs_secret)
            .then(|| form.checked("send_secret_on_refresh")),
        pkce: (profile.pkce == Pkce::Supported).then(|| form.checked("pkce")),
        crm_poll_interval_s,
    })
}

async fn save(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, service)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (connector, service_id) = match connector_of(&service) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (form, app_id) = match admin.app_form(&app, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = match input_from_form(connector, &form) {
        Ok(i) => i,
        Err(e) => {
            return render_page(
                &state,
                &admin,
                &app,
                &service,
                Extras {
                    error: Some(e),
                    ..Extras::default()
                },
            )
            .await;
        }
    };
    let extras = match state
        .vault
        .set_integration(&app_id, &UnifiedApi::crm(), &service_id, input)
        .await
    {
        Ok(_) => {
            let mut notice = format!(
                "Settings saved. Run Test Vault to check them against {}.",
                connector.display().name
            );
            if let Some(extra) = allow_hosted_return(&state, &app_id).await {
                notice.push(' ');
                notice.push_str(&extra);
            }
            Extras {
                notice: Some(notice),
                ..Extras::default()
            }
        }
        Err(e) => Extras {
            error: Some(error_text(&e)),
            ..Extras::default()
        },
    };
    render_page(&state, &admin, &app, &service, extras).await
}

/// Puts the hosted connect page's return URL on the application's redirect allow-list, so the
/// customer comes back to the hosted page after the provider. It is Patchbay's own URL, so this
/// opens no redirect to anywhere else.
async fn allow_hosted_return(state: &ConsoleState, app: &ApplicationId) -> Option<String> {
    let application = state.vault.get_application(app).await.ok()?;
    let url = state.connect_return_url();
    if application.redirect_uris.contains(&url) {
        return None;
    }
    let mut uris = application.redirect_uris.clone();
    uris.push(url.clone());
    match state.vault.set_redirect_uris(app, &uris).await {
        Ok(_) => Some(format!(
            "The hosted connect page's return URL {url} was added to the application's redirect URIs."
        )),
        Err(e) => Some(format!(
            "The hosted connect page's return URL could not be allow-listed: {}",
            error_text(&e)
        )),
    }
}

async fn promote(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, service)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (_, service_id) = match connector_of(&service) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let app_id = match admin.app_form(&app, &body) {
        Ok((_, app_id)) => app_id,
        Err(r) => return r,
    };
    let extras = match state
        .vault
        .promote_staged_credentials(&app_id, &UnifiedApi::crm(), &service_id)
        .await
    {
        Ok(_) => Extras {
            notice: Some("The staged credentials are now the main credentials. Existing connections keep working.".to_owned()),
            ..Extras::default()
        },
        Err(e) => Extras { error: Some(error_text(&e)), ..Extras::default() },
    };
    render_page(&state, &admin, &app, &service, extras).await
}

async fn test_vault(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path((app, service)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (_, service_id) = match connector_of(&service) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let app_id = match admin.app_form(&app, &body) {
        Ok((_, app_id)) => app_id,
        Err(r) => return r,
    };
    let extras = match crate::diagnostics::run(&state.vault, &app_id, &service_id).await {
        Ok((checks, ok)) => Extras {
            checks: Some((checks, ok)),
            ..Extras::default()
        },
        Err(e) => Extras {
            error: Some(error_text(&e)),
            ..Extras::default()
        },
    };
    render_page(&state, &admin, &app, &service, extras).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn form_to_input() {
        let f = form(&[
            ("login", "sandbox"),
            ("client_id", " 3MVGkey "),
            ("client_secret", ""),
            ("scope_api", "on"),
            ("scope_refresh", "on"),
            ("pkce", "on"),
        ]);
        let sf = registry::connector("salesforce").unwrap();
        let i = input_from_form(sf, &f).unwrap();
        assert_eq!(i.client_id.as_deref(), Some("3MVGkey"));
        assert!(
            i.client_secret.is_none(),
            "a blank secret keeps the stored one"
        );
        assert_eq!(i.login_url.as_deref(), Some("https://test.salesforce.com"));
        assert_eq!(
            i.scopes.as_deref(),
            Some("api refresh_token offline_access")
        );
        assert_eq!(i.pkce, Some(true));
        assert_eq!(i.send_secret_on_refresh, Some(false), "off unless checked");
        let none = form(&[("login", "production")]);
        assert!(input_from_form(sf, &none).is_err(), "no scopes");
        assert_eq!(
            i.crm_poll_interval_s, None,
            "blank keeps the stored interval"
        );
    }

    #[test]
    fn the_poll_interval_is_whole_seconds() {
        let with = |v: &str| {
            input_from_form(
                registry::connector("salesforce").unwrap(),
                &form(&[
                    ("login", "production"),
                    ("scope_api", "on"),
                    ("crm_poll_interval_s", v),
                ]),
            )
        };
        assert_eq!(with(" 60 ").unwrap().crm_poll_interval_s, Some(60));
        assert!(with("1.5").is_err());
        assert!(with("-1").is_err());
        assert!(with("soon").is_err());
    }
}
