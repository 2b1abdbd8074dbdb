//! Session JWTs (`POST /vault/sessions`) and the signed link states inside `authorize_url` and
//! `revoke_url`.
//!
//! Both are HS256 JWTs from the keyring's session signer, told apart by `aud`, so a link state
//! can never be used as a session and vice versa. A session is a browser-safe, consumer-scoped
//! credential: it names exactly one application and one consumer, and every check compares both
//! with the request's headers.

use patchbay_core::{ApplicationId, ConsumerId, ConsumerMetadata, ServiceId, UnifiedApi};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Vault;
use super::views::SessionView;
use crate::error::{Error, Result};

pub const SESSION_AUDIENCE: &str = "patchbay-vault-session";
const LINK_AUDIENCE_AUTHORIZE: &str = "patchbay-vault-authorize";
const LINK_AUDIENCE_REVOKE: &str = "patchbay-vault-revoke";
const ISSUER: &str = "patchbay";

pub const DEFAULT_SESSION_SECONDS: i64 = 3600;
pub const MAX_SESSION_SECONDS: i64 = 7 * 24 * 3600;
/// How long an `authorize_url`/`revoke_url` from `GET /vault/connections` stays usable.
pub const LINK_STATE_SECONDS: i64 = 3600;

/// Body of `POST /vault/sessions` (spec `Session`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub consumer_metadata: Option<ConsumerMetadata>,
    pub redirect_uri: Option<String>,
    pub settings: Option<Map<String, Value>>,
    pub theme: Option<Map<String, Value>>,
    pub custom_consumer_settings: Option<Map<String, Value>>,
}

/// What a verified session token grants, parsed once for the API's auth, CORS and the
/// hosted page alike.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionClaims {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub redirect_uri: Option<String>,
    pub settings: SessionSettings,
    /// The spec's `theme`, for the hosted page only; its values are checked where they are
    /// used (`crates/console/src/cards.rs`).
    pub theme: Map<String, Value>,
    /// Display only: the hosted page's consumer label.
    pub consumer_metadata: Map<String, Value>,
}

/// The session's `settings` (spec `Session.settings`) as typed values, with the spec's
/// defaults for what is absent. A value of the wrong JSON type counts as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the spec's settings are independent booleans"
)]
pub struct SessionSettings {
    /// `None`: every action is allowed; `Some`: only the listed ones.
    pub allow_actions: Option<Vec<String>>,
    /// Empty: every unified API.
    pub unified_apis: Vec<String>,
    pub show_logs: bool,
    pub show_sidebar: bool,
    pub show_suggestions: bool,
    pub isolation_mode: bool,
    pub sandbox_mode: bool,
    pub hide_guides: bool,
    pub hide_resource_settings: bool,
    pub auto_redirect: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self::parse(&Map::new())
    }
}

impl SessionSettings {
    /// Reads the settings object of a verified token.
    #[must_use]
    pub fn parse(settings: &Map<String, Value>) -> Self {
        let strings = |name: &str| {
            settings.get(name).and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        let flag = |name: &str, default: bool| {
            settings
                .get(name)
                .and_then(Value::as_bool)
                .unwrap_or(default)
        };
        Self {
            allow_actions: strings("allow_actions"),
            unified_apis: strings("unified_apis").unwrap_or_default(),
            show_logs: flag("show_logs", true),
            show_sidebar: flag("show_sidebar", true),
            show_suggestions: flag("show_suggestions", false),
            isolation_mode: flag("isolation_mode", false),
            sandbox_mode: flag("sandbox_mode", false),
            hide_guides: flag("hide_guides", false),
            hide_resource_settings: flag("hide_resource_settings", false),
            auto_redirect: flag("auto_redirect", false),
        }
    }

    /// Whether `allow_actions` permits `action` (absent: everything).
    #[must_use]
    pub fn allows(&self, action: &str) -> bool {
        self.allow_actions
            .as_ref()
            .is_none_or(|list| list.iter().any(|a| a == action))
    }

    /// Whether `unified_apis` lets the session see `unified_api` (empty: every one).
    #[must_use]
    pub fn includes_api(&self, unified_api: &str) -> bool {
        self.unified_apis.is_empty() || self.unified_apis.iter().any(|a| a == unified_api)
    }
}

/// What a verified link state names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub application_id: ApplicationId,
    pub consumer_id: ConsumerId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
}

/// An object claim, or an empty object when absent or not an object.
fn object(claims: &Map<String, Value>, name: &str) -> Map<String, Value> {
    claims
        .get(name)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// `30m`, `1h`, `2d`, `1w`, `90s`, or plain seconds.
pub fn parse_session_length(s: &str) -> Result<i64> {
    let bad = || {
        Error::validation(
            "settings.session_length must look like 30m, 1h, 2d or 1w (at most 1 week)",
        )
    };
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        Some(_) => (s, 's'),
        None => return Err(bad()),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(mult).ok_or_else(bad)?;
    if secs <= 0 || secs > MAX_SESSION_SECONDS {
        return Err(bad());
    }
    Ok(secs)
}

impl Vault {
    /// Creates a Vault session for `consumer` (upserting it, as Apideck does) and returns the
    /// token and the hosted page URL.
    #[tracing::instrument(skip_all, fields(app = %app, consumer = %consumer))]
    pub async fn create_session(
        &self,
        app: &ApplicationId,
        consumer: &ConsumerId,
        req: SessionRequest,
    ) -> Result<SessionView> {
        let application = self.get_application(app).await?;
        if let Some(m) = &req.consumer_metadata {
            super::consumers::check_metadata(m)?;
        }
        let settings = req.settings.unwrap_or_default();
        let seconds = match settings.get("session_length") {
            None | Some(Value::Null) => DEFAULT_SESSION_SECONDS,
            Some(Value::String(s)) => parse_session_length(s)?,
            Some(_) => {
                return Err(Error::validation(
                    "settings.session_length must be a string",
                ));
            }
        };
        if let Some(uri) = req
            .redirect_uri
            .as_ref()
            .filter(|uri| !application.redirect_uris.iter().any(|u| u == *uri))
        {
            return Err(super::applications::redirect_uri_not_allowed(app, uri));
        }
        self.store()
            .upsert_consumer(app, consumer, req.consumer_metadata.as_ref(), self.now_ms())
            .await?;
        // Apideck's modal opens `authorize_url + "&redirect_uri=" + jwt.redirect_uri` in a
        // popup and only learns it finished when the popup closes: without a page of the
        // application's own, the popup ends on Patchbay's completion page, which closes itself.
        let redirect_uri = req
            .redirect_uri
            .clone()
            .unwrap_or_else(|| super::connect::completion_url(self.public_url(), app));
        let now_s = self.now_ms() / 1000;
        let claims = json!({
            "iss": ISSUER,
            "aud": SESSION_AUDIENCE,
            "sub": consumer.as_str(),
            "application_id": app.as_str(),
            "consumer_id": consumer.as_str(),
            "redirect_uri": redirect_uri,
            "settings": settings,
            "theme": req.theme.unwrap_or_default(),
            "consumer_metadata": req.consumer_metadata.unwrap_or_default(),
            "custom_consumer_settings": req.custom_consumer_settings.unwrap_or_default(),
            "iat": now_s,
            "exp": now_s + seconds,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let token = self.signer().sign(&claims).map_err(Error::internal)?;
        let token = token.expose_secret().to_owned();
        Ok(SessionView {
            session_uri: format!("{}/session/{token}", self.public_url()),
            session_token: token,
        })
    }

    /// Verifies a session token. Any failure is [`Error::Unauthorized`].
    pub fn verify_session(&self, token: &str) -> Result<SessionClaims> {
        let claims = self.verify_jwt(token, SESSION_AUDIENCE)?;
        let application_id = claim_id(&claims, "application_id")?;
        let consumer_id = claim_id(&claims, "consumer_id")?;
        // The completion page stands for "no page of the application's own".
        let own_page = super::connect::completion_url(self.public_url(), &application_id);
        Ok(SessionClaims {
            redirect_uri: claims
                .get("redirect_uri")
                .and_then(Value::as_str)
                .filter(|uri| *uri != own_page)
                .map(str::to_owned),
            application_id,
            consumer_id,
            settings: SessionSettings::parse(&object(&claims, "settings")),
            theme: object(&claims, "theme"),
            consumer_metadata: object(&claims, "consumer_metadata"),
        })
    }

    fn verify_jwt(&self, token: &str, audience: &str) -> Result<Map<String, Value>> {
        let value = self
            .signer()
            .verify(token, self.now_ms() / 1000)
            .map_err(|_| Error::Unauthorized)?;
        let Value::Object(claims) = value else {
            return Err(Error::Unauthorized);
        };
        if claims.get("aud").and_then(Value::as_str) != Some(audience)
            || claims.get("iss").and_then(Value::as_str) != Some(ISSUER)
        {
            return Err(Error::Unauthorized);
        }
        Ok(claims)
    }

    /// Mints the `state` of an `authorize_url` (or `revoke_url` when `revoke`).
    pub(crate) fn link_state(&self, link: &LinkState, revoke: bool) -> Result<String> {
        let now_s = self.now_ms() / 1000;
        let claims = json!({
            "iss": ISSUER,
            "aud": if revoke { LINK_AUDIENCE_REVOKE } else { LINK_AUDIENCE_AUTHORIZE },
            "application_id": link.application_id.as_str(),
            "consumer_id": link.consumer_id.as_str(),
            "unified_api": link.unified_api.as_str(),
            "service_id": link.service_id.as_str(),
            "iat": now_s,
            "exp": now_s + LINK_STATE_SECONDS,
        });
        let token = self.signer().sign(&claims).map_err(Error::internal)?;
        Ok(token.expose_secret().to_owned())
    }

    /// Verifies a link state; any failure is [`Error::OAuthInvalidState`].
    pub(crate) fn verify_link_state(&self, state: &str, revoke: bool) -> Result<LinkState> {
        let aud = if revoke {
            LINK_AUDIENCE_REVOKE
        } else {
            LINK_AUDIENCE_AUTHORIZE
        };
        let invalid = || {
            Error::OAuthInvalidState(
            "The state parameter is invalid or expired. Fetch a fresh authorize_url from GET /vault/connections.".to_owned(),
        )
        };
        let claims = self.verify_jwt(state, aud).map_err(|_| invalid())?;
        Ok(LinkState {
            application_id: claim_id(&claims, "application_id").map_err(|_| invalid())?,
            consumer_id: claim_id(&claims, "consumer_id").map_err(|_| invalid())?,
            unified_api: claim_id(&claims, "unified_api").map_err(|_| invalid())?,
            service_id: claim_id(&claims, "service_id").map_err(|_| invalid())?,
        })
    }
}

fn claim_id<T: std::str::FromStr>(claims: &Map<String, Value>, name: &str) -> Result<T> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or(Error::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_defaults_and_wrong_types() {
        let d = SessionSettings::default();
        assert!(d.allow_actions.is_none() && d.allows("delete") && d.includes_api("crm"));
        assert!(d.show_logs && d.show_sidebar && !d.isolation_mode && !d.auto_redirect);
        let parse = |v: Value| SessionSettings::parse(v.as_object().unwrap_or(&Map::new()));
        let s = parse(json!({
            "allow_actions": ["disconnect", 7],
            "unified_apis": ["crm"],
            "show_logs": false,
            "isolation_mode": "yes",
            "hide_resource_settings": true,
        }));
        assert_eq!(
            s.allow_actions.as_deref(),
            Some(&["disconnect".to_owned()][..])
        );
        assert!(s.allows("disconnect") && !s.allows("delete"));
        assert!(s.includes_api("crm") && !s.includes_api("ats"));
        assert!(!s.show_logs && !s.isolation_mode && s.hide_resource_settings);
        assert!(!parse(json!({"allow_actions": []})).allows("delete"));
    }

    #[test]
    fn session_lengths() {
        assert_eq!(parse_session_length("30m").ok(), Some(1800));
        assert_eq!(parse_session_length("1h").ok(), Some(3600));
        assert_eq!(parse_session_length("1w").ok(), Some(604_800));
        assert_eq!(parse_session_length("7d").ok(), Some(604_800));
        assert_eq!(parse_session_length("90").ok(), Some(90));
        for bad in [
            "8d",
            "2w",
            "0m",
            "-1h",
            "",
            "h",
            "1y",
            "1.5h",
            "99999999999999999999h",
        ] {
            assert!(parse_session_length(bad).is_err(), "{bad}");
        }
    }
}
