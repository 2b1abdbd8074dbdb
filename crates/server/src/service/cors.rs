//! Which browser origins may call an application's session-authenticated Vault endpoints
//! (Apideck's embeddable modal runs on the SaaS app's own origin). By default exactly the
//! origins of the application's registered redirect URIs: per tenant, with no new setting.
//! Extra origins are a per-application list set through the CLI, the admin API or the console.
//! `*` is never an answer, and only session calls ever get an allow header: API-key calls are
//! server-to-server and must not be made readable to a page.

use patchbay_core::ApplicationId;
use url::Url;

use super::Vault;
use crate::error::{Error, Result};

const MAX_CORS_ORIGINS: usize = 50;

/// The serialized origin (`scheme://host[:port]`) of a URL, when it has one.
pub fn origin_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    match url.origin() {
        o @ url::Origin::Tuple(..) => Some(o.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Validates extra origins and returns them normalized. Each must be exactly an origin (no
/// path, query or credentials), https or loopback http; wildcards are refused.
pub fn validate_cors_origins(origins: &[String]) -> Result<Vec<String>> {
    if origins.len() > MAX_CORS_ORIGINS {
        return Err(Error::validation(format!(
            "at most {MAX_CORS_ORIGINS} CORS origins"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(origins.len());
    for raw in origins {
        let origin = validate_origin(raw.trim())?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    Ok(out)
}

fn validate_origin(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::validation(format!("CORS origin {why}"));
    if raw.contains('*') {
        return Err(bad("must not be a wildcard: name each origin"));
    }
    if raw.len() > 300 {
        return Err(bad("is too long"));
    }
    let url = Url::parse(raw).map_err(|_| bad("must look like https://app.example.com"))?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err(bad("must be scheme://host[:port] with nothing after it"));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("must use https (http only on localhost)")),
    }
    origin_of(raw).ok_or_else(|| bad("has no origin"))
}

/// The origins a page may call from: the redirect URIs' origins, then the extra ones.
pub fn allowed_origins(redirect_uris: &[String], extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for o in redirect_uris
        .iter()
        .filter_map(|u| origin_of(u))
        .chain(extra.iter().cloned())
    {
        if !out.contains(&o) {
            out.push(o);
        }
    }
    out
}

impl Vault {
    /// The application's extra CORS origins (not those from its redirect URIs).
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn cors_origins(&self, app: &ApplicationId) -> Result<Vec<String>> {
        self.store()
            .get_cors_origins(app)
            .await?
            .ok_or(Error::NotFound {
                entity: "application",
            })
    }

    /// Replaces the application's extra CORS origins (validated, audited).
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn set_cors_origins(
        &self,
        app: &ApplicationId,
        origins: &[String],
    ) -> Result<Vec<String>> {
        let origins = validate_cors_origins(origins)?;
        if self.cors_origins(app).await? == origins {
            return Ok(origins);
        }
        if !self
            .store()
            .set_cors_origins(app, &origins, self.now_ms())
            .await?
        {
            return Err(Error::NotFound {
                entity: "application",
            });
        }
        self.audit_admin(
            app,
            "application.update",
            app.as_str(),
            serde_json::json!({ "cors_origins": origins }),
        )
        .await?;
        Ok(origins)
    }

    /// Every origin the application's pages may call from.
    #[tracing::instrument(skip_all, fields(app = %app))]
    pub async fn allowed_origins(&self, app: &ApplicationId) -> Result<Vec<String>> {
        let application = self.get_application(app).await?;
        let extra = self.cors_origins(app).await?;
        Ok(allowed_origins(&application.redirect_uris, &extra))
    }

    /// Whether any application allows `origin`. A preflight carries no credentials and no
    /// header values, so it cannot name its application; it is answered for an origin some
    /// application registered, and the real call's answer is then checked per application.
    pub async fn origin_registered(&self, origin: &str) -> bool {
        match self.store().list_cors_sources().await {
            Ok(rows) => rows
                .iter()
                .any(|(uris, extra)| allowed_origins(uris, extra).iter().any(|o| o == origin)),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the CORS origins");
                false
            }
        }
    }

    /// Whether `origin` may read the answer to a session call of `app`.
    pub async fn origin_allowed(&self, app: &ApplicationId, origin: &str) -> bool {
        match self.allowed_origins(app).await {
            Ok(list) => list.iter().any(|o| o == origin),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the CORS origins");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_never_wildcards() {
        let ok = |s: &str| validate_cors_origins(&[s.to_owned()]).ok();
        assert_eq!(
            ok("https://app.example.com"),
            Some(vec!["https://app.example.com".to_owned()])
        );
        assert_eq!(
            ok("https://app.example.com/"),
            Some(vec!["https://app.example.com".to_owned()])
        );
        assert_eq!(
            ok("http://localhost:3000"),
            Some(vec!["http://localhost:3000".to_owned()])
        );
        assert_eq!(
            ok("HTTPS://App.Example.com:443"),
            Some(vec!["https://app.example.com".to_owned()])
        );
        for bad in [
            "*",
            "https://*.example.com",
            "http://app.example.com",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://u@app.example.com",
            "null",
            "app.example.com",
            "",
        ] {
            assert!(ok(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn redirect_uri_origins_come_first_without_duplicates() {
        let got = allowed_origins(
            &[
                "https://app.example.com/integrations/done".to_owned(),
                "https://app.example.com/other".to_owned(),
                "http://127.0.0.1:9/cb".to_owned(),
            ],
            &[
                "https://app.example.com".to_owned(),
                "https://admin.example.com".to_owned(),
            ],
        );
        assert_eq!(
            got,
            vec![
                "https://app.example.com",
                "http://127.0.0.1:9",
                "https://admin.example.com"
            ]
        );
    }
}
