//! An integration's login URL: the origin its OAuth endpoints are derived from. Provider-neutral:
//! which hosts a provider accepts, and where its tokens may later go, is the connector's rule
//! (`Connector::check_login_url`, `Connector::check_instance_url`). The authorization code is
//! redeemed here, so the value is parsed with a real URL parser and must be an origin only.

use std::fmt;

use url::Url;

/// Why a login URL is refused.
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
}

/// A validated login URL: an http(s) origin, serialised without a trailing slash.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginOrigin {
    origin: String,
}

impl fmt::Debug for LoginOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginOrigin({})", self.origin)
    }
}

impl fmt::Display for LoginOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)
    }
}

impl LoginOrigin {
    /// Parses a login URL. A trailing `/` is accepted; any other path is not, because OAuth
    /// endpoints are derived from the origin.
    pub fn parse(raw: &str) -> Result<Self, LoginUrlError> {
        let url = Url::parse(raw).map_err(|_| LoginUrlError::Unparsable)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LoginUrlError::UnsupportedScheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(LoginUrlError::HasUserinfo);
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(LoginUrlError::NotAnOrigin);
        }
        if url.host().is_none() {
            return Err(LoginUrlError::Unparsable);
        }
        Ok(Self {
            origin: url.origin().ascii_serialization(),
        })
    }

    /// A connector's compiled-in default login origin, built without a fallible parse; each
    /// connector's tests check that [`LoginOrigin::parse`] gives the same value.
    pub fn from_constant(origin: &'static str) -> Self {
        Self {
            origin: origin.to_owned(),
        }
    }

    /// The origin without trailing slash, e.g. `https://login.example.com`.
    pub fn as_str(&self) -> &str {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_only() {
        for (raw, want) in [
            ("https://login.example.com", "https://login.example.com"),
            ("https://LOGIN.Example.COM/", "https://login.example.com"),
            ("http://127.0.0.1:8443", "http://127.0.0.1:8443"),
            ("http://[::1]:8080/", "http://[::1]:8080"),
            ("https://login.example.com:443", "https://login.example.com"),
        ] {
            assert_eq!(LoginOrigin::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        for (raw, err) in [
            ("not a url", LoginUrlError::Unparsable),
            ("ftp://login.example.com", LoginUrlError::UnsupportedScheme),
            ("javascript:alert(1)", LoginUrlError::UnsupportedScheme),
            ("https://u:p@login.example.com", LoginUrlError::HasUserinfo),
            ("https://login.example.com/path", LoginUrlError::NotAnOrigin),
            ("https://login.example.com/?q=1", LoginUrlError::NotAnOrigin),
            ("https://login.example.com/#f", LoginUrlError::NotAnOrigin),
        ] {
            assert_eq!(LoginOrigin::parse(raw), Err(err), "{raw}");
        }
    }
}
