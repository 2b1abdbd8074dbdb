//! One Patchbay server with the console mounted, its own SQLite database and its own emulator.

use patchbay_console::{ConsoleConfig, PasswordParams};
use patchbay_core::{ApplicationId, ConsumerId, ServiceId, UnifiedApi};
use patchbay_crypto::{Keyring, SecretString};
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle};
use patchbay_server::service::Vault;
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::service::sessions::SessionRequest;
use patchbay_server::{Application, ServerConfig};
use patchbay_store::testing::TestDatabase;

pub const ADMIN_USER: &str = "ada@example.com";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/after-connect";

/// The value of `name="csrf"` in a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a csrf field") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

pub struct Knobs {
    pub require_secret_for_refresh: bool,
    /// Configure the Salesforce integration up front (tests of the admin form leave it out).
    pub integration: bool,
    pub max_failed_logins: u32,
    /// Serve behind a pretend https public URL (cookies must then be `Secure`).
    pub https_public_url: bool,
    /// Seconds before the emulator's app becomes active (a freshly created External Client App).
    pub activation_delay_secs: u64,
    /// Trust `X-Forwarded-For` from 127.0.0.1, so a test can speak for several client addresses.
    pub behind_proxy: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            require_secret_for_refresh: false,
            integration: true,
            max_failed_logins: 5,
            https_public_url: false,
            activation_delay_secs: 0,
            behind_proxy: false,
        }
    }
}

pub struct TestApp {
    /// The public URL (what pages and links use).
    pub base_url: String,
    /// Where the server really listens.
    pub local_url: String,
    pub vault: Vault,
    pub app_id: ApplicationId,
    pub emulator: EmulatorHandle,
    pub client_id: String,
    pub client_secret: String,
    pub emulator_user: String,
    pub emulator_password: String,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

pub async fn spawn(knobs: Knobs) -> TestApp {
    spawn_with(TestDatabase::sqlite(), knobs).await
}

/// [`spawn`] on a given database (see [`console_backend_tests!`]).
pub async fn spawn_with(db: TestDatabase, knobs: Knobs) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::new(dir.path());
    config.database_url = Some(db.url().to_owned());
    config.master_key = Some(Keyring::generate().expect("keyring").to_json().to_string());
    config.refresh_interval = None;
    if knobs.https_public_url {
        config.public_url = Some("https://patchbay.example.test".to_owned());
    }
    config.revoke.first_backoff = std::time::Duration::from_millis(10);
    // The webhook tests' receivers listen on 127.0.0.1.
    config.webhooks.allowed_hosts = vec!["127.0.0.1".to_owned()];
    config.webhooks.tick = std::time::Duration::from_millis(50);
    if knobs.behind_proxy {
        config.listener.trusted_proxies =
            vec![patchbay_server::listener::IpNet::parse("127.0.0.1").expect("ip")];
    }
    config
        .extensions
        .push(patchbay_console::extension_with(ConsoleConfig {
            password: PasswordParams::insecure_fast_for_tests(),
            max_failed_logins: knobs.max_failed_logins,
            ..ConsoleConfig::default()
        }));
    let app = Application::build(config).await.expect("build app");
    let base_url = app.base_url().to_owned();
    let local_url = format!("http://127.0.0.1:{}", app.port());
    let vault = app.vault().clone();
    tokio::spawn(app.run_until_stopped());

    let emulator_config = EmulatorConfig {
        client_id: format!("3MVG9console{}", uuid::Uuid::new_v4().simple()),
        client_secret: format!("SECRET{}", uuid::Uuid::new_v4().simple()),
        callback_urls: vec![format!("{base_url}/vault/callback")],
        require_secret_for_refresh: knobs.require_secret_for_refresh,
        auto_approve: false,
        activation_delay_secs: knobs.activation_delay_secs,
        ..EmulatorConfig::default()
    };
    let client_id = emulator_config.client_id.clone();
    let client_secret = emulator_config.client_secret.clone();
    let emulator_user = emulator_config.username.clone();
    let emulator_password = emulator_config.password.clone();
    let emulator = patchbay_fake_salesforce::spawn(emulator_config)
        .await
        .expect("spawn emulator");

    let created = vault
        .create_application(
            "Acme CRM sync",
            &[
                REDIRECT_URI.to_owned(),
                format!("{base_url}/connect/return"),
            ],
        )
        .await
        .expect("create app");
    let app_id = created.application.id.clone();
    if knobs.integration {
        vault
            .set_integration(
                &app_id,
                &UnifiedApi::crm(),
                &ServiceId::salesforce(),
                IntegrationInput {
                    client_id: Some(client_id.clone()),
                    client_secret: Some(SecretString::new(client_secret.clone())),
                    login_url: Some(emulator.base_url()),
                    ..IntegrationInput::default()
                },
            )
            .await
            .expect("set integration");
    }
    patchbay_console::create_admin_user(
        &vault,
        ADMIN_USER,
        &SecretString::new(ADMIN_PASSWORD.to_owned()),
        PasswordParams::insecure_fast_for_tests(),
        false,
    )
    .await
    .expect("create admin");
    TestApp {
        base_url,
        local_url,
        vault,
        app_id,
        emulator,
        client_id,
        client_secret,
        emulator_user,
        emulator_password,
        _db: db,
        _dir: dir,
    }
}

impl TestApp {
    /// A hosted-page link for `consumer`, as `POST /vault/sessions` returns it.
    pub async fn session_uri(&self, consumer: &str, req: SessionRequest) -> String {
        self.vault
            .create_session(&self.app_id, &ConsumerId::parse(consumer).expect("id"), req)
            .await
            .expect("session")
            .session_uri
    }

    /// A client that keeps cookies and does not follow redirects.
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }
}

/// One `async fn(TestDatabase)` as a test per backend; the PostgreSQL half skips with a notice
/// when the server is unreachable (and fails under `CI=true`, see `TestDatabase::postgres`).
macro_rules! console_backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(patchbay_store::testing::TestDatabase::sqlite()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(db) = patchbay_store::testing::TestDatabase::postgres().await else {
                        eprintln!("skipped: PostgreSQL is not reachable");
                        return;
                    };
                    super::$name(db).await;
                }
            }
        )*
    };
}
pub(crate) use console_backend_tests;
