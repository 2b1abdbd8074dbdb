//! An integration: a connector configured for one application, holding the app-level OAuth
//! client. Secrets are not part of this model: only whether one is stored, because the domain
//! never needs the value and must not be able to leak it.

use serde::{Deserialize, Serialize};

use crate::connection::IntegrationState;
use crate::ids::{ApplicationId, ServiceId, UnifiedApi};
use crate::login_origin::{LoginOrigin, LoginUrlError};

/// How often CRM changes are polled for webhook events: minutes, not Apideck's 24 hours.
pub const DEFAULT_CRM_POLL_INTERVAL_S: u32 = 300;
/// The integration settings key (in its free-form settings object) holding the poll interval.
pub const CRM_POLL_INTERVAL_KEY: &str = "crm_poll_interval_s";
/// Bounds of the poll interval: a second (tests) up to a day (Apideck's own rate).
pub const CRM_POLL_INTERVAL_RANGE_S: std::ops::RangeInclusive<u32> = 1..=86_400;

/// The poll interval is out of [`CRM_POLL_INTERVAL_RANGE_S`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("crm_poll_interval_s must be between 1 and 86400 seconds")]
pub struct PollIntervalError;

/// Checks a CRM poll interval in seconds.
pub fn check_crm_poll_interval(seconds: u32) -> Result<u32, PollIntervalError> {
    if CRM_POLL_INTERVAL_RANGE_S.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(PollIntervalError)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    #[error("scope list must not be empty")]
    Empty,
    #[error("scope list contains a character that RFC 6749 does not allow")]
    InvalidCharacter,
}

/// An OAuth scope list: distinct tokens of RFC 6749 §3.3 `scope-token` characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a space-separated list. Duplicates are dropped, order is kept.
    pub fn parse(s: &str) -> Result<Self, ScopesError> {
        let mut out: Vec<String> = Vec::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(ScopesError::InvalidCharacter);
            }
            if !out.iter().any(|t| t == token) {
                out.push(token.to_owned());
            }
        }
        if out.is_empty() {
            return Err(ScopesError::Empty);
        }
        Ok(Self(out))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Scopes in `self` that `granted` lacks, in `self`'s order.
    pub fn missing_from<'a>(&'a self, granted: &Scopes) -> Vec<&'a str> {
        self.iter().filter(|s| !granted.contains(s)).collect()
    }
}

impl Scopes {
    /// A connector's compiled-in default scope list. Not checked here: each connector's tests
    /// check that it is what [`Scopes::parse`] makes of the same tokens.
    pub fn from_constant(tokens: &[&'static str]) -> Self {
        Self(tokens.iter().map(|t| (*t).to_owned()).collect())
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl TryFrom<String> for Scopes {
    type Error = ScopesError;
    fn try_from(s: String) -> Result<Self, ScopesError> {
        Scopes::parse(&s)
    }
}

impl From<Scopes> for String {
    fn from(s: Scopes) -> String {
        s.to_string()
    }
}

/// The non-secret, tunable part of an integration. Its starting values are its connector's
/// (`Connector::default_settings`); core knows no provider's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationSettings {
    pub login_host: LoginOrigin,
    pub scopes: Scopes,
    /// Send the client secret on refresh. Off by default: the setup guide leaves "Require
    /// secret for Refresh Token Flow" unchecked, so a secret on refresh is not needed.
    pub send_secret_on_refresh: bool,
    pub pkce: bool,
    /// Access-token lifetime to assume when introspection is not available.
    pub session_timeout_s: u32,
    /// How often the CRM poller looks for changed records of this integration's connections
    /// (only for resources some webhook subscribes to).
    pub crm_poll_interval_s: u32,
}

impl IntegrationSettings {
    /// A new integration's settings from its connector's login origin, scopes and token
    /// lifetime, with the setup guide's choices for the rest: no secret on refresh (the guide
    /// leaves "Require secret for Refresh Token Flow" unchecked), PKCE on, changes polled every
    /// [`DEFAULT_CRM_POLL_INTERVAL_S`].
    pub fn new(login_host: LoginOrigin, scopes: Scopes, session_timeout_s: u32) -> Self {
        Self {
            login_host,
            scopes,
            send_secret_on_refresh: false,
            pkce: true,
            session_timeout_s,
            crm_poll_interval_s: DEFAULT_CRM_POLL_INTERVAL_S,
        }
    }

    pub fn with_login_url(mut self, url: &str) -> Result<Self, LoginUrlError> {
        self.login_host = LoginOrigin::parse(url)?;
        Ok(self)
    }
}

/// A second credential set, added before a rotation and promoted to main once it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedCredentials {
    pub client_id: String,
    pub has_client_secret: bool,
}

/// An integration as the domain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub application_id: ApplicationId,
    pub unified_api: UnifiedApi,
    pub service_id: ServiceId,
    pub enabled: bool,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    pub staged: Option<StagedCredentials>,
    pub settings: IntegrationSettings,
}

impl Integration {
    /// `configured` needs both a client id and a stored secret (Apideck's
    /// `OAuthCredentialsNotFoundError` otherwise).
    pub fn state(&self) -> IntegrationState {
        if !self.enabled {
            IntegrationState::Disabled
        } else if self.client_id.as_deref().is_some_and(|c| !c.is_empty()) && self.has_client_secret
        {
            IntegrationState::Configured
        } else {
            IntegrationState::NeedsConfiguration
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> IntegrationSettings {
        IntegrationSettings::new(
            LoginOrigin::parse("https://login.example.com").unwrap(),
            Scopes::parse("api refresh_token offline_access openid").unwrap(),
            7200,
        )
    }

    fn integration() -> Integration {
        Integration {
            application_id: ApplicationId::generate(),
            unified_api: UnifiedApi::crm(),
            service_id: ServiceId::parse("crm-example").unwrap(),
            enabled: true,
            client_id: Some("3MVG9".to_owned()),
            has_client_secret: true,
            staged: None,
            settings: settings(),
        }
    }

    #[test]
    fn new_settings_follow_setup_guide() {
        let s = settings();
        assert_eq!(
            s.scopes.to_string(),
            "api refresh_token offline_access openid"
        );
        assert!(!s.send_secret_on_refresh);
        assert!(s.pkce);
        assert_eq!(s.session_timeout_s, 7200);
        assert_eq!(s.crm_poll_interval_s, 300);
        assert_eq!(s.login_host.as_str(), "https://login.example.com");
    }

    #[test]
    fn constant_scopes_keep_their_tokens_in_order() {
        let s = Scopes::from_constant(&["api", "refresh_token"]);
        assert_eq!(Some(s), Scopes::parse("api refresh_token").ok());
    }

    #[test]
    fn state_needs_id_and_secret() {
        let mut i = integration();
        assert_eq!(i.state(), IntegrationState::Configured);
        i.has_client_secret = false;
        assert_eq!(i.state(), IntegrationState::NeedsConfiguration);
        i.has_client_secret = true;
        i.client_id = Some(String::new());
        assert_eq!(i.state(), IntegrationState::NeedsConfiguration);
        i.client_id = None;
        assert_eq!(i.state(), IntegrationState::NeedsConfiguration);
        i.enabled = false;
        assert_eq!(i.state(), IntegrationState::Disabled);
    }

    #[test]
    fn scopes_parse() {
        let s = Scopes::parse("  api  api refresh_token ").unwrap();
        assert_eq!(s.to_string(), "api refresh_token");
        assert_eq!(Scopes::parse("   "), Err(ScopesError::Empty));
        assert_eq!(Scopes::parse("api\"x"), Err(ScopesError::InvalidCharacter));
        assert_eq!(
            Scopes::parse("api\nfull"),
            Err(ScopesError::InvalidCharacter)
        );
        assert_eq!(Scopes::parse("a\\b"), Err(ScopesError::InvalidCharacter));
    }

    #[test]
    fn missing_scopes_are_named_in_order() {
        let wanted = settings().scopes;
        let granted = Scopes::parse("openid api").unwrap();
        assert_eq!(
            wanted.missing_from(&granted),
            vec!["refresh_token", "offline_access"]
        );
        assert!(wanted.missing_from(&wanted).is_empty());
    }

    #[test]
    fn poll_intervals_stay_between_a_second_and_a_day() {
        assert_eq!(check_crm_poll_interval(1), Ok(1));
        assert_eq!(check_crm_poll_interval(86_400), Ok(86_400));
        assert_eq!(check_crm_poll_interval(0), Err(PollIntervalError));
        assert_eq!(check_crm_poll_interval(86_401), Err(PollIntervalError));
    }

    #[test]
    fn with_login_url_validates() {
        let s = settings()
            .with_login_url("https://test.example.com")
            .unwrap();
        assert_eq!(s.login_host.as_str(), "https://test.example.com");
        assert!(settings().with_login_url("ftp://x").is_err());
    }
}
