//! Every troubleshooting case of the setup guide (README.md, "Test Vault: diagnostics that name the
//! fix"), reproduced on the emulator and diagnosed with the fix that names the Salesforce setting
//! (issue 4). The refresh-time cases (secret required for refresh, replaced credentials) are in
//! `emulator.rs`.

use patchbay_oauth::{
    CallbackRejection, CallbackResult, Check, Scopes, check_callback, diagnose_authorize_error,
    parse_callback, probe_client, start_authorization,
};

use crate::emulator::{CALLBACK, Env, SCOPES};

/// The value of the first hidden `tx` input of an emulator page.
fn hidden_tx(html: &str) -> String {
    let marker = "name=\"tx\" value=\"";
    let start = html.find(marker).expect("tx field") + marker.len();
    let end = html[start..].find('"').expect("end of tx") + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn missing_code_challenge_is_diagnosed_as_pkce() {
    let env = Env::start(|c| c.require_pkce = true).await;
    let req =
        start_authorization(&env.cfg, CALLBACK, &Scopes::parse(SCOPES), None, None).expect("start");
    let mut url = req.url.clone();
    let pairs: Vec<(String, String)> = req
        .url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    match env.authorize_url(&url).await {
        CallbackResult::Error {
            error,
            error_description,
            state,
        } => {
            assert_eq!(error, "invalid_request");
            assert!(state.is_some_and(|s| s.matches(req.state.expose_secret())));
            let d = diagnose_authorize_error(&error, error_description.as_deref(), &env.ctx());
            assert_eq!(d.check, Check::Pkce, "{d:?}");
        }
        other => panic!("expected an error redirect, got {other:?}"),
    }
}

#[tokio::test]
async fn app_not_yet_active_is_diagnosed_then_clears() {
    let env = Env::start(|c| c.activation_delay_secs = 600).await;
    let probe = probe_client(&env.http, &env.cfg, &env.ctx()).await;
    let client = probe
        .iter()
        .find(|d| d.check == Check::ClientId)
        .expect("client check");
    assert!(!client.passed);
    assert!(
        client
            .fix
            .as_deref()
            .is_some_and(|f| f.contains("wait up to 10 minutes"))
    );
    env.emu.emulator().advance_clock(601);
    let probe = probe_client(&env.http, &env.cfg, &env.ctx()).await;
    assert!(
        probe.iter().any(|d| d.check == Check::ClientId && d.passed),
        "{probe:?}"
    );
}

#[tokio::test]
async fn invalid_scope_is_redirected_and_diagnosed() {
    let env = Env::start(|c| c.scopes = vec!["api".to_owned(), "refresh_token".to_owned()]).await;
    let req = start_authorization(
        &env.cfg,
        CALLBACK,
        &Scopes::parse("api chatter_api"),
        None,
        None,
    )
    .expect("start");
    match env.authorize_url(&req.url).await {
        CallbackResult::Error {
            error,
            error_description,
            ..
        } => {
            assert_eq!(error, "invalid_scope");
            let d = diagnose_authorize_error(&error, error_description.as_deref(), &env.ctx());
            assert_eq!(d.check, Check::Scopes);
        }
        other => panic!("expected invalid_scope, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_client_or_redirect_uri_is_never_redirected() {
    let env = Env::start(|_| {}).await;
    let scopes = Scopes::parse(SCOPES);
    let mismatched = start_authorization(
        &env.cfg,
        "http://127.0.0.1:9/elsewhere",
        &scopes,
        None,
        None,
    )
    .expect("start");
    let mut unknown_cfg = env.cfg.clone();
    unknown_cfg.client_id = "3MVG9unknownKey".to_owned();
    let unknown = start_authorization(&unknown_cfg, CALLBACK, &scopes, None, None).expect("start");
    for url in [&mismatched.url, &unknown.url] {
        let resp = env.http.get(url.clone()).send().await.expect("authorize");
        assert_eq!(resp.status().as_u16(), 400);
        assert!(
            resp.headers().get("location").is_none(),
            "no redirect to an unchecked URI"
        );
    }
}

#[tokio::test]
async fn user_denial_comes_back_as_access_denied() {
    let env = Env::start(|c| c.auto_approve = false).await;
    let req =
        start_authorization(&env.cfg, CALLBACK, &Scopes::parse(SCOPES), None, None).expect("start");
    let login_page = env
        .http
        .get(req.url.clone())
        .send()
        .await
        .expect("authorize");
    let tx = hidden_tx(&login_page.text().await.expect("login page"));
    let action = |step: &str| {
        format!(
            "{}/login/services/oauth2/authorize/{step}",
            env.emu.base_url()
        )
    };
    let consent_page = env
        .http
        .post(action("login"))
        .form(&[
            ("tx", tx.as_str()),
            ("username", env.config.username.as_str()),
            ("password", env.config.password.as_str()),
        ])
        .send()
        .await
        .expect("login");
    let tx = hidden_tx(&consent_page.text().await.expect("consent page"));
    let denied = env
        .http
        .post(action("consent"))
        .form(&[("tx", tx.as_str()), ("decision", "deny")])
        .send()
        .await
        .expect("deny");
    let location = denied.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let query = url::Url::parse(&location)
        .expect("url")
        .query()
        .unwrap_or("")
        .to_owned();
    let callback = parse_callback(&query).expect("callback");
    match check_callback(callback, &req.state, None) {
        Err(CallbackRejection::Refused {
            error,
            error_description,
        }) => {
            assert_eq!(error, "access_denied");
            let d = diagnose_authorize_error(&error, error_description.as_deref(), &env.ctx());
            assert_eq!(d.check, Check::Consent);
            assert!(d.fix.as_deref().is_some_and(|f| f.contains("click Allow")));
        }
        other => panic!("expected access_denied, got {other:?}"),
    }
}
