//! "Test Vault" diagnostics: turn an OAuth failure (or a suspicious success) into a finding that
//! names the exact Salesforce setting to change (README.md, "Test Vault: diagnostics that name
//! the fix"; issue 4).
//!
//! All user-facing texts live in one table (`findings.rs`), one row per [`Finding`], so they can be
//! reviewed and reworded in one place. Placeholders in braces are filled from [`Vars`].

use crate::error::{OAuthError, Operation};
use crate::findings::{APP, Finding, FindingText, entry};
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
    /// The provider's display name (`{provider}` in the table); empty means the table's
    /// original provider, Salesforce, for callers that predate the connector seam.
    pub provider: &'static str,
    /// Where the provider's app settings are edited (`{app}`); empty means Salesforce's.
    pub app_place: &'static str,
    /// The connector's own wording for findings whose default text names another provider's
    /// settings (see [`FindingText`]).
    pub overrides: &'static [FindingText],
    /// What the provider calls the client id (`{client_id}`); empty means "consumer key".
    pub client_id_label: &'static str,
}

impl DiagnosisContext {
    pub fn new(public_url: &str, login_url: &str) -> Self {
        Self {
            callback_url: format!("{}/vault/callback", public_url.trim_end_matches('/')),
            login_url: login_url.to_owned(),
            provider: "",
            app_place: "",
            overrides: &[],
            client_id_label: "",
        }
    }

    /// The context for one provider: its name, where its app settings live, and its own
    /// wording for some findings (all from its connector).
    pub fn for_provider(
        mut self,
        provider: &'static str,
        app_place: &'static str,
        overrides: &'static [FindingText],
        client_id_label: &'static str,
    ) -> Self {
        self.client_id_label = client_id_label;
        self.provider = provider;
        self.app_place = app_place;
        self.overrides = overrides;
        self
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
    let (check, passed, mut message, mut fix) = entry(finding);
    if let Some(o) = ctx.overrides.iter().find(|o| o.finding == finding) {
        message = o.message.unwrap_or(message);
        fix = o.fix.or(fix);
    }
    let provider = if ctx.provider.is_empty() {
        "Salesforce"
    } else {
        ctx.provider
    };
    let app = if ctx.app_place.is_empty() {
        APP
    } else {
        ctx.app_place
    };
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
        t.replace("{app}", app)
            .replace("{provider}", provider)
            .replace(
                "{client_id}",
                if ctx.client_id_label.is_empty() {
                    "consumer key"
                } else {
                    ctx.client_id_label
                },
            )
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
