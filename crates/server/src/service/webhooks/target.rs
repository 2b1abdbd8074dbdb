//! Where deliveries may go: the proxy's SSRF rules (docs/security.md, `proxy::is_public_ip`)
//! applied to delivery URLs. A host resolving to a private, loopback, link-local or reserved
//! address is refused unless it is listed, by exact name, in `--webhook-allowed-hosts`
//! (receivers inside a company's own network). The rule is checked when a subscription is
//! saved and again by the resolver of every delivery, so DNS cannot move a receiver inward
//! later; redirects are never followed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use url::Url;

use crate::error::{Error, Result};
use crate::service::proxy::is_public_ip;

/// Checks a delivery URL's form and, for IP literals, its address. Names are checked when
/// resolved ([`GuardedResolver`]).
pub fn check_delivery_url(raw: &str, allowed_hosts: &[String]) -> Result<Url> {
    if raw.len() > 2048 {
        return Err(Error::validation("delivery_url is too long"));
    }
    let url = Url::parse(raw)
        .map_err(|_| Error::validation("delivery_url must be an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::validation("delivery_url must use http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::validation(
            "delivery_url must not carry credentials; the signatures authenticate deliveries",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| Error::validation("delivery_url has no host"))?;
    if allowed(host, allowed_hosts) {
        return Ok(url);
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>()
        && !is_public_ip(ip)
    {
        return Err(private(host));
    }
    // A trailing dot names the same host (`localhost.` is the fully qualified `localhost`).
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Err(private(host));
    }
    Ok(url)
}

/// Resolves a checked URL's host now, so a name that only points inward is refused when the
/// subscription is saved rather than at its first delivery.
#[tracing::instrument(skip_all)]
pub async fn check_resolves_publicly(url: &Url, allowed_hosts: &[String]) -> Result<()> {
    let Some(host) = url.host_str() else {
        return Err(Error::validation("delivery_url has no host"));
    };
    if allowed(host, allowed_hosts) || host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let Ok(addrs) = tokio::net::lookup_host((host, port)).await else {
        // An unknown name is the validation event's problem (it fails and disables the
        // subscription), not a reason to refuse the request.
        return Ok(());
    };
    let addrs: Vec<SocketAddr> = addrs.collect();
    if !addrs.is_empty() && addrs.iter().all(|a| !is_public_ip(a.ip())) {
        return Err(private(host));
    }
    Ok(())
}

fn allowed(host: &str, allowed_hosts: &[String]) -> bool {
    allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

fn private(host: &str) -> Error {
    Error::validation(format!(
        "delivery_url host {host} is private or loopback; list it in --webhook-allowed-hosts (PATCHBAY_WEBHOOK_ALLOWED_HOSTS) to deliver inside your own network"
    ))
}

/// DNS for deliveries: only public addresses, unless the name is allowed.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allowed_hosts: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let trusted = allowed(&host, &self.allowed_hosts);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| trusted || is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(PrivateReceiver) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the delivery host resolves only to private or reserved addresses")]
struct PrivateReceiver;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_receivers_need_the_allow_list() {
        let none: Vec<String> = Vec::new();
        for bad in [
            "http://127.0.0.1:9/x",
            "http://10.0.0.5/x",
            "http://169.254.169.254/latest",
            "http://[::1]:80/",
            "http://localhost:8080/",
            "http://localhost./",
            "http://api.localhost../",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(check_delivery_url(bad, &none).is_err(), "{bad}");
        }
        assert!(check_delivery_url("https://hooks.example.com/in", &none).is_ok());
        let allow = vec!["127.0.0.1".to_owned(), "LOCALHOST".to_owned()];
        assert!(check_delivery_url("http://127.0.0.1:9/x", &allow).is_ok());
        assert!(check_delivery_url("http://localhost:9/x", &allow).is_ok());
        assert!(check_delivery_url("http://10.0.0.5/x", &allow).is_err());
    }
}
