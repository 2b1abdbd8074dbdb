//! "Test Vault" diagnostics: turn an OAuth failure (or a suspicious success) into a finding that
//! names the exact Salesforce setting to change (setup-guide.md §4, issue 4).
//!
//! All user-facing texts live in [`entry`], one row per [`Finding`], so they can be reviewed and
//! reworded in one place. Placeholders in braces are filled from [`Vars`].

use crate::error::{OAuthError, Operation};
use crate::introspection::Introspection;
use crate::scope::Scopes;
use crate::token::TokenSet;

/// The check a diagnosis belongs to, in the order "Test Vault" runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// Patchbay's own integration settings are usable.
    Configuration,
    /// The login host answers.
    LoginHost,
    /// The consumer key is known and the app is active.
    ClientId,
    /// The consumer secret is right.
    ClientSecret,
    /// The app allows the authorization-code flow.
    Flow,
    Pkce,
    RedirectUri,
    /// The user approved the app.
    Consent,
    AuthorizationCode,
    Scopes,
    /// Refresh works without the client secret.
    RefreshWithoutSecret,
    /// The refresh token (grant) is alive.
    Grant,
    Introspection,
    Rotation,
}

/// One check's outcome. `fix` names the setting to change; it is `None` when the check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub check: Check,
    pub passed: bool,
    pub message: String,
    pub fix: Option<String>,
}

/// Facts the texts refer to.
#[derive(Debug, Clone, Default)]
pub struct DiagnosisContext {
    /// `{public_url}/vault/callback`, the only Callback URL the app should have.
    pub callback_url: String,
    /// The integration's login URL, for "could not reach" messages.
    pub login_url: String,
}

impl DiagnosisContext {
    pub fn new(public_url: &str, login_url: &str) -> Self {
        Self {
            callback_url: format!("{}/vault/callback", public_url.trim_end_matches('/')),
            login_url: login_url.to_owned(),
        }
    }
}

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
    ScopesOk,
    IntrospectionOk,
    RotationOn,
    RotationOff,
    RefreshWithoutSecretOk,
}

const APP: &str = "Setup > App Manager > your External Client App > Edit";

/// The table: check, passed, message, fix. `{app}` expands to the path of the app's edit page.
fn entry(f: Finding) -> (Check, bool, &'static str, Option<&'static str>) {
    use Check as C;
    use Finding as F;
    match f {
        F::RefreshNeedsSecret => (
            C::RefreshWithoutSecret,
            false,
            "Token refresh without the client secret was refused ({error}): the app requires the secret for refresh.",
            Some(
                "{app} > Security: uncheck 'Require Secret for Refresh Token Flow' (or enable 'Send client secret on refresh' in Patchbay).",
            ),
        ),
        F::WrongClientCredentials => (
            C::ClientSecret,
            false,
            "Salesforce refused the client credentials ({error}{description}).",
            Some(
                "Copy the Consumer Key and Secret again (your External Client App > Settings > OAuth Settings > Consumer Key and Secret) and update the integration in Patchbay. After a Connected App is migrated to an External Client App the key and secret are new: enter the new ones.",
            ),
        ),
        F::SignatureMismatch => (
            C::ClientSecret,
            false,
            "The token response signature does not match the consumer secret configured in Patchbay.",
            Some(
                "Copy the Consumer Secret again (your External Client App > Settings > OAuth Settings > Consumer Key and Secret) and update the integration in Patchbay.",
            ),
        ),
        F::AppNotActive => (
            C::ClientId,
            false,
            "Salesforce does not recognise the consumer key ({error}{description}).",
            Some(
                "The app is not active yet: wait up to 10 minutes after creating or editing the External Client App, then retry. If it persists, the consumer key is wrong: copy it again from Settings > OAuth Settings > Consumer Key and Secret.",
            ),
        ),
        F::PkceMissing => (
            C::Pkce,
            false,
            "Salesforce requires PKCE and received no code challenge ({error}{description}).",
            Some(
                "{app} > Security: make sure 'Require Proof Key for Code Exchange (PKCE) Extension for Supported Authorization Flows' is checked, and that the authorize link reaches Salesforce unmodified (Patchbay always sends code_challenge with S256).",
            ),
        ),
        F::PkceVerifierRejected => (
            C::Pkce,
            false,
            "Salesforce rejected the PKCE code verifier ({error}{description}).",
            Some(
                "Start the connection again from a fresh authorize link, and do not reuse or edit callback URLs.",
            ),
        ),
        F::CodeExpired => (
            C::AuthorizationCode,
            false,
            "The authorization code was already used or is older than about 15 minutes ({error}{description}).",
            Some("Start the connection again and finish the Salesforce login within 15 minutes."),
        ),
        F::GrantExpired => (
            C::Grant,
            false,
            "The refresh token is no longer valid ({error}{description}): it was revoked, expired under the app's refresh token policy, rotated out, or evicted when the user approved the app a 6th time.",
            Some(
                "The customer must reconnect. To keep connections alive, set {app} Policies > OAuth Policies > Refresh Token Policy to 'Refresh token is valid until revoked'.",
            ),
        ),
        F::GrantRejected => (
            C::Grant,
            false,
            "Salesforce refused the grant ({error}{description}).",
            Some(
                "Check that the Salesforce user is active and allowed to use the app (IP ranges, login hours, Permitted Users), then reconnect.",
            ),
        ),
        F::InactiveUserOrOrg => (
            C::Grant,
            false,
            "The Salesforce user or org is inactive ({error}{description}).",
            Some("Reactivate the user or the org in Salesforce, then reconnect."),
        ),
        F::RedirectUriMismatch => (
            C::RedirectUri,
            false,
            "The callback URL does not match the app's configuration ({error}{description}).",
            Some("{app} > OAuth Settings: set the Callback URL to {callback_url}"),
        ),
        F::AccessDenied => (
            C::Consent,
            false,
            "The user denied access on the Salesforce approval page ({error}{description}).",
            Some(
                "Ask the user to connect again and click Allow. If the app is admin-approved only, pre-authorize the user's profile or permission set ({app} Policies > Permitted Users).",
            ),
        ),
        F::InvalidScope => (
            C::Scopes,
            false,
            "Salesforce refused the requested scopes ({error}{description}).",
            Some(
                "{app} > OAuth Settings > Selected OAuth Scopes: add every scope the integration requests (api, refresh_token/offline_access, openid), or request fewer scopes in Patchbay.",
            ),
        ),
        F::ScopesMissing => (
            C::Scopes,
            false,
            "Salesforce granted fewer scopes than requested: missing {missing}.",
            Some(
                "{app} > OAuth Settings > Selected OAuth Scopes: add {missing}, or remove them from the integration's scopes in Patchbay.",
            ),
        ),
        F::FlowNotEnabled => (
            C::Flow,
            false,
            "The app does not allow this OAuth flow ({error}{description}).",
            Some(
                "{app} > OAuth Settings > Flow Enablement: check 'Enable Authorization Code and Credentials Flow'.",
            ),
        ),
        F::WrongLoginHost => (
            C::LoginHost,
            false,
            "The login URL {login_url} does not serve this OAuth request ({error}{description}).",
            Some(
                "Set the integration's Login URL to https://login.salesforce.com (production), https://test.salesforce.com (sandbox) or your My Domain (https://NAME.my.salesforce.com).",
            ),
        ),
        F::RateLimited => (
            C::LoginHost,
            false,
            "Salesforce is rate limiting OAuth requests ({error}{description}).",
            Some("Wait and retry; Patchbay backs off and honours Retry-After automatically."),
        ),
        F::Unreachable => (
            C::LoginHost,
            false,
            "The login host {login_url} could not be reached.",
            Some(
                "Check the integration's Login URL and this server's outbound network access (DNS, proxy, firewall).",
            ),
        ),
        F::ProviderUnavailable => (
            C::LoginHost,
            false,
            "Salesforce answered HTTP {status} without a usable OAuth response.",
            Some(
                "Usually temporary: retry later. If it persists, check that the Login URL points at a Salesforce login host.",
            ),
        ),
        F::PatchbayConfig => (
            C::Configuration,
            false,
            "Patchbay's integration settings are not usable: {detail}.",
            Some(
                "Fix the integration with `patchbay integrations set` (client id, client secret, login URL).",
            ),
        ),
        F::IntrospectionInactive => (
            C::Introspection,
            false,
            "Introspection reported a token Patchbay just received as inactive, so token expiry cannot be read from Salesforce.",
            Some("{app} > OAuth Settings: check 'Introspect All Tokens'."),
        ),
        F::Unknown => (
            C::Configuration,
            false,
            "Salesforce answered {error}{description} (HTTP {status}).",
            None,
        ),
        F::ScopesOk => (
            C::Scopes,
            true,
            "The granted scopes cover the requested ones.",
            None,
        ),
        F::IntrospectionOk => (
            C::Introspection,
            true,
            "Introspection works: Patchbay reads token expiry from Salesforce.",
            None,
        ),
        F::RotationOn => (
            C::Rotation,
            true,
            "Refresh token rotation is on: every refresh returns a new refresh token, which Patchbay stores before using the new access token.",
            None,
        ),
        F::RotationOff => (
            C::Rotation,
            true,
            "Refresh token rotation is off: refreshes keep the same refresh token.",
            None,
        ),
        F::RefreshWithoutSecretOk => (
            C::RefreshWithoutSecret,
            true,
            "Token refresh works without the client secret.",
            None,
        ),
    }
}

/// Values substituted into the table's placeholders.
#[derive(Debug, Clone, Default)]
pub struct Vars<'a> {
    pub error: &'a str,
    pub description: Option<&'a str>,
    pub status: Option<u16>,
    pub missing: &'a str,
    pub detail: &'a str,
}

/// Renders one finding.
pub fn render(finding: Finding, vars: &Vars<'_>, ctx: &DiagnosisContext) -> Diagnosis {
    let (check, passed, message, fix) = entry(finding);
    let description = vars
        .description
        .filter(|d| !d.is_empty())
        .map(|d| format!(": {d}"))
        .unwrap_or_default();
    let status = vars
        .status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "-".to_owned());
    let fill = |t: &str| {
        t.replace("{app}", APP)
            .replace("{callback_url}", &ctx.callback_url)
            .replace("{login_url}", &ctx.login_url)
            .replace("{missing}", vars.missing)
            .replace("{detail}", vars.detail)
            .replace("{status}", &status)
            .replace("{error}", vars.error)
            .replace("{description}", &description)
    };
    Diagnosis {
        check,
        passed,
        message: fill(message),
        fix: fix.map(fill),
    }
}

/// The finding for a provider `error`/`error_description` pair, from the token endpoint or the
/// authorize redirect. `operation` is `None` for the authorize redirect.
pub fn finding_for(
    error: &str,
    description: Option<&str>,
    operation: Option<Operation>,
) -> Finding {
    let d = description.unwrap_or("").trim().to_ascii_lowercase();
    match error {
        "invalid_client_id" => Finding::AppNotActive,
        "invalid_client" | "unauthorized_client" => match operation {
            Some(Operation::Refresh { sent_secret: false }) => Finding::RefreshNeedsSecret,
            _ => Finding::WrongClientCredentials,
        },
        "invalid_grant" if d.contains("code verifier") => Finding::PkceVerifierRejected,
        "invalid_grant" if d.contains("authorization code") => Finding::CodeExpired,
        "invalid_grant" if d.contains("request not supported on this domain") => {
            Finding::WrongLoginHost
        }
        "invalid_grant" if d.contains("client credentials") => Finding::FlowNotEnabled,
        "invalid_grant" if d.contains("expired access/refresh token") => Finding::GrantExpired,
        "invalid_grant" | "invalid_app_access" | "invalid_token" => Finding::GrantRejected,
        "inactive_user" | "inactive_org" => Finding::InactiveUserOrOrg,
        "invalid_request" if d.contains("code challenge") => Finding::PkceMissing,
        "redirect_uri_mismatch" => Finding::RedirectUriMismatch,
        "access_denied" | "access-denied" => Finding::AccessDenied,
        "invalid_scope" => Finding::InvalidScope,
        "unsupported_grant_type" | "unsupported_response_type" => Finding::FlowNotEnabled,
        "rate_limit_exceeded" | "slow_down" => Finding::RateLimited,
        "server_error" | "temporarily_unavailable" => Finding::ProviderUnavailable,
        _ => Finding::Unknown,
    }
}

/// Diagnoses a failed OAuth call.
pub fn diagnose_error(err: &OAuthError, ctx: &DiagnosisContext) -> Diagnosis {
    match err {
        OAuthError::Provider {
            operation,
            status,
            error,
            error_description,
            ..
        } => {
            let finding = if *status >= 500 {
                Finding::ProviderUnavailable
            } else if *status == 429 {
                Finding::RateLimited
            } else {
                finding_for(error, error_description.as_deref(), Some(*operation))
            };
            let vars = Vars {
                error,
                description: error_description.as_deref(),
                status: Some(*status),
                ..Vars::default()
            };
            render(finding, &vars, ctx)
        }
        OAuthError::MalformedResponse { status, .. } => {
            let finding = match status {
                300..=399 | 404 => Finding::WrongLoginHost,
                429 => Finding::RateLimited,
                _ => Finding::ProviderUnavailable,
            };
            let error = format!("HTTP {status}");
            let vars = Vars {
                error: &error,
                status: Some(*status),
                ..Vars::default()
            };
            render(finding, &vars, ctx)
        }
        OAuthError::Transport { .. } => render(Finding::Unreachable, &Vars::default(), ctx),
        OAuthError::SignatureMismatch { .. } => {
            render(Finding::SignatureMismatch, &Vars::default(), ctx)
        }
        OAuthError::InvalidConfig(detail) => render(
            Finding::PatchbayConfig,
            &Vars {
                detail,
                ..Vars::default()
            },
            ctx,
        ),
        OAuthError::Random => render(
            Finding::PatchbayConfig,
            &Vars {
                detail: "the system random number generator failed",
                ..Vars::default()
            },
            ctx,
        ),
    }
}

/// Diagnoses an error the authorize endpoint redirected back with (or showed to the user).
pub fn diagnose_authorize_error(
    error: &str,
    error_description: Option<&str>,
    ctx: &DiagnosisContext,
) -> Diagnosis {
    let vars = Vars {
        error,
        description: error_description,
        ..Vars::default()
    };
    render(finding_for(error, error_description, None), &vars, ctx)
}

/// Compares the requested scopes with the granted ones, naming the missing scopes.
pub fn diagnose_scopes(requested: &Scopes, granted: &Scopes, ctx: &DiagnosisContext) -> Diagnosis {
    let missing = requested.missing_from(granted);
    if missing.is_empty() {
        render(Finding::ScopesOk, &Vars::default(), ctx)
    } else {
        let missing = missing.join(", ");
        render(
            Finding::ScopesMissing,
            &Vars {
                missing: &missing,
                ..Vars::default()
            },
            ctx,
        )
    }
}

/// Judges an introspection of a token Patchbay just obtained.
pub fn diagnose_introspection(result: &Introspection, ctx: &DiagnosisContext) -> Diagnosis {
    let finding = if result.active {
        Finding::IntrospectionOk
    } else {
        Finding::IntrospectionInactive
    };
    render(finding, &Vars::default(), ctx)
}

/// Reports whether a refresh rotated the refresh token.
pub fn diagnose_rotation(refreshed: &TokenSet, ctx: &DiagnosisContext) -> Diagnosis {
    let finding = if refreshed.refresh_token.is_some() {
        Finding::RotationOn
    } else {
        Finding::RotationOff
    };
    render(finding, &Vars::default(), ctx)
}

/// The passing outcome of "refresh without the secret".
pub fn diagnose_refresh_without_secret_ok(ctx: &DiagnosisContext) -> Diagnosis {
    render(Finding::RefreshWithoutSecretOk, &Vars::default(), ctx)
}

#[cfg(test)]
#[path = "diagnose_tests.rs"]
mod tests;
