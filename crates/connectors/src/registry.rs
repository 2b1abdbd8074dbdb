//! The registry: which connectors this build serves, picked by `service_id`. The server asks
//! here and never names a provider; adding a CRM adds one line to [`CONNECTORS`].

use crate::connector::Connector;
use crate::hubspot::HubSpot;
use crate::salesforce::Salesforce;

/// Every connector, in catalogue order.
pub static CONNECTORS: &[&dyn Connector] = &[&Salesforce, &HubSpot];

/// The connector serving `service_id`, if any.
pub fn connector(service_id: &str) -> Option<&'static dyn Connector> {
    CONNECTORS
        .iter()
        .copied()
        .find(|c| c.service_id() == service_id)
}

/// Every connector.
pub fn all() -> impl Iterator<Item = &'static dyn Connector> {
    CONNECTORS.iter().copied()
}

/// The connector a request without `x-apideck-service-id` means when the consumer has no
/// connection to choose from: the first registered one.
pub fn default_connector() -> &'static dyn Connector {
    CONNECTORS[0]
}

/// Whether `host` (lowercase, without a trailing dot) lies under a domain some connector's
/// provider operates: such names must resolve to public addresses before a token goes there.
pub fn is_provider_host(host: &str) -> bool {
    all().any(|c| {
        c.provider_domains()
            .iter()
            .any(|suffix| host.ends_with(suffix) || Some(host) == suffix.strip_prefix('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_are_unique_and_found() {
        for c in all() {
            assert_eq!(
                connector(c.service_id()).map(|f| f.service_id()),
                Some(c.service_id())
            );
            assert_eq!(
                all().filter(|o| o.service_id() == c.service_id()).count(),
                1
            );
            for d in c.provider_domains() {
                assert!(d.starts_with('.'), "{d} must start with a dot");
            }
        }
        assert!(connector("nope").is_none());
    }

    #[test]
    fn every_default_setting_is_what_the_parsers_make_of_it() {
        for c in all() {
            let s = c.default_settings();
            let scopes = c.oauth_provider().default_scopes.join(" ");
            assert_eq!(
                patchbay_core::LoginOrigin::parse(c.default_login_url()).as_ref(),
                Ok(&s.login_host),
                "{}",
                c.service_id()
            );
            assert_eq!(
                patchbay_core::Scopes::parse(&scopes).as_ref(),
                Ok(&s.scopes),
                "{}",
                c.service_id()
            );
            assert!(s.session_timeout_s > 0, "{}", c.service_id());
            assert!(!s.send_secret_on_refresh);
        }
        let hubspot = connector("hubspot").map(|c| c.default_settings());
        assert_eq!(
            hubspot.map(|s| (s.pkce, s.session_timeout_s)),
            Some((false, 1800))
        );
        let salesforce = connector("salesforce").map(|c| c.default_settings());
        assert_eq!(
            salesforce.map(|s| (s.pkce, s.session_timeout_s)),
            Some((true, 7200))
        );
    }

    #[test]
    fn provider_hosts_match_on_label_boundaries() {
        for c in all() {
            for d in c.provider_domains() {
                let bare = &d[1..];
                assert!(is_provider_host(bare));
                assert!(is_provider_host(&format!("x{d}")));
                assert!(!is_provider_host(&format!("{bare}.evil.example")));
                assert!(!is_provider_host(&format!("evil{bare}")));
            }
        }
    }
}
