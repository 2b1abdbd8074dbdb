//! "Test Vault" for an integration (`patchbay doctor`, `POST /admin/v1/integrations/…/diagnostics`):
//! runs each check of issue 4 against the integration's login host and, for every failure,
//! names the provider setting to change. Texts come from `patchbay_oauth`'s findings table;
//! this module only decides which probe answers which check.
//!
//! Probes, in order, each skipped when an earlier one makes it meaningless:
//! - the connection-free refresh probe ([`patchbay_oauth::probe_client`]): login host, consumer
//!   key (activation window), and often "Require Secret for Refresh Token Flow";
//! - the same probe for staged credentials, when the integration holds some;
//! - an introspection of a random token with client authentication: the consumer secret;
//! - an authorize request as a connect link would send it (`prompt=login`, so nothing is
//!   approved): callback URL, PKCE, requested scopes;
//! - with a connection of this integration: one real refresh under the connection's lease
//!   (new tokens are stored exactly as a scheduled refresh would, so rotation never loses a
//!   grant), then granted scopes, introspection of the fresh access token, and rotation.
//!   A failed diagnostic refresh is reported, not recorded on the connection.
//!
//! The diagnostic refresh deliberately bypasses the token-lifecycle coordinator's backoff and
//! per-integration breaker (it still takes the same lease row, so it never races a scheduled
//! refresh): someone who has just fixed a provider setting must be able to re-test at once.
//!
//! Invariant: the report holds no secret; it names client ids, URLs and settings only.

use patchbay_connectors::connector::{Diagnostics, SecretProbe};
use patchbay_connectors::registry;
use patchbay_core::{ApplicationId, ServiceId, UnifiedApi};
use patchbay_oauth::{
    AccessToken, Check, ClientConfig, Diagnosis, DiagnosisContext, ErrorClass, Finding,
    RefreshToken, Scopes, TokenRef, Vars,
};
use patchbay_store::{ConnectionRow, IntegrationRow, RefreshedTokens, SealedColumn};
use serde::Serialize;

use super::Vault;
use super::connect::REFRESH_MARGIN_MS;
use super::integrations::{check_supported, integration_row_id};
use crate::error::{Error, Result};

/// How long the diagnostic refresh may hold a connection's lease.
const LEASE_TTL_MS: i64 = 30_000;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Passed,
    Failed,
    Warning,
    Skipped,
}

/// One check: `fix` names the exact setting to change when the check did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiagnosticCheck {
    /// Stable identifier (`credentials`, `login_host`, `client_id`, …).
    pub id: &'static str,
    /// In the connector's words (`Consumer key recognised`, `Client ID recognised`).
    pub title: String,
    pub status: CheckStatus,
    pub detail: String,
    pub fix: Option<String>,
}

/// The whole run. `ok` is false when any check failed (warnings and skips do not count).
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticsReport {
    pub ok: bool,
    pub application_id: String,
    pub unified_api: String,
    pub service_id: String,
    pub login_url: String,
    pub callback_url: String,
    /// The connection whose refresh token the connection checks used, if any.
    pub connection_id: Option<String>,
    pub checks: Vec<DiagnosticCheck>,
}

/// Every check this module can run, in display order; `{id}` and `{secret}` are the
/// connector's names for the client id and secret. A connector's
/// [`Diagnostics::checks`] picks which of them its report shows.
const TITLES: &[(&str, &str)] = &[
    ("credentials", "{Id} and {secret} stored"),
    ("enabled", "Integration enabled"),
    ("login_host", "Login host reachable"),
    ("client_id", "{Id} recognised (app active)"),
    ("staged_credentials", "Staged {id} recognised"),
    ("client_secret", "{Secret} accepted"),
    ("callback_url", "Callback URL registered"),
    ("pkce", "PKCE accepted"),
    ("refresh_without_secret", "Refresh works without the secret"),
    ("introspection", "Introspection allowed"),
    ("scopes", "Granted scopes cover the requested ones"),
    ("rotation", "Refresh token rotation handled"),
];

/// `client ID` → `Client ID`.
fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect::<String>())
        .unwrap_or_default()
}

fn title(id: &'static str, profile: &Diagnostics) -> String {
    TITLES
        .iter()
        .find(|(k, _)| *k == id)
        .map_or(id, |(_, t)| t)
        .replace("{Id}", &capital(profile.client_id_label))
        .replace("{id}", profile.client_id_label)
        .replace("{Secret}", &capital(profile.client_secret_label))
        .replace("{secret}", profile.client_secret_label)
}

/// Builds the report check by check, in [`TITLES`] order.
struct Builder {
    checks: Vec<DiagnosticCheck>,
    /// The provider's display name, for the texts.
    provider: &'static str,
    /// The connector's diagnostics profile: which checks, the secret probe, its wording.
    profile: &'static Diagnostics,
    /// The provider refuses a refresh without the client secret (so Patchbay always sends it).
    refresh_needs_secret: bool,
    /// How long the provider takes to activate a new or edited app (the connector's
    /// `Setup::activation_delay`), empty when it is at once.
    activation_delay: &'static str,
}

impl Builder {
    fn set(&mut self, id: &'static str, status: CheckStatus, detail: String, fix: Option<String>) {
        let check = DiagnosticCheck {
            id,
            title: title(id, self.profile),
            status,
            detail,
            fix,
        };
        match self.checks.iter_mut().find(|c| c.id == id) {
            Some(slot) => *slot = check,
            None => self.checks.push(check),
        }
    }

    fn diagnosis(&mut self, id: &'static str, d: &Diagnosis) {
        let status = if d.passed {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        };
        self.set(id, status, d.message.clone(), d.fix.clone());
    }

    fn has(&self, id: &str) -> bool {
        self.checks.iter().any(|c| c.id == id)
    }

    fn failed(&self, id: &str) -> bool {
        self.checks
            .iter()
            .any(|c| c.id == id && c.status == CheckStatus::Failed)
    }

    /// Marks every not-yet-decided check among `ids` as skipped.
    fn skip_rest(&mut self, ids: &[&'static str], why: &str) {
        for id in ids {
            if !self.has(id) {
                self.set(id, CheckStatus::Skipped, why.to_owned(), None);
            }
        }
    }

    /// Whether the connector's report shows `id` (probes for checks it leaves out are not
    /// sent at all when they serve nothing else).
    fn wants(&self, id: &str) -> bool {
        self.profile.checks.contains(&id)
    }

    /// The connector's checks, in its order; verdicts on checks it does not name are dropped.
    fn finish(mut self) -> Vec<DiagnosticCheck> {
        let checks = self.profile.checks;
        self.checks.retain(|c| checks.contains(&c.id));
        self.checks
            .sort_by_key(|c| checks.iter().position(|k| *k == c.id));
        self.checks
    }

    fn id_label(&self) -> &'static str {
        self.profile.client_id_label
    }

    fn secret_label(&self) -> &'static str {
        self.profile.client_secret_label
    }
}

const AFTER_CLIENT: &[&str] = &[
    "client_secret",
    "callback_url",
    "pkce",
    "refresh_without_secret",
    "introspection",
    "scopes",
    "rotation",
];
const CONNECTION_CHECKS: &[&str] = &[
    "refresh_without_secret",
    "introspection",
    "scopes",
    "rotation",
];

fn message_with_fix(d: &Diagnosis) -> (String, Option<String>) {
    (d.message.clone(), d.fix.clone())
}

impl Vault {
    /// Runs every check for one integration. Errors only when the integration does not exist
    /// (or the database fails); everything the provider says becomes a check.
    #[tracing::instrument(skip_all, fields(app = %app, unified_api = %unified_api, service = %service))]
    pub async fn diagnose_integration(
        &self,
        app: &ApplicationId,
        unified_api: &UnifiedApi,
        service: &ServiceId,
    ) -> Result<DiagnosticsReport> {
        check_supported(unified_api, service)?;
        let row = self.integration_row(app, unified_api, service).await?;
        let login_url = row.login_url.clone();
        let connection = self.diagnostic_connection(&row).await?;
        let connector = registry::connector(service.as_str())
            .ok_or_else(|| Error::validation(format!("no connector serves {service}")))?;
        let profile = connector.diagnostics();
        let ctx = self.diag_ctx(&login_url).for_provider(
            connector.display().name,
            profile.app_settings_place,
            profile.finding_texts,
            profile.client_id_label,
        );
        let mut b = Builder {
            checks: Vec::new(),
            provider: connector.display().name,
            profile,
            refresh_needs_secret: connector.oauth_profile().refresh_needs_secret,
            activation_delay: connector.setup().activation_delay,
        };
        self.run_checks(&mut b, &row, &ctx, connection.as_ref())
            .await?;
        let checks = b.finish();
        Ok(DiagnosticsReport {
            ok: checks.iter().all(|c| c.status != CheckStatus::Failed),
            application_id: app.to_string(),
            unified_api: unified_api.to_string(),
            service_id: service.to_string(),
            login_url,
            callback_url: self.callback_url(),
            connection_id: connection.map(|c| c.id.to_string()),
            checks,
        })
    }

    async fn run_checks(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        connection: Option<&ConnectionRow>,
    ) -> Result<()> {
        let all: Vec<&'static str> = TITLES
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| *k != "staged_credentials" && *k != "credentials" && *k != "enabled")
            .collect();
        if !self.check_credentials(b, row, ctx) {
            b.skip_rest(
                &all,
                &format!("Needs the {} and {}.", b.id_label(), b.secret_label()),
            );
            return Ok(());
        }
        let cfg = match self.client_config(row, &row.login_url, false) {
            Ok(cfg) => cfg,
            Err(e) => {
                b.set(
                    "login_host",
                    CheckStatus::Failed,
                    e.to_string(),
                    Some(render(Finding::WrongLoginHost, ctx).fix.unwrap_or_default()),
                );
                b.skip_rest(&all, "Needs a usable login URL.");
                return Ok(());
            }
        };
        let probe = if b.profile.secret_probe == SecretProbe::RefreshGrant {
            // The provider checks the secret on every refresh: probing without it says nothing
            // about the client id, so one probe with the secret decides id and secret together.
            self.probe_with_secret(b, row, ctx).await
        } else {
            patchbay_oauth::probe_client(self.http(), &cfg, ctx).await
        };
        for d in &probe {
            let id = match d.check {
                Check::LoginHost => "login_host",
                Check::RefreshWithoutSecret => "refresh_without_secret",
                Check::ClientSecret => "client_secret",
                _ => "client_id",
            };
            b.diagnosis(id, d);
        }
        if b.failed("login_host") || !b.has("login_host") {
            b.skip_rest(&all, "The login host did not answer; fix that first.");
            return Ok(());
        }
        self.check_staged(b, row, ctx).await;
        if b.failed("client_id") {
            self.explain_unrecognised_key(b, row, ctx, connection.is_some());
            b.skip_rest(
                AFTER_CLIENT,
                &format!(
                    "{} does not recognise the {}; fix that first.",
                    b.provider,
                    b.id_label()
                ),
            );
            return Ok(());
        }
        match b.profile.secret_probe {
            SecretProbe::Introspect => self.check_secret(b, row, ctx).await,
            SecretProbe::RefreshGrant => {}
            SecretProbe::None => b.set(
                "client_secret",
                CheckStatus::Skipped,
                format!(
                    "{} offers no way to check the {} before a customer connects.",
                    b.provider,
                    b.secret_label()
                ),
                None,
            ),
        }
        self.check_authorize(b, row, ctx, &cfg).await;
        self.check_connection(b, row, ctx, connection).await?;
        Ok(())
    }

    /// `credentials` and `enabled`. Returns whether the credentials are usable.
    fn check_credentials(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
    ) -> bool {
        if row.enabled {
            b.set(
                "enabled",
                CheckStatus::Passed,
                "The integration is enabled.".to_owned(),
                None,
            );
        } else {
            b.set(
                "enabled",
                CheckStatus::Warning,
                "The integration is disabled: customers cannot connect and connections are not refreshed.".to_owned(),
                Some(format!(
                    "Enable it: `patchbay integrations set --app {} {} --enabled true`.",
                    row.application_id,
                    integration_row_id(&row.unified_api, &row.service_id)
                )),
            );
        }
        let id = row.client_id.as_deref().filter(|s| !s.trim().is_empty());
        let missing = match (id, row.client_secret_sealed.is_some()) {
            (Some(id), true) => {
                b.set(
                    "credentials",
                    CheckStatus::Passed,
                    format!(
                        "{} {id} and a {} are stored (the secret is sealed and never shown).",
                        capital(b.id_label()),
                        b.secret_label()
                    ),
                    None,
                );
                return true;
            }
            (None, true) => format!("no {} is stored", b.id_label()),
            (Some(_), false) => format!("no {} is stored", b.secret_label()),
            (None, false) => format!("no {} or secret is stored", b.id_label()),
        };
        let d = patchbay_oauth::render(
            Finding::PatchbayConfig,
            &Vars {
                detail: &missing,
                ..Vars::default()
            },
            ctx,
        );
        let fix = format!(
            "Copy the {} and {} ({}), then run `patchbay integrations set --app {} {} --client-id … --client-secret-stdin`.",
            b.id_label(),
            b.secret_label(),
            b.profile.credentials_place,
            row.application_id,
            integration_row_id(&row.unified_api, &row.service_id)
        );
        b.set("credentials", CheckStatus::Failed, d.message, Some(fix));
        false
    }

    async fn check_staged(&self, b: &mut Builder, row: &IntegrationRow, ctx: &DiagnosisContext) {
        let Some(staged_id) = row.staged_client_id.clone() else {
            return;
        };
        let mut staged = match self.client_config(row, &row.login_url, false) {
            Ok(cfg) => cfg,
            Err(_) => return,
        };
        staged.client_id = staged_id.clone();
        let probe = if b.profile.secret_probe == SecretProbe::RefreshGrant {
            // Without the staged secret at hand, only an "unknown client id" answer is a
            // verdict on the staged id; any other refusal means the id itself is known.
            match self.refresh_probe(&staged, false).await {
                Err(e) if !unknown_client_id(&e) && e.status().is_some_and(|s| s < 500) => {
                    vec![render(Finding::ClientIdOk, ctx)]
                }
                Err(e) => vec![patchbay_oauth::diagnose_error(&e, ctx)],
                Ok(()) => Vec::new(),
            }
        } else {
            patchbay_oauth::probe_client(self.http(), &staged, ctx).await
        };
        match probe.iter().find(|d| d.check == Check::ClientId) {
            Some(d) if d.passed => b.set(
                "staged_credentials",
                CheckStatus::Passed,
                format!(
                    "{} recognises the staged {} {staged_id}.",
                    b.provider,
                    b.id_label()
                ),
                None,
            ),
            Some(d) => b.diagnosis("staged_credentials", d),
            None => b.set(
                "staged_credentials",
                CheckStatus::Warning,
                format!(
                    "The staged {} {staged_id} could not be checked.",
                    b.id_label()
                ),
                probe.first().and_then(|d| d.fix.clone()),
            ),
        }
    }

    /// The consumer key is refused: not active yet, or replaced (a migrated Connected App gets
    /// a new key and secret). Says which fits what Patchbay knows.
    fn explain_unrecognised_key(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        worked_before: bool,
    ) {
        let Some(check) = b.checks.iter().find(|c| c.id == "client_id").cloned() else {
            return;
        };
        let name = integration_row_id(&row.unified_api, &row.service_id);
        let provider = b.provider;
        let staged_ok = b
            .checks
            .iter()
            .any(|c| c.id == "staged_credentials" && c.status == CheckStatus::Passed);
        let fix = if staged_ok {
            Some(format!(
                "{provider} accepts the staged credentials but no longer the main ones (they were promoted or replaced in {provider}). Promote the staged set in Patchbay: `patchbay integrations promote --app {} {name}`. Existing connections keep working.",
                row.application_id
            ))
        } else if worked_before {
            let replaced = render(Finding::WrongClientCredentials, ctx);
            let wait = if b.activation_delay.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} If you edited the app just now, wait and retry.)",
                    b.activation_delay
                )
            };
            Some(format!(
                "Connections were made with this {} before, so it was probably replaced. {} Existing connections keep working after `patchbay integrations set --app {} {name} --client-id NEW --client-secret-stdin`.{wait}",
                b.id_label(),
                replaced.fix.unwrap_or_default(),
                row.application_id
            ))
        } else {
            check.fix
        };
        b.set("client_id", CheckStatus::Failed, check.detail, fix);
    }

    /// [`SecretProbe::RefreshGrant`]: refreshes a random, never-issued refresh token *with* the
    /// client secret. `invalid_grant` means the login host answers and the provider accepted
    /// the client id and secret before looking at the token; a client refusal names the id
    /// when the provider's description does, otherwise the secret.
    async fn probe_with_secret(
        &self,
        b: &Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
    ) -> Vec<Diagnosis> {
        let cfg = match self.client_config(row, &row.login_url, true) {
            Ok(cfg) => cfg,
            Err(e) => {
                let vars = Vars {
                    detail: &e.to_string(),
                    ..Vars::default()
                };
                return vec![patchbay_oauth::render(Finding::PatchbayConfig, &vars, ctx)];
            }
        };
        let ok = |f| render(f, ctx);
        let e = match self.refresh_probe(&cfg, true).await {
            Ok(()) => {
                return vec![
                    ok(Finding::LoginHostOk),
                    patchbay_oauth::render(
                        Finding::Unknown,
                        &Vars {
                            error: "a success for a refresh token it never issued",
                            ..Vars::default()
                        },
                        ctx,
                    ),
                ];
            }
            Err(e) => e,
        };
        if e.status().is_none_or(|s| s >= 500) {
            return vec![patchbay_oauth::diagnose_error(&e, ctx)];
        }
        match e.provider_error() {
            Some("invalid_grant") => {
                let mut secret = ok(Finding::ClientIdOk);
                secret.check = Check::ClientSecret;
                secret.message = format!(
                    "{} accepts the {} and {} (a refresh of an unknown token was refused as invalid_grant, after client authentication).",
                    b.provider,
                    b.id_label(),
                    b.secret_label()
                );
                vec![ok(Finding::LoginHostOk), ok(Finding::ClientIdOk), secret]
            }
            Some(_) if unknown_client_id(&e) => {
                let mut d = patchbay_oauth::diagnose_error(&e, ctx);
                d.check = Check::ClientId;
                vec![ok(Finding::LoginHostOk), d]
            }
            Some("invalid_client" | "unauthorized_client") => vec![
                ok(Finding::LoginHostOk),
                ok(Finding::ClientIdOk),
                patchbay_oauth::diagnose_error(&e, ctx),
            ],
            Some(_) => vec![
                ok(Finding::LoginHostOk),
                patchbay_oauth::diagnose_error(&e, ctx),
            ],
            None => vec![patchbay_oauth::diagnose_error(&e, ctx)],
        }
    }

    /// One refresh of a random, never-issued token; `Ok` only if the provider accepted it.
    async fn refresh_probe(
        &self,
        cfg: &ClientConfig,
        send_secret: bool,
    ) -> std::result::Result<(), patchbay_oauth::OAuthError> {
        let t = patchbay_crypto::random_token(32)?;
        let bogus = RefreshToken::new(format!("patchbay-probe-{}", t.expose_secret()));
        patchbay_oauth::refresh(self.http(), cfg, &bogus, send_secret)
            .await
            .map(|_| ())
    }

    /// Introspects a random token with client authentication: the provider answers `active:false`
    /// when the key and secret are right and `invalid_client` when the secret is wrong.
    async fn check_secret(&self, b: &mut Builder, row: &IntegrationRow, ctx: &DiagnosisContext) {
        let cfg = match self.client_config(row, &row.login_url, true) {
            Ok(cfg) => cfg,
            Err(e) => {
                b.set("client_secret", CheckStatus::Warning, e.to_string(), None);
                return;
            }
        };
        let bogus = match patchbay_crypto::random_token(32) {
            Ok(t) => AccessToken::new(format!("patchbay-diagnostics-{}", t.expose_secret())),
            Err(e) => {
                let e = patchbay_oauth::OAuthError::from(e);
                b.diagnosis("client_secret", &patchbay_oauth::diagnose_error(&e, ctx));
                return;
            }
        };
        match patchbay_oauth::introspect(self.http(), &cfg, TokenRef::Access(&bogus)).await {
            Ok(_) => b.set(
                "client_secret",
                CheckStatus::Passed,
                format!(
                    "{} accepts the {} and {} (client authentication at the introspection endpoint).",
                    b.provider,
                    b.id_label(),
                    b.secret_label()
                ),
                None,
            ),
            Err(e) => {
                let d = patchbay_oauth::diagnose_error(&e, ctx);
                if e.class() == ErrorClass::InvalidClient {
                    b.diagnosis("client_secret", &d);
                } else {
                    let (detail, fix) = message_with_fix(&d);
                    b.set(
                        "client_secret",
                        CheckStatus::Warning,
                        format!("The secret could not be verified: {detail}"),
                        fix,
                    );
                }
            }
        }
    }

    /// Sends the authorize request a connect link would (with `prompt=login`, so nothing is
    /// approved) and reads the answer: callback URL, PKCE and requested scopes.
    async fn check_authorize(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        cfg: &ClientConfig,
    ) {
        let scopes = Scopes::parse(&row.scopes);
        let request = match patchbay_oauth::start_authorization(
            cfg,
            &self.callback_url(),
            &scopes,
            None,
            Some("login"),
        ) {
            Ok(r) => r,
            Err(e) => {
                b.diagnosis("callback_url", &patchbay_oauth::diagnose_error(&e, ctx));
                b.skip_rest(&["pkce"], "The authorize request could not be built.");
                return;
            }
        };
        let mut url = request.url.clone();
        if !row.pkce {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "code_challenge" && k != "code_challenge_method")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        let answer = match self.http().get(url).send().await {
            Ok(r) => r,
            Err(_) => {
                let d = render(Finding::Unreachable, ctx);
                b.set("callback_url", CheckStatus::Warning, d.message, d.fix);
                b.skip_rest(&["pkce"], "The authorize endpoint did not answer.");
                return;
            }
        };
        let status = answer.status();
        let location = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let callback = self.callback_url();
        let back_to_us = location.as_deref().filter(|l| l.starts_with(&callback));
        if let Some(loc) = back_to_us {
            self.authorize_redirect(b, row, ctx, loc);
            return;
        }
        if status.is_client_error() {
            let body = read_prefix(answer, 64 * 1024).await;
            let known = b
                .profile
                .authorize_page_errors
                .iter()
                .find(|(text, _)| body.contains(text))
                .map(|(_, error)| *error);
            match known {
                Some(error) => {
                    let d = patchbay_oauth::diagnose_authorize_error(error, None, ctx);
                    let id = match d.check {
                        Check::ClientId => "client_id",
                        Check::Scopes => "scopes",
                        _ => "callback_url",
                    };
                    b.diagnosis(id, &d);
                    b.skip_rest(
                        &["callback_url", "pkce"],
                        &format!(
                            "{} refused the authorize request before checking this.",
                            b.provider
                        ),
                    );
                }
                None => {
                    b.set(
                        "callback_url",
                        CheckStatus::Warning,
                        format!(
                            "The authorize endpoint answered HTTP {} without a known error.",
                            status.as_u16()
                        ),
                        None,
                    );
                    b.skip_rest(&["pkce"], "The authorize answer was not conclusive.");
                }
            }
            return;
        }
        // A login page (or a redirect to one): everything the provider checks before the login
        // passed.
        b.set(
            "callback_url",
            CheckStatus::Passed,
            format!("{} accepts {callback} as the Callback URL.", b.provider),
            None,
        );
        self.pkce_passed(b, row);
        if !b.has("scopes") {
            b.set(
                "scopes",
                CheckStatus::Passed,
                format!(
                    "{} accepts the requested scopes ({}) at authorization; granted scopes are compared once a customer has connected.",
                    b.provider,
                    row.scopes
                ),
                None,
            );
        }
    }

    fn pkce_passed(&self, b: &mut Builder, row: &IntegrationRow) {
        let detail = if row.pkce {
            "accepted an authorize request with a PKCE S256 code challenge."
        } else {
            "accepted an authorize request without PKCE (PKCE is off for this integration in Patchbay; turning it on is safer)."
        };
        b.set(
            "pkce",
            CheckStatus::Passed,
            format!("{} {detail}", b.provider),
            None,
        );
    }

    /// The provider redirected back to the callback: an error there names the check.
    fn authorize_redirect(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        location: &str,
    ) {
        let pairs: Vec<(String, String)> = url::Url::parse(location)
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        b.set(
            "callback_url",
            CheckStatus::Passed,
            format!(
                "{} accepts {} as the Callback URL.",
                b.provider,
                self.callback_url()
            ),
            None,
        );
        let Some(error) = get("error") else {
            self.pkce_passed(b, row);
            return;
        };
        let description = get("error_description");
        let d = patchbay_oauth::diagnose_authorize_error(&error, description.as_deref(), ctx);
        match d.check {
            Check::Pkce => {
                let mut fix = d.fix.clone().unwrap_or_default();
                if !row.pkce {
                    fix.push_str(&format!(
                        " PKCE is turned off for this integration in Patchbay: turn it on with `patchbay integrations set --app {} {} --pkce true`.",
                        row.application_id,
                        integration_row_id(&row.unified_api, &row.service_id)
                    ));
                }
                b.set("pkce", CheckStatus::Failed, d.message.clone(), Some(fix));
                // Granted scopes of a connection, if any, still decide this check later.
                b.set(
                    "scopes",
                    CheckStatus::Skipped,
                    format!(
                        "{} stopped at PKCE before checking the requested scopes; fix PKCE first.",
                        b.provider
                    ),
                    None,
                );
            }
            Check::Scopes => {
                b.diagnosis("scopes", &d);
                b.set(
                    "pkce",
                    CheckStatus::Skipped,
                    format!(
                        "{} refused the requested scopes first; PKCE was not confirmed.",
                        b.provider
                    ),
                    None,
                );
            }
            _ => {
                b.diagnosis("pkce", &d);
            }
        }
    }

    /// The checks that need a customer's grant.
    async fn check_connection(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        connection: Option<&ConnectionRow>,
    ) -> Result<()> {
        let refresh_refused = b.failed("refresh_without_secret");
        if refresh_refused && (row.send_secret_on_refresh || b.refresh_needs_secret) {
            // The probe refresh went without the secret; Patchbay sends it, so that is fine.
            b.checks.retain(|c| c.id != "refresh_without_secret");
        } else if refresh_refused {
            let stored = connection.and_then(|c| c.granted_scopes.clone());
            self.scopes_from(b, row, ctx, stored.as_deref());
            b.skip_rest(
                CONNECTION_CHECKS,
                "Needs a working token refresh; fix 'Refresh works without the secret' first.",
            );
            return Ok(());
        }
        let Some(conn) = connection else {
            b.skip_rest(
                CONNECTION_CHECKS,
                "No connection of this integration has a refresh token yet: connect one customer (for example with a Vault session's connect link), then run the diagnostics again.",
            );
            return Ok(());
        };
        let owner = format!("diagnostics-{}", uuid::Uuid::new_v4());
        let Some(conn) = self
            .store()
            .try_acquire_refresh_lease(&conn.id, &owner, self.now_ms(), LEASE_TTL_MS)
            .await?
        else {
            b.skip_rest(
                CONNECTION_CHECKS,
                "A refresh of the connection is running right now; run the diagnostics again in a moment.",
            );
            return Ok(());
        };
        let result = self.diagnostic_refresh(b, row, ctx, &conn, &owner).await;
        // Success releases the lease with the token write; anything else releases it here.
        let _ = self.store().release_refresh_lease(&conn.id, &owner).await;
        result
    }

    async fn diagnostic_refresh(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        conn: &ConnectionRow,
        owner: &str,
    ) -> Result<()> {
        let Some(sealed) = &conn.refresh_token_sealed else {
            b.skip_rest(CONNECTION_CHECKS, "The connection lost its refresh token.");
            return Ok(());
        };
        let login_url = conn
            .login_url_override
            .clone()
            .unwrap_or_else(|| row.login_url.clone());
        let send_secret = row.send_secret_on_refresh || b.refresh_needs_secret;
        let cfg = self.client_config(row, &login_url, send_secret)?;
        let rt = self.open(
            &conn.application_id,
            SealedColumn::ConnectionRefreshToken,
            conn.id.as_str(),
            sealed,
        )?;
        let rt = RefreshToken::from(rt);
        let tokens = match patchbay_oauth::refresh(self.http(), &cfg, &rt, send_secret).await {
            Ok(t) => t,
            Err(e) => {
                let d = patchbay_oauth::diagnose_error(&e, ctx);
                if e.class() == ErrorClass::InvalidGrant {
                    // This customer's grant is dead; the integration may be fine.
                    let (detail, fix) = message_with_fix(&d);
                    b.set(
                        "refresh_without_secret",
                        CheckStatus::Warning,
                        format!("Connection {}: {detail}", conn.id),
                        fix,
                    );
                } else {
                    b.diagnosis("refresh_without_secret", &d);
                }
                self.scopes_from(b, row, ctx, conn.granted_scopes.as_deref());
                b.skip_rest(CONNECTION_CHECKS, "Needs a successful token refresh.");
                return Ok(());
            }
        };
        let now = self.now_ms();
        let instance_url = match self.checked_instance_url(&row.service_id, &login_url, &tokens) {
            Ok(u) => u,
            Err(e) => {
                b.set(
                    "refresh_without_secret",
                    CheckStatus::Failed,
                    e.to_string(),
                    None,
                );
                None
            }
        };
        let lifetime =
            std::time::Duration::from_secs(u64::try_from(row.session_timeout_s).unwrap_or(7200));
        let expires_at = tokens.expires_at_ms(lifetime);
        let w = self.token_write(
            &conn.application_id,
            &conn.id,
            &tokens,
            instance_url,
            Some(expires_at),
            patchbay_core::Health::Ok,
            now,
        )?;
        let stored = self
            .store()
            .store_refreshed_tokens(&RefreshedTokens {
                connection_id: conn.id.clone(),
                expected_version: conn.token_version,
                access_token: w.access_token,
                refresh_token: w.refresh_token,
                issued_at: w.issued_at,
                expires_at: w.expires_at,
                next_refresh_at: Some((expires_at - REFRESH_MARGIN_MS).max(now)),
                instance_url: w.instance_url,
                granted_scopes: w.granted_scopes,
                lease_owner: Some(owner.to_owned()),
                now_ms: now,
            })
            .await?;
        if !b.has("refresh_without_secret") {
            if send_secret {
                b.set(
                    "refresh_without_secret",
                    CheckStatus::Passed,
                    "Token refresh works. Patchbay sends the client secret on refresh for this integration, so it works whether or not 'Require Secret for Refresh Token Flow' is checked.".to_owned(),
                    None,
                );
            } else {
                b.diagnosis(
                    "refresh_without_secret",
                    &patchbay_oauth::diagnose_refresh_without_secret_ok(ctx),
                );
            }
        }
        let granted = tokens
            .scope
            .as_ref()
            .map(|s| s.to_string())
            .or_else(|| conn.granted_scopes.clone());
        self.scopes_from(b, row, ctx, granted.as_deref());
        let rotation = patchbay_oauth::diagnose_rotation(&tokens, ctx);
        if rotation.check == Check::Rotation && tokens.refresh_token.is_some() && !stored {
            b.set(
                "rotation",
                CheckStatus::Failed,
                format!("{} rotated the refresh token but the new one could not be stored (the connection changed meanwhile).", b.provider),
                Some(format!("Validate the connection (POST /vault/connections/{}/{}/validate); if it is invalid, the customer must reconnect. {}", row.unified_api, row.service_id, b.profile.rotation_fix)),
            );
        } else {
            let mut d = rotation;
            if tokens.refresh_token.is_some() {
                d.message
                    .push_str(" The rotated token of this test was stored.");
            }
            b.diagnosis("rotation", &d);
        }
        if !b.wants("introspection") {
            return Ok(());
        }
        if let Some(connector) = registry::connector(row.service_id.as_str())
            && let Some(call) = connector.metadata_call()
        {
            let cfg = self.client_config(row, &login_url, false)?;
            self.check_metadata(b, row, ctx, connector, &cfg, call, &tokens.access_token)
                .await;
            return Ok(());
        }
        let secret_cfg = self.client_config(row, &login_url, true)?;
        match patchbay_oauth::introspect(
            self.http(),
            &secret_cfg,
            TokenRef::Access(&tokens.access_token),
        )
        .await
        {
            Ok(found) => b.diagnosis(
                "introspection",
                &patchbay_oauth::diagnose_introspection(&found, ctx),
            ),
            Err(e) => {
                let d = patchbay_oauth::diagnose_error(&e, ctx);
                let fix = render(Finding::IntrospectionInactive, ctx).fix;
                b.set(
                    "introspection",
                    CheckStatus::Failed,
                    d.message,
                    d.fix.or(fix),
                );
            }
        }
        Ok(())
    }

    /// `introspection` (and `scopes`) from the connector's token-metadata call on the fresh
    /// access token: the account it belongs to and the scopes it carries.
    #[allow(clippy::too_many_arguments)]
    async fn check_metadata(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        connector: &dyn patchbay_connectors::connector::Connector,
        cfg: &ClientConfig,
        call: patchbay_connectors::connector::TokenInPath,
        access_token: &AccessToken,
    ) {
        let provider = b.provider;
        let answer =
            super::token_in_path::send(self.http(), cfg, call, access_token.expose_secret()).await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                b.set(
                    "introspection",
                    CheckStatus::Failed,
                    format!(
                        "{provider}'s token metadata endpoint did not answer: {}.",
                        e.describe()
                    ),
                    render(Finding::ProviderUnavailable, ctx).fix,
                );
                return;
            }
        };
        let metadata = (200..300)
            .contains(&answer.status)
            .then(|| serde_json::from_slice::<serde_json::Value>(&answer.body).ok())
            .flatten()
            .and_then(|v| connector.read_token_metadata(&v));
        let Some(m) = metadata else {
            b.set(
                "introspection",
                CheckStatus::Failed,
                format!(
                    "{provider}'s token metadata endpoint did not describe the access token Patchbay just received (HTTP {}), so its account and scopes cannot be read.",
                    answer.status
                ),
                render(Finding::WrongLoginHost, ctx).fix,
            );
            return;
        };
        let account = match (&m.account, &m.account_domain) {
            (Some(a), Some(d)) => format!("account {a} ({d})"),
            (Some(a), None) => format!("account {a}"),
            (None, _) => "an account it did not name".to_owned(),
        };
        let expiry = m
            .expires_in_s
            .map(|s| format!("; it expires in {s} s"))
            .unwrap_or_default();
        let scopes = if m.scopes.is_empty() {
            "no scopes".to_owned()
        } else {
            format!("the scopes {}", m.scopes.join(" "))
        };
        b.set(
            "introspection",
            CheckStatus::Passed,
            format!(
                "{provider}'s token metadata works: the fresh access token belongs to {account}, with {scopes}{expiry}."
            ),
            None,
        );
        self.scopes_from(b, row, ctx, Some(&m.scopes.join(" ")));
    }

    /// `scopes` from the granted scopes the provider reported, unless already decided.
    fn scopes_from(
        &self,
        b: &mut Builder,
        row: &IntegrationRow,
        ctx: &DiagnosisContext,
        granted: Option<&str>,
    ) {
        if b.failed("scopes") {
            return;
        }
        if let Some(granted) = granted {
            let d = patchbay_oauth::diagnose_scopes(
                &Scopes::parse(&row.scopes),
                &Scopes::parse(granted),
                ctx,
            );
            b.diagnosis("scopes", &d);
        }
    }

    /// The connection the connection checks use: enabled, with a refresh token, healthiest and
    /// most recently used first.
    async fn diagnostic_connection(&self, row: &IntegrationRow) -> Result<Option<ConnectionRow>> {
        let mut rows: Vec<ConnectionRow> = self
            .store()
            .list_connections(&row.application_id, None)
            .await?
            .into_iter()
            .filter(|c| {
                c.unified_api == row.unified_api
                    && c.service_id == row.service_id
                    && c.enabled
                    && c.refresh_token_sealed.is_some()
            })
            .collect();
        rows.sort_by_key(|c| {
            (
                c.health != patchbay_core::Health::Ok,
                std::cmp::Reverse(c.updated_at),
            )
        });
        Ok(rows.into_iter().next())
    }
}

fn render(finding: Finding, ctx: &DiagnosisContext) -> Diagnosis {
    patchbay_oauth::render(finding, &Vars::default(), ctx)
}

/// Whether a client refusal says the client id itself is unknown (rather than the secret).
fn unknown_client_id(e: &patchbay_oauth::OAuthError) -> bool {
    e.provider_description()
        .is_some_and(|d| d.to_ascii_lowercase().contains("client id"))
}

async fn read_prefix(mut response: reqwest::Response, max: usize) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > max {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_come_out_in_table_order_and_skips_never_override_a_verdict() {
        let mut b = Builder {
            checks: Vec::new(),
            provider: "Provider",
            profile: patchbay_connectors::registry::default_connector().diagnostics(),
            refresh_needs_secret: false,
            activation_delay: "",
        };
        b.set("rotation", CheckStatus::Passed, "r".to_owned(), None);
        b.set("credentials", CheckStatus::Passed, "c".to_owned(), None);
        b.set(
            "pkce",
            CheckStatus::Failed,
            "p".to_owned(),
            Some("fix".to_owned()),
        );
        b.skip_rest(CONNECTION_CHECKS, "later");
        // A later verdict replaces an earlier one for the same check.
        b.set("credentials", CheckStatus::Warning, "c2".to_owned(), None);
        let checks = b.finish();
        let ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "credentials",
                "pkce",
                "refresh_without_secret",
                "introspection",
                "scopes",
                "rotation"
            ]
        );
        assert_eq!(checks[0].status, CheckStatus::Warning);
        assert_eq!(
            checks[5].status,
            CheckStatus::Passed,
            "not overridden by a skip"
        );
        assert_eq!(checks[2].status, CheckStatus::Skipped);
        assert!(
            checks.iter().all(|c| c.title != c.id),
            "every check has a title"
        );
    }

    #[test]
    fn a_connector_sees_only_its_own_checks_with_its_own_labels() {
        let other = patchbay_connectors::registry::all()
            .find(|c| !c.diagnostics().checks.contains(&"pkce"))
            .expect("a connector without a PKCE check");
        let mut b = Builder {
            checks: Vec::new(),
            provider: other.display().name,
            profile: other.diagnostics(),
            refresh_needs_secret: true,
            activation_delay: other.setup().activation_delay,
        };
        b.set("pkce", CheckStatus::Failed, "p".to_owned(), None);
        b.set("client_id", CheckStatus::Passed, "c".to_owned(), None);
        let checks = b.finish();
        assert_eq!(checks.len(), 1, "{checks:?}");
        let label = other.diagnostics().client_id_label;
        assert!(
            checks[0]
                .title
                .to_lowercase()
                .contains(&label.to_lowercase()),
            "{checks:?}"
        );
    }

    #[test]
    fn statuses_serialize_as_the_admin_api_documents() {
        let v = serde_json::to_value([
            CheckStatus::Passed,
            CheckStatus::Failed,
            CheckStatus::Warning,
            CheckStatus::Skipped,
        ])
        .expect("json");
        assert_eq!(
            v,
            serde_json::json!(["passed", "failed", "warning", "skipped"])
        );
    }
}
