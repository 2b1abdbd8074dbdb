//! Tiny local servers standing in for a provider, and what the client sends them. How the client
//! reads broken, refused, slow and hostile answers is in `faults.rs`; Salesforce's behaviour
//! itself is tested against the emulator (`emulator.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use patchbay_oauth::{
    AccessToken, AuthorizationCode, ClientAuthMethod, ClientConfig, ClientSecret, ErrorClass,
    HttpOptions, LoginHost, OAuthError, PkceVerifier, RefreshToken, TokenRef, exchange_code,
    http_client, introspect, refresh, revoke,
};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

pub(crate) const SECRET: &str = "stub-client-secret";
pub(crate) const ID_URL: &str =
    "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA";
pub(crate) const ISSUED_AT: &str = "1700000000123";

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub form: HashMap<String, String>,
}

#[derive(Clone)]
struct Canned {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn handler(State(c): State<Canned>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let form = url::form_urlencoded::parse(&body).into_owned().collect();
    c.seen.lock().await.push(Seen {
        path: uri.path().to_owned(),
        headers,
        form,
    });
    let mut r = (c.status, c.body.clone()).into_response();
    for (k, v) in &c.headers {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

/// Starts a server answering every request with the same canned response.
pub(crate) async fn stub(
    status: u16,
    headers: &[(&'static str, &str)],
    body: &str,
) -> (ClientConfig, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let canned = Canned {
        status: StatusCode::from_u16(status).expect("status"),
        headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        body: body.to_owned(),
        seen: Arc::clone(&seen),
    };
    let app = Router::new().fallback(handler).with_state(canned);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (cfg_for(&format!("http://{addr}/login")), seen)
}

pub(crate) fn cfg_for(base: &str) -> ClientConfig {
    ClientConfig::salesforce(
        LoginHost::parse(base).expect("login host"),
        "3MVG9stub.key",
        Some(ClientSecret::new(SECRET)),
    )
}

/// A raw TCP server that runs `behaviour` on each accepted connection.
pub(crate) async fn raw<F, Fut>(behaviour: F) -> ClientConfig
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            behaviour(stream).await;
        }
    });
    cfg_for(&format!("http://{addr}"))
}

pub(crate) fn sign(id: &str, issued_at: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, format!("{id}{issued_at}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(tag.as_ref())
}

pub(crate) fn token_body(signature: &str, refresh: Option<&str>) -> String {
    let refresh = refresh
        .map(|r| format!(r#""refresh_token":"{r}","#))
        .unwrap_or_default();
    format!(
        r#"{{"access_token":"00D000000000001!ACCESS-SECRET",{refresh}"signature":"{signature}",
        "scope":"refresh_token api openid","instance_url":"https://acme.my.salesforce.com",
        "id":"{ID_URL}","token_type":"Bearer","issued_at":"{ISSUED_AT}"}}"#
    )
}

pub(crate) fn http() -> reqwest::Client {
    http_client(HttpOptions::default()).expect("client")
}

/// No secret value may appear in an error's Display or Debug output.
pub(crate) fn assert_no_secrets(err: &OAuthError) {
    let text = format!("{err} {err:?}");
    for secret in [
        SECRET,
        "ACCESS-SECRET",
        "REFRESH-SECRET",
        "CODE-SECRET",
        "VERIFIER-SECRET",
    ] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
}

#[tokio::test]
async fn exchange_sends_the_documented_form_and_verifies_the_signature() {
    let (cfg, seen) = stub(
        200,
        &[],
        &token_body(&sign(ID_URL, ISSUED_AT), Some("REFRESH-SECRET")),
    )
    .await;
    let tokens = exchange_code(
        &http(),
        &cfg,
        &AuthorizationCode::new("aPrxCODE-SECRET=="),
        &PkceVerifier::new("VERIFIER-SECRET"),
        "https://patchbay.example/vault/callback",
    )
    .await
    .expect("exchange");
    assert!(tokens.signature_verified);
    assert_eq!(
        tokens.access_token.expose_secret(),
        "00D000000000001!ACCESS-SECRET"
    );
    assert_eq!(
        tokens
            .refresh_token
            .as_ref()
            .map(RefreshToken::expose_secret),
        Some("REFRESH-SECRET")
    );
    assert_eq!(tokens.issued_at_ms, 1_700_000_000_123);
    assert_eq!(tokens.id.as_deref(), Some(ID_URL));
    assert!(tokens.scope.as_ref().is_some_and(|s| s.contains("openid")));
    let debug = format!("{tokens:?}");
    assert!(!debug.contains("ACCESS-SECRET") && !debug.contains("REFRESH-SECRET"));

    let seen = seen.lock().await;
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.path, "/login/services/oauth2/token");
    assert_eq!(req.form["grant_type"], "authorization_code");
    assert_eq!(req.form["code"], "aPrxCODE-SECRET==");
    assert_eq!(req.form["code_verifier"], "VERIFIER-SECRET");
    assert_eq!(
        req.form["redirect_uri"],
        "https://patchbay.example/vault/callback"
    );
    assert_eq!(req.form["client_id"], "3MVG9stub.key");
    assert_eq!(req.form["client_secret"], SECRET);
    assert_eq!(
        req.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert!(req.headers.get("authorization").is_none());
}

#[tokio::test]
async fn refresh_without_secret_sends_only_the_client_id() {
    let (cfg, seen) = stub(200, &[], &token_body(&sign(ID_URL, ISSUED_AT), None)).await;
    let tokens = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect("refresh");
    assert!(
        tokens.refresh_token.is_none(),
        "no rotation: keep the old refresh token"
    );
    // The secret is not sent, but it is known, so the signature is still checked.
    assert!(tokens.signature_verified);
    let seen = seen.lock().await;
    assert_eq!(seen[0].form["grant_type"], "refresh_token");
    assert_eq!(seen[0].form["refresh_token"], "REFRESH-SECRET");
    assert_eq!(seen[0].form["client_id"], "3MVG9stub.key");
    assert!(!seen[0].form.contains_key("client_secret"));
}

#[tokio::test]
async fn basic_auth_puts_the_secret_in_the_header_only() {
    let (mut cfg, seen) = stub(200, &[], &token_body(&sign(ID_URL, ISSUED_AT), None)).await;
    cfg.auth_method = ClientAuthMethod::BasicAuth;
    refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), true)
        .await
        .expect("refresh");
    let seen = seen.lock().await;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("3MVG9stub.key:{SECRET}"));
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Basic {expected}").as_str()
    );
    assert!(!seen[0].form.contains_key("client_secret") && !seen[0].form.contains_key("client_id"));
}

#[tokio::test]
async fn send_secret_without_a_secret_is_a_config_error_before_any_request() {
    let (mut cfg, seen) = stub(200, &[], "{}").await;
    cfg.client_secret = None;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), true)
        .await
        .expect_err("no secret");
    assert_eq!(err.class(), ErrorClass::Config);
    assert!(seen.lock().await.is_empty());
}

#[tokio::test]
async fn tampered_signature_is_an_error() {
    let (cfg, _) = stub(
        200,
        &[],
        &token_body(&sign(ID_URL, "1700000000124"), Some("REFRESH-SECRET")),
    )
    .await;
    let err = refresh(&http(), &cfg, &RefreshToken::new("REFRESH-SECRET"), false)
        .await
        .expect_err("mismatch");
    assert!(matches!(err, OAuthError::SignatureMismatch { .. }));
    assert_eq!(err.class(), ErrorClass::InvalidClient);
    assert_no_secrets(&err);
}

#[tokio::test]
async fn revoke_posts_only_the_token() {
    let (cfg, seen) = stub(200, &[], "").await;
    revoke(
        &http(),
        &cfg,
        TokenRef::Refresh(&RefreshToken::new("REFRESH-SECRET")),
    )
    .await
    .expect("revoke");
    let seen = seen.lock().await;
    assert_eq!(seen[0].path, "/login/services/oauth2/revoke");
    assert_eq!(seen[0].form.len(), 1);
    assert_eq!(seen[0].form["token"], "REFRESH-SECRET");

    let (cfg, _) = stub(
        400,
        &[],
        r#"{"error":"invalid_token","error_description":"invalid token"}"#,
    )
    .await;
    let err = revoke(
        &http(),
        &cfg,
        TokenRef::Access(&AccessToken::new("ACCESS-SECRET")),
    )
    .await
    .expect_err("invalid_token");
    assert_eq!(err.class(), ErrorClass::InvalidGrant);
}

#[tokio::test]
async fn introspect_sends_hint_and_client_credentials() {
    let (cfg, seen) = stub(
        200,
        &[],
        r#"{"active":true,"exp":1700007200,"token_type":"access_token"}"#,
    )
    .await;
    let result = introspect(
        &http(),
        &cfg,
        TokenRef::Access(&AccessToken::new("ACCESS-SECRET")),
    )
    .await
    .expect("introspect");
    assert!(result.active);
    assert_eq!(result.expires_at_ms(), Some(1_700_007_200_000));
    let seen = seen.lock().await;
    assert_eq!(seen[0].path, "/login/services/oauth2/introspect");
    assert_eq!(seen[0].form["token"], "ACCESS-SECRET");
    assert_eq!(seen[0].form["token_type_hint"], "access_token");
    assert_eq!(seen[0].form["client_id"], "3MVG9stub.key");
    assert_eq!(seen[0].form["client_secret"], SECRET);

    let (cfg, _) = stub(200, &[], r#"{"nope":1}"#).await;
    let err = introspect(
        &http(),
        &cfg,
        TokenRef::Access(&AccessToken::new("ACCESS-SECRET")),
    )
    .await
    .expect_err("not an introspection");
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn probe_reads_the_refusal() {
    use patchbay_oauth::{Check, DiagnosisContext, probe_client};
    let ctx = DiagnosisContext::new("https://patchbay.example", "https://login.salesforce.com");
    let checks =
        |d: &[patchbay_oauth::Diagnosis]| d.iter().map(|d| (d.check, d.passed)).collect::<Vec<_>>();

    let (cfg, seen) = stub(
        400,
        &[],
        r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
    )
    .await;
    let d = probe_client(&http(), &cfg, &ctx).await;
    assert_eq!(
        checks(&d),
        vec![(Check::LoginHost, true), (Check::ClientId, true)]
    );
    let seen = seen.lock().await;
    assert!(seen[0].form["refresh_token"].starts_with("patchbay-probe-"));
    assert!(!seen[0].form.contains_key("client_secret"));

    let (cfg, _) = stub(
        400,
        &[],
        r#"{"error":"invalid_client","error_description":"invalid client credentials"}"#,
    )
    .await;
    let d = probe_client(&http(), &cfg, &ctx).await;
    assert_eq!(
        checks(&d),
        vec![
            (Check::LoginHost, true),
            (Check::ClientId, true),
            (Check::RefreshWithoutSecret, false)
        ]
    );
    assert!(
        d[2].fix
            .as_deref()
            .is_some_and(|f| f.contains("Require Secret for Refresh Token Flow"))
    );

    let (cfg, _) = stub(
        400,
        &[],
        r#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#,
    )
    .await;
    let d = probe_client(&http(), &cfg, &ctx).await;
    assert_eq!(
        checks(&d),
        vec![(Check::LoginHost, true), (Check::ClientId, false)]
    );

    let (cfg, _) = stub(503, &[], "down").await;
    let d = probe_client(&http(), &cfg, &ctx).await;
    assert_eq!(checks(&d), vec![(Check::LoginHost, false)]);
}
