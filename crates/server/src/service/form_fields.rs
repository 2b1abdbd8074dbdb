//! A connection's settings as the spec's `form_fields`, which is what makes Apideck's modal (and
//! the hosted page) show a Settings menu. The choices come from the connector
//! (`Connector::login_choice`: e.g. a login host chosen before authorizing); the value is stored
//! as the connection's own login host, which the authorize step already honours. A provider
//! without such a choice has no form fields.

use patchbay_connectors::connector::Connector;
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The form field id, which is also the key in the connection's `settings`.
pub const LOGIN_URL: &str = "login_url";

/// `form_fields` of a connection. `value` is the host the connection uses now (its own choice,
/// else the integration's): Apideck's modal starts its Settings form from it.
pub fn form_fields(
    connector: &dyn Connector,
    integration_login_url: &str,
    chosen: Option<&str>,
) -> Vec<Value> {
    let Some(choice) = connector.login_choice(integration_login_url) else {
        return Vec::new();
    };
    let current = chosen
        .map(str::to_owned)
        .or_else(|| choice.options.first().map(|(_, value)| value.clone()));
    let options: Vec<Value> = choice
        .options
        .into_iter()
        .map(|(label, value)| json!({ "label": label, "value": value, "option_type": "simple" }))
        .collect();
    vec![json!({
        "id": LOGIN_URL,
        "value": current,
        "label": choice.label,
        "placeholder": choice.placeholder,
        "description": choice.description,
        "type": "select",
        "required": false,
        "custom_field": false,
        "allow_custom_values": true,
        "disabled": false,
        "hidden": false,
        "deprecated": false,
        "sensitive": false,
        "prefix": null,
        "suffix": null,
        "options": options,
    })]
}

/// Checks a login host a consumer chose (the connector's rules: e.g. one of the provider's
/// hosts, or exactly the integration's own). Returns its normalized origin.
pub fn check_login_url(
    connector: &dyn Connector,
    raw: &str,
    integration_login_url: &str,
) -> Result<String> {
    if connector.login_choice(integration_login_url).is_none() {
        return Err(Error::validation(format!(
            "settings.login_url: {} connections have no login host to choose",
            connector.display().name
        )));
    }
    connector
        .check_login_choice(raw, integration_login_url)
        .map_err(Error::validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_becomes_one_select_field_starting_at_the_current_value() {
        for connector in patchbay_connectors::registry::all() {
            let own = "http://127.0.0.1:8787";
            let Some(choice) = connector.login_choice(own) else {
                assert!(form_fields(connector, own, None).is_empty());
                assert!(check_login_url(connector, own, own).is_err());
                continue;
            };
            let fields = form_fields(connector, own, None);
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0]["id"], LOGIN_URL);
            assert_eq!(fields[0]["value"], choice.options[0].1.as_str());
            assert_eq!(
                fields[0]["options"].as_array().map(Vec::len),
                Some(choice.options.len())
            );
            let chosen = form_fields(connector, own, Some("https://chosen.example"));
            assert_eq!(chosen[0]["value"], "https://chosen.example");
            // The integration's own host is always an acceptable choice; another custom one is not.
            assert_eq!(
                check_login_url(connector, own, own).ok().as_deref(),
                Some(own)
            );
            assert!(check_login_url(connector, "http://127.0.0.1:9999", own).is_err());
            assert!(check_login_url(connector, "https://evil.example", own).is_err());
        }
    }
}
