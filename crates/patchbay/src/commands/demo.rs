//! `patchbay demo`: Patchbay on the embedded default plus a seeded Salesforce emulator, in one
//! process, with a demo application, API key, integration and Vault session, and the next steps
//! printed. Works offline with no set-up; rerunning reuses the data dir (a new API key is
//! issued each run, because keys are shown only once).

use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::Query;
use axum::response::Html;
use patchbay_core::{ApplicationId, ConsumerId, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle};
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::service::sessions::SessionRequest;
use patchbay_server::service::{Scope, Vault};
use patchbay_server::{Application, ServerConfig};

use crate::cli::DemoArgs;

const APP_NAME: &str = "Patchbay demo";
const CONSUMER: &str = "demo-consumer";
const ADMIN_USER: &str = "admin";
/// Where the demo customer lands after connecting (served by this command).
const CONNECTED_PATH: &str = "/demo/connected";

/// What the demo set up, for the printed instructions.
struct Demo {
    app: ApplicationId,
    admin_password: String,
    api_key: String,
    session_uri: String,
    authorize_url: Option<String>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    // The embedded default only: the demo ignores PATCHBAY_DATABASE_URL and friends so that
    // it can never touch a real deployment's database.
    let mut config = ServerConfig::new(&args.data_dir);
    config.listen = args.listen;
    config.extensions.extend(super::extensions());
    config
        .extensions
        .push(Arc::new(|_vault: &Vault| connected_page()));
    let app = Application::build(config)
        .await
        .context("starting Patchbay")?;
    let base = app.base_url().to_owned();
    let defaults = EmulatorConfig::default();
    let emulator = patchbay_fake_salesforce::spawn(EmulatorConfig {
        listen: args.emulator_listen,
        callback_urls: vec![format!("{base}/vault/callback")],
        // As the setup guide configures the External Client App.
        require_pkce: true,
        require_secret_for_refresh: false,
        records: 200,
        ..defaults.clone()
    })
    .await
    .context("starting the Salesforce emulator")?;
    let demo = set_up(app.vault(), &base, &emulator, &defaults).await?;
    print!(
        "{}",
        instructions(&demo, &base, &emulator, &defaults, &args.data_dir)
    );
    let served = app.run_until(super::shutdown_signal()).await;
    emulator.shutdown().await;
    served.context("serving")?;
    Ok(())
}

async fn set_up(
    vault: &Vault,
    base: &str,
    emulator: &EmulatorHandle,
    emu: &EmulatorConfig,
) -> anyhow::Result<Demo> {
    let redirect = format!("{base}{CONNECTED_PATH}");
    let existing = vault
        .list_applications()
        .await?
        .into_iter()
        .find(|a| a.name == APP_NAME);
    let app = match existing {
        Some(a) => a.id,
        None => {
            vault
                .create_application(APP_NAME, &[])
                .await?
                .application
                .id
        }
    };
    // The port may differ from the last run.
    vault
        .set_redirect_uris(&app, std::slice::from_ref(&redirect))
        .await?;
    // Keys are shown once: retire the previous run's and issue a fresh one.
    for key in vault.list_api_keys(&app).await? {
        if key.revoked_at.is_none() {
            vault.revoke_api_key(&app, &key.id).await?;
        }
    }
    let api_key = vault
        .create_api_key(&app, "demo", Scope::DEFAULT)
        .await?
        .key
        .expose_secret()
        .to_owned();
    let (crm, salesforce) = (UnifiedApi::crm(), ServiceId::salesforce());
    vault
        .set_integration(
            &app,
            &crm,
            &salesforce,
            IntegrationInput {
                enabled: Some(true),
                client_id: Some(emu.client_id.clone()),
                client_secret: Some(SecretString::new(emu.client_secret.clone())),
                login_url: Some(emulator.base_url()),
                send_secret_on_refresh: Some(false),
                pkce: Some(true),
                ..IntegrationInput::default()
            },
        )
        .await?;
    let admin_password = admin_user(vault).await?;
    let consumer = ConsumerId::parse(CONSUMER).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = ConnectionKey {
        application_id: app.clone(),
        consumer_id: consumer.clone(),
        unified_api: crm,
        service_id: salesforce,
    };
    // The emulator keeps its tokens in memory: a connection from an earlier run is dead, so
    // the demo starts from a freshly added one (state `added`, ready to authorize).
    if vault
        .get_connection(&key)
        .await
        .is_ok_and(|c| c.state != "available")
    {
        let _ = vault.delete_connection(&key, &Actor::Admin).await;
    }
    vault
        .add_connection(&key, ConnectionInput::default(), &Actor::Admin)
        .await?;
    let session = vault
        .create_session(
            &app,
            &consumer,
            SessionRequest {
                redirect_uri: Some(redirect),
                // A day, so the printed link outlives a coffee break (the default is 1 h).
                settings: Some(serde_json::Map::from_iter([(
                    "session_length".to_owned(),
                    serde_json::Value::from("1d"),
                )])),
                ..SessionRequest::default()
            },
        )
        .await?;
    let authorize_url = vault.get_connection(&key).await?.authorize_url;
    Ok(Demo {
        app,
        admin_password,
        api_key,
        session_uri: session.session_uri,
        authorize_url,
    })
}

fn instructions(
    d: &Demo,
    base: &str,
    emulator: &EmulatorHandle,
    emu: &EmulatorConfig,
    data_dir: &std::path::Path,
) -> String {
    let headers = format!(
        "  -H 'Authorization: Bearer {}' \\\n  -H 'x-apideck-app-id: {}' \\\n  -H 'x-apideck-consumer-id: {CONSUMER}'",
        d.api_key, d.app
    );
    let direct = d
        .authorize_url
        .as_deref()
        .map(|u| format!("   Or go straight to Salesforce's login:\n   {u}\n"))
        .unwrap_or_default();
    format!(
        "\
Patchbay demo is running (Ctrl-C to stop).

  Patchbay             {base}
  Admin console        {base}/admin  (user {admin_user}, password {admin_password})
  Salesforce emulator  {emu_url}  (user {user}, password {password})
  Data dir             {data_dir}
  Application          {app}
  API key              {key}

1. Connect the demo customer's Salesforce org: open this link in a browser and log in as
   {user} / {password}:
   {session}
{direct}
2. First Vault call (the connection's state becomes \"callable\" once connected):
curl -s {base}/vault/connections \\
{headers}

3. First CRM call:
curl -s {base}/crm/contacts \\
{headers} \\
  -H 'x-apideck-service-id: salesforce'

4. Check the integration (\"Test Vault\"):
   patchbay doctor --data-dir {data_dir} --public-url {base} --app {app} crm/salesforce
",
        emu_url = emulator.base_url(),
        admin_user = ADMIN_USER,
        admin_password = d.admin_password,
        user = emu.username,
        password = emu.password,
        data_dir = data_dir.display(),
        app = d.app,
        key = d.api_key,
        session = d.session_uri,
    )
}

/// The console's `admin` user with a fresh password (printed, like the API key: it is a demo).
async fn admin_user(vault: &Vault) -> anyhow::Result<String> {
    let password = patchbay_crypto::random_token(15)?
        .expose_secret()
        .to_owned();
    let secret = SecretString::new(password.clone());
    let params = patchbay_console::PasswordParams::default();
    let exists = vault.store().find_admin_user(ADMIN_USER).await?.is_some();
    patchbay_console::create_admin_user(vault, ADMIN_USER, &secret, params, exists)
        .await
        .map_err(|e| anyhow::anyhow!("creating the demo admin user: {e}"))?;
    Ok(password)
}

/// The page the demo customer returns to after connecting.
fn connected_page() -> axum::Router {
    axum::Router::new().route(
        CONNECTED_PATH,
        axum::routing::get(
            |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                let body = match q.get("error") {
                    Some(error) => format!(
                        "<h1>Connection failed</h1><p><b>{}</b></p><p>{}</p>",
                        escape(error),
                        escape(q.get("error_description").map_or("", String::as_str))
                    ),
                    None => "<h1>Connected</h1><p>The demo customer's Salesforce org is connected. Go back to the terminal and run the curl commands.</p>".to_owned(),
                };
                Html(format!(
                    "<!doctype html><meta charset=utf-8><title>Patchbay demo</title><body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">{body}</body>"
                ))
            },
        ),
    )
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
