//! The Salesforce integration page, mirroring the setup guide: callback URL, consumer key and
//! write-only secret, staged credentials and "Promote to main", login host, scopes, refresh
//! secret and PKCE settings, **Save settings** and **Test Vault**.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use patchbay_core::{ApplicationId, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::dto::IntegrationView;
use patchbay_server::service::integrations::IntegrationInput;

use crate::views::{LoginChoice, ScopeBox, login_url_from_form, scope_boxes, scopes_from_form};
use crate::web::{Admin, ConsoleState, Form, error_text, message, no_such_application, render};

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/admin/apps/{app}/integrations/salesforce",
            get(page).post(save),
        )
        .route(
            "/admin/apps/{app}/integrations/salesforce/promote",
            post(promote),
        )
        .route(
            "/admin/apps/{app}/integrations/salesforce/test",
            post(test_vault),
        )
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
#[template(path = "salesforce.html")]
struct SalesforcePage {
    signed_in: bool,
    csrf: String,
    app_id: String,
    app_name: String,
    tab: &'static str,
    callback_url: String,
    state: String,
    enabled: bool,
    client_id: String,
    has_secret: bool,
    staged_client_id: String,
    staged_has_secret: bool,
    has_staged: bool,
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
    Path(app): Path<String>,
) -> Response {
    render_page(&state, &admin, &app, Extras::default()).await
}

async fn render_page(state: &ConsoleState, admin: &Admin, app: &str, extras: Extras) -> Response {
    let Ok(app_id) = ApplicationId::parse(app) else {
        return no_such_application();
    };
    let Ok(application) = state.vault.get_application(&app_id).await else {
        return message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such application.",
        );
    };
    let view = state
        .vault
        .get_integration(&app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
        .ok()
        .map(|i| IntegrationView::from(&i));
    let (scopes, extra_scopes) = scope_boxes(
        view.as_ref()
            .map_or("api refresh_token offline_access openid", |v| {
                v.scopes.as_str()
            }),
    );
    let login_url = view.as_ref().map_or_else(
        || "https://login.salesforce.com".to_owned(),
        |v| v.login_url.clone(),
    );
    let login = LoginChoice::of(&login_url);
    let (checks, checks_ok) = match extras.checks {
        Some((c, ok)) => (Some(c), ok),
        None => (None, false),
    };
    render(&SalesforcePage {
        signed_in: true,
        csrf: admin.0.csrf.clone(),
        app_id: app_id.to_string(),
        app_name: application.name.clone(),
        tab: "salesforce",
        callback_url: state.vault.callback_url(),
        state: view
            .as_ref()
            .map_or("not set up", |v| v.state)
            .replace('_', " "),
        enabled: view.as_ref().is_none_or(|v| v.enabled),
        client_id: view
            .as_ref()
            .and_then(|v| v.client_id.clone())
            .unwrap_or_default(),
        has_secret: view.as_ref().is_some_and(|v| v.has_client_secret),
        staged_client_id: view
            .as_ref()
            .and_then(|v| v.staged.as_ref().map(|s| s.client_id.clone()))
            .unwrap_or_default(),
        staged_has_secret: view
            .as_ref()
            .and_then(|v| v.staged.as_ref())
            .is_some_and(|s| s.has_client_secret),
        has_staged: view.as_ref().is_some_and(|v| v.staged.is_some()),
        login: login.as_str(),
        my_domain: if login == LoginChoice::MyDomain {
            login_url.clone()
        } else {
            String::new()
        },
        custom_url: if login == LoginChoice::Custom {
            login_url
        } else {
            String::new()
        },
        scopes,
        extra_scopes,
        send_secret_on_refresh: view.as_ref().is_some_and(|v| v.send_secret_on_refresh),
        pkce: view.as_ref().is_none_or(|v| v.pkce),
        crm_poll_interval_s: view.as_ref().map_or(
            patchbay_core::integration::DEFAULT_CRM_POLL_INTERVAL_S,
            |v| v.crm_poll_interval_s,
        ),
        notice: extras.notice,
        error: extras.error,
        checks,
        checks_ok,
    })
}

/// The integration change a submitted form asks for. Blank secrets keep the stored ones.
fn input_from_form(form: &Form) -> Result<IntegrationInput, String> {
    let login_url = login_url_from_form(
        form.get("login"),
        form.get("my_domain"),
        form.get("custom_url"),
    )?;
    let scopes = scopes_from_form(|f| form.checked(f), form.get("extra_scopes"));
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
        send_secret_on_refresh: Some(form.checked("send_secret_on_refresh")),
        pkce: Some(form.checked("pkce")),
        crm_poll_interval_s,
    })
}

async fn save(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let (form, app_id) = match admin.app_form(&app, &body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = match input_from_form(&form) {
        Ok(i) => i,
        Err(e) => {
            return render_page(
                &state,
                &admin,
                &app,
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
        .set_integration(&app_id, &UnifiedApi::crm(), &ServiceId::salesforce(), input)
        .await
    {
        Ok(_) => {
            let mut notice =
                "Settings saved. Run Test Vault to check them against Salesforce.".to_owned();
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
    render_page(&state, &admin, &app, extras).await
}

/// Puts the hosted connect page's return URL on the application's redirect allow-list, so the
/// customer comes back to the hosted page after Salesforce. It is Patchbay's own URL, so this
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
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let app_id = match admin.app_form(&app, &body) {
        Ok((_, app_id)) => app_id,
        Err(r) => return r,
    };
    let extras = match state
        .vault
        .promote_staged_credentials(&app_id, &UnifiedApi::crm(), &ServiceId::salesforce())
        .await
    {
        Ok(_) => Extras {
            notice: Some("The staged credentials are now the main credentials. Existing connections keep working.".to_owned()),
            ..Extras::default()
        },
        Err(e) => Extras { error: Some(error_text(&e)), ..Extras::default() },
    };
    render_page(&state, &admin, &app, extras).await
}

async fn test_vault(
    State(state): State<ConsoleState>,
    admin: Admin,
    Path(app): Path<String>,
    body: Bytes,
) -> Response {
    let app_id = match admin.app_form(&app, &body) {
        Ok((_, app_id)) => app_id,
        Err(r) => return r,
    };
    let extras = match crate::diagnostics::run(&state.vault, &app_id).await {
        Ok((checks, ok)) => Extras {
            checks: Some((checks, ok)),
            ..Extras::default()
        },
        Err(e) => Extras {
            error: Some(error_text(&e)),
            ..Extras::default()
        },
    };
    render_page(&state, &admin, &app, extras).await
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
        let i = input_from_form(&f).unwrap();
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
        assert!(input_from_form(&none).is_err(), "no scopes");
        assert_eq!(
            i.crm_poll_interval_s, None,
            "blank keeps the stored interval"
        );
    }

    #[test]
    fn the_poll_interval_is_whole_seconds() {
        let with = |v: &str| {
            input_from_form(&form(&[
                ("login", "production"),
                ("scope_api", "on"),
                ("crm_poll_interval_s", v),
            ]))
        };
        assert_eq!(with(" 60 ").unwrap().crm_poll_interval_s, Some(60));
        assert!(with("1.5").is_err());
        assert!(with("-1").is_err());
        assert!(with("soon").is_err());
    }
}
