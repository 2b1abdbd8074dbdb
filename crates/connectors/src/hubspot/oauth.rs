//! HubSpot's OAuth facts as data (docs/hubspot.md §1–§5): endpoints, how the token endpoint
//! wants its parameters, and the scopes each unified resource needs.

use patchbay_unified::Resource;
use serde_json::Value;

use crate::connector::TokenMetadata;

/// Where users install the app.
pub const AUTHORIZE_URL: &str = "https://app.hubspot.com/oauth/authorize";
/// The API origin: tokens, metadata and the CRM API. The only origin the proxy may reach.
pub const API_ORIGIN: &str = "https://api.hubapi.com";
/// Code exchange and refresh: form-encoded POST, the client secret always in the body.
pub const TOKEN_PATH: &str = "/oauth/v1/token";
/// Token endpoint URL.
pub const TOKEN_URL: &str = "https://api.hubapi.com/oauth/v1/token";
/// Access-token metadata: `GET` with the token as the last segment.
pub const ACCESS_TOKEN_METADATA_PATH: &str = "/oauth/v1/access-tokens/";
/// Refresh-token metadata (`GET`) and revocation (`DELETE`, answers 204).
pub const REFRESH_TOKEN_PATH: &str = "/oauth/v1/refresh-tokens/";
/// Access tokens live this long (`expires_in: 1800`).
pub const ACCESS_TOKEN_SECONDS: u64 = 1_800;
/// Refresh tokens do not rotate: the refresh answer carries the same one.
pub const REFRESH_TOKEN_ROTATES: bool = false;
/// HubSpot requires no PKCE on this flow.
pub const PKCE_REQUIRED: bool = false;
/// The client secret is required on every token call (not optional as with Salesforce PKCE).
pub const SECRET_ALWAYS_REQUIRED: bool = true;
/// Scopes go space-separated in `scope`.
pub const SCOPE_SEPARATOR: &str = " ";
/// The token endpoint's `status` for a dead refresh token (beside `error: invalid_grant`).
pub const BAD_REFRESH_TOKEN: &str = "BAD_REFRESH_TOKEN";
/// Every app must request this scope.
pub const BASE_SCOPE: &str = "oauth";

/// The scope that lets a token see an email's content: without it HubSpot redacts the
/// subject, bodies and headers of email activities (docs/hubspot.md §5, §7b).
pub const EMAIL_CONTENT_SCOPE: &str = "sales-email-read";

/// Scopes a unified resource needs (read and write). Engagements use the contacts scopes
/// (docs/hubspot.md §5), and activities, which include emails, the email-content scope too;
/// pipelines the deals scopes (§12).
pub fn scopes_for(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Activities => &[
            "crm.objects.contacts.read",
            "crm.objects.contacts.write",
            EMAIL_CONTENT_SCOPE,
        ],
        Resource::Contacts | Resource::Leads | Resource::Notes => {
            &["crm.objects.contacts.read", "crm.objects.contacts.write"]
        }
        Resource::Companies => &["crm.objects.companies.read", "crm.objects.companies.write"],
        Resource::Opportunities | Resource::Pipelines => {
            &["crm.objects.deals.read", "crm.objects.deals.write"]
        }
        Resource::Users => &["crm.objects.owners.read"],
    }
}

/// The default scopes for an integration: `oauth` plus every resource's, without duplicates.
pub fn default_scopes() -> Vec<&'static str> {
    let mut out = vec![BASE_SCOPE];
    for r in Resource::ALL {
        for s in scopes_for(r) {
            if !out.contains(s) {
                out.push(s);
            }
        }
    }
    out
}

/// The token endpoint's form for a code exchange.
pub fn code_form<'a>(
    code: &'a str,
    redirect_uri: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
) -> [(&'static str, &'a str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ]
}

/// The token endpoint's form for a refresh.
pub fn refresh_form<'a>(
    refresh_token: &'a str,
    client_id: &'a str,
    client_secret: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ]
}

/// An access-token metadata answer (`GET /oauth/v1/access-tokens/{token}`, docs/hubspot.md
/// §4): the hub id, its domain, the scopes and the seconds left. `None` unless it names
/// scopes and a hub id, as every such answer does.
pub fn read_token_metadata(answer: &Value) -> Option<TokenMetadata> {
    let scopes = answer
        .get("scopes")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let account = match answer.get("hub_id")? {
        Value::Number(n) => n.to_string(),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => return None,
    };
    Some(TokenMetadata {
        scopes,
        account: Some(account),
        account_domain: answer
            .get("hub_domain")
            .and_then(Value::as_str)
            .map(str::to_owned),
        expires_in_s: answer.get("expires_in").and_then(Value::as_i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_metadata_names_the_hub_and_scopes() {
        let m = read_token_metadata(&serde_json::json!({
            "token": "CO…", "user": "u@example.com", "hub_domain": "demo.hubspot.com",
            "scopes": ["oauth", "crm.objects.contacts.read"], "hub_id": 62515,
            "app_id": 456, "expires_in": 1754, "user_id": 123, "token_type": "access"
        }))
        .expect("metadata");
        assert_eq!(m.account.as_deref(), Some("62515"));
        assert_eq!(m.account_domain.as_deref(), Some("demo.hubspot.com"));
        assert_eq!(m.scopes, ["oauth", "crm.objects.contacts.read"]);
        assert_eq!(m.expires_in_s, Some(1754));
        for not_metadata in [
            serde_json::json!({"status": "error", "category": "OBJECT_NOT_FOUND"}),
            serde_json::json!({"scopes": "oauth", "hub_id": 1}),
            serde_json::json!({"scopes": [], "hub_id": null}),
        ] {
            assert_eq!(read_token_metadata(&not_metadata), None, "{not_metadata}");
        }
    }

    #[test]
    fn default_scopes_cover_every_resource_once() {
        let scopes = default_scopes();
        assert_eq!(scopes[0], "oauth");
        for r in Resource::ALL {
            for s in scopes_for(r) {
                assert_eq!(scopes.iter().filter(|x| *x == s).count(), 1, "{s}");
            }
        }
        assert!(scopes.contains(&"crm.objects.owners.read"));
        assert!(scopes.contains(&EMAIL_CONTENT_SCOPE));
        assert!(!scopes.iter().any(|s| s.contains(' ')));
    }

    #[test]
    fn endpoints_are_on_hubspot_hosts() {
        assert_eq!(TOKEN_URL, format!("{API_ORIGIN}{TOKEN_PATH}"));
        assert!(AUTHORIZE_URL.starts_with("https://app.hubspot.com/"));
        let form = refresh_form("r", "id", "secret");
        assert!(form.contains(&("client_secret", "secret")));
        assert!(code_form("c", "u", "i", "s").contains(&("grant_type", "authorization_code")));
    }
}
