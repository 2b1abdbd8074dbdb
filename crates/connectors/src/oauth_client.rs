//! The OAuth client a connector's integration uses, built in one place so that the server's
//! connect flow and the refresh coordinator talk to the same endpoints: the connector's paths,
//! each endpoint at the origin the connector names for it (HubSpot authorizes on
//! app.hubspot.com and issues tokens on api.hubapi.com), the client secret in the form body.

use patchbay_oauth::{
    ClientAuthMethod, ClientConfig, ClientSecret, Endpoint, LoginHost, OAuthError,
};

use crate::connector::Connector;

const ENDPOINTS: [Endpoint; 5] = [
    Endpoint::Authorize,
    Endpoint::Token,
    Endpoint::Revoke,
    Endpoint::Introspect,
    Endpoint::Userinfo,
];

/// The OAuth client of an integration of `connector` whose login URL is `login_url`.
pub fn oauth_client(
    connector: &dyn Connector,
    login_url: &str,
    client_id: impl Into<String>,
    client_secret: Option<ClientSecret>,
) -> Result<ClientConfig, OAuthError> {
    let login = LoginHost::parse(login_url)?;
    let mut endpoint_origins = Vec::new();
    for endpoint in ENDPOINTS {
        if let Some(origin) = connector.oauth_endpoint_origin(endpoint, login_url) {
            endpoint_origins.push((endpoint, LoginHost::parse(origin)?.base_url()));
        }
    }
    Ok(ClientConfig {
        provider: connector.oauth_provider(),
        login,
        client_id: client_id.into(),
        client_secret,
        auth_method: ClientAuthMethod::RequestBody,
        endpoint_origins,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    fn url_of(service: &str, login: &str, e: Endpoint) -> String {
        let c = registry::connector(service).expect("registered");
        oauth_client(c, login, "id", None)
            .expect("client")
            .endpoint_url(e)
            .to_string()
    }

    #[test]
    fn hubspot_splits_authorize_and_token_hosts_but_an_emulator_serves_both() {
        let hs = "https://app.hubspot.com";
        assert_eq!(
            url_of("hubspot", hs, Endpoint::Authorize),
            "https://app.hubspot.com/oauth/authorize"
        );
        assert_eq!(
            url_of("hubspot", hs, Endpoint::Token),
            "https://api.hubapi.com/oauth/v1/token"
        );
        let emu = "http://127.0.0.1:4000";
        assert_eq!(
            url_of("hubspot", emu, Endpoint::Token),
            "http://127.0.0.1:4000/oauth/v1/token"
        );
        assert_eq!(
            url_of("hubspot", emu, Endpoint::Authorize),
            "http://127.0.0.1:4000/oauth/authorize"
        );
    }

    #[test]
    fn salesforce_serves_every_endpoint_from_its_login_host() {
        let sf = "https://login.salesforce.com";
        assert_eq!(
            url_of("salesforce", sf, Endpoint::Token),
            "https://login.salesforce.com/services/oauth2/token"
        );
        assert_eq!(
            url_of("salesforce", sf, Endpoint::Authorize),
            "https://login.salesforce.com/services/oauth2/authorize"
        );
    }
}
