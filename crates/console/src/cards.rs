//! What one card of the hosted connect page offers, as pure rules: which actions its state and
//! the session's `allow_actions` permit, the login-host choice taken from the connection's
//! `form_fields`, and the theme values that may reach a page (colours, link URLs).
//!
//! The page is the only place these rules live, so the handlers in `connect.rs` stay thin and
//! the combinations are unit-tested here.

use patchbay_core::{ConnectionState, IntegrationState};
use serde_json::Value;

use patchbay_connectors::connector::Connector;

use crate::views::own_host_url;

/// `allow_actions`, defaulting to all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub delete: bool,
    pub disconnect: bool,
    pub reauthorize: bool,
    pub disable: bool,
}

impl Allowed {
    pub const ALL: Allowed = Allowed {
        delete: true,
        disconnect: true,
        reauthorize: true,
        disable: true,
    };
}

/// The facts about one connection that decide what its card offers.
#[derive(Debug, Clone, Copy)]
pub struct CardFacts {
    pub state: ConnectionState,
    pub enabled: bool,
    pub integration_state: IntegrationState,
    /// The connection has visible `form_fields` (a login-host choice).
    pub has_form_fields: bool,
}

/// The buttons and forms one card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CardActions {
    pub connect: bool,
    /// "Connect" before a grant exists, "Re-authorize" after.
    pub reauthorize: bool,
    /// The login-host choice (the connection's settings).
    pub settings: bool,
    pub disconnect: bool,
    pub disable: bool,
    pub enable: bool,
    pub delete: bool,
}

/// A card offers only what makes sense in its state, and only what the session permits:
/// - an integration that is not set up offers nothing;
/// - a disabled connection offers Enable (and Delete);
/// - a connection without a grant ("Not connected") offers Connect, with the login-host choice
///   unless `hide_resource_settings`; never Disable or Delete, which would act on nothing the
///   customer can see;
/// - a connection with a grant offers Re-authorize, Settings (changing the host means
///   authorizing again, so it needs `reauthorize` too), Disconnect, Disable and Delete.
pub fn card_actions(f: CardFacts, allowed: Allowed, hide_resource_settings: bool) -> CardActions {
    if f.integration_state != IntegrationState::Configured {
        return CardActions::default();
    }
    let exists = f.state != ConnectionState::Available;
    let has_grant = f.state.has_grant();
    let settings_visible = f.has_form_fields && !hide_resource_settings;
    if exists && !f.enabled {
        return CardActions {
            enable: allowed.disable,
            delete: allowed.delete,
            ..CardActions::default()
        };
    }
    if !has_grant {
        return CardActions {
            connect: true,
            settings: settings_visible,
            ..CardActions::default()
        };
    }
    CardActions {
        connect: allowed.reauthorize,
        reauthorize: true,
        settings: settings_visible && allowed.reauthorize,
        // An invalid grant has nothing left to revoke.
        disconnect: allowed.disconnect && f.state != ConnectionState::Invalid,
        disable: allowed.disable,
        enable: false,
        delete: allowed.delete,
    }
}

/// One radio button of the login-host choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOption {
    /// The login URL, or [`OWN_HOST`] for the text field.
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// The login-host choice of a card: the connection's `form_fields` options, then the
/// connector's typed-in host kind (`Setup::own_host`) when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostChoice {
    pub options: Vec<HostOption>,
    /// What the typed-in host field shows (the stored host, or what the customer typed).
    pub my_domain: String,
    /// The typed-in host's label and example, empty when the connector has none.
    pub own_label: &'static str,
    pub own_example: &'static str,
}

pub use crate::views::OWN_HOST;

/// The login-host choice for a connection of `connector` whose `form_fields` are
/// `form_fields` and whose stored login host is `stored`.
pub fn host_choice(
    connector: &dyn Connector,
    form_fields: &[Value],
    stored: Option<&str>,
) -> Option<HostChoice> {
    let options = form_fields
        .iter()
        .find(|f| f["id"] == "login_url")?
        .get("options")?
        .as_array()?;
    let mut out: Vec<HostOption> = options
        .iter()
        .filter_map(|o| {
            Some(HostOption {
                value: o["value"].as_str()?.to_owned(),
                label: o["label"].as_str()?.to_owned(),
                checked: false,
            })
        })
        .collect();
    if out.is_empty() {
        return None;
    }
    let own = connector.setup().own_host;
    let chosen = stored.unwrap_or(&out[0].value).to_owned();
    let mut my_domain = String::new();
    match out.iter_mut().find(|o| o.value == chosen) {
        Some(o) => o.checked = true,
        None if own.is_some() => my_domain = chosen,
        None => out[0].checked = true,
    }
    if let Some(own) = own {
        out.push(HostOption {
            value: OWN_HOST.to_owned(),
            label: own.label.to_owned(),
            checked: !my_domain.is_empty(),
        });
    }
    Some(HostChoice {
        options: out,
        my_domain,
        own_label: own.map_or("", |o| o.label),
        own_example: own.map_or("", |o| o.example),
    })
}

/// The login URL a submitted choice asks for: one of the offered hosts, or a typed-in host the
/// connector accepts. The error is a sentence for the customer.
pub fn chosen_login_url(
    connector: &dyn Connector,
    choice: &HostChoice,
    picked: &str,
    my_domain: &str,
) -> Result<String, String> {
    if let (OWN_HOST, Some(own)) = (picked, connector.setup().own_host) {
        if my_domain.trim().is_empty() {
            return Err(format!("Enter your {}, like {}", own.label, own.example));
        }
        return own_host_url(connector, my_domain);
    }
    choice
        .options
        .iter()
        .find(|o| o.value != OWN_HOST && o.value == picked)
        .map(|o| o.value.clone())
        .ok_or_else(|| format!("Choose where you sign in to {}", connector.display().name))
}

/// A theme colour, if it is a strict `#rgb`/`#rrggbb` value (it ends up in a stylesheet).
pub fn theme_color(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| crate::views::valid_color(c))
        .map(str::to_ascii_lowercase)
}

/// A theme link (privacy, terms): http or https only, so no `javascript:` or `data:` URL can
/// become a link on the page.
pub fn theme_link(v: Option<&Value>) -> Option<String> {
    let u = url::Url::parse(v?.as_str()?.trim()).ok()?;
    matches!(u.scheme(), "http" | "https")
        .then(|| u.host_str().is_some())
        .filter(|h| *h)
        .map(|_| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(state: ConnectionState, enabled: bool) -> CardFacts {
        CardFacts {
            state,
            enabled,
            integration_state: IntegrationState::Configured,
            has_form_fields: true,
        }
    }

    const NONE: Allowed = Allowed {
        delete: false,
        disconnect: false,
        reauthorize: false,
        disable: false,
    };

    #[test]
    fn not_connected_cards_offer_connect_only() {
        for state in [ConnectionState::Available, ConnectionState::Added] {
            let a = card_actions(facts(state, true), Allowed::ALL, false);
            assert_eq!(
                a,
                CardActions {
                    connect: true,
                    settings: true,
                    ..CardActions::default()
                },
                "{state}"
            );
            // Connecting needs no permission: it is what the page is for.
            assert!(card_actions(facts(state, true), NONE, false).connect);
            assert!(!card_actions(facts(state, true), Allowed::ALL, true).settings);
        }
    }

    #[test]
    fn connected_cards_follow_allow_actions() {
        let all = card_actions(facts(ConnectionState::Callable, true), Allowed::ALL, false);
        assert!(all.connect && all.reauthorize && all.settings);
        assert!(all.disconnect && all.disable && all.delete && !all.enable);
        let none = card_actions(facts(ConnectionState::Callable, true), NONE, false);
        assert_eq!(
            none,
            CardActions {
                reauthorize: true,
                ..CardActions::default()
            }
        );
        let only_disable = Allowed {
            disable: true,
            ..NONE
        };
        let a = card_actions(
            facts(ConnectionState::Authorized, true),
            only_disable,
            false,
        );
        assert!(a.disable && !a.delete && !a.disconnect && !a.connect && !a.settings);
        let hidden = card_actions(facts(ConnectionState::Callable, true), Allowed::ALL, true);
        assert!(!hidden.settings && hidden.connect);
        let invalid = card_actions(facts(ConnectionState::Invalid, true), Allowed::ALL, false);
        assert!(invalid.connect && !invalid.disconnect && invalid.delete);
        let no_fields = CardFacts {
            has_form_fields: false,
            ..facts(ConnectionState::Callable, true)
        };
        assert!(!card_actions(no_fields, Allowed::ALL, false).settings);
    }

    #[test]
    fn disabled_cards_offer_enable_and_unconfigured_nothing() {
        let a = card_actions(facts(ConnectionState::Callable, false), Allowed::ALL, false);
        assert_eq!(
            a,
            CardActions {
                enable: true,
                delete: true,
                ..CardActions::default()
            }
        );
        assert_eq!(
            card_actions(facts(ConnectionState::Added, false), NONE, false),
            CardActions::default()
        );
        let unconfigured = CardFacts {
            integration_state: IntegrationState::NeedsConfiguration,
            ..facts(ConnectionState::Available, true)
        };
        assert_eq!(
            card_actions(unconfigured, Allowed::ALL, false),
            CardActions::default()
        );
    }

    fn fields() -> Vec<Value> {
        vec![json!({"id": "login_url", "options": [
            {"label": "Default (http://127.0.0.1:9)", "value": "http://127.0.0.1:9"},
            {"label": "Production", "value": "https://login.salesforce.com"},
            {"label": "Sandbox", "value": "https://test.salesforce.com"},
        ]})]
    }

    fn crm(id: &str) -> &'static dyn Connector {
        patchbay_connectors::registry::connector(id).unwrap()
    }

    #[test]
    fn the_host_choice_marks_the_stored_host() {
        let sf = crm("salesforce");
        let c = host_choice(sf, &fields(), None).unwrap();
        assert_eq!(c.options.len(), 4);
        assert!(c.options[0].checked && !c.options[3].checked);
        let c = host_choice(sf, &fields(), Some("https://test.salesforce.com")).unwrap();
        assert!(c.options[2].checked && !c.options[0].checked);
        let c = host_choice(sf, &fields(), Some("https://acme.my.salesforce.com")).unwrap();
        assert!(c.options[3].checked && c.options[3].value == OWN_HOST);
        assert_eq!(c.options[3].label, "My Domain");
        assert_eq!(c.my_domain, "https://acme.my.salesforce.com");
        assert!(host_choice(sf, &[], None).is_none());
        // A connector without a typed-in host kind offers only the listed hosts.
        let hs = crm("hubspot");
        let c = host_choice(hs, &fields(), Some("https://elsewhere.example")).unwrap();
        assert_eq!(c.options.len(), 3);
        assert!(c.options[0].checked);
        assert!(c.own_label.is_empty() && c.my_domain.is_empty());
    }

    #[test]
    fn a_chosen_host_is_offered_or_a_valid_my_domain() {
        let sf = crm("salesforce");
        let c = host_choice(sf, &fields(), None).unwrap();
        assert_eq!(
            chosen_login_url(sf, &c, "https://test.salesforce.com", "").unwrap(),
            "https://test.salesforce.com"
        );
        assert_eq!(
            chosen_login_url(sf, &c, OWN_HOST, "acme.my.salesforce.com").unwrap(),
            "https://acme.my.salesforce.com"
        );
        assert!(chosen_login_url(sf, &c, OWN_HOST, "https://evil.example").is_err());
        assert!(chosen_login_url(sf, &c, OWN_HOST, "  ").is_err());
        assert!(chosen_login_url(sf, &c, "https://evil.example", "").is_err());
        assert!(chosen_login_url(sf, &c, OWN_HOST, "http://acme.my.salesforce.com").is_err());
        let hs = crm("hubspot");
        let err = chosen_login_url(hs, &c, OWN_HOST, "acme.my.salesforce.com").unwrap_err();
        assert_eq!(err, "Choose where you sign in to HubSpot");
    }

    #[test]
    fn theme_values_are_strict() {
        assert_eq!(
            theme_color(Some(&json!("#A1B2C3"))).as_deref(),
            Some("#a1b2c3")
        );
        for bad in [
            json!("red"),
            json!("#ff0000;}body{display:none"),
            json!("#12345"),
            json!("url(x)"),
            json!(3),
        ] {
            assert!(theme_color(Some(&bad)).is_none(), "{bad}");
        }
        assert!(theme_link(Some(&json!("https://acme.example/privacy"))).is_some());
        assert!(theme_link(Some(&json!("http://acme.example/terms"))).is_some());
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://acme.example",
            "//acme",
        ] {
            assert!(theme_link(Some(&json!(bad))).is_none(), "{bad}");
        }
    }
}
