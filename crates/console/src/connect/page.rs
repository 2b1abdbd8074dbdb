//! Rendering the hosted connect page: one card per configured integration (what each offers
//! is decided in `cards.rs`), the session's theme, the recent-activity list (`show_logs`) and
//! the integrations not set up yet (`show_suggestions`).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use patchbay_core::IntegrationState;
use patchbay_server::service::LogFilter;
use patchbay_server::service::SessionSettings;
use patchbay_server::service::connections::Offer;
use patchbay_server::service::views::ConnectionView;
use serde_json::Value;

use super::Session;
use crate::cards::{Allowed, theme_link};
use crate::cards::{CardActions, CardFacts, HostChoice, card_actions, host_choice, theme_color};
use crate::views::{Notice, connection_badge, contrast, contrast_with_white, https_url, text_on};
use crate::web::{ConsoleState, FormTargets, render_status};

/// The card background of the dark system theme (`console.css`).
const DARK_CARD: &str = "#161b22";

/// How many of the consumer's latest requests the activity list shows.
const ACTIVITY_ROWS: u32 = 8;

/// `allow_actions`, defaulting to all four.
pub fn allowed_actions(settings: &SessionSettings) -> Allowed {
    if settings.allow_actions.is_none() {
        return Allowed::ALL;
    }
    Allowed {
        delete: settings.allows("delete"),
        disconnect: settings.allows("disconnect"),
        reauthorize: settings.allows("reauthorize"),
        disable: settings.allows("disable"),
    }
}

/// A card's login-host form that was submitted with a bad value: shown again, with the
/// customer's input and the reason, on that card.
pub struct HostError {
    pub unified_api: String,
    pub service_id: String,
    pub my_domain: String,
    pub message: String,
}

struct Item {
    /// `{unified_api}-{service_id}`, the suffix of the card's element ids.
    key: String,
    name: String,
    tag_line: String,
    /// The provider's logo, served by Patchbay.
    logo: String,
    unified_api: String,
    service_id: String,
    badge_label: &'static str,
    badge_class: &'static str,
    instance_url: String,
    actions: CardActions,
    /// The login-host choice, when the card offers it.
    hosts: Option<HostChoice>,
    host_error: Option<String>,
}

impl Item {
    /// Connect as a plain link: re-authorizing with the stored host, or connecting when the
    /// card shows no host choice (the choice's own form has the Connect button otherwise).
    fn connect_link(&self) -> bool {
        self.actions.connect && (self.actions.reauthorize || self.hosts.is_none())
    }

    /// Whether the card has a row of buttons besides the host form.
    fn has_buttons(&self) -> bool {
        let a = &self.actions;
        self.connect_link() || a.enable || a.disconnect || a.disable || a.delete
    }

    fn connect_label(&self) -> &'static str {
        if self.actions.reauthorize {
            "Re-authorize"
        } else {
            "Connect"
        }
    }
}

/// An integration the application has not set up yet (`show_suggestions`).
struct Suggestion {
    name: String,
    logo: String,
}

/// One row of the recent-activity list.
struct Activity {
    when: String,
    method: String,
    path: String,
    status: i64,
    ok: bool,
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
    consumer_email: String,
    show_sidebar: bool,
    sandbox: bool,
    hide_guides: bool,
    items: Vec<Item>,
    suggestions: Option<Vec<Suggestion>>,
    activity: Option<Vec<Activity>>,
    notice: Option<Notice>,
    redirect_uri: Option<String>,
}

fn card(
    v: &ConnectionView,
    allowed: Allowed,
    hide_settings: bool,
    error: Option<&HostError>,
) -> Item {
    let badge = connection_badge(v.state, v.health, v.enabled, v.integration_state);
    let stored = v.settings.login_url.as_deref();
    let mut hosts = patchbay_connectors::registry::connector(v.service_id.as_str())
        .and_then(|c| host_choice(c, &v.form_fields, stored));
    let actions = card_actions(
        CardFacts {
            state: v.state,
            enabled: v.enabled,
            integration_state: v.integration_state,
            has_form_fields: hosts.is_some(),
        },
        allowed,
        hide_settings,
    );
    let error = error.filter(|e| {
        e.unified_api == v.unified_api.as_str() && e.service_id == v.service_id.as_str()
    });
    if let (Some(e), Some(h)) = (error, hosts.as_mut()) {
        // Show what the customer typed, with the typed-in host selected.
        if !h.own_label.is_empty() {
            h.my_domain = e.my_domain.clone();
            for o in &mut h.options {
                o.checked = o.value == crate::cards::OWN_HOST;
            }
        }
    }
    Item {
        key: format!("{}-{}", v.unified_api, v.service_id),
        name: v.catalogue.name.clone(),
        tag_line: v.catalogue.tag_line.clone(),
        logo: v.catalogue.logo.clone(),
        unified_api: v.unified_api.to_string(),
        service_id: v.service_id.to_string(),
        badge_label: badge.label,
        badge_class: badge.class,
        instance_url: v.settings.instance_url.clone().unwrap_or_default(),
        hosts: hosts.filter(|_| actions.settings),
        actions,
        host_error: error.map(|e| e.message.clone()),
    }
}

/// Where forms on the page may send the browser: Patchbay itself, and (because the login-host
/// form's answer is a redirect to the provider, which `form-action` also governs) the login
/// hosts the cards offer, plus each offering connector's wildcard for typed-in hosts. Only
/// values that parse as origins get in.
fn form_targets(items: &[Item]) -> FormTargets {
    let mut out: Vec<String> = Vec::new();
    let mut add = |origin: String| {
        if !out.contains(&origin) {
            out.push(origin);
        }
    };
    for item in items.iter().filter(|i| i.hosts.is_some()) {
        if let Some(own) = patchbay_connectors::registry::connector(&item.service_id)
            .and_then(|c| c.setup().own_host)
        {
            add(own.form_action.to_owned());
        }
    }
    for h in items.iter().filter_map(|i| i.hosts.as_ref()) {
        for o in &h.options {
            if let Ok(host) = patchbay_core::LoginOrigin::parse(&o.value) {
                add(host.as_str().to_owned());
            }
        }
    }
    FormTargets(out)
}

pub async fn render_page(
    state: &ConsoleState,
    jwt: &str,
    s: &Session,
    notice: Option<Notice>,
    host_error: Option<HostError>,
) -> Response {
    let settings = &s.claims.settings;
    let allowed = allowed_actions(settings);
    let hide_settings = settings.hide_resource_settings;
    let views = match state
        .vault
        .list_connections(
            &s.claims.application_id,
            Some(&s.claims.consumer_id),
            None,
            None,
            Offer::ALL,
        )
        .await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "hosted page could not list connections");
            Vec::new()
        }
    };
    let (configured, not_set_up): (Vec<&ConnectionView>, Vec<&ConnectionView>) = views
        .iter()
        .filter(|v| settings.includes_api(v.unified_api.as_str()))
        .partition(|v| v.integration_state == IntegrationState::Configured);
    let items: Vec<Item> = configured
        .into_iter()
        .map(|v| card(v, allowed, hide_settings, host_error.as_ref()))
        .collect();
    // Isolation mode shows only the connection settings: no side panel, no logs or
    // suggestions (Apideck's navigation items).
    let isolated = settings.isolation_mode;
    // The spec's "suggestions page": what the customer could ask the application to offer.
    let suggestions = (settings.show_suggestions && !isolated).then(|| {
        not_set_up
            .into_iter()
            .map(|v| Suggestion {
                name: v.catalogue.name.clone(),
                logo: v.catalogue.logo.clone(),
            })
            .collect()
    });
    let activity = if settings.show_logs && !isolated {
        Some(recent_activity(state, s).await)
    } else {
        None
    };
    let theme = |k: &str| s.theme.get(k);
    let theme_str = |k: &str| theme(k).and_then(Value::as_str).map(str::to_owned);
    let page = ConnectPage {
        jwt: jwt.to_owned(),
        csrf: state.connect_csrf(jwt),
        vault_name: theme_str("vault_name")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Connect your apps".to_owned()),
        // Images must be https: the CSP allows no other remote image source.
        logo: theme_str("logo").and_then(|u| https_url(&u)),
        favicon: theme_str("favicon").and_then(|u| https_url(&u)),
        privacy_url: theme_link(theme("privacy_url")),
        terms_url: theme_link(theme("terms_url")),
        consumer_label: s.consumer_label.clone(),
        consumer_email: s.consumer_email.clone(),
        show_sidebar: settings.show_sidebar && !isolated,
        sandbox: settings.sandbox_mode,
        hide_guides: settings.hide_guides,
        suggestions,
        activity,
        notice,
        redirect_uri: s.claims.redirect_uri.clone(),
        items,
    };
    let status = if host_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let targets = form_targets(&page.items);
    let mut res = render_status(status, &page);
    res.extensions_mut().insert(targets);
    res
}

/// The consumer's latest requests, from the service layer's request log.
async fn recent_activity(state: &ConsoleState, s: &Session) -> Vec<Activity> {
    match state
        .vault
        .list_logs(
            &s.claims.application_id,
            &s.claims.consumer_id,
            &LogFilter::default(),
            None,
            ACTIVITY_ROWS,
        )
        .await
    {
        Ok(page) => page
            .items
            .into_iter()
            .map(|l| Activity {
                when: crate::views::when(Some(l.timestamp)),
                method: l.http_method,
                path: l.path,
                status: l.status_code,
                ok: l.success,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "hosted page could not read the request log");
            Vec::new()
        }
    }
}

/// The theme's colours as CSS custom properties; only validated `#rgb`/`#rrggbb` values reach
/// it, so a theme cannot inject CSS. A stylesheet of its own keeps the page's CSP free of
/// inline styles.
pub fn theme_css(s: Option<&Session>) -> Response {
    let mut css = String::new();
    if let Some(s) = s {
        let color = |k: &str| theme_color(s.theme.get(k));
        let mut vars = Vec::new();
        if let Some(p) = color("primary_color") {
            vars.push(format!("--primary:{p};--on-primary:{}", text_on(&p)));
            // Links and outlined buttons put the colour on white: a pale brand colour would
            // fail WCAG AA (4.5:1) there, so they fall back to the page's text colour.
            if contrast_with_white(&p) < 4.5 {
                vars.push("--primary-ink:#1d2330".to_owned());
            }
            // The same on the dark cards of a dark system theme (#161b22).
            if contrast(&p, DARK_CARD) >= 4.5 {
                vars.push(format!("--primary-ink-dark:{p}"));
            }
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
