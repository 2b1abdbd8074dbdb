//! Salesforce login hosts and the `instance_url` allow-list: Salesforce's own rule (production,
//! sandbox, My Domain; instances under `salesforce.com` and `force.com`), so it lives in the
//! Salesforce connector. Core keeps only the provider-neutral [`patchbay_core::LoginOrigin`].
//!
//! The authorization code is redeemed at the login host, and the `instance_url` from the token
//! response decides where the access token is later sent. An attacker who controls either can
//! steal tokens, so both are parsed with a real URL parser and checked against exact rules.

use std::fmt;

use url::{Host, Url};

pub const PRODUCTION_HOST: &str = "login.salesforce.com";
pub const SANDBOX_HOST: &str = "test.salesforce.com";
const MY_DOMAIN_SUFFIX: &str = ".my.salesforce.com";
/// Domains whose subdomains Salesforce operates and may return as `instance_url`.
const INSTANCE_SUFFIXES: [&str; 2] = [".salesforce.com", ".force.com"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginHostKind {
    /// `https://login.salesforce.com`
    Production,
    /// `https://test.salesforce.com`
    Sandbox,
    /// `https://X.my.salesforce.com`, including `X--sbx.sandbox.my.salesforce.com`.
    MyDomain,
    /// Anything else, e.g. the emulator on `http://127.0.0.1:PORT`.
    Custom,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginUrlError {
    #[error("login URL is not a valid absolute URL")]
    Unparsable,
    #[error("login URL must use http or https")]
    UnsupportedScheme,
    #[error("login URL must not contain a user name or password")]
    HasUserinfo,
    #[error("login URL must be an origin only, without path, query or fragment")]
    NotAnOrigin,
    #[error("Salesforce login URLs must use https on the default port")]
    InsecureSalesforce,
}

impl From<patchbay_core::LoginUrlError> for LoginUrlError {
    fn from(e: patchbay_core::LoginUrlError) -> Self {
        use patchbay_core::LoginUrlError as Core;
        match e {
            Core::Unparsable => Self::Unparsable,
            Core::UnsupportedScheme => Self::UnsupportedScheme,
            Core::HasUserinfo => Self::HasUserinfo,
            Core::NotAnOrigin => Self::NotAnOrigin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstanceUrlError {
    #[error("instance_url is not a valid absolute URL")]
    Unparsable,
    #[error("instance_url must use https")]
    NotHttps,
    #[error("instance_url must not contain a user name or password")]
    HasUserinfo,
    #[error("instance_url must be an origin only, without path, query or fragment")]
    NotAnOrigin,
    #[error("instance_url must not name a port")]
    HasPort,
    #[error("instance_url must be a host name, not an IP address")]
    IpLiteral,
    #[error("instance_url is not a Salesforce host")]
    HostNotAllowed,
    #[error("instance_url is not on the login host's origin")]
    OriginMismatch,
}

/// A validated login host: an origin plus its classification.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginHost {
    kind: LoginHostKind,
    /// Origin serialisation without trailing slash, e.g. `https://login.salesforce.com`.
    origin: String,
    url: Url,
}

impl fmt::Debug for LoginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginHost({:?}, {})", self.kind, self.origin)
    }
}

impl fmt::Display for LoginHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

impl LoginHost {
    pub fn production() -> Self {
        Self::salesforce(LoginHostKind::Production, PRODUCTION_HOST)
    }

    pub fn sandbox() -> Self {
        Self::salesforce(LoginHostKind::Sandbox, SANDBOX_HOST)
    }

    fn salesforce(kind: LoginHostKind, host: &str) -> Self {
        let origin = format!("https://{host}");
        // A constant origin: no input reaches this parse.
        #[allow(clippy::expect_used, reason = "constant input")]
        let url = Url::parse(&origin).expect("constant Salesforce origin parses");
        Self { kind, origin, url }
    }

    /// Parses and classifies a login URL. A trailing `/` is accepted; any other path is not,
    /// because OAuth endpoints are derived from the origin.
    pub fn parse(raw: &str) -> Result<Self, LoginUrlError> {
        // The provider-neutral origin rules are core's; only the classification is Salesforce's.
        patchbay_core::LoginOrigin::parse(raw)?;
        let url = Url::parse(raw).map_err(|_| LoginUrlError::Unparsable)?;
        let kind = match url.host() {
            Some(Host::Domain(d)) if d == PRODUCTION_HOST => LoginHostKind::Production,
            Some(Host::Domain(d)) if d == SANDBOX_HOST => LoginHostKind::Sandbox,
            Some(Host::Domain(d)) if has_subdomain_of(d, MY_DOMAIN_SUFFIX) => {
                LoginHostKind::MyDomain
            }
            Some(_) => LoginHostKind::Custom,
            None => return Err(LoginUrlError::Unparsable),
        };
        if kind != LoginHostKind::Custom && (url.scheme() != "https" || url.port().is_some()) {
            return Err(LoginUrlError::InsecureSalesforce);
        }
        let origin = url.origin().ascii_serialization();
        Ok(Self { kind, origin, url })
    }

    pub fn kind(&self) -> LoginHostKind {
        self.kind
    }

    /// The origin without trailing slash, e.g. `https://test.salesforce.com`.
    pub fn as_str(&self) -> &str {
        &self.origin
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn is_salesforce(&self) -> bool {
        self.kind != LoginHostKind::Custom
    }

    /// Checks an `instance_url` from a token response and returns its normalised origin
    /// (what should be stored).
    ///
    /// For real Salesforce login hosts only https subdomains of `salesforce.com` or
    /// `force.com` pass (this covers `*.my.salesforce.com` and `*.sandbox.my.salesforce.com`).
    /// For a custom login host (the emulator) only the login host's own origin passes.
    pub fn check_instance_url(&self, raw: &str) -> Result<String, InstanceUrlError> {
        let url = Url::parse(raw).map_err(|_| InstanceUrlError::Unparsable)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InstanceUrlError::HasUserinfo);
        }
        if !is_bare_origin(&url) {
            return Err(InstanceUrlError::NotAnOrigin);
        }
        if self.kind == LoginHostKind::Custom {
            if url.origin() != self.url.origin() {
                return Err(InstanceUrlError::OriginMismatch);
            }
            return Ok(url.origin().ascii_serialization());
        }
        if url.scheme() != "https" {
            return Err(InstanceUrlError::NotHttps);
        }
        if url.port().is_some() {
            return Err(InstanceUrlError::HasPort);
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d,
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(InstanceUrlError::IpLiteral),
            None => return Err(InstanceUrlError::Unparsable),
        };
        if !INSTANCE_SUFFIXES.iter().any(|s| has_subdomain_of(host, s)) {
            return Err(InstanceUrlError::HostNotAllowed);
        }
        Ok(url.origin().ascii_serialization())
    }
}

/// `instance_url_allowed(login, url)`: the yes/no form of [`LoginHost::check_instance_url`].
pub fn instance_url_allowed(login: &LoginHost, instance_url: &str) -> bool {
    login.check_instance_url(instance_url).is_ok()
}

fn is_bare_origin(url: &Url) -> bool {
    matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none()
}

/// True when `host` is `<labels>` + `suffix` with at least one well-formed DNS label in front.
/// `host` comes from the URL parser, so it is already lowercase and IDNA-mapped.
fn has_subdomain_of(host: &str, suffix: &str) -> bool {
    let Some(prefix) = host.strip_suffix(suffix) else {
        return false;
    };
    !prefix.is_empty() && prefix.split('.').all(is_dns_label)
}

fn is_dns_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
#[path = "login_host_tests.rs"]
mod tests;
