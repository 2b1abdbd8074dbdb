//! Token-endpoint responses: the parsed [`TokenSet`], and the `signature` check.
//!
//! The wire shapes (`TokenResponse`, `ErrorResponse`) are private to this module: callers only
//! ever see [`TokenSet`] or an [`crate::OAuthError`].

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::provider::Quirks;
use crate::scope::Scopes;
use patchbay_crypto::{AccessToken, ClientSecret, IdToken, RefreshToken};

/// The tokens and facts from a successful code exchange or refresh.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: AccessToken,
    /// Present after a code exchange with `refresh_token`/`offline_access` granted, and after a
    /// refresh only when the provider rotates refresh tokens. `None` means "keep the old one".
    pub refresh_token: Option<RefreshToken>,
    /// The API base URL for this connection (Salesforce: the org's My Domain). Validate it with
    /// [`crate::LoginHost::allows_instance_url`] before storing it or sending tokens to it.
    pub instance_url: Option<Url>,
    /// The identity URL (`https://{login}/id/{orgId}/{userId}`).
    pub id: Option<String>,
    /// When the provider issued the token, in Unix milliseconds (the receive time if it did not
    /// say).
    pub issued_at_ms: i64,
    /// `expires_in`, which Salesforce never sends; accepted from providers that do.
    pub expires_in: Option<Duration>,
    /// The granted scopes; `None` when the response did not list them.
    pub scope: Option<Scopes>,
    /// Salesforce's base64 HMAC-SHA256 over `id` + `issued_at`. Not a secret.
    pub signature: Option<String>,
    /// Whether `signature` was checked against the configured client secret and matched. A
    /// mismatch is an error, so `false` only means "not checked" (no secret, or no signature).
    pub signature_verified: bool,
    pub id_token: Option<IdToken>,
    pub token_type: Option<String>,
}

impl TokenSet {
    /// Best estimate of when the access token expires, in Unix milliseconds: `expires_in` when
    /// given, else `default_lifetime` (the integration's session timeout, or the provider quirk).
    pub fn expires_at_ms(&self, default_lifetime: Duration) -> i64 {
        let lifetime = self.expires_in.unwrap_or(default_lifetime);
        let ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
        self.issued_at_ms.saturating_add(ms)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<AccessToken>,
    refresh_token: Option<RefreshToken>,
    instance_url: Option<String>,
    id: Option<String>,
    issued_at: Option<Value>,
    signature: Option<String>,
    scope: Option<String>,
    id_token: Option<IdToken>,
    token_type: Option<String>,
    expires_in: Option<Value>,
}

/// Why a 2xx token response could not be used. Never carries the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenParseError {
    NotJson,
    Missing(&'static str),
    Invalid(&'static str),
}

impl TokenParseError {
    pub(crate) fn reason(&self) -> String {
        match self {
            TokenParseError::NotJson => "the body is not a JSON token response".to_owned(),
            TokenParseError::Missing(f) => format!("the response has no `{f}`"),
            TokenParseError::Invalid(f) => format!("the response has an invalid `{f}`"),
        }
    }
}

/// A parsed token response plus the exact `issued_at` text, which the signature covers.
pub(crate) struct ParsedToken {
    pub tokens: TokenSet,
    pub issued_at_raw: Option<String>,
}

/// Parses a successful token response. `received_at_ms` stands in for a missing `issued_at`.
pub(crate) fn parse_token_response(
    body: &[u8],
    quirks: &Quirks,
    received_at_ms: i64,
) -> Result<ParsedToken, TokenParseError> {
    let wire: TokenResponse = serde_json::from_slice(body).map_err(|_| TokenParseError::NotJson)?;
    let access_token = wire
        .access_token
        .filter(|t| !t.expose_secret().is_empty())
        .ok_or(TokenParseError::Missing("access_token"))?;
    let instance_url = match wire.instance_url.as_deref() {
        Some(u) => Some(Url::parse(u).map_err(|_| TokenParseError::Invalid("instance_url"))?),
        None if quirks.requires_instance_url => {
            return Err(TokenParseError::Missing("instance_url"));
        }
        None => None,
    };
    let issued_at_raw = wire.issued_at.as_ref().map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let issued_at_ms = match &issued_at_raw {
        Some(raw) => {
            let n: i64 = raw
                .trim()
                .parse()
                .map_err(|_| TokenParseError::Invalid("issued_at"))?;
            if quirks.issued_at_millis {
                n
            } else {
                n.saturating_mul(1000)
            }
        }
        None => received_at_ms,
    };
    let expires_in = match &wire.expires_in {
        None | Some(Value::Null) => None,
        Some(v) => Some(parse_seconds(v).ok_or(TokenParseError::Invalid("expires_in"))?),
    };
    Ok(ParsedToken {
        tokens: TokenSet {
            access_token,
            refresh_token: wire.refresh_token.filter(|t| !t.expose_secret().is_empty()),
            instance_url,
            id: wire.id,
            issued_at_ms,
            expires_in,
            scope: wire.scope.as_deref().map(Scopes::parse),
            signature: wire.signature,
            signature_verified: false,
            id_token: wire.id_token.filter(|t| !t.expose_secret().is_empty()),
            token_type: wire.token_type,
        },
        issued_at_raw,
    })
}

fn parse_seconds(v: &Value) -> Option<Duration> {
    match v {
        Value::Number(n) => n.as_u64().map(Duration::from_secs),
        Value::String(s) => s.trim().parse().ok().map(Duration::from_secs),
        _ => None,
    }
}

/// Checks `signature` = base64(HMAC-SHA256(key = client secret, msg = id + issued_at)), in
/// constant time (docs/salesforce.md §3.6).
pub fn verify_signature(secret: &ClientSecret, id: &str, issued_at: &str, signature: &str) -> bool {
    let Ok(tag) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose_secret().as_bytes());
    let mut msg = Vec::with_capacity(id.len() + issued_at.len());
    msg.extend_from_slice(id.as_bytes());
    msg.extend_from_slice(issued_at.as_bytes());
    hmac::verify(&key, &msg, &tag).is_ok()
}

/// The OAuth error object (`{"error", "error_description"}`) of any endpoint.
#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    error_description: Option<Value>,
}

/// Provider text is kept in errors and logs, so an absurdly long one is cut.
const MAX_PROVIDER_TEXT: usize = 512;

/// Parses an OAuth error body; `None` when the body is not one.
pub(crate) fn parse_error_response(body: &[u8]) -> Option<(String, Option<String>)> {
    let wire: ErrorResponse = serde_json::from_slice(body).ok()?;
    if wire.error.trim().is_empty() {
        return None;
    }
    let description = wire.error_description.and_then(|v| match v {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    });
    Some((
        truncate(wire.error.trim()),
        description.map(|d| truncate(&d)),
    ))
}

fn truncate(s: &str) -> String {
    if s.len() <= MAX_PROVIDER_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_PROVIDER_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ProviderConfig;

    fn sf() -> Quirks {
        ProviderConfig::salesforce().quirks
    }

    const SF_BODY: &str = r#"{
      "access_token": "00DRL000000abcd!AQ8AQ.x",
      "refresh_token": "5Aep861.y",
      "signature": "SIG",
      "scope": "refresh_token id api",
      "id_token": "eyJraWQiOi.z",
      "instance_url": "https://acme.my.salesforce.com",
      "id": "https://login.salesforce.com/id/00DRL000000abcdMAA/005RL000001xyzAYAQ",
      "token_type": "Bearer",
      "issued_at": "1278448384422"
    }"#;

    #[test]
    fn parses_salesforce_response() {
        let p = parse_token_response(SF_BODY.as_bytes(), &sf(), 5).expect("parse");
        let t = &p.tokens;
        assert_eq!(t.access_token.expose_secret(), "00DRL000000abcd!AQ8AQ.x");
        assert_eq!(
            t.refresh_token.as_ref().map(|r| r.expose_secret()),
            Some("5Aep861.y")
        );
        assert_eq!(
            t.instance_url.as_ref().map(Url::as_str),
            Some("https://acme.my.salesforce.com/")
        );
        assert_eq!(t.issued_at_ms, 1_278_448_384_422);
        assert_eq!(p.issued_at_raw.as_deref(), Some("1278448384422"));
        assert_eq!(
            t.scope.as_ref().map(ToString::to_string).as_deref(),
            Some("api id refresh_token")
        );
        assert_eq!(t.expires_in, None);
        assert_eq!(
            t.expires_at_ms(Duration::from_secs(7200)),
            1_278_448_384_422 + 7_200_000
        );
        assert!(t.id_token.is_some());
        assert_eq!(t.token_type.as_deref(), Some("Bearer"));
    }

    #[test]
    fn refresh_response_without_refresh_token_and_with_expires_in() {
        let body = r#"{"access_token":"a","instance_url":"https://x.my.salesforce.com",
            "id":"i","issued_at":1000,"expires_in":"3600","refresh_token":""}"#;
        let t = parse_token_response(body.as_bytes(), &sf(), 5)
            .expect("parse")
            .tokens;
        assert!(t.refresh_token.is_none());
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        assert_eq!(t.issued_at_ms, 1000);
        assert_eq!(t.expires_at_ms(Duration::from_secs(7200)), 1000 + 3_600_000);
    }

    #[test]
    fn rejects_unusable_success_bodies() {
        let cases: &[(&str, TokenParseError)] = &[
            ("<html>oops</html>", TokenParseError::NotJson),
            (
                r#"{"access_token":"a","instance_url":"h"#,
                TokenParseError::NotJson,
            ),
            ("{}", TokenParseError::Missing("access_token")),
            (
                r#"{"access_token":""}"#,
                TokenParseError::Missing("access_token"),
            ),
            (
                r#"{"access_token":"a"}"#,
                TokenParseError::Missing("instance_url"),
            ),
            (
                r#"{"access_token":"a","instance_url":"not a url"}"#,
                TokenParseError::Invalid("instance_url"),
            ),
            (
                r#"{"access_token":"a","instance_url":"https://x","issued_at":"soon"}"#,
                TokenParseError::Invalid("issued_at"),
            ),
            (
                r#"{"access_token":"a","instance_url":"https://x","expires_in":-1}"#,
                TokenParseError::Invalid("expires_in"),
            ),
            (
                r#"{"access_token":7,"instance_url":"https://x"}"#,
                TokenParseError::NotJson,
            ),
        ];
        for (body, expected) in cases {
            match parse_token_response(body.as_bytes(), &sf(), 0) {
                Ok(_) => panic!("{body} parsed"),
                Err(e) => assert_eq!(&e, expected, "{body}"),
            }
        }
    }

    #[test]
    fn generic_provider_response() {
        let q = Quirks {
            signed_identity: false,
            issued_at_millis: false,
            requires_instance_url: false,
            revoke_needs_client_auth: true,
            default_access_token_lifetime: Duration::from_secs(3600),
        };
        let t = parse_token_response(br#"{"access_token":"a","expires_in":60}"#, &q, 42)
            .expect("parse")
            .tokens;
        assert_eq!(t.issued_at_ms, 42);
        assert!(t.instance_url.is_none());
        assert_eq!(t.expires_at_ms(Duration::ZERO), 42 + 60_000);
    }

    #[test]
    fn signature_round_trip() {
        let secret = ClientSecret::new("s3cr3t");
        let id = "https://login.salesforce.com/id/00D/005";
        let issued = "1278448384422";
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"s3cr3t");
        let sig = STANDARD.encode(hmac::sign(&key, format!("{id}{issued}").as_bytes()).as_ref());
        assert_eq!(sig.len(), 44);
        assert!(verify_signature(&secret, id, issued, &sig));
        assert!(!verify_signature(&secret, id, "1278448384423", &sig));
        assert!(!verify_signature(
            &ClientSecret::new("other"),
            id,
            issued,
            &sig
        ));
        assert!(!verify_signature(&secret, id, issued, "not base64!"));
        assert!(!verify_signature(&secret, id, issued, ""));
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            parse_error_response(
                br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#
            ),
            Some((
                "invalid_grant".to_owned(),
                Some("expired access/refresh token".to_owned())
            ))
        );
        assert_eq!(
            parse_error_response(br#"{"error":"invalid_token"}"#),
            Some(("invalid_token".to_owned(), None))
        );
        assert_eq!(parse_error_response(b"<html>500</html>"), None);
        assert_eq!(parse_error_response(br#"{"error":""}"#), None);
        assert_eq!(parse_error_response(br#"[{"errorCode":"X"}]"#), None);
        let long = format!(
            r#"{{"error":"x","error_description":"{}"}}"#,
            "é".repeat(600)
        );
        let (_, d) = parse_error_response(long.as_bytes()).expect("parse");
        assert!(d.expect("desc").chars().count() <= MAX_PROVIDER_TEXT / 2 + 1);
    }
}
