//! `spawn_app()`: one Patchbay server with its own database and its own Salesforce emulator,
//! both on port 0, plus typed helpers for walking the connect flow like a browser.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use patchbay_core::{ApplicationId, ServiceId, UnifiedApi};
use patchbay_crypto::{Keyring, SecretString};
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle};
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::service::{Scope, Vault};
use patchbay_server::{Application, ServerConfig};
use patchbay_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/after-connect";

/// Every log line of every test in this binary, at trace level for Patchbay's crates.
pub fn captured_logs() -> String {
    let buf = log_buffer();
    let bytes = buf.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

#[derive(Clone)]
struct BufWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let writer = BufWriter(Arc::clone(log_buffer()));
        let filter = tracing_subscriber::EnvFilter::new(
            "debug,patchbay_server=trace,patchbay_oauth=trace,patchbay_store=trace,patchbay_crypto=trace,patchbay_fake_salesforce=off,hyper=info,h2=info",
        );
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Which database backs a test app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Knobs for one test app.
#[derive(Clone)]
pub struct Options {
    pub db: Db,
    pub emulator: EmulatorConfig,
    /// Integration `pkce` setting (Patchbay sends the challenge only when true).
    pub pkce: bool,
    pub scopes: Option<String>,
    /// Register `{base}/vault/callback` at the emulator's app (false = redirect mismatch).
    pub register_callback: bool,
    /// Patchbay's clock; the system clock when `None`.
    pub clock: Option<Arc<patchbay_core::ManualClock>>,
    /// The request-log queue's size and wait.
    pub request_log: patchbay_server::service::LogWriterOptions,
    /// Webhook delivery: 127.0.0.1 allowed, a retry schedule and timeout in milliseconds.
    pub webhooks: patchbay_server::service::webhooks::WebhookOptions,
    /// For `Db::Postgres`: the server to create the test database on (the shared one when
    /// `None`); the fault suite points it at a throwaway cluster behind a fault proxy.
    pub postgres_admin_url: Option<String>,
    /// `ServerConfig::listener.threads`: 0 serves on the test's runtime, N on N serving threads
    /// of the thread-per-core server.
    pub listener_threads: usize,
    /// Extra routes beside the API (`ServerConfig::extensions`).
    pub extensions: Vec<patchbay_server::app::RouterExtension>,
    /// `ServerConfig::crm_timeout` (`--crm-timeout-ms`); the server's default when `None`.
    pub crm_timeout: Option<std::time::Duration>,
}

impl Default for Options {
    fn default() -> Self {
        let emulator = EmulatorConfig {
            client_id: format!("3MVG9test{}", uuid::Uuid::new_v4().simple()),
            client_secret: format!("SECRET{}", uuid::Uuid::new_v4().simple()),
            auto_approve: true,
            require_secret_for_refresh: false,
            ..EmulatorConfig::default()
        };
        Self {
            db: Db::Sqlite,
            emulator,
            pkce: true,
            scopes: None,
            register_callback: true,
            clock: None,
            request_log: patchbay_server::service::LogWriterOptions::default(),
            webhooks: patchbay_server::service::webhooks::WebhookOptions {
                allowed_hosts: vec!["127.0.0.1".to_owned()],
                retry: patchbay_webhooks::RetrySchedule::new(vec![200, 400]).expect("schedule"),
                // Its lease is 1.5× this plus 1 s: roomy enough that a try slowed by a loaded
                // machine still records its own outcome instead of being retried.
                timeout: std::time::Duration::from_secs(5),
                tick: std::time::Duration::from_millis(50),
                crm_poll_tick: std::time::Duration::from_millis(100),
                crm_deletion_every: 10,
            },
            postgres_admin_url: None,
            listener_threads: 0,
            extensions: Vec::new(),
            crm_timeout: None,
        }
    }
}

pub struct TestApp {
    pub base_url: String,
    pub vault: Vault,
    pub app_id: ApplicationId,
    pub api_key: String,
    pub client: reqwest::Client,
    pub emulator: EmulatorHandle,
    pub client_secret: String,
    pub client_id: String,
    pub db: TestDatabase,
    /// The keyring document the server was started with.
    pub keyring_json: String,
    pub data_dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_with(Options::default())
        .await
        .expect("sqlite is always available")
}

/// `None` when the backend is not available here (PostgreSQL outside CI).
pub async fn spawn_with(options: Options) -> Option<TestApp> {
    init_tracing();
    let db = match options.db {
        Db::Sqlite => TestDatabase::sqlite(),
        Db::Postgres => match &options.postgres_admin_url {
            Some(url) => TestDatabase::postgres_on(url).await?,
            None => TestDatabase::postgres().await?,
        },
    };
    let data_dir = tempfile::tempdir().expect("temp dir");
    let keyring = Keyring::generate().expect("keyring");
    let mut config = ServerConfig::new(data_dir.path());
    config.database_url = Some(db.url().to_owned());
    let keyring_json = keyring.to_json().to_string();
    config.master_key = Some(keyring_json.clone());
    config.revoke.first_backoff = std::time::Duration::from_millis(10);
    config.refresh_interval = None;
    config.request_log = options.request_log;
    config.webhooks = options.webhooks.clone();
    if let Some(clock) = &options.clock {
        config.clock = Arc::clone(clock) as Arc<dyn patchbay_core::Clock>;
    }
    config.listener.threads = options.listener_threads;
    config.extensions = options.extensions.clone();
    if let Some(deadline) = options.crm_timeout {
        config.crm_timeout = deadline;
    }
    let app = Application::build(config).await.expect("build app");
    let base_url = app.base_url().to_owned();
    let vault = app.vault().clone();
    tokio::spawn(app.run_until_stopped());

    let mut emu_config = options.emulator.clone();
    emu_config.callback_urls = if options.register_callback {
        vec![format!("{base_url}/vault/callback")]
    } else {
        vec!["https://elsewhere.example.com/callback".to_owned()]
    };
    let client_secret = emu_config.client_secret.clone();
    let client_id = emu_config.client_id.clone();
    let emulator_client_id = client_id.clone();
    let emulator = patchbay_fake_salesforce::spawn(emu_config)
        .await
        .expect("spawn emulator");

    let created = vault
        .create_application("Test app", &[REDIRECT_URI.to_owned()])
        .await
        .expect("create app");
    let app_id = created.application.id.clone();
    vault
        .set_integration(
            &app_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                client_id: Some(client_id),
                client_secret: Some(SecretString::new(client_secret.clone())),
                login_url: Some(emulator.base_url()),
                scopes: options.scopes.clone(),
                pkce: Some(options.pkce),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("set integration");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Some(TestApp {
        base_url,
        vault,
        app_id,
        api_key: created.api_key.key.expose_secret().to_owned(),
        client,
        emulator,
        client_secret,
        client_id: emulator_client_id,
        db,
        keyring_json,
        data_dir,
    })
}

impl TestApp {
    /// A request with the API key and application headers.
    pub fn api(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.api_key)
            .header("x-apideck-app-id", self.app_id.as_str())
    }

    /// Same, with `x-apideck-consumer-id`.
    pub fn consumer_api(
        &self,
        method: Method,
        path: &str,
        consumer: &str,
    ) -> reqwest::RequestBuilder {
        self.api(method, path)
            .header("x-apideck-consumer-id", consumer)
    }

    /// A new API key with the given scopes.
    pub async fn key_with(&self, scopes: &[Scope]) -> String {
        let k = self
            .vault
            .create_api_key(&self.app_id, "test", scopes)
            .await
            .expect("key");
        k.key.expose_secret().to_owned()
    }

    pub async fn session(&self, consumer: &str) -> String {
        let r = self
            .consumer_api(Method::POST, "/vault/sessions", consumer)
            .json(&serde_json::json!({ "redirect_uri": REDIRECT_URI }))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("json");
        body["data"]["session_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// The `authorize_url` of the Salesforce connection, as `GET /vault/connections` shows it.
    pub async fn authorize_url(&self, consumer: &str) -> String {
        let conn = self.connection(consumer).await;
        conn["authorize_url"]
            .as_str()
            .expect("authorize_url")
            .to_owned()
    }

    pub async fn connection(&self, consumer: &str) -> Value {
        let r = self
            .consumer_api(Method::GET, "/vault/connections/crm/salesforce", consumer)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("json");
        body["data"].clone()
    }

    /// GET without following redirects; returns status, `Location` and body.
    pub async fn get_raw(
        &self,
        url: &str,
    ) -> (
        StatusCode,
        Option<String>,
        reqwest::header::HeaderMap,
        String,
    ) {
        let r = self.client.get(url).send().await.expect("send");
        let status = r.status();
        let headers = r.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = r.text().await.unwrap_or_default();
        (status, location, headers, body)
    }

    /// Walks authorize → emulator (auto-approve) → callback and returns every hop's URL plus
    /// the final response (the redirect to the application).
    pub async fn walk(&self, start: &str) -> Walk {
        let mut hops = vec![start.to_owned()];
        let mut url = start.to_owned();
        for _ in 0..6 {
            let (status, location, headers, body) = self.get_raw(&url).await;
            let on_patchbay_callback =
                url.starts_with(&format!("{}/vault/callback", self.base_url));
            if on_patchbay_callback || !status.is_redirection() {
                return Walk {
                    hops,
                    status,
                    location,
                    headers,
                    body,
                };
            }
            let next = location.expect("redirect has a location");
            let next = if next.starts_with('/') {
                format!("{}{next}", self.emulator.base_url())
            } else {
                next
            };
            hops.push(next.clone());
            url = next;
        }
        panic!("too many redirects: {hops:?}");
    }

    /// Connects `consumer`'s `crm/{service}` connection through the real flow (any provider's
    /// emulator, auto-approving) and returns the authorize URL it started from.
    pub async fn connect_service(&self, consumer: &str, service: &str) -> String {
        let r = self
            .consumer_api(
                reqwest::Method::GET,
                &format!("/vault/connections/crm/{service}"),
                consumer,
            )
            .send()
            .await
            .expect("send");
        let conn = json_with(r, StatusCode::OK).await;
        let authorize = conn["data"]["authorize_url"]
            .as_str()
            .expect("authorize_url")
            .to_owned();
        self.connect_through(&authorize).await;
        authorize
    }

    /// Follows a connect flow from Patchbay's `authorize` URL (any provider's emulator, auto-
    /// approving) back to the application's redirect URI, and fails the test on an error there.
    pub async fn connect_through(&self, authorize: &str) {
        let mut url = format!("{authorize}&redirect_uri={}", urlencode(REDIRECT_URI));
        let mut hops = Vec::new();
        for _ in 0..5 {
            let (status, location, _, body) = self.get_raw(&url).await;
            assert!(status.is_redirection(), "{status} at {url}: {body}");
            let next = location.expect("location");
            hops.push(next.clone());
            if next.starts_with(REDIRECT_URI) {
                assert!(!next.contains("error="), "connect failed: {hops:?}");
                return;
            }
            url = next;
        }
        panic!("the flow did not come back: {hops:?}");
    }

    /// The full connect flow for `consumer`, ending at the application's redirect URI.
    pub async fn connect(&self, consumer: &str) -> Walk {
        let start = format!(
            "{}&redirect_uri={}",
            self.authorize_url(consumer).await,
            urlencode(REDIRECT_URI)
        );
        self.walk(&start).await
    }

    /// Whether the emulator still honours `refresh_token` (a direct refresh, no secret).
    pub async fn refresh_token_alive(&self, refresh_token: &str) -> bool {
        let r = self
            .client
            .post(format!(
                "{}/services/oauth2/token",
                self.emulator.base_url()
            ))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                ("client_id", self.client_id.as_str()),
            ])
            .send()
            .await
            .expect("send");
        r.status().is_success()
    }

    pub async fn emulator_requests(&self) -> Vec<Value> {
        let r = self
            .client
            .get(format!("{}/__emulator/requests", self.emulator.base_url()))
            .send()
            .await
            .expect("send");
        let v: Value = r.json().await.expect("json");
        match v {
            Value::Array(a) => a,
            Value::Object(o) => o
                .get("requests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// One browser walk through the flow.
#[derive(Debug)]
pub struct Walk {
    pub hops: Vec<String>,
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Walk {
    /// The query pairs of the final `Location`.
    pub fn location_query(&self) -> Vec<(String, String)> {
        let loc = self.location.clone().unwrap_or_default();
        url::Url::parse(&loc)
            .map(|u| u.query_pairs().into_owned().collect())
            .unwrap_or_default()
    }

    pub fn location_param(&self, name: &str) -> Option<String> {
        self.location_query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The JSON body of a response, asserting the status.
pub async fn json_with(r: reqwest::Response, status: StatusCode) -> Value {
    let got = r.status();
    let body = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "body: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Asserts the Apideck error envelope and returns it.
pub fn assert_error_envelope(v: &Value, status: u16, type_name: &str) {
    assert_eq!(v["status_code"], status, "{v}");
    assert_eq!(v["type_name"], type_name, "{v}");
    assert!(v["error"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(v["message"].is_string(), "{v}");
    assert!(v.get("detail").is_some(), "{v}");
    // The request's id (`x-request-id`; observability.rs checks they are equal).
    assert!(
        v["ref"]
            .as_str()
            .is_some_and(patchbay_server::request_id::is_valid),
        "{v}"
    );
}
