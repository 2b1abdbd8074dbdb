//! The Salesforce connection's settings as the spec's `form_fields`, which is what makes
//! Apideck's modal (and the hosted page) show a Settings menu: the login host, chosen before
//! authorizing (production, sandbox, or the customer's My Domain). The value is stored as the
//! connection's own login host, which the authorize step already honours.

use patchbay_core::{LoginHost, LoginHostKind};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The form field id, which is also the key in the connection's `settings`.
pub const LOGIN_URL: &str = "login_url";

/// The login-host choices, the integration's own host first (it is what a connection without
/// a choice of its own uses), then production and sandbox.
pub fn login_host_options(integration_login_url: &str) -> Vec<(String, String)> {
    let production = (
        "Production (login.salesforce.com)".to_owned(),
        LoginHost::production().as_str().to_owned(),
    );
    let sandbox = (
        "Sandbox (test.salesforce.com)".to_owned(),
        LoginHost::sandbox().as_str().to_owned(),
    );
    let own = LoginHost::parse(integration_login_url)
        .map(|h| h.as_str().to_owned())
        .unwrap_or_else(|_| production.1.clone());
    let mut out = Vec::new();
    if own != production.1 && own != sandbox.1 {
        out.push((format!("Default ({own})"), own.clone()));
    }
    for choice in [production, sandbox] {
        if choice.1 == own {
            out.insert(0, choice);
        } else {
            out.push(choice);
        }
    }
    out
}

/// `form_fields` of a Salesforce connection. `value` is the host the connection uses now (its
/// own choice, else the integration's): Apideck's modal starts its Settings form from it.
pub fn salesforce_form_fields(integration_login_url: &str, chosen: Option<&str>) -> Vec<Value> {
    let choices = login_host_options(integration_login_url);
    let current = chosen
        .map(str::to_owned)
        .or_else(|| choices.first().map(|(_, value)| value.clone()));
    let options: Vec<Value> = choices
        .into_iter()
        .map(|(label, value)| json!({ "label": label, "value": value, "option_type": "simple" }))
        .collect();
    vec![json!({
        "id": LOGIN_URL,
        "value": current,
        "label": "Salesforce login",
        "placeholder": "https://yourcompany.my.salesforce.com",
        "description": "Where your users sign in: production, a sandbox, or your My Domain (https://yourcompany.my.salesforce.com). Changing it after connecting means authorizing again.",
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

/// Checks a login host a consumer chose: a Salesforce host (production, sandbox or a My
/// Domain, https), or exactly the integration's own host. Returns its normalized origin.
pub fn check_login_url(raw: &str, integration_login_url: &str) -> Result<String> {
    let host = LoginHost::parse(raw.trim())
        .map_err(|e| Error::validation(format!("settings.login_url: {e}")))?;
    let own = LoginHost::parse(integration_login_url).ok();
    if host.kind() == LoginHostKind::Custom && own.as_ref() != Some(&host) {
        return Err(Error::validation(
            "settings.login_url must be a Salesforce login host (production, sandbox or My Domain)",
        ));
    }
    Ok(host.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_add_the_integration_host_once() {
        let prod = login_host_options("https://login.salesforce.com");
        assert_eq!(prod.len(), 2);
        assert_eq!(prod[0].1, "https://login.salesforce.com");
        let sandbox = login_host_options("https://test.salesforce.com");
        assert_eq!(sandbox[0].1, "https://test.salesforce.com");
        assert_eq!(sandbox.len(), 2);
        let emu = login_host_options("http://127.0.0.1:8787");
        assert_eq!(emu.len(), 3);
        assert_eq!(emu[0].1, "http://127.0.0.1:8787");
        let fields = salesforce_form_fields("http://127.0.0.1:8787", None);
        assert_eq!(fields[0]["id"], "login_url");
        assert_eq!(fields[0]["value"], "http://127.0.0.1:8787");
        let chosen = salesforce_form_fields(
            "http://127.0.0.1:8787",
            Some("https://acme.my.salesforce.com"),
        );
        assert_eq!(chosen[0]["value"], "https://acme.my.salesforce.com");
        assert_eq!(
            fields[0]["options"][2]["value"],
            "https://test.salesforce.com"
        );
    }

    #[test]
    fn login_urls_are_salesforce_or_the_integrations_own() {
        let own = "http://127.0.0.1:8787";
        assert_eq!(
            check_login_url("https://test.salesforce.com/", own)
                .ok()
                .as_deref(),
            Some("https://test.salesforce.com")
        );
        assert!(check_login_url("https://acme.my.salesforce.com", own).is_ok());
        assert!(check_login_url("http://127.0.0.1:8787", own).is_ok());
        assert!(check_login_url("http://127.0.0.1:9999", own).is_err());
        assert!(check_login_url("https://evil.example", own).is_err());
        assert!(check_login_url("http://test.salesforce.com", own).is_err());
        assert!(check_login_url("https://login.salesforce.com/path", own).is_err());
    }
}
