//! OAuth scopes: a set of scope tokens, parsed from and written as a space-separated string.

use std::collections::BTreeSet;
use std::fmt;

/// A set of scopes. Order does not matter to OAuth, so it is kept sorted for stable output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Parses a space-separated list (RFC 6749 §3.3). Extra whitespace is ignored.
    pub fn parse(s: &str) -> Self {
        Scopes(s.split_ascii_whitespace().map(str::to_owned).collect())
    }

    pub fn from_list<I, S>(items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Scopes(
            items
                .into_iter()
                .flat_map(|s| {
                    s.as_ref()
                        .split_ascii_whitespace()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect(),
        )
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The scopes in `self` that `granted` lacks.
    ///
    /// Salesforce grants `offline_access` as `refresh_token` (they are aliases: "Perform requests
    /// at any time"), so either one satisfies a request for the other.
    pub fn missing_from(&self, granted: &Scopes) -> Vec<String> {
        let offline = |s: &str| s == "refresh_token" || s == "offline_access";
        let granted_offline = granted.iter().any(offline);
        self.iter()
            .filter(|s| !(granted.contains(s) || offline(s) && granted_offline))
            .map(str::to_owned)
            .collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let s = Scopes::parse("  refresh_token id   api ");
        assert_eq!(s.to_string(), "api id refresh_token");
        assert!(s.contains("id"));
        assert!(Scopes::parse("").is_empty());
        assert_eq!(
            Scopes::from_list(["api", "openid email"]).to_string(),
            "api email openid"
        );
    }

    #[test]
    fn missing_scopes() {
        let requested = Scopes::parse("api refresh_token offline_access openid");
        assert!(
            requested
                .missing_from(&Scopes::parse("refresh_token openid api"))
                .is_empty()
        );
        assert_eq!(
            requested.missing_from(&Scopes::parse("api")),
            vec![
                "offline_access".to_owned(),
                "openid".to_owned(),
                "refresh_token".to_owned()
            ]
        );
        assert_eq!(
            requested.missing_from(&Scopes::parse("offline_access api")),
            vec!["openid".to_owned()]
        );
    }
}
