use reqwest::header::HeaderMap;

use super::*;
use crate::provider::Endpoint;

fn ctx() -> DiagnosisContext {
    DiagnosisContext::new(
        "https://patchbay.example.com/",
        "https://login.salesforce.com",
    )
}

fn provider_error(
    op: Operation,
    status: u16,
    error: &str,
    description: Option<&str>,
) -> OAuthError {
    OAuthError::provider(
        op,
        Endpoint::Token,
        status,
        error.to_owned(),
        description.map(str::to_owned),
        &HeaderMap::new(),
    )
}

fn fix(d: &Diagnosis) -> &str {
    d.fix.as_deref().unwrap_or("")
}

#[test]
fn secret_required_for_refresh() {
    let err = provider_error(
        Operation::Refresh { sent_secret: false },
        400,
        "invalid_client",
        Some("invalid client credentials"),
    );
    let d = diagnose_error(&err, &ctx());
    assert_eq!(d.check, Check::RefreshWithoutSecret);
    assert!(!d.passed);
    assert_eq!(
        fix(&d),
        "Setup > App Manager > your External Client App > Edit > Security: uncheck 'Require Secret \
         for Refresh Token Flow' (or enable 'Send client secret on refresh' in Patchbay)."
    );
}

#[test]
fn wrong_secret_when_it_was_sent() {
    for op in [
        Operation::ExchangeCode,
        Operation::Refresh { sent_secret: true },
    ] {
        let err = provider_error(
            op,
            400,
            "invalid_client",
            Some("invalid client credentials"),
        );
        let d = diagnose_error(&err, &ctx());
        assert_eq!(d.check, Check::ClientSecret);
        assert!(
            d.message
                .contains("invalid_client: invalid client credentials")
        );
        assert!(
            fix(&d).contains("enter the new ones"),
            "credentials replaced after a migration"
        );
    }
}

#[test]
fn pkce_missing_from_authorize_redirect() {
    let d = diagnose_authorize_error(
        "invalid_request",
        Some("missing required code challenge"),
        &ctx(),
    );
    assert_eq!(d.check, Check::Pkce);
    assert!(fix(&d).contains("Require Proof Key for Code Exchange (PKCE)"));
}

#[test]
fn pkce_verifier_rejected() {
    let err = provider_error(
        Operation::ExchangeCode,
        400,
        "invalid_grant",
        Some("invalid code verifier"),
    );
    assert_eq!(diagnose_error(&err, &ctx()).check, Check::Pkce);
}

#[test]
fn app_not_active() {
    for d in [
        diagnose_authorize_error(
            "invalid_client_id",
            Some("client identifier invalid"),
            &ctx(),
        ),
        diagnose_error(
            &provider_error(
                Operation::ExchangeCode,
                400,
                "invalid_client_id",
                Some("client identifier invalid"),
            ),
            &ctx(),
        ),
    ] {
        assert_eq!(d.check, Check::ClientId);
        assert!(fix(&d).starts_with("The app is not active yet: wait up to 10 minutes"));
        assert!(fix(&d).contains("consumer key is wrong"));
    }
}

#[test]
fn redirect_uri_mismatch_names_the_callback() {
    let d = diagnose_authorize_error(
        "redirect_uri_mismatch",
        Some("redirect_uri must match configuration"),
        &ctx(),
    );
    assert_eq!(d.check, Check::RedirectUri);
    assert!(
        fix(&d).ends_with("set the Callback URL to https://patchbay.example.com/vault/callback")
    );
}

#[test]
fn access_denied_and_invalid_scope() {
    let d = diagnose_authorize_error(
        "access_denied",
        Some("end-user denied authorization"),
        &ctx(),
    );
    assert_eq!(d.check, Check::Consent);
    assert!(
        d.message
            .contains("access_denied: end-user denied authorization")
    );
    assert_eq!(
        diagnose_authorize_error("access-denied", None, &ctx()).check,
        Check::Consent
    );
    let d = diagnose_authorize_error("invalid_scope", None, &ctx());
    assert_eq!(d.check, Check::Scopes);
    assert!(d.message.contains("(invalid_scope)."));
    assert!(fix(&d).contains("Selected OAuth Scopes"));
}

#[test]
fn scope_comparison_names_missing_scopes() {
    let requested = Scopes::parse("api refresh_token offline_access openid");
    let d = diagnose_scopes(&requested, &Scopes::parse("api refresh_token"), &ctx());
    assert!(!d.passed);
    assert_eq!(
        d.message,
        "Salesforce granted fewer scopes than requested: missing openid."
    );
    assert!(fix(&d).contains("add openid"));
    let ok = diagnose_scopes(
        &requested,
        &Scopes::parse("api refresh_token openid id"),
        &ctx(),
    );
    assert!(ok.passed && ok.fix.is_none());
}

#[test]
fn introspection_and_rotation() {
    let d = diagnose_introspection(&Introspection::default(), &ctx());
    assert!(!d.passed);
    assert!(fix(&d).contains("check 'Introspect All Tokens'"));
    let ok = Introspection {
        active: true,
        ..Introspection::default()
    };
    assert!(diagnose_introspection(&ok, &ctx()).passed);
    assert!(diagnose_refresh_without_secret_ok(&ctx()).passed);
}

#[test]
fn transport_and_server_failures_blame_the_host() {
    let err = provider_error(Operation::ExchangeCode, 503, "server_error", None);
    let d = diagnose_error(&err, &ctx());
    assert_eq!(d.check, Check::LoginHost);
    assert!(d.message.contains("HTTP 503"));
    let err = OAuthError::MalformedResponse {
        operation: Operation::ExchangeCode,
        endpoint: Endpoint::Token,
        status: 302,
        reason: "x".to_owned(),
        retry_after: None,
    };
    let d = diagnose_error(&err, &ctx());
    assert_eq!(d.check, Check::LoginHost);
    assert!(d.message.contains("https://login.salesforce.com"));
}

#[test]
fn grant_failures() {
    let err = provider_error(
        Operation::Refresh { sent_secret: false },
        400,
        "invalid_grant",
        Some("expired access/refresh token"),
    );
    let d = diagnose_error(&err, &ctx());
    assert_eq!(d.check, Check::Grant);
    assert!(fix(&d).contains("Refresh token is valid until revoked"));
    let err = provider_error(
        Operation::ExchangeCode,
        400,
        "invalid_grant",
        Some("expired authorization code"),
    );
    assert_eq!(diagnose_error(&err, &ctx()).check, Check::AuthorizationCode);
}

#[test]
fn every_failure_names_a_fix_and_every_placeholder_is_filled() {
    let all = [
        Finding::RefreshNeedsSecret,
        Finding::WrongClientCredentials,
        Finding::SignatureMismatch,
        Finding::AppNotActive,
        Finding::PkceMissing,
        Finding::PkceVerifierRejected,
        Finding::CodeExpired,
        Finding::GrantExpired,
        Finding::GrantRejected,
        Finding::InactiveUserOrOrg,
        Finding::RedirectUriMismatch,
        Finding::AccessDenied,
        Finding::InvalidScope,
        Finding::ScopesMissing,
        Finding::FlowNotEnabled,
        Finding::WrongLoginHost,
        Finding::RateLimited,
        Finding::Unreachable,
        Finding::ProviderUnavailable,
        Finding::PatchbayConfig,
        Finding::IntrospectionInactive,
        Finding::Unknown,
        Finding::LoginHostOk,
        Finding::ClientIdOk,
        Finding::ScopesOk,
        Finding::IntrospectionOk,
        Finding::RotationOn,
        Finding::RotationOff,
        Finding::RefreshWithoutSecretOk,
    ];
    let vars = Vars {
        error: "e",
        description: Some("d"),
        status: Some(400),
        missing: "m",
        detail: "x",
    };
    for f in all {
        let d = render(f, &vars, &ctx());
        let text = format!("{} {}", d.message, d.fix.clone().unwrap_or_default());
        assert!(!text.contains('{') && !text.contains('}'), "{f:?}: {text}");
        assert_eq!(d.passed, d.fix.is_none() && f != Finding::Unknown, "{f:?}");
    }
}
