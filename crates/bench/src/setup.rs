//! One bench world: Patchbay (SQLite in a temp dir, or `--database-url`), the Salesforce
//! emulator, an application with a consumer connected the way a browser would, one account to
//! read, and the bare forwarder.

use std::sync::Arc;

use anyhow::{Context, bail};
use patchbay_core::{ApplicationId, ConsumerId, ManualClock, ServiceId, UnifiedApi};
use patchbay_fake_salesforce::EmulatorConfig;
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::{Application, ServerConfig, Vault};
use reqwest::Client;

pub const REDIRECT_URI: &str = "http://127.0.0.1:9/after-connect";
pub const API: &str = "v66.0";

pub struct Setup {
    pub emulator: String,
    pub patchbay: String,
    pub app_id: String,
    pub api_key: String,
    pub access_token: String,
    pub account_id: String,
    pub forwarder: String,
    /// The emulator's app, for a second Patchbay (the footprint process) to register.
    pub client_id: String,
    pub client_secret: String,
    pub vault: Vault,
    /// Patchbay's clock: it follows the system clock until a scenario moves it past every
    /// token's expiry.
    pub clock: Arc<ManualClock>,
    pub emulator_handle: patchbay_fake_salesforce::EmulatorHandle,
    _dir: tempfile::TempDir,
}

/// Handles of the runtimes the emulator and the forwarder run on (Patchbay runs on the one
/// `setup` is called on).
pub struct Runtimes {
    pub emulator: tokio::runtime::Handle,
    pub forwarder: tokio::runtime::Handle,
}

/// `threads`: Patchbay's serving threads (`ServerConfig::listener.threads`; 0 = its runtime).
pub async fn setup(
    rts: &Runtimes,
    database_url: Option<&str>,
    threads: usize,
) -> anyhow::Result<Setup> {
    let dir = tempfile::tempdir()?;
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(patchbay_crypto::Keyring::generate()?.to_json().to_string());
    config.refresh_interval = None;
    config.database_url = database_url.map(str::to_owned);
    config.listener.threads = threads;
    let clock = Arc::new(ManualClock::new(patchbay_core::Clock::now_ms(
        &patchbay_core::SystemClock,
    )));
    config.clock = Arc::clone(&clock) as Arc<dyn patchbay_core::Clock>;
    let app = Application::build(config).await?;
    let patchbay = app.base_url().to_owned();
    let vault = app.vault().clone();
    tokio::spawn(app.run_until_stopped());
    let client_id = format!("3MVG9bench{}", uuid::Uuid::new_v4().simple());
    let client_secret = format!("SECRET{}", uuid::Uuid::new_v4().simple());
    let emulator = rts
        .emulator
        .spawn(patchbay_fake_salesforce::spawn(EmulatorConfig {
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            callback_urls: vec![format!("{patchbay}/vault/callback")],
            auto_approve: true,
            require_secret_for_refresh: false,
            daily_api_limit: u64::MAX / 4,
            ..EmulatorConfig::default()
        }))
        .await??;
    let emu = emulator.base_url().trim_end_matches('/').to_owned();

    let created = vault
        .create_application("bench", &[REDIRECT_URI.to_owned()])
        .await?;
    let app_id = created.application.id.clone();
    register_salesforce(&vault, &app_id, &emu, &client_id, &client_secret).await?;
    let api_key = created.api_key.key.expose_secret().to_owned();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // Connect the consumer the way a browser would: authorize, auto-approve, callback.
    let v: serde_json::Value = http
        .get(format!("{patchbay}/vault/connections/crm/salesforce"))
        .bearer_auth(&api_key)
        .header("x-apideck-app-id", app_id.as_str())
        .header("x-apideck-consumer-id", "bench")
        .send()
        .await?
        .json()
        .await?;
    let authorize = v["data"]["authorize_url"]
        .as_str()
        .context("authorize_url")?;
    let mut url = format!(
        "{authorize}&redirect_uri={}",
        url::form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    for _ in 0..8 {
        let r = http.get(&url).send().await?;
        let Some(next) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
            bail!("the connect flow stopped at {} ({})", url, r.status());
        };
        if next.starts_with(REDIRECT_URI) {
            break;
        }
        url = if next.starts_with('/') {
            format!("{emu}{next}")
        } else {
            next.to_owned()
        };
    }
    let token = vault
        .connection_token(
            &app_id,
            &ConsumerId::parse("bench")?,
            &UnifiedApi::crm(),
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("connection not callable: {e}"))?;
    let access_token = token.access_token.expose_secret().to_owned();
    let created: serde_json::Value = http
        .post(format!("{emu}/services/data/{API}/sobjects/Account"))
        .bearer_auth(&access_token)
        .json(
            &serde_json::json!({ "Name": "Bench Account", "Website": "https://bench.example.com" }),
        )
        .send()
        .await?
        .json()
        .await?;
    let account_id = created["id"].as_str().context("account id")?.to_owned();
    let forwarder = rts
        .forwarder
        .spawn(spawn_forwarder(emu.clone(), access_token.clone()))
        .await??;
    Ok(Setup {
        forwarder,
        client_id,
        client_secret,
        emulator: emu,
        patchbay,
        app_id: app_id.to_string(),
        api_key,
        access_token,
        account_id,
        vault,
        clock,
        emulator_handle: emulator,
        _dir: dir,
    })
}

/// Registers the emulator's app as the application's Salesforce integration.
pub async fn register_salesforce(
    vault: &Vault,
    app_id: &ApplicationId,
    emulator: &str,
    client_id: &str,
    client_secret: &str,
) -> anyhow::Result<()> {
    vault
        .set_integration(
            app_id,
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                client_id: Some(client_id.to_owned()),
                client_secret: Some(patchbay_crypto::SecretString::new(client_secret)),
                login_url: Some(emulator.to_owned()),
                pkce: Some(true),
                ..IntegrationInput::default()
            },
        )
        .await?;
    Ok(())
}

/// The floor for any proxy: receive, send on to the emulator, hand the answer back.
pub async fn spawn_forwarder(emulator: String, token: String) -> anyhow::Result<String> {
    let client = Client::new();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (client, emulator, token) = (client.clone(), emulator.clone(), token.clone());
        async move {
            let url = format!("{emulator}{}", uri.path());
            match client.get(url).bearer_auth(token).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body = r.bytes().await.unwrap_or_default();
                    (
                        axum::http::StatusCode::from_u16(status)
                            .unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
                        body,
                    )
                }
                Err(_) => (axum::http::StatusCode::BAD_GATEWAY, Default::default()),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(base)
}
