//! A connection-free "Test Vault" probe of an integration's client settings.
//!
//! It refreshes a random, never-issued refresh token without the secret. The provider must
//! refuse it; *how* it refuses tells whether the login host answers, whether the consumer key is
//! known (and the app active), and, when the provider checks client authentication before the
//! token (the emulator does; Salesforce's order is undocumented), whether the app requires the
//! secret for refresh. An `invalid_grant` is therefore inconclusive about the secret, and the
//! probe says nothing about it then.

use crate::client::refresh;
use crate::diagnose::{Diagnosis, DiagnosisContext, Vars, diagnose_error, render};
use crate::findings::Finding;
use crate::provider::ClientConfig;
use patchbay_crypto::{RefreshToken, random_token};

/// Runs the probe and returns one diagnosis per check it could decide, in check order.
pub async fn probe_client(
    http: &reqwest::Client,
    cfg: &ClientConfig,
    ctx: &DiagnosisContext,
) -> Vec<Diagnosis> {
    if cfg.client_id.trim().is_empty() {
        let vars = Vars {
            detail: "the client id is empty",
            ..Vars::default()
        };
        return vec![render(Finding::PatchbayConfig, &vars, ctx)];
    }
    let bogus = match random_token(32) {
        Ok(t) => RefreshToken::new(format!("patchbay-probe-{}", t.expose_secret())),
        Err(e) => return vec![diagnose_error(&e.into(), ctx)],
    };
    let ok = |f| render(f, &Vars::default(), ctx);
    match refresh(http, cfg, &bogus, false).await {
        // A provider that accepts a token it never issued is badly broken; report it plainly.
        Ok(_) => vec![
            ok(Finding::LoginHostOk),
            render(
                Finding::Unknown,
                &Vars {
                    error: "a success for a refresh token it never issued",
                    ..Vars::default()
                },
                ctx,
            ),
        ],
        Err(e) if e.status().is_none_or(|s| s >= 500) => vec![diagnose_error(&e, ctx)],
        Err(e) => match e.provider_error() {
            Some("invalid_grant") => vec![ok(Finding::LoginHostOk), ok(Finding::ClientIdOk)],
            Some("invalid_client" | "unauthorized_client") => vec![
                ok(Finding::LoginHostOk),
                ok(Finding::ClientIdOk),
                diagnose_error(&e, ctx),
            ],
            Some(_) => vec![ok(Finding::LoginHostOk), diagnose_error(&e, ctx)],
            None => vec![diagnose_error(&e, ctx)],
        },
    }
}
