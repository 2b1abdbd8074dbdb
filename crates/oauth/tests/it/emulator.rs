//! The client against the real emulator (`patchbay-fake-salesforce`), started in-process on port
//! 0 for each test. The emulator is an independent reading of Salesforce's documentation, so
//! these tests check that both readings agree.

use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle, spawn};
use patchbay_oauth::{
    AuthorizationCode, AuthorizationRequest, CallbackResult, Check, ClientConfig, ClientSecret,
    DiagnosisContext, ErrorClass, HttpOptions, LoginHost, OAuthError, PkceVerifier, RefreshToken,
    Scopes, TokenRef, TokenSet, check_callback, diagnose_error, diagnose_introspection,
    diagnose_rotation, diagnose_scopes, exchange_code, http_client, introspect, parse_callback,
    probe_client, refresh, revoke, start_authorization,
};

/// Never contacted: the client reads the redirect's `Location` instead of following it.
pub(crate) const CALLBACK: &str = "http://127.0.0.1:9/vault/callback";
pub(crate) const SCOPES: &str = "api refresh_token offline_access openid";

pub(crate) struct Env {
    pub emu: EmulatorHandle,
    pub cfg: ClientConfig,
    pub config: EmulatorConfig,
    pub http: reqwest::Client,
}

impl Env {
    pub(crate) async fn start(tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        Self::start_at("/login", tweak).await
    }

    /// `prefix` picks the login host: `/login` (production), `/test` (sandbox), `` (My Domain).
    pub(crate) async fn start_at(prefix: &str, tweak: impl FnOnce(&mut EmulatorConfig)) -> Self {
        let mut config = EmulatorConfig {
            auto_approve: true,
            callback_urls: vec![CALLBACK.to_owned()],
            ..EmulatorConfig::default()
        };
        tweak(&mut config);
        let emu = spawn(config.clone()).await.expect("emulator starts");
        let login = LoginHost::parse(&format!("{}{prefix}", emu.base_url())).expect("login host");
        let cfg = ClientConfig::salesforce(
            login,
            config.client_id.clone(),
            Some(ClientSecret::new(config.client_secret.clone())),
        );
        let http = http_client(HttpOptions::default()).expect("http client");
        Env {
            emu,
            cfg,
            config,
            http,
        }
    }

    pub(crate) fn ctx(&self) -> DiagnosisContext {
        DiagnosisContext::new("http://127.0.0.1:9", &self.emu.base_url())
    }

    /// Starts an authorization and follows the authorize endpoint's redirect to the callback.
    pub(crate) async fn authorize_url(&self, url: &url::Url) -> CallbackResult {
        let resp = self.http.get(url.clone()).send().await.expect("authorize");
        assert!(
            resp.status().is_redirection(),
            "authorize answered {}",
            resp.status()
        );
        let location = resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        assert!(location.starts_with(CALLBACK), "redirected to {location}");
        let query = url::Url::parse(&location)
            .expect("url")
            .query()
            .unwrap_or("")
            .to_owned();
        parse_callback(&query).expect("callback parses")
    }

    pub(crate) async fn authorize(
        &self,
        scopes: &str,
    ) -> (AuthorizationRequest, AuthorizationCode) {
        let req = start_authorization(
            &self.cfg,
            CALLBACK,
            &Scopes::parse(scopes),
            Some(&self.config.username),
            None,
        )
        .expect("start");
        match self.authorize_url(&req.url).await {
            ok @ CallbackResult::Code { .. } => {
                let code = check_callback(ok, &req.state, None).expect("state is echoed");
                (req, code)
            }
            CallbackResult::Error {
                error,
                error_description,
                ..
            } => {
                panic!("authorize failed: {error} {error_description:?}")
            }
        }
    }

    pub(crate) async fn connect(&self) -> TokenSet {
        let (req, code) = self.authorize(SCOPES).await;
        exchange_code(&self.http, &self.cfg, &code, &req.pkce_verifier, CALLBACK)
            .await
            .expect("exchange")
    }
}

fn secrets_absent(err: &OAuthError, secrets: &[&str]) {
    let text = format!("{err} {err:?}");
    for s in secrets {
        assert!(!text.contains(s), "secret leaked in {text}");
    }
}

#[tokio::test]
async fn full_code_flow_on_every_login_host() {
    for prefix in ["/login", "/test", ""] {
        let env = Env::start_at(prefix, |_| {}).await;
        let tokens = env.connect().await;
        let base = env.emu.base_url();
        let instance = tokens.instance_url.clone().expect("instance_url");
        assert_eq!(instance.as_str().trim_end_matches('/'), base);
        assert!(env.cfg.login.allows_instance_url(&instance));
        assert!(
            tokens.signature_verified,
            "signature checked with the consumer secret"
        );
        let id = tokens.id.clone().expect("identity URL");
        assert!(
            id.starts_with(&format!("{base}{prefix}/id/")),
            "{id} names the login host"
        );
        assert!(tokens.refresh_token.is_some());
        assert!(tokens.id_token.is_some(), "openid granted");
        assert!(
            tokens.expires_in.is_none(),
            "Salesforce sends no expires_in"
        );
        let granted = tokens.scope.clone().expect("scope");
        let d = diagnose_scopes(&Scopes::parse(SCOPES), &granted, &env.ctx());
        assert!(d.passed, "{d:?}");
    }
}

#[tokio::test]
async fn refresh_without_secret_when_the_app_allows_it() {
    let env = Env::start(|c| c.require_secret_for_refresh = false).await;
    let tokens = env.connect().await;
    let rt = tokens.refresh_token.clone().expect("refresh token");
    let refreshed = refresh(&env.http, &env.cfg, &rt, false)
        .await
        .expect("refresh");
    assert!(
        refreshed.refresh_token.is_none(),
        "no rotation: the old refresh token stays"
    );
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert!(refreshed.signature_verified);
    assert!(
        diagnose_rotation(&refreshed, &env.ctx())
            .message
            .contains("rotation is off")
    );
    // The same refresh token keeps working.
    refresh(&env.http, &env.cfg, &rt, false)
        .await
        .expect("second refresh");
    let probe = probe_client(&env.http, &env.cfg, &env.ctx()).await;
    assert!(probe.iter().all(|d| d.passed), "{probe:?}");
}

#[tokio::test]
async fn refresh_without_secret_is_invalid_client_when_the_app_requires_it() {
    let env = Env::start(|c| c.require_secret_for_refresh = true).await;
    let tokens = env.connect().await;
    let rt = tokens.refresh_token.clone().expect("refresh token");
    let err = refresh(&env.http, &env.cfg, &rt, false)
        .await
        .expect_err("secret required");
    assert_eq!(err.class(), ErrorClass::InvalidClient);
    assert_eq!(err.provider_error(), Some("invalid_client"));
    secrets_absent(&err, &[rt.expose_secret(), &env.config.client_secret]);
    let d = diagnose_error(&err, &env.ctx());
    assert_eq!(d.check, Check::RefreshWithoutSecret);
    assert!(
        d.fix
            .as_deref()
            .is_some_and(|f| f.contains("uncheck 'Require Secret for Refresh Token Flow'"))
    );
    // The connection is fine: sending the secret works with the same refresh token.
    refresh(&env.http, &env.cfg, &rt, true)
        .await
        .expect("refresh with secret");
    // The connection-free probe finds the same setting.
    let probe = probe_client(&env.http, &env.cfg, &env.ctx()).await;
    assert!(
        probe
            .iter()
            .any(|d| d.check == Check::RefreshWithoutSecret && !d.passed),
        "{probe:?}"
    );
}

#[tokio::test]
async fn rotation_returns_a_new_refresh_token_and_reuse_kills_the_family() {
    let env = Env::start(|c| {
        c.require_secret_for_refresh = false;
        c.rotate_refresh_tokens = true;
    })
    .await;
    let tokens = env.connect().await;
    let first = tokens.refresh_token.clone().expect("refresh token");
    let refreshed = refresh(&env.http, &env.cfg, &first, false)
        .await
        .expect("refresh");
    let second = refreshed
        .refresh_token
        .clone()
        .expect("rotated refresh token");
    assert_ne!(first, second);
    assert!(
        diagnose_rotation(&refreshed, &env.ctx())
            .message
            .contains("rotation is on")
    );
    let third = refresh(&env.http, &env.cfg, &second, false)
        .await
        .expect("refresh with the new token")
        .refresh_token
        .expect("rotated again");
    // Presenting a retired token is reuse: invalid_grant, and the whole chain dies.
    let err = refresh(&env.http, &env.cfg, &first, false)
        .await
        .expect_err("reuse");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
    let err = refresh(&env.http, &env.cfg, &third, false)
        .await
        .expect_err("family revoked");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
    assert_eq!(diagnose_error(&err, &env.ctx()).check, Check::Grant);
}

#[tokio::test]
async fn revoke_then_refresh_and_introspect() {
    let env = Env::start(|c| c.require_secret_for_refresh = false).await;
    let tokens = env.connect().await;
    let access = TokenRef::Access(&tokens.access_token);
    let live = introspect(&env.http, &env.cfg, access)
        .await
        .expect("introspect");
    assert!(live.active);
    assert_eq!(live.token_type.as_deref(), Some("access_token"));
    let (exp, iat) = (live.exp.expect("exp"), live.iat.expect("iat"));
    assert!(exp > iat, "exp {exp} after iat {iat}");
    assert!(diagnose_introspection(&live, &env.ctx()).passed);

    let rt = tokens.refresh_token.clone().expect("refresh token");
    revoke(&env.http, &env.cfg, TokenRef::Refresh(&rt))
        .await
        .expect("revoke");
    let err = refresh(&env.http, &env.cfg, &rt, false)
        .await
        .expect_err("revoked");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
    let dead = introspect(&env.http, &env.cfg, access)
        .await
        .expect("introspect");
    assert!(
        !dead.active,
        "revoking the refresh token kills its access tokens"
    );
    assert!(!diagnose_introspection(&dead, &env.ctx()).passed);
}

#[tokio::test]
async fn wrong_pkce_verifier_is_invalid_grant() {
    let env = Env::start(|_| {}).await;
    let (_req, code) = env.authorize(SCOPES).await;
    let wrong = PkceVerifier::new("x".repeat(43));
    let err = exchange_code(&env.http, &env.cfg, &code, &wrong, CALLBACK)
        .await
        .expect_err("wrong verifier");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
    assert_eq!(diagnose_error(&err, &env.ctx()).check, Check::Pkce);
    secrets_absent(&err, &[code.expose_secret(), wrong.expose_secret()]);
}

#[tokio::test]
async fn missing_pkce_verifier_is_invalid_grant() {
    let env = Env::start(|_| {}).await;
    let (_req, code) = env.authorize(SCOPES).await;
    let err = exchange_code(&env.http, &env.cfg, &code, &PkceVerifier::new(""), CALLBACK)
        .await
        .expect_err("missing verifier");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
}

#[tokio::test]
async fn expired_and_reused_codes_are_invalid_grant() {
    let env = Env::start(|_| {}).await;
    let (req, code) = env.authorize(SCOPES).await;
    exchange_code(&env.http, &env.cfg, &code, &req.pkce_verifier, CALLBACK)
        .await
        .expect("first exchange");
    let err = exchange_code(&env.http, &env.cfg, &code, &req.pkce_verifier, CALLBACK)
        .await
        .expect_err("reused code");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);

    let (req, code) = env.authorize(SCOPES).await;
    env.emu.emulator().advance_clock(16 * 60);
    let err = exchange_code(&env.http, &env.cfg, &code, &req.pkce_verifier, CALLBACK)
        .await
        .expect_err("expired code");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
    assert_eq!(
        err.provider_description(),
        Some("expired authorization code")
    );
    assert_eq!(
        diagnose_error(&err, &env.ctx()).check,
        Check::AuthorizationCode
    );
}

#[tokio::test]
async fn unknown_client_and_wrong_secret() {
    let env = Env::start(|_| {}).await;
    let (req, code) = env.authorize(SCOPES).await;
    let mut wrong_secret = env.cfg.clone();
    wrong_secret.client_secret = Some(ClientSecret::new("not-the-secret"));
    let err = exchange_code(
        &env.http,
        &wrong_secret,
        &code,
        &req.pkce_verifier,
        CALLBACK,
    )
    .await
    .expect_err("wrong secret");
    assert_eq!(err.class(), ErrorClass::InvalidClient);
    assert_eq!(diagnose_error(&err, &env.ctx()).check, Check::ClientSecret);
    secrets_absent(&err, &["not-the-secret"]);

    let mut unknown = env.cfg.clone();
    unknown.client_id = "3MVG9unknownKey".to_owned();
    let err = refresh(&env.http, &unknown, &RefreshToken::new("whatever"), false)
        .await
        .expect_err("unknown client");
    assert_eq!(err.class(), ErrorClass::InvalidClientId);
    assert_eq!(diagnose_error(&err, &env.ctx()).check, Check::ClientId);
}

#[tokio::test]
async fn exchange_with_another_redirect_uri_fails() {
    let env = Env::start(|_| {}).await;
    let (req, code) = env.authorize(SCOPES).await;
    let err = exchange_code(
        &env.http,
        &env.cfg,
        &code,
        &req.pkce_verifier,
        "http://127.0.0.1:9/elsewhere",
    )
    .await
    .expect_err("redirect_uri differs from the authorize request");
    assert!(
        matches!(err.class(), ErrorClass::InvalidGrant | ErrorClass::Config),
        "{err}"
    );
}
