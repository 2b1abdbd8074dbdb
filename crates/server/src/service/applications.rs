//! Applications (tenants): create (with a first API key, shown once), list, show, update (name
//! and the redirect-URI allow-list for where consumers return after connecting).

use patchbay_core::ApplicationId;
use patchbay_store::{ApplicationRow, NewApplication};
use url::{Host, Url};

use super::Vault;
use super::api_keys::{CreatedApiKey, Scope};
use crate::error::{Error, Result};

/// A new application and its first API key. The key's plaintext exists only here.
#[derive(Debug)]
pub struct CreatedApplication {
    pub application: ApplicationRow,
    pub api_key: CreatedApiKey,
}

const MAX_NAME: usize = 200;
const MAX_REDIRECT_URIS: usize = 50;

impl Vault {
    /// Creates an application with `redirect_uris` as its allow-list, and a first API key with
    /// the default scopes.
    #[tracing::instrument(skip_all)]
    pub async fn create_application(
        &self,
        name: &str,
        redirect_uris: &[String],
    ) -> Result<CreatedApplication> {
        let name = validate_name(name)?;
        let redirect_uris = validate_redirect_uris(redirect_uris)?;
        let new = NewApplication {
            id: ApplicationId::generate(),
            name,
            redirect_uris,
            now_ms: self.now_ms(),
        };
        let application = self.store().create_application(&new).await?;
        let api_key = self
            .create_api_key(&application.id, "default", Scope::DEFAULT)
            .await?;
        self.audit_admin(
            &application.id,
            "application.create",
            application.id.as_str(),
            serde_json::json!({}),
        )
        .await?;
        Ok(CreatedApplication {
            application,
            api_key,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_applications(&self) -> Result<Vec<ApplicationRow>> {
        Ok(self.store().list_applications().await?)
    }

    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn get_application(&self, id: &ApplicationId) -> Result<ApplicationRow> {
        self.store()
            .get_application(id)
            .await?
            .ok_or(Error::NotFound {
                entity: "application",
            })
    }

    /// Replaces the redirect-URI allow-list.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn set_redirect_uris(
        &self,
        id: &ApplicationId,
        redirect_uris: &[String],
    ) -> Result<ApplicationRow> {
        self.update_application(id, None, Some(redirect_uris)).await
    }

    /// Changes an application's name and/or replaces its redirect-URI allow-list (`None`
    /// keeps a field). Validated as at creation, and written to the audit log with the new
    /// values of what changed.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn update_application(
        &self,
        id: &ApplicationId,
        name: Option<&str>,
        redirect_uris: Option<&[String]>,
    ) -> Result<ApplicationRow> {
        let app = self.get_application(id).await?;
        let name = match name {
            Some(n) => validate_name(n)?,
            None => app.name.clone(),
        };
        let uris = match redirect_uris {
            Some(u) => validate_redirect_uris(u)?,
            None => app.redirect_uris.clone(),
        };
        let mut changed = serde_json::Map::new();
        if name != app.name {
            changed.insert("name".to_owned(), name.clone().into());
        }
        if uris != app.redirect_uris {
            changed.insert("redirect_uris".to_owned(), uris.clone().into());
        }
        if changed.is_empty() {
            return Ok(app);
        }
        let updated = self
            .store()
            .update_application(id, &name, &uris, self.now_ms())
            .await?
            .ok_or(Error::NotFound {
                entity: "application",
            })?;
        self.audit_admin(
            id,
            "application.update",
            id.as_str(),
            serde_json::Value::Object(changed),
        )
        .await?;
        Ok(updated)
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::validation(format!(
            "name must be 1..={MAX_NAME} characters"
        )));
    }
    Ok(name.to_owned())
}

/// The `OAuthRedirectUriError` for a `redirect_uri` that is not on `app`'s allow-list: it
/// says how to add it. The URI is the caller's own input and is echoed only when it is short.
pub(crate) fn redirect_uri_not_allowed(app: &ApplicationId, uri: &str) -> Error {
    let uri = if uri.len() <= 300 && !uri.chars().any(char::is_control) {
        uri
    } else {
        "URI"
    };
    Error::OAuthRedirectUri(format!(
        "redirect_uri is not on the allow-list of application {app}. Add it with \
         `patchbay apps update --app {app} --redirect-uri {uri}` (the list is replaced: repeat \
         --redirect-uri for every URI to keep; `patchbay apps list` shows them) or in the admin \
         console on the application's page (/admin/apps/{app})."
    ))
}

/// Redirect URIs are compared by exact string later, so they are validated and kept verbatim:
/// absolute, no fragment, no userinfo, https (http only for loopback during development).
pub fn validate_redirect_uris(uris: &[String]) -> Result<Vec<String>> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(Error::validation(format!(
            "at most {MAX_REDIRECT_URIS} redirect URIs"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for raw in uris {
        check_redirect_uri(raw)?;
        if !out.contains(raw) {
            out.push(raw.clone());
        }
    }
    Ok(out)
}

fn check_redirect_uri(raw: &str) -> Result<()> {
    let bad = |why: &str| Error::validation(format!("redirect URI {why}"));
    if raw.len() > 2048 {
        return Err(bad("is too long"));
    }
    let url = Url::parse(raw).map_err(|_| bad("is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(bad("must not contain a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not contain a user name or password"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url.host()) => Ok(()),
        _ => Err(bad("must use https (http only on localhost)")),
    }
}

fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        let ok = |s: &str| validate_redirect_uris(&[s.to_owned()]).is_ok();
        assert!(ok("https://app.example.com/integrations"));
        assert!(ok("http://localhost:3000/cb"));
        assert!(ok("http://127.0.0.1:3000/cb?x=1"));
        assert!(!ok("http://app.example.com/cb"));
        assert!(!ok("https://app.example.com/cb#frag"));
        assert!(!ok("https://user@app.example.com/cb"));
        assert!(!ok("javascript:alert(1)"));
        assert!(!ok("//evil.example"));
        assert!(!ok("/relative"));
    }
}
