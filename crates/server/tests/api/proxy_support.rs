//! Shared by the proxy, lifecycle and multi-node tests: an app on a manual clock (so a test
//! can expire Patchbay's view of a token while the emulator still honours it), the exported
//! tokens of a connection, and the emulator's refresh calls.

use std::sync::Arc;

use patchbay_core::{ConnectionId, ConsumerId, ManualClock, ServiceId, SystemClock, UnifiedApi};
use patchbay_fake_salesforce::control::log::LogEntry;
use patchbay_server::service::Scope;
use reqwest::{Method, StatusCode};

use crate::helpers::{Db, Options, TestApp, json_with, spawn_with};

/// Far enough past any session timeout that every stored token is due.
pub const EXPIRE_ALL_MS: i64 = 3 * 3_600_000;

pub struct ClockedApp {
    pub app: TestApp,
    pub clock: Arc<ManualClock>,
}

impl std::ops::Deref for ClockedApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// An app on a manual clock; `None` when the backend is unavailable.
pub async fn clocked(db: Db, tweak: impl FnOnce(&mut Options)) -> Option<ClockedApp> {
    let clock = Arc::new(ManualClock::new(patchbay_core::Clock::now_ms(&SystemClock)));
    let mut options = Options {
        db,
        clock: Some(Arc::clone(&clock)),
        ..Options::default()
    };
    tweak(&mut options);
    let app = spawn_with(options).await?;
    Some(ClockedApp { app, clock })
}

/// The stored `(access_token, refresh_token)` of a consumer's connection, via the audited export.
pub async fn exported(app: &TestApp, consumer: &str) -> (String, Option<String>) {
    let key = app.key_with(&[Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", consumer)
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    (
        v["data"]["access_token"]
            .as_str()
            .expect("access")
            .to_owned(),
        v["data"]["refresh_token"].as_str().map(str::to_owned),
    )
}

pub async fn connection_id(app: &TestApp, consumer: &str) -> ConnectionId {
    app.vault
        .store()
        .find_connection(
            &app.app_id,
            &ConsumerId::parse(consumer).expect("consumer id"),
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
        )
        .await
        .expect("read")
        .expect("connection")
        .id
}

/// `grant_type=refresh_token` calls the emulator received.
pub fn refresh_calls(app: &TestApp) -> Vec<LogEntry> {
    app.emulator
        .emulator()
        .requests()
        .into_iter()
        .filter(|e| e.kind == "token" && e.grant_type.as_deref() == Some("refresh_token"))
        .collect()
}

pub fn assert_no_refresh_token_presented_twice(calls: &[LogEntry]) {
    let mut seen = std::collections::HashSet::new();
    for c in calls {
        let sha = c.refresh_token_sha256.clone().expect("sha logged");
        assert!(seen.insert(sha), "a refresh token was presented twice");
    }
}

/// `/proxy` with the app's key and consumer headers.
pub fn proxy(app: &TestApp, method: Method, consumer: &str) -> reqwest::RequestBuilder {
    app.consumer_api(method, "/proxy", consumer)
        .header("x-apideck-service-id", "salesforce")
}

/// `patchbay_store::backend_tests!` for server tests: `spawn_with` creates the database
/// itself, so each test takes the backend to ask for rather than a database.
#[macro_export]
macro_rules! server_backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Db::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Db::Postgres).await;
                }
            }
        )*
    };
}

/// A stand-in for a Salesforce instance that shows the proxy's behaviour: it echoes what it
/// received, streams large bodies, fails on request, redirects and stalls.
pub struct Echo {
    pub base: String,
    /// Requests received, all routes.
    pub hits: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Clone, Default)]
struct EchoState {
    hits: Arc<std::sync::atomic::AtomicUsize>,
    attempts: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
}

pub async fn spawn_echo() -> Echo {
    use axum::routing::{any, get};
    let state = EchoState::default();
    let hits = Arc::clone(&state.hits);
    let app = axum::Router::new()
        .route("/echo", any(echo))
        .route("/echo/{*rest}", any(echo))
        .route("/big", get(big))
        .route("/flaky/{key}", any(flaky))
        .route("/slow", get(slow))
        .route("/stall", get(stall))
        .route("/redirect", get(redirect))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind echo");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Echo { base, hits }
}

async fn count(
    axum::extract::State(s): axum::extract::State<EchoState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    s.hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    next.run(req).await
}

fn query_map(uri: &axum::http::Uri) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn echo(req: axum::extract::Request) -> axum::Json<serde_json::Value> {
    let (parts, body) = req.into_parts();
    let mut headers = serde_json::Map::new();
    for (k, v) in &parts.headers {
        headers.insert(
            k.as_str().to_owned(),
            serde_json::Value::String(v.to_str().unwrap_or("<binary>").to_owned()),
        );
    }
    let body = axum::body::to_bytes(body, 256 * 1024 * 1024)
        .await
        .unwrap_or_default();
    axum::Json(serde_json::json!({
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "headers": headers,
        "body_len": body.len(),
        "body_sum": body.iter().map(|b| u64::from(*b)).sum::<u64>(),
    }))
}

/// A body of `left` bytes in 64 KiB chunks, with no length announced.
struct Chunks {
    left: usize,
}

impl http_body::Body for Chunks {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = self.left.min(64 * 1024);
        self.left -= n;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(axum::body::Bytes::from(
            vec![b'x'; n],
        )))))
    }
}

/// `head`, then nothing for `pause`, then `tail`; no length announced.
struct Stalling {
    head: Option<axum::body::Bytes>,
    pause: std::pin::Pin<Box<tokio::time::Sleep>>,
    tail: Option<axum::body::Bytes>,
}

impl http_body::Body for Stalling {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Some(head) = self.head.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        if self.pause.as_mut().poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(self.tail.take().map(|t| Ok(http_body::Frame::data(t))))
    }
}

/// Sends `head`, goes quiet for `ms`, then sends `tail`: a downstream that hangs mid-body.
async fn stall(uri: axum::http::Uri) -> axum::response::Response {
    let ms: u64 = query_map(&uri)
        .get("ms")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    axum::response::Response::new(axum::body::Body::new(Stalling {
        head: Some(axum::body::Bytes::from_static(b"head,")),
        pause: Box::pin(tokio::time::sleep(std::time::Duration::from_millis(ms))),
        tail: Some(axum::body::Bytes::from_static(b"tail")),
    }))
}

async fn big(uri: axum::http::Uri) -> axum::response::Response {
    let q = query_map(&uri);
    let n: usize = q.get("bytes").and_then(|b| b.parse().ok()).unwrap_or(0);
    if q.get("chunked").is_some_and(|c| c == "1") {
        axum::response::Response::new(axum::body::Body::new(Chunks { left: n }))
    } else {
        axum::response::Response::new(axum::body::Body::from(vec![b'x'; n]))
    }
}

async fn flaky(
    axum::extract::State(s): axum::extract::State<EchoState>,
    axum::extract::Path(key): axum::extract::Path<String>,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let q = query_map(&uri);
    let fail: u32 = q.get("fail").and_then(|f| f.parse().ok()).unwrap_or(0);
    let status: u16 = q.get("status").and_then(|f| f.parse().ok()).unwrap_or(503);
    let attempt = {
        let mut a = s.attempts.lock().expect("lock");
        let n = a.entry(key).or_insert(0);
        *n += 1;
        *n
    };
    if attempt <= fail {
        let mut r = (
            StatusCode::from_u16(status).expect("status"),
            format!("failure {attempt}"),
        )
            .into_response();
        if let Some(ra) = q.get("retry_after") {
            r.headers_mut().insert(
                "retry-after",
                axum::http::HeaderValue::from_str(ra).expect("retry-after"),
            );
        }
        return r;
    }
    axum::Json(serde_json::json!({ "attempt": attempt })).into_response()
}

async fn slow(uri: axum::http::Uri) -> &'static str {
    let ms: u64 = query_map(&uri)
        .get("ms")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    "late"
}

async fn redirect(uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let to = query_map(&uri).get("to").cloned().unwrap_or_default();
    (StatusCode::FOUND, [("location", to)]).into_response()
}

/// A Patchbay server whose Salesforce integration points at an [`Echo`] (as an explicitly
/// configured non-Salesforce login host, like the emulator), with consumer `c` connected by
/// import (token `echo-token`, valid for two hours).
pub struct EchoApp {
    pub base_url: String,
    pub api_key: String,
    pub app_id: patchbay_core::ApplicationId,
    pub vault: patchbay_server::Vault,
    pub client: reqwest::Client,
    pub echo: Echo,
    _db: patchbay_store::testing::TestDatabase,
    _dir: tempfile::TempDir,
}

pub const ECHO_TOKEN: &str = "echo-token";

pub async fn spawn_echo_app(proxy: patchbay_server::service::proxy::ProxyOptions) -> EchoApp {
    spawn_app_on(spawn_echo().await, proxy).await
}

/// The same app over any stand-in instance at `echo.base` (the abuse tests' raw TCP upstreams).
pub async fn spawn_app_on(
    echo: Echo,
    proxy: patchbay_server::service::proxy::ProxyOptions,
) -> EchoApp {
    let db = patchbay_store::testing::TestDatabase::sqlite();
    let dir = tempfile::tempdir().expect("dir");
    let mut config = patchbay_server::ServerConfig::new(dir.path());
    config.database_url = Some(db.url().to_owned());
    config.master_key = Some(
        patchbay_crypto::Keyring::generate()
            .expect("keyring")
            .to_json()
            .to_string(),
    );
    config.refresh_interval = None;
    config.proxy = proxy;
    let app = patchbay_server::Application::build(config)
        .await
        .expect("build");
    let base_url = app.base_url().to_owned();
    let vault = app.vault().clone();
    tokio::spawn(app.run_until_stopped());
    let created = vault
        .create_application("Echo", &[crate::helpers::REDIRECT_URI.to_owned()])
        .await
        .expect("app");
    let app_id = created.application.id.clone();
    vault
        .set_integration(
            &app_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            patchbay_server::service::integrations::IntegrationInput {
                client_id: Some("3MVG9echo".to_owned()),
                client_secret: Some(patchbay_crypto::SecretString::new("echo-secret")),
                login_url: Some(echo.base.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("integration");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let api_key = created.api_key.key.expose_secret().to_owned();
    let issued_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let r = client
        .post(format!(
            "{base_url}/vault/connections/crm/salesforce/import"
        ))
        .bearer_auth(&api_key)
        .header("x-apideck-app-id", app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .json(&serde_json::json!({
            "credentials": { "access_token": ECHO_TOKEN, "issued_at": issued_at, "expires_in": 7200 },
            "settings": { "instance_url": echo.base },
        }))
        .send()
        .await
        .expect("import");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "{}",
        r.text().await.unwrap_or_default()
    );
    EchoApp {
        base_url,
        api_key,
        app_id,
        vault,
        client,
        echo,
        _db: db,
        _dir: dir,
    }
}

impl EchoApp {
    /// `/proxy` for consumer `c` to `downstream` (a path or URL).
    pub fn proxy(&self, method: reqwest::Method, downstream: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/proxy", self.base_url))
            .bearer_auth(&self.api_key)
            .header("x-apideck-app-id", self.app_id.as_str())
            .header("x-apideck-consumer-id", "c")
            .header("x-apideck-downstream-url", downstream)
    }
}
