//! Page models (askama templates) and the pure decisions behind them: badges, scope
//! checkboxes and login-host choices (from the connector's data), the connect page's actions
//! and customer-facing messages.

use askama::Template;
use patchbay_connectors::connector::{Connector, ScopeOption};
use patchbay_core::{ConnectionState, Health, IntegrationState};

/// One message on its own page.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub title: String,
    pub text: String,
}

/// A badge: visible text plus a CSS class (`ok`, `warn`, `bad`, `muted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub label: &'static str,
    pub class: &'static str,
}

/// The connection badge, after Apideck's hosted Vault: disabled first, then confirmation,
/// then the computed state.
pub fn connection_badge(
    state: ConnectionState,
    health: Health,
    enabled: bool,
    integration_state: IntegrationState,
) -> Badge {
    let b = |label, class| Badge { label, class };
    if integration_state != IntegrationState::Configured {
        return b("Not available yet", "muted");
    }
    if !enabled && state != ConnectionState::Available {
        return b("Disabled", "muted");
    }
    if health == Health::PendingConfirmation {
        return b("Pending confirmation", "warn");
    }
    match state {
        ConnectionState::Callable | ConnectionState::Authorized => b("Connected", "ok"),
        ConnectionState::Invalid => b("Needs re-authorization", "bad"),
        ConnectionState::Available | ConnectionState::Added => b("Not connected", "muted"),
    }
}

/// The health badge the admin sees next to the state.
pub fn health_badge(health: Health) -> Badge {
    let b = |label, class| Badge { label, class };
    match health {
        Health::Ok => b("healthy", "ok"),
        Health::PendingRefresh => b("refresh pending", "warn"),
        Health::NeedsAuth => b("needs authorization", "bad"),
        Health::PendingConfirmation => b("pending confirmation", "warn"),
        Health::Revoked => b("revoked", "bad"),
        Health::Degraded => b("degraded", "warn"),
        Health::MissingSettings => b("missing settings", "warn"),
        Health::NeedsConsent => b("needs consent", "warn"),
    }
}

/// A checkbox as rendered.
pub struct ScopeBox {
    pub field: &'static str,
    pub label: &'static str,
    pub values: String,
    pub checked: bool,
}

/// The checkboxes (the connector's `options`) for a stored scope list, plus the scopes no
/// checkbox covers.
pub fn scope_boxes(options: &[ScopeOption], scopes: &str) -> (Vec<ScopeBox>, String) {
    let have: Vec<&str> = scopes.split(' ').filter(|s| !s.is_empty()).collect();
    let boxes = options
        .iter()
        .map(|o| ScopeBox {
            field: o.field,
            label: o.label,
            values: o.values.join(", "),
            checked: o.values.iter().all(|v| have.contains(v)),
        })
        .collect();
    let extra: Vec<&str> = have
        .iter()
        .copied()
        .filter(|s| !options.iter().any(|o| o.values.contains(s)))
        .collect();
    (boxes, extra.join(" "))
}

/// The scope list from the checked boxes and the free-text extras, in checkbox order.
pub fn scopes_from_form(
    options: &[ScopeOption],
    checked: impl Fn(&str) -> bool,
    extra: &str,
) -> String {
    let mut out: Vec<&str> = Vec::new();
    for o in options {
        if checked(o.field) {
            out.extend(o.values.iter().copied());
        }
    }
    for s in extra.split([' ', ',']).filter(|s| !s.is_empty()) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(" ")
}

/// The login radio value for a typed-in host of the connector's own kind (the form field keeps
/// the name it always had, so bookmarked forms and tests keep working).
pub const OWN_HOST: &str = "mydomain";
/// The login radio value for any other origin (an emulator).
pub const CUSTOM_HOST: &str = "custom";

/// Which login radio an integration's stored login URL selects: one of the connector's presets,
/// its own typed-in host kind, or custom.
pub fn login_radio(connector: &dyn Connector, login_url: &str) -> &'static str {
    let setup = connector.setup();
    if let Some((value, _, _)) = setup
        .login_presets
        .iter()
        .find(|(_, _, url)| same_origin(url, login_url))
    {
        return value;
    }
    if setup.own_host.is_some() && connector.check_login_choice(login_url, "").is_ok() {
        return OWN_HOST;
    }
    CUSTOM_HOST
}

fn same_origin(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

/// The login URL a typed-in own host asks for (a bare host gets `https://`), checked
/// by the connector; the error says what is expected.
pub fn own_host_url(connector: &dyn Connector, typed: &str) -> Result<String, String> {
    let Some(own) = connector.setup().own_host else {
        return Err("Choose a login host".to_owned());
    };
    let expected = || format!("{} must look like {}", own.label, own.example);
    let v = typed.trim();
    if v.is_empty() {
        return Err(expected());
    }
    let url = if v.contains("://") {
        v.to_owned()
    } else {
        format!("https://{v}")
    };
    let host = connector
        .check_login_choice(&url, "")
        .map_err(|_| expected())?;
    // A preset typed into the own-host field is not an own host.
    if connector
        .setup()
        .login_presets
        .iter()
        .any(|(_, _, p)| same_origin(p, &host))
    {
        return Err(expected());
    }
    Ok(host)
}

/// The login URL a submitted integration form asks for.
pub fn login_url_from_form(
    connector: &dyn Connector,
    choice: &str,
    own_host: &str,
    custom: &str,
) -> Result<String, String> {
    match choice {
        OWN_HOST => own_host_url(connector, own_host),
        CUSTOM_HOST => connector
            .check_login_url(custom.trim())
            .map_err(|e| format!("Custom login URL: {e}")),
        preset => connector
            .setup()
            .login_presets
            .iter()
            .find(|(value, _, _)| *value == preset)
            .map(|(_, _, url)| (*url).to_owned())
            .ok_or_else(|| "Choose a login host".to_owned()),
    }
}

/// A notice on the connect page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `success` or `error`.
    pub kind: &'static str,
    pub title: String,
    pub text: String,
    /// Provider or Patchbay text for the company's administrator; rendered escaped.
    pub detail: Option<String>,
}

/// What the customer reads after a failed connection. Only fixed sentences of ours are shown
/// as the message; provider-influenced text goes into `detail` (escaped, truncated). `connector`
/// is the integration the attempt was for, when the page knows it: its name goes into the
/// sentences, and only a connector whose apps take time to become active explains a "not
/// active yet" refusal as a wait.
pub fn customer_notice(
    connector: Option<&dyn Connector>,
    error: &str,
    description: &str,
) -> Notice {
    let detail = (!description.trim().is_empty()).then(|| truncate(description.trim(), 600));
    let provider = connector.map_or("The provider", |c| c.display().name);
    let activates_later = connector.is_some_and(|c| !c.setup().activation_delay.is_empty());
    let (title, text, detail) = if error == "access_denied" {
        (
            "Access was denied".to_owned(),
            format!(
                "{provider} reports that access was denied, so nothing was connected. If that was not intended, click Connect again and choose Allow."
            ),
            None,
        )
    } else if activates_later && description.contains("not active yet") {
        (
            format!("This {provider} app is not active yet"),
            format!("This {provider} app is not active yet, try again in a few minutes."),
            None,
        )
    } else {
        (
            "The connection could not be completed".to_owned(),
            "Please try again. If it keeps failing, send the details below to the administrator of this service.".to_owned(),
            detail,
        )
    };
    Notice {
        kind: "error",
        title,
        text,
        detail,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// `#rgb` or `#rrggbb`, nothing else (the value ends up in CSS).
pub fn valid_color(c: &str) -> bool {
    let Some(hex) = c.strip_prefix('#') else {
        return false;
    };
    matches!(hex.len(), 3 | 6) && hex.chars().all(|ch| ch.is_ascii_hexdigit())
}

/// Black or white, whichever reads better on `bg` (WCAG relative luminance).
pub fn text_on(bg: &str) -> &'static str {
    let l = luminance(bg);
    // Contrast with white is 1.05/(l+0.05); with black (l+0.05)/0.05. Pick the larger.
    if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 {
        "#ffffff"
    } else {
        "#000000"
    }
}

/// WCAG contrast ratio of a `#rgb`/`#rrggbb` colour against white.
pub fn contrast_with_white(c: &str) -> f64 {
    contrast(c, "#ffffff")
}

/// WCAG contrast ratio of two `#rgb`/`#rrggbb` colours.
pub fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// WCAG relative luminance of a `#rgb`/`#rrggbb` colour.
fn luminance(c: &str) -> f64 {
    let hex = c.trim_start_matches('#');
    let full: String = if hex.len() == 3 {
        hex.chars().flat_map(|c| [c, c]).collect()
    } else {
        hex.to_owned()
    };
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(full.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0))
            / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

/// Only https URLs are used for a theme's logo and links.
pub fn https_url(s: &str) -> Option<String> {
    url::Url::parse(s)
        .ok()
        .filter(|u| u.scheme() == "https")
        .map(|u| u.to_string())
}

/// Epoch ms as `2026-11-28 17:40:12 UTC`, or "—".
pub fn when(ms: Option<i64>) -> String {
    let Some(ms) = ms.filter(|m| *m > 0) else {
        return "—".to_owned();
    };
    format!("{} UTC", date_time(ms))
}

/// Epoch ms as `2026-11-28 17:40:12` (UTC, to the second).
pub fn date_time(ms: i64) -> String {
    let iso = patchbay_server::timefmt::iso_ms(ms);
    iso.get(..19).unwrap_or(&iso).replace('T', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges() {
        assert_eq!(
            connection_badge(
                ConnectionState::Callable,
                Health::Ok,
                true,
                IntegrationState::Configured
            )
            .label,
            "Connected"
        );
        assert_eq!(
            connection_badge(
                ConnectionState::Available,
                Health::Ok,
                true,
                IntegrationState::Configured
            )
            .label,
            "Not connected"
        );
        assert_eq!(
            connection_badge(
                ConnectionState::Callable,
                Health::Ok,
                false,
                IntegrationState::Configured
            )
            .label,
            "Disabled"
        );
        assert_eq!(
            connection_badge(
                ConnectionState::Invalid,
                Health::NeedsAuth,
                true,
                IntegrationState::Configured
            )
            .label,
            "Needs re-authorization"
        );
        assert_eq!(
            connection_badge(
                ConnectionState::Available,
                Health::Ok,
                true,
                IntegrationState::NeedsConfiguration
            )
            .label,
            "Not available yet"
        );
        assert_eq!(
            connection_badge(
                ConnectionState::Authorized,
                Health::PendingConfirmation,
                true,
                IntegrationState::Configured
            )
            .label,
            "Pending confirmation"
        );
    }

    use patchbay_connectors::registry;

    fn crm(id: &str) -> &'static dyn Connector {
        registry::connector(id).unwrap()
    }

    #[test]
    fn scopes_round_trip() {
        let sf = crm("salesforce").setup().scopes;
        let (boxes, extra) = scope_boxes(sf, "api refresh_token offline_access openid chatter_api");
        let checked: Vec<_> = boxes
            .iter()
            .filter(|b| b.checked)
            .map(|b| b.field)
            .collect();
        assert_eq!(checked, ["scope_api", "scope_refresh", "scope_openid"]);
        assert_eq!(extra, "chatter_api");
        let s = scopes_from_form(sf, |f| checked.contains(&f), &extra);
        assert_eq!(s, "api refresh_token offline_access openid chatter_api");
        // refresh_token alone does not tick the combined box.
        let (boxes, _) = scope_boxes(sf, "api refresh_token");
        assert!(!boxes[1].checked);
        // Another connector's boxes are its own scopes.
        let hs = crm("hubspot").setup().scopes;
        let (boxes, extra) = scope_boxes(hs, "oauth crm.objects.owners.read api");
        assert!(boxes.iter().any(|b| b.checked && b.values == "oauth"));
        assert_eq!(extra, "api");
    }

    #[test]
    fn login_hosts() {
        let sf = crm("salesforce");
        assert_eq!(
            login_url_from_form(sf, "production", "", "").unwrap(),
            "https://login.salesforce.com"
        );
        assert_eq!(
            login_url_from_form(sf, "sandbox", "", "").unwrap(),
            "https://test.salesforce.com"
        );
        assert_eq!(
            login_url_from_form(sf, OWN_HOST, "acme.my.salesforce.com", "").unwrap(),
            "https://acme.my.salesforce.com"
        );
        assert!(login_url_from_form(sf, OWN_HOST, "evil.example.com", "").is_err());
        assert!(login_url_from_form(sf, OWN_HOST, "login.salesforce.com", "").is_err());
        assert_eq!(
            login_url_from_form(sf, CUSTOM_HOST, "", "http://127.0.0.1:9999").unwrap(),
            "http://127.0.0.1:9999"
        );
        assert!(login_url_from_form(sf, CUSTOM_HOST, "", "javascript:alert(1)").is_err());
        assert!(login_url_from_form(sf, "hubspot", "", "").is_err());
        assert_eq!(login_radio(sf, "https://test.salesforce.com"), "sandbox");
        assert_eq!(login_radio(sf, "https://acme.my.salesforce.com"), OWN_HOST);
        assert_eq!(login_radio(sf, "http://127.0.0.1:1"), CUSTOM_HOST);

        let hs = crm("hubspot");
        assert_eq!(login_radio(hs, "https://app.hubspot.com"), "hubspot");
        assert_eq!(login_radio(hs, "http://127.0.0.1:1"), CUSTOM_HOST);
        assert!(login_url_from_form(hs, OWN_HOST, "acme.my.salesforce.com", "").is_err());
        assert!(login_url_from_form(hs, "production", "", "").is_err());
        assert_eq!(
            login_url_from_form(hs, "hubspot", "", "").unwrap(),
            "https://app.hubspot.com"
        );
    }

    #[test]
    fn customer_messages() {
        let sf = crm("salesforce");
        let n = customer_notice(Some(sf), "access_denied", "end-user denied authorization");
        assert_eq!(n.title, "Access was denied");
        assert!(n.text.starts_with("Salesforce reports"), "{}", n.text);
        assert_eq!(n.detail, None);
        let not_active = "The consumer key is not recognised. Fix: The app is not active yet: wait";
        let n = customer_notice(Some(sf), "oauth_connector", not_active);
        assert!(
            n.text
                .contains("not active yet, try again in a few minutes")
        );
        // A provider whose apps are active at once gets the plain failure and the details.
        let n = customer_notice(Some(crm("hubspot")), "oauth_connector", not_active);
        assert_eq!(n.title, "The connection could not be completed");
        assert!(n.detail.is_some());
        let n = customer_notice(None, "access_denied", "");
        assert!(n.text.starts_with("The provider reports"), "{}", n.text);
        let n = customer_notice(None, "server_error", "<script>x</script>");
        assert_eq!(
            n.detail.as_deref(),
            Some("<script>x</script>"),
            "escaped by the template"
        );
    }

    #[test]
    fn colours() {
        assert!(valid_color("#286efa"));
        assert!(valid_color("#fff"));
        assert!(!valid_color("red"));
        assert!(!valid_color("#286efa;}body{display:none"));
        assert_eq!(text_on("#ffffff"), "#000000");
        assert_eq!(text_on("#000"), "#ffffff");
        assert_eq!(text_on("#0a7d4f"), "#ffffff");
        // Mid blues read (slightly) better with black: the larger WCAG contrast wins.
        assert_eq!(text_on("#286efa"), "#000000");
        assert!((contrast_with_white("#000") - 21.0).abs() < 0.01);
        assert!((contrast_with_white("#fff") - 1.0).abs() < 0.01);
        assert!(contrast_with_white("#0a7d4f") > 4.5);
        assert!(contrast_with_white("#ffeb3b") < 4.5);
        assert!((contrast("#000", "#fff") - contrast("#fff", "#000")).abs() < 1e-9);
        assert!(contrast("#ffeb3b", "#161b22") > 4.5 && contrast("#0a7d4f", "#161b22") < 4.5);
    }

    #[test]
    fn urls_and_times() {
        assert!(https_url("https://cdn.example.com/logo.png").is_some());
        assert!(https_url("http://cdn.example.com/logo.png").is_none());
        assert!(https_url("javascript:alert(1)").is_none());
        assert_eq!(when(None), "—");
        assert_eq!(when(Some(1_620_392_142_242)), "2021-05-07 12:55:42 UTC");
    }
}
