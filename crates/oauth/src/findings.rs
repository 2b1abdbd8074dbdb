//! The one table of "Test Vault" texts: for every [`Finding`], the check it belongs to, whether it
//! passed, the message, and the fix naming the setting to change (README.md, "Test Vault:
//! diagnostics that name the fix"). Placeholders in braces are filled by
//! [`crate::diagnose::render`]; `{provider}` is the connector's display name and `{client_id}`
//! its name for the client id. The fixes were written for Salesforce (the first connector); a
//! connector whose settings differ supplies its own wording for a finding as a [`FindingText`]
//! (through `patchbay_connectors::connector::Diagnostics`), which `render` prefers.

use crate::diagnose::Check;

/// Every distinct situation the diagnostics can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    RefreshNeedsSecret,
    WrongClientCredentials,
    SignatureMismatch,
    AppNotActive,
    PkceMissing,
    PkceVerifierRejected,
    CodeExpired,
    GrantExpired,
    GrantRejected,
    InactiveUserOrOrg,
    RedirectUriMismatch,
    AccessDenied,
    InvalidScope,
    ScopesMissing,
    FlowNotEnabled,
    WrongLoginHost,
    RateLimited,
    Unreachable,
    ProviderUnavailable,
    PatchbayConfig,
    IntrospectionInactive,
    Unknown,
    // Passing outcomes.
    LoginHostOk,
    ClientIdOk,
    ScopesOk,
    IntrospectionOk,
    RotationOn,
    RotationOff,
    RefreshWithoutSecretOk,
}

/// A connector's own wording for one finding: `None` keeps the table's text. Same
/// placeholders as the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingText {
    pub finding: Finding,
    pub message: Option<&'static str>,
    pub fix: Option<&'static str>,
}

/// Where an External Client App's settings are edited (the default `{app}`).
pub(crate) const APP: &str = "Setup > App Manager > your External Client App > Edit";

type Row = (Check, bool, &'static str, Option<&'static str>);

fn fail(check: Check, message: &'static str, fix: &'static str) -> Row {
    (check, false, message, Some(fix))
}

fn pass(check: Check, message: &'static str) -> Row {
    (check, true, message, None)
}

/// The table. `{app}` expands to [`APP`].
#[rustfmt::skip]
pub(crate) fn entry(f: Finding) -> Row {
    use Check as C;
    use Finding as F;
    match f {
        F::RefreshNeedsSecret => fail(C::RefreshWithoutSecret,
            "Token refresh without the client secret was refused ({error}): the app requires the secret for refresh.",
            "{app} > Security: uncheck 'Require Secret for Refresh Token Flow' (or enable 'Send client secret on refresh' in Patchbay)."),
        F::WrongClientCredentials => fail(C::ClientSecret,
            "{provider} refused the client credentials ({error}{description}).",
            "Copy the Consumer Key and Secret again (your External Client App > Settings > OAuth Settings > Consumer Key and Secret) and update the integration in Patchbay. After a Connected App is migrated to an External Client App the key and secret are new: enter the new ones."),
        F::SignatureMismatch => fail(C::ClientSecret,
            "The token response signature does not match the consumer secret configured in Patchbay.",
            "Copy the Consumer Secret again (your External Client App > Settings > OAuth Settings > Consumer Key and Secret) and update the integration in Patchbay."),
        F::AppNotActive => fail(C::ClientId,
            "{provider} does not recognise the {client_id} ({error}{description}).",
            "The app is not active yet: wait up to 10 minutes after creating or editing the External Client App, then retry. If it persists, the consumer key is wrong: copy it again from Settings > OAuth Settings > Consumer Key and Secret."),
        F::PkceMissing => fail(C::Pkce,
            "{provider} requires PKCE and received no code challenge ({error}{description}).",
            "{app} > Security: make sure 'Require Proof Key for Code Exchange (PKCE) Extension for Supported Authorization Flows' is checked, and that the authorize link reaches {provider} unmodified (Patchbay always sends code_challenge with S256)."),
        F::PkceVerifierRejected => fail(C::Pkce,
            "{provider} rejected the PKCE code verifier ({error}{description}).",
            "Start the connection again from a fresh authorize link, and do not reuse or edit callback URLs."),
        F::CodeExpired => fail(C::AuthorizationCode,
            "The authorization code was already used or is older than about 15 minutes ({error}{description}).",
            "Start the connection again and finish the {provider} login within 15 minutes."),
        F::GrantExpired => fail(C::Grant,
            "The refresh token is no longer valid ({error}{description}): it was revoked, expired under the app's refresh token policy, rotated out, or evicted when the user approved the app a 6th time.",
            "The customer must reconnect. To keep connections alive, set {app} Policies > OAuth Policies > Refresh Token Policy to 'Refresh token is valid until revoked'."),
        F::GrantRejected => fail(C::Grant,
            "{provider} refused the grant ({error}{description}).",
            "Check that the Salesforce user is active and allowed to use the app (IP ranges, login hours, Permitted Users), then reconnect."),
        F::InactiveUserOrOrg => fail(C::Grant,
            "The {provider} user or org is inactive ({error}{description}).",
            "Reactivate the user or the org in Salesforce, then reconnect."),
        F::RedirectUriMismatch => fail(C::RedirectUri,
            "The callback URL does not match the app's configuration ({error}{description}).",
            "{app} > OAuth Settings: set the Callback URL to {callback_url}"),
        F::AccessDenied => fail(C::Consent,
            "The user denied access on the {provider} approval page ({error}{description}).",
            "Ask the user to connect again and click Allow. If the app is admin-approved only, pre-authorize the user's profile or permission set ({app} Policies > Permitted Users)."),
        F::InvalidScope => fail(C::Scopes,
            "{provider} refused the requested scopes ({error}{description}).",
            "{app} > OAuth Settings > Selected OAuth Scopes: add every scope the integration requests (api, refresh_token/offline_access, openid), or request fewer scopes in Patchbay."),
        F::ScopesMissing => fail(C::Scopes,
            "{provider} granted fewer scopes than requested: missing {missing}.",
            "{app} > OAuth Settings > Selected OAuth Scopes: add {missing}, or remove them from the integration's scopes in Patchbay."),
        F::FlowNotEnabled => fail(C::Flow,
            "The app does not allow this OAuth flow ({error}{description}).",
            "{app} > OAuth Settings > Flow Enablement: check 'Enable Authorization Code and Credentials Flow'."),
        F::WrongLoginHost => fail(C::LoginHost,
            "The login URL {login_url} does not serve this OAuth request ({error}{description}).",
            "Set the integration's Login URL to https://login.salesforce.com (production), https://test.salesforce.com (sandbox) or your My Domain (https://NAME.my.salesforce.com)."),
        F::RateLimited => fail(C::LoginHost,
            "{provider} is rate limiting OAuth requests ({error}{description}).",
            "Wait and retry; Patchbay backs off and honours Retry-After automatically."),
        F::Unreachable => fail(C::LoginHost,
            "The login host {login_url} could not be reached.",
            "Check the integration's Login URL and this server's outbound network access (DNS, proxy, firewall)."),
        F::ProviderUnavailable => fail(C::LoginHost,
            "{provider} answered HTTP {status} without a usable OAuth response.",
            "Usually temporary: retry later. If it persists, check that the Login URL points at a Salesforce login host."),
        F::PatchbayConfig => fail(C::Configuration,
            "Patchbay's integration settings are not usable: {detail}.",
            "Fix the integration with `patchbay integrations set` (client id, client secret, login URL)."),
        F::IntrospectionInactive => fail(C::Introspection,
            "Introspection reported a token Patchbay just received as inactive, so token expiry cannot be read from {provider}.",
            "{app} > OAuth Settings: check 'Introspect All Tokens'."),
        F::Unknown => (C::Configuration, false, "{provider} answered {error}{description} (HTTP {status}).", None),
        F::LoginHostOk => pass(C::LoginHost,
            "The login host {login_url} answers OAuth requests."),
        F::ClientIdOk => pass(C::ClientId,
            "{provider} recognises the {client_id}; the app is active."),
        F::ScopesOk => pass(C::Scopes,
            "The granted scopes cover the requested ones."),
        F::IntrospectionOk => pass(C::Introspection,
            "Introspection works: Patchbay reads token expiry from {provider}."),
        F::RotationOn => pass(C::Rotation,
            "Refresh token rotation is on: every refresh returns a new refresh token, which Patchbay stores before using the new access token."),
        F::RotationOff => pass(C::Rotation,
            "Refresh token rotation is off: refreshes keep the same refresh token."),
        F::RefreshWithoutSecretOk => pass(C::RefreshWithoutSecret,
            "Token refresh works without the client secret."),
    }
}
