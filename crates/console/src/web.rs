//! Shared plumbing: the console's state, security headers, cookies, CSRF checks, the admin
//! extractor and HTML rendering.

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use patchbay_core::ApplicationId;
use patchbay_crypto::{random_token, sha256_hex};
use patchbay_server::service::Vault;

use crate::ConsoleConfig;
use patchbay_server::service::admin_users::dummy_hash;

use crate::auth::{AdminSession, Sessions, same_token};
use crate::limiter::{LoginThrottle, ThrottleConfig};
use crate::views::MessagePage;

/// Forms are small; anything bigger is refused before parsing.
pub const FORM_LIMIT_BYTES: usize = 64 * 1024;

pub const ADMIN_COOKIE: &str = "pb_admin";
pub const LOGIN_CSRF_COOKIE: &str = "pb_login";
pub const CONNECT_COOKIE: &str = "pb_connect";

/// No inline script or style anywhere; images may come from https (a theme's logo).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
    connect-src 'self'";

/// Extra `form-action` sources for one response: the hosted page's login-host form is answered
/// with a redirect to the provider, and browsers check `form-action` on every redirect of a form
/// submission. Holds origins only (built from core's login-host rules).
#[derive(Debug, Clone, Default)]
pub struct FormTargets(pub Vec<String>);

/// [`CSP`] with `targets` added to `form-action`; anything that is not a plain origin (or a
/// `*.` host wildcard) is dropped, so nothing can add a directive.
pub fn csp_with(targets: &FormTargets) -> String {
    let extra: Vec<&str> = targets
        .0
        .iter()
        .map(String::as_str)
        .filter(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '-' | '*'))
        })
        .collect();
    if extra.is_empty() {
        return CSP.to_owned();
    }
    CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", extra.join(" ")),
    )
}

#[derive(Clone)]
pub struct ConsoleState {
    pub(crate) vault: Vault,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) limiter: Arc<LoginThrottle>,
    /// Verified instead of a real hash when the user name is unknown (equal timing).
    dummy_hash: Arc<OnceLock<String>>,
    /// Keys the connect page's CSRF tokens (derived from the session JWT).
    connect_key: Arc<OnceLock<String>>,
    password: crate::PasswordParams,
}

impl ConsoleState {
    pub fn new(vault: Vault, config: ConsoleConfig) -> Self {
        Self {
            sessions: Arc::new(Sessions::new(config.admin_session_ttl, vault.clone())),
            limiter: Arc::new(LoginThrottle::new(
                ThrottleConfig::from_console(config.max_failed_logins, config.failed_login_window),
                vault.clone(),
            )),
            // Both drawn on first use, so that building the router draws no random bytes
            // (the first draw costs aws-lc's entropy set-up; see `patchbay_server::app`).
            dummy_hash: Arc::new(OnceLock::new()),
            connect_key: Arc::new(OnceLock::new()),
            password: config.password,
            vault,
        }
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure(&self) -> bool {
        self.vault.public_url().starts_with("https://")
    }

    /// Where the hosted page asks Patchbay's callback to send the customer back.
    pub fn connect_return_url(&self) -> String {
        crate::hosted_return_url(self.vault.public_url())
    }

    /// The connect page's CSRF token for one session JWT.
    pub fn connect_csrf(&self, jwt: &str) -> String {
        let key = self.connect_key.get_or_init(|| {
            random_token(32)
                .map(|t| t.expose_secret().to_owned())
                .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
        });
        sha256_hex(format!("{key}:{jwt}").as_bytes())
    }

    /// The PHC string verified when the user name is unknown (see [`dummy_hash`]).
    pub(crate) fn dummy_hash(&self) -> String {
        self.dummy_hash
            .get_or_init(|| dummy_hash(self.password))
            .clone()
    }

    pub fn cookie(&self, name: &'static str, value: String, path: &'static str) -> Cookie<'static> {
        Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .secure(self.secure())
            .same_site(if name == CONNECT_COOKIE {
                // The customer comes back from the provider, a cross-site top-level navigation.
                SameSite::Lax
            } else {
                SameSite::Strict
            })
            .build()
    }
}

impl FromRef<ConsoleState> for Vault {
    fn from_ref(s: &ConsoleState) -> Vault {
        s.vault.clone()
    }
}

/// Headers on every console response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let csp = res
        .extensions()
        .get::<FormTargets>()
        .and_then(|t| HeaderValue::from_str(&csp_with(t)).ok())
        .unwrap_or(HeaderValue::from_static(CSP));
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The connect page's URL holds the session JWT: never send it onwards.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Renders a template, or a plain 500 page when rendering fails.
pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    let mut res = render(t);
    if res.status() == StatusCode::OK {
        *res.status_mut() = status;
    }
    res
}

/// A full page with one message, for errors outside a page's own context.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render_status(
        status,
        &MessagePage {
            title: title.to_owned(),
            text: text.to_owned(),
        },
    )
}

/// The signed-in admin, or a redirect to the sign-in page.
pub struct Admin(pub AdminSession);

impl FromRequestParts<ConsoleState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(ADMIN_COOKIE) else {
            return Err(Redirect::to("/admin/login").into_response());
        };
        state
            .sessions
            .get(cookie.value())
            .await
            .map(Admin)
            .ok_or_else(|| Redirect::to("/admin/login").into_response())
    }
}

impl Admin {
    /// Rejects a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, form: &Form) -> Result<(), Response> {
        if same_token(form.get("csrf"), &self.0.csrf) {
            Ok(())
        } else {
            Err(csrf_rejected())
        }
    }

    /// The common head of every application-scoped form post: the body, its CSRF check, and
    /// the application id from the path (an unknown shape is a 404 page).
    pub fn app_form(&self, app: &str, body: &[u8]) -> Result<(Form, ApplicationId), Response> {
        let form = Form::parse(body);
        self.check_csrf(&form)?;
        let app_id = ApplicationId::parse(app).map_err(|_| no_such_application())?;
        Ok((form, app_id))
    }
}

pub fn no_such_application() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such application.",
    )
}

pub fn csrf_rejected() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The security token of the form did not match. Go back, reload the page and submit it again.",
    )
}

/// A submitted form as ordered pairs (repeated names are kept).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(serde_urlencoded::from_bytes(body).unwrap_or_default())
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && !v.is_empty())
    }

    /// A trimmed, non-empty value.
    pub fn text(&self, name: &str) -> Option<String> {
        let v = self.get(name).trim();
        (!v.is_empty()).then(|| v.to_owned())
    }
}

/// The service layer's error as a sentence an admin can act on.
pub fn error_text(e: &patchbay_server::Error) -> String {
    match e {
        patchbay_server::Error::Validation(m)
        | patchbay_server::Error::Conflict(m)
        | patchbay_server::Error::InvalidState(m)
        | patchbay_server::Error::Downstream(m) => m.clone(),
        patchbay_server::Error::Internal(_) => {
            tracing::error!(error = %patchbay_server::error::chain(e), "console operation failed");
            "Something went wrong inside Patchbay; the server log has the details.".to_owned()
        }
        other => other.message().into_owned(),
    }
}

/// A random token for the sign-in form's double-submit cookie.
pub fn new_login_token() -> String {
    random_token(24)
        .map(|t| t.expose_secret().to_owned())
        .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_only_ever_add_origins_to_form_action() {
        assert_eq!(csp_with(&FormTargets::default()), CSP);
        let csp = csp_with(&FormTargets(vec![
            "https://login.example.com".to_owned(),
            "https://*.my.example.com".to_owned(),
            "http://127.0.0.1:8787".to_owned(),
            "https://evil.example; script-src *".to_owned(),
            "'unsafe-inline'".to_owned(),
        ]));
        assert!(csp.contains(
            "form-action 'self' https://login.example.com https://*.my.example.com http://127.0.0.1:8787;"
        ), "{csp}");
        assert!(!csp.contains("evil") && !csp.contains("unsafe"), "{csp}");
        assert_eq!(csp.matches("script-src").count(), 1);
        assert!(HeaderValue::from_str(&csp).is_ok());
    }
}
