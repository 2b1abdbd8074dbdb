//! Every log line of a full flow, searched for every secret of that flow.
//!
//! This test has its own binary because it installs a global tracing subscriber: tracing caches
//! per-callsite interest process-wide, so a scoped subscriber in a binary whose other tests run
//! in parallel can miss events.

use patchbay_fake_salesforce::{EmulatorConfig, spawn};
use patchbay_oauth::{
    CallbackResult, ClientConfig, ClientSecret, HttpOptions, LoginHost, Scopes, TokenRef,
    check_callback, exchange_code, http_client, introspect, parse_callback, refresh, revoke,
    start_authorization,
};

const CALLBACK: &str = "http://127.0.0.1:9/vault/callback";

/// Collects log output in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("patchbay_oauth=trace,reqwest=trace")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let config = EmulatorConfig {
        auto_approve: true,
        callback_urls: vec![CALLBACK.to_owned()],
        require_secret_for_refresh: true,
        ..EmulatorConfig::default()
    };
    let emu = spawn(config.clone()).await.expect("emulator");
    let cfg = ClientConfig::salesforce(
        LoginHost::parse(&format!("{}/login", emu.base_url())).expect("login"),
        config.client_id.clone(),
        Some(ClientSecret::new(config.client_secret.clone())),
    );
    let http = http_client(HttpOptions::default()).expect("http");
    let scopes = Scopes::parse("api refresh_token openid");
    let req =
        start_authorization(&cfg, CALLBACK, &scopes, Some(&config.username), None).expect("start");
    let resp = http.get(req.url.clone()).send().await.expect("authorize");
    let location =
        url::Url::parse(resp.headers()["location"].to_str().expect("ascii")).expect("location");
    let callback = parse_callback(location.query().unwrap_or("")).expect("callback");
    assert!(matches!(callback, CallbackResult::Code { .. }));
    let code = check_callback(callback, &req.state, None).expect("state");
    let code_text = code.expose_secret().to_owned();
    let tokens = exchange_code(&http, &cfg, &code, &req.pkce_verifier, CALLBACK)
        .await
        .expect("exchange");
    let rt = tokens.refresh_token.clone().expect("refresh token");
    let err = refresh(&http, &cfg, &rt, false)
        .await
        .expect_err("secret required");
    let refreshed = refresh(&http, &cfg, &rt, true).await.expect("refresh");
    let _ = exchange_code(&http, &cfg, &code, &req.pkce_verifier, CALLBACK).await;
    introspect(&http, &cfg, TokenRef::Access(&refreshed.access_token))
        .await
        .expect("introspect");
    revoke(&http, &cfg, TokenRef::Refresh(&rt))
        .await
        .expect("revoke");

    let logs = String::from_utf8(captured.0.lock().map(|v| v.clone()).unwrap_or_default())
        .expect("utf8 logs");
    assert!(
        logs.contains("token endpoint succeeded"),
        "logs were captured: {logs}"
    );
    let errors = format!("{err} {err:?}");
    for secret in [
        tokens.access_token.expose_secret(),
        refreshed.access_token.expose_secret(),
        rt.expose_secret(),
        &code_text,
        req.pkce_verifier.expose_secret(),
        req.state.expose_secret(),
        &config.client_secret,
    ] {
        assert!(!logs.contains(secret), "a secret reached the logs");
        assert!(!errors.contains(secret), "a secret reached an error");
    }
}
