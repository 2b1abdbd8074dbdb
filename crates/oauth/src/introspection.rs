//! Token introspection results (RFC 7662; docs/salesforce.md §6).

use serde::Deserialize;
use serde_json::Value;

use crate::scope::Scopes;

/// What the provider says about a token. Salesforce answers `{"active": false}` and nothing else
/// for a token that is expired, revoked, or belongs to another app while "Introspect All Tokens"
/// is off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Introspection {
    pub active: bool,
    pub scope: Option<Scopes>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// The identity URL for Salesforce.
    pub sub: Option<String>,
    /// `access_token` or `refresh_token`.
    pub token_type: Option<String>,
    /// Expiry, in Unix **seconds**.
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
}

impl Introspection {
    /// `exp` in Unix milliseconds, the unit the rest of Patchbay uses.
    pub fn expires_at_ms(&self) -> Option<i64> {
        self.exp.map(|s| s.saturating_mul(1000))
    }
}

#[derive(Deserialize)]
struct IntrospectionResponse {
    active: Option<Value>,
    scope: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    sub: Option<String>,
    token_type: Option<String>,
    exp: Option<Value>,
    iat: Option<Value>,
    nbf: Option<Value>,
}

/// Parses an introspection response; `None` when it is not one (no boolean `active`).
pub(crate) fn parse_introspection(body: &[u8]) -> Option<Introspection> {
    let wire: IntrospectionResponse = serde_json::from_slice(body).ok()?;
    let active = match wire.active? {
        Value::Bool(b) => b,
        // Some servers send the string form; anything else is not an introspection response.
        Value::String(s) if s == "true" => true,
        Value::String(s) if s == "false" => false,
        _ => return None,
    };
    Some(Introspection {
        active,
        scope: wire.scope.as_deref().map(Scopes::parse),
        client_id: wire.client_id,
        username: wire.username,
        sub: wire.sub,
        token_type: wire.token_type,
        exp: wire.exp.as_ref().and_then(number),
        iat: wire.iat.as_ref().and_then(number),
        nbf: wire.nbf.as_ref().and_then(number),
    })
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_salesforce_response() {
        let body = br#"{"active": true, "scope": "id api refresh_token", "client_id": "3MVG9...",
            "username": "user@example.com", "sub": "https://login.salesforce.com/id/00D/005",
            "token_type": "access_token", "exp": 1700007200, "iat": 1700000000, "nbf": 1700000000}"#;
        let i = parse_introspection(body).expect("parse");
        assert!(i.active);
        assert_eq!(i.exp, Some(1_700_007_200));
        assert_eq!(i.expires_at_ms(), Some(1_700_007_200_000));
        assert_eq!(i.iat, Some(1_700_000_000));
        assert_eq!(i.token_type.as_deref(), Some("access_token"));
        assert!(i.scope.is_some_and(|s| s.contains("api")));
    }

    #[test]
    fn inactive_and_malformed() {
        assert_eq!(
            parse_introspection(br#"{"active": false}"#),
            Some(Introspection::default())
        );
        assert_eq!(
            parse_introspection(br#"{"active": "false"}"#).map(|i| i.active),
            Some(false)
        );
        assert_eq!(parse_introspection(br#"{"exp": 1}"#), None);
        assert_eq!(parse_introspection(br#"{"active": 1}"#), None);
        assert_eq!(parse_introspection(b"<html/>"), None);
    }
}
