//! Providers as data: where their OAuth endpoints live and which quirks they have.
//!
//! A [`ProviderConfig`] describes one provider (Salesforce is the first). A [`LoginHost`] says
//! which authorization server of that provider to talk to (for Salesforce: production, sandbox, a
//! My Domain or the emulator). A [`ClientConfig`] adds the integration's client credentials.

use std::fmt;
use std::time::Duration;

use url::{Host, Url};

use crate::error::OAuthError;
use patchbay_crypto::ClientSecret;

/// One of the provider's OAuth endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Authorize,
    Token,
    Revoke,
    Introspect,
    Userinfo,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::Revoke => "revoke",
            Endpoint::Introspect => "introspect",
            Endpoint::Userinfo => "userinfo",
        })
    }
}

/// Endpoint paths relative to the login host, without a leading slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPaths {
    pub authorize: &'static str,
    pub token: &'static str,
    pub revoke: &'static str,
    pub introspect: &'static str,
    pub userinfo: &'static str,
}

/// How a provider's token responses differ from plain RFC 6749.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quirks {
    /// The token response carries `signature` = base64(HMAC-SHA256(client secret, id + issued_at)).
    pub signed_identity: bool,
    /// `issued_at` is milliseconds since the epoch, as a string.
    pub issued_at_millis: bool,
    /// The token response must carry `instance_url` (the API base for this connection).
    pub requires_instance_url: bool,
    /// The revocation endpoint wants client authentication (RFC 7009 default). Salesforce's
    /// takes only `token`.
    pub revoke_needs_client_auth: bool,
    /// The lifetime to assume when the response has no `expires_in` and introspection is not
    /// available. Salesforce's default session timeout is 2 h (docs/salesforce.md §3.7).
    pub default_access_token_lifetime: Duration,
}

/// A provider: its endpoints and quirks. Values, not code, so adding a provider adds data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Stable identifier, for example `salesforce`.
    pub id: &'static str,
    pub paths: EndpointPaths,
    pub quirks: Quirks,
    /// Scopes requested when an integration names none.
    pub default_scopes: &'static [&'static str],
}

impl ProviderConfig {
    /// Salesforce, as described in docs/salesforce.md §2-7.
    pub fn salesforce() -> Self {
        Self {
            id: "salesforce",
            paths: EndpointPaths {
                authorize: "services/oauth2/authorize",
                token: "services/oauth2/token",
                revoke: "services/oauth2/revoke",
                introspect: "services/oauth2/introspect",
                userinfo: "services/oauth2/userinfo",
            },
            quirks: Quirks {
                signed_identity: true,
                issued_at_millis: true,
                requires_instance_url: true,
                revoke_needs_client_auth: false,
                default_access_token_lifetime: Duration::from_secs(2 * 60 * 60),
            },
            default_scopes: &["api", "refresh_token", "offline_access", "openid"],
        }
    }

    fn path(&self, endpoint: Endpoint) -> &'static str {
        match endpoint {
            Endpoint::Authorize => self.paths.authorize,
            Endpoint::Token => self.paths.token,
            Endpoint::Revoke => self.paths.revoke,
            Endpoint::Introspect => self.paths.introspect,
            Endpoint::Userinfo => self.paths.userinfo,
        }
    }
}

/// Which Salesforce authorization server an integration (or one connection) uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginHost {
    /// `https://login.salesforce.com`
    Production,
    /// `https://test.salesforce.com`
    Sandbox,
    /// `https://{domain}.my.salesforce.com` (or a sandbox My Domain).
    MyDomain(Url),
    /// Any other base URL: the emulator (`http://127.0.0.1:PORT`, optionally with a path such as
    /// `/login`), or an https host Patchbay does not recognise.
    Custom(Url),
}

const PRODUCTION: &str = "https://login.salesforce.com";
const SANDBOX: &str = "https://test.salesforce.com";

impl LoginHost {
    /// Parses a configured login URL. Accepts https URLs, and plain http only on loopback (the
    /// emulator). Refuses credentials, queries and fragments, which have no place in a base URL.
    pub fn parse(input: &str) -> Result<Self, OAuthError> {
        let bad = |why: &'static str| OAuthError::InvalidConfig(format!("login URL {why}"));
        let url = Url::parse(input.trim()).map_err(|_| bad("is not a valid absolute URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not contain credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not contain a query or fragment"));
        }
        let host = url.host().ok_or_else(|| bad("has no host"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err(bad("must use https (http is allowed only on loopback)")),
            _ => return Err(bad("must use https")),
        }
        let at_root = url.path() == "/" || url.path().is_empty();
        let default_port = url.port().is_none();
        if url.scheme() == "https"
            && at_root
            && default_port
            && let Host::Domain(d) = &host
        {
            let d = d.to_ascii_lowercase();
            if d == "login.salesforce.com" {
                return Ok(LoginHost::Production);
            }
            if d == "test.salesforce.com" {
                return Ok(LoginHost::Sandbox);
            }
            if d.ends_with(".my.salesforce.com") {
                return Ok(LoginHost::MyDomain(url));
            }
        }
        Ok(LoginHost::Custom(url))
    }

    /// The base URL every endpoint path is appended to.
    #[allow(
        clippy::expect_used,
        reason = "parses compile-time constant URLs, covered by the tests; no input reaches them"
    )]
    pub fn base_url(&self) -> Url {
        match self {
            // Constant literals, covered by the tests: no input reaches these parses.
            LoginHost::Production => Url::parse(PRODUCTION).expect("constant URL"),
            LoginHost::Sandbox => Url::parse(SANDBOX).expect("constant URL"),
            LoginHost::MyDomain(u) | LoginHost::Custom(u) => u.clone(),
        }
    }

    /// The URL of `endpoint` at this login host: `{base}/services/oauth2/{name}` for Salesforce.
    pub fn endpoint_url(&self, provider: &ProviderConfig, endpoint: Endpoint) -> Url {
        let mut url = self.base_url();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty();
            segments.extend(provider.path(endpoint).split('/'));
        }
        url
    }

    /// Whether an `instance_url` from a token response may receive this connection's tokens
    /// (RFC 9700 counterfeit resource server; issue 3). Salesforce login hosts accept https on
    /// port 443 under Salesforce's domains; a custom login host (the emulator) accepts only its
    /// own origin.
    pub fn allows_instance_url(&self, instance_url: &Url) -> bool {
        if !instance_url.username().is_empty() || instance_url.password().is_some() {
            return false;
        }
        match self {
            LoginHost::Custom(base) => base.origin() == instance_url.origin(),
            LoginHost::Production | LoginHost::Sandbox | LoginHost::MyDomain(_) => {
                let Some(Host::Domain(host)) = instance_url.host() else {
                    return false;
                };
                let host = host.to_ascii_lowercase();
                instance_url.scheme() == "https"
                    && instance_url.port().is_none()
                    // Each suffix starts with a dot, so a match is always on a label boundary.
                    && SALESFORCE_SUFFIXES.iter().any(|s| host.ends_with(s))
            }
        }
    }
}

/// Domains under which Salesforce serves orgs (docs/security.md §4).
const SALESFORCE_SUFFIXES: &[&str] = &[
    ".salesforce.com",
    ".force.com",
    ".salesforce.mil",
    ".cloudforce.com",
    ".my.site.com",
];

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// How the client authenticates at the token, revoke and introspect endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`). Salesforce's
    /// documented default.
    #[default]
    RequestBody,
    /// `Authorization: Basic base64(urlenc(id):urlenc(secret))` (`client_secret_basic`).
    BasicAuth,
}

/// One integration's OAuth client: the provider, its login host and the client credentials.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub provider: ProviderConfig,
    pub login: LoginHost,
    /// The consumer key. Not a secret: it appears in every authorize URL.
    pub client_id: String,
    /// The consumer secret, when the integration has one. Also used to verify `signature`.
    pub client_secret: Option<ClientSecret>,
    pub auth_method: ClientAuthMethod,
    /// Endpoints served from another origin than the login host (HubSpot authorizes at
    /// app.hubspot.com but issues tokens at api.hubapi.com); the path stays the provider's.
    pub endpoint_origins: Vec<(Endpoint, Url)>,
}

impl ClientConfig {
    /// A Salesforce client with the secret sent in the body.
    pub fn salesforce(
        login: LoginHost,
        client_id: impl Into<String>,
        client_secret: Option<ClientSecret>,
    ) -> Self {
        Self {
            provider: ProviderConfig::salesforce(),
            login,
            client_id: client_id.into(),
            client_secret,
            auth_method: ClientAuthMethod::RequestBody,
            endpoint_origins: Vec::new(),
        }
    }

    pub fn endpoint_url(&self, endpoint: Endpoint) -> Url {
        match self.endpoint_origins.iter().find(|(e, _)| *e == endpoint) {
            Some((_, origin)) => {
                LoginHost::Custom(origin.clone()).endpoint_url(&self.provider, endpoint)
            }
            None => self.login.endpoint_url(&self.provider, endpoint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn parses_known_hosts() {
        assert_eq!(
            LoginHost::parse("https://login.salesforce.com").ok(),
            Some(LoginHost::Production)
        );
        assert_eq!(
            LoginHost::parse("https://LOGIN.salesforce.com/").ok(),
            Some(LoginHost::Production)
        );
        assert_eq!(
            LoginHost::parse("https://test.salesforce.com/").ok(),
            Some(LoginHost::Sandbox)
        );
        assert!(matches!(
            LoginHost::parse("https://acme.my.salesforce.com"),
            Ok(LoginHost::MyDomain(_))
        ));
        assert!(matches!(
            LoginHost::parse("https://acme--dev.sandbox.my.salesforce.com"),
            Ok(LoginHost::MyDomain(_))
        ));
        assert!(matches!(
            LoginHost::parse("http://127.0.0.1:8080"),
            Ok(LoginHost::Custom(_))
        ));
        assert!(matches!(
            LoginHost::parse("http://[::1]:8080/login"),
            Ok(LoginHost::Custom(_))
        ));
        assert!(matches!(
            LoginHost::parse("http://localhost:9/test"),
            Ok(LoginHost::Custom(_))
        ));
    }

    #[test]
    fn refuses_unsafe_login_urls() {
        for bad in [
            "http://login.salesforce.com",
            "http://10.0.0.1",
            "ftp://login.salesforce.com",
            "https://user:pw@login.salesforce.com",
            "https://login.salesforce.com/?x=1",
            "https://login.salesforce.com/#f",
            "login.salesforce.com",
            "",
        ] {
            assert!(LoginHost::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn endpoint_urls() {
        let sf = ProviderConfig::salesforce();
        let ep = |host: &str, e| {
            LoginHost::parse(host)
                .expect("host")
                .endpoint_url(&sf, e)
                .to_string()
        };
        assert_eq!(
            ep("https://login.salesforce.com", Endpoint::Token),
            "https://login.salesforce.com/services/oauth2/token"
        );
        assert_eq!(
            ep("https://test.salesforce.com/", Endpoint::Authorize),
            "https://test.salesforce.com/services/oauth2/authorize"
        );
        assert_eq!(
            ep("https://acme.my.salesforce.com", Endpoint::Introspect),
            "https://acme.my.salesforce.com/services/oauth2/introspect"
        );
        assert_eq!(
            ep("http://127.0.0.1:4000", Endpoint::Revoke),
            "http://127.0.0.1:4000/services/oauth2/revoke"
        );
        assert_eq!(
            ep("http://127.0.0.1:4000/login", Endpoint::Userinfo),
            "http://127.0.0.1:4000/login/services/oauth2/userinfo"
        );
        assert_eq!(
            ep("http://127.0.0.1:4000/test/", Endpoint::Token),
            "http://127.0.0.1:4000/test/services/oauth2/token"
        );
    }

    #[test]
    fn instance_url_allow_list() {
        let prod = LoginHost::Production;
        assert!(prod.allows_instance_url(&url("https://acme.my.salesforce.com")));
        assert!(prod.allows_instance_url(&url("https://acme--dev.sandbox.my.salesforce.com/")));
        assert!(prod.allows_instance_url(&url("https://na1.force.com")));
        for bad in [
            "http://acme.my.salesforce.com",
            "https://evil.com",
            "https://x.salesforce.com.evil.com",
            "https://salesforce.com",
            "https://evilsalesforce.com",
            "https://10.0.0.5",
            "https://[::1]",
            "https://x.my.salesforce.com:8443",
            "https://u:p@x.my.salesforce.com",
        ] {
            assert!(
                !prod.allows_instance_url(&url(bad)),
                "{bad} should be refused"
            );
        }
        let emu = LoginHost::parse("http://127.0.0.1:4000/login").expect("emu");
        assert!(emu.allows_instance_url(&url("http://127.0.0.1:4000")));
        assert!(!emu.allows_instance_url(&url("http://127.0.0.1:4001")));
        assert!(!emu.allows_instance_url(&url("https://acme.my.salesforce.com")));
    }
}
