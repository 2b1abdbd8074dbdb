//! `patchbay demo`: Patchbay on the embedded default plus a seeded Salesforce emulator and a
//! seeded HubSpot emulator, in one process, with a demo application, API key, an integration
//! for each CRM and a Vault session that offers both, and the next steps printed ([`steps`]).
//! Works offline with no set-up. A rerun reuses the data dir: the application, the
//! integrations and the customer's connections are kept (each emulator keeps its grants in the
//! same folder); the API key and the admin password are new on every run, because both are
//! shown only once.
//!
//! `--smoke` does what the printed steps say, itself, and exits ([`smoke`]).

mod smoke;
mod steps;

use std::net::SocketAddr;

use anyhow::Context as _;
use patchbay_core::{ApplicationId, ConnectionState, ConsumerId, ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle};
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::{ConnectionInput, ConnectionKey};
use patchbay_server::service::integrations::IntegrationInput;
use patchbay_server::service::sessions::SessionRequest;
use patchbay_server::service::views::ConnectionView;
use patchbay_server::service::{Scope, Vault};
use patchbay_server::{Application, ServerConfig};

use crate::cli::DemoArgs;
use steps::{CONSUMER, NextSteps};

const APP_NAME: &str = "Patchbay demo";
const ADMIN_USER: &str = "admin";
/// Where the demo customer lands when it connects without the hosted page (the console's own
/// styled completion page).
const DONE_PATH: &str = "/connect/done";
const DEFAULT_EMULATOR_LISTEN: &str = "127.0.0.1:8787";
const EMULATOR_STATE_FILE: &str = "emulator-state.json";
const DEFAULT_HUBSPOT_LISTEN: &str = "127.0.0.1:8788";
const HUBSPOT_STATE_FILE: &str = "hubspot-emulator-state.json";
const HUBSPOT: &str = "hubspot";

/// What the demo set up, for the printed instructions.
struct Demo {
    app: ApplicationId,
    admin_password: String,
    api_key: String,
    session_uri: String,
    authorize_url: Option<String>,
    connected: bool,
    hubspot_connected: bool,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    // A smoke run must not fail because a developer's demo already holds the usual ports.
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let listen = match (args.listen, args.smoke) {
        (Some(l), _) => l,
        (None, true) => any_port,
        (None, false) => crate::cli::DEFAULT_LISTEN.parse()?,
    };
    let emulator_listen = match (args.emulator_listen, args.smoke) {
        (Some(l), _) => l,
        (None, true) => any_port,
        (None, false) => DEFAULT_EMULATOR_LISTEN.parse()?,
    };
    let hubspot_listen = match (args.hubspot_emulator_listen, args.smoke) {
        (Some(l), _) => l,
        (None, true) => any_port,
        (None, false) => DEFAULT_HUBSPOT_LISTEN.parse()?,
    };
    // The embedded default only: the demo ignores PATCHBAY_DATABASE_URL and friends so that
    // it can never touch a real deployment's database.
    let mut config = ServerConfig::new(&args.data_dir);
    config.listen = listen;
    config.extensions.extend(super::extensions());
    let app = Application::build(config)
        .await
        .context("starting Patchbay")?;
    let base = app.base_url().to_owned();
    let defaults = EmulatorConfig::default();
    let emulator = patchbay_fake_salesforce::spawn(EmulatorConfig {
        listen: emulator_listen,
        callback_urls: vec![format!("{base}/vault/callback")],
        // As the setup guide configures the External Client App.
        require_pkce: true,
        require_secret_for_refresh: false,
        records: 200,
        // The smoke run plays a customer who is already signed in to Salesforce.
        auto_approve: args.smoke,
        // The emulator's grants and records live beside Patchbay's database, so a stored
        // connection's refresh token still works on the next run.
        state_file: Some(args.data_dir.join(EMULATOR_STATE_FILE)),
        // Patchbay's /proxy can reach the emulator's host; its control plane (which lists
        // every grant's tokens) must not be reachable that way. Nothing in the demo uses it.
        control_token: Some(control_token()?),
        ..defaults.clone()
    })
    .await
    .context("starting the Salesforce emulator")?;
    let hubspot_defaults = patchbay_fake_hubspot::EmulatorConfig::default();
    let hubspot = patchbay_fake_hubspot::spawn(patchbay_fake_hubspot::EmulatorConfig {
        listen: hubspot_listen,
        redirect_uris: vec![format!("{base}/vault/callback")],
        records: 200,
        auto_approve: args.smoke,
        state_file: Some(args.data_dir.join(HUBSPOT_STATE_FILE)),
        // For the same reason as the Salesforce emulator's: /proxy reaches this host too.
        control_token: Some(control_token()?),
        ..hubspot_defaults.clone()
    })
    .await
    .context("starting the HubSpot emulator")?;
    let demo = set_up(
        app.vault(),
        &base,
        &emulator,
        &defaults,
        &hubspot,
        &hubspot_defaults,
    )
    .await?;
    let steps = NextSteps {
        base: base.clone(),
        admin_user: ADMIN_USER,
        admin_password: demo.admin_password,
        emulator_url: emulator.base_url(),
        emulator_user: defaults.username.clone(),
        emulator_password: defaults.password.clone(),
        hubspot_url: hubspot.base_url(),
        hubspot_user: hubspot_defaults.user_email.clone(),
        hubspot_password: hubspot_defaults.password.clone(),
        data_dir: args.data_dir.display().to_string(),
        app: demo.app.to_string(),
        api_key: demo.api_key,
        session_uri: demo.session_uri,
        authorize_url: demo.authorize_url,
        invocation: steps::invocation(),
        connected: demo.connected,
        hubspot_connected: demo.hubspot_connected,
    };
    print!("{}", steps.render());
    if !args.smoke {
        let served = app.run_until(super::shutdown_signal()).await;
        emulator.shutdown().await;
        hubspot.shutdown().await;
        served.context("serving")?;
        return Ok(());
    }
    let vault = app.vault().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let outcome = tokio::time::timeout(smoke::TIME_LIMIT, smoke::run(&steps, &vault))
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "the smoke run did not finish within {} s",
                smoke::TIME_LIMIT.as_secs()
            ))
        });
    let _ = stop.send(());
    let served = server.await.context("the server task")?;
    emulator.shutdown().await;
    hubspot.shutdown().await;
    outcome?;
    served.context("serving")?;
    Ok(())
}

/// A fresh secret for an emulator's control plane, which nothing in the demo uses.
fn control_token() -> anyhow::Result<String> {
    Ok(patchbay_crypto::random_token(32)
        .map_err(|_| anyhow::anyhow!("no randomness for an emulator's control token"))?
        .expose_secret()
        .to_owned())
}

async fn set_up(
    vault: &Vault,
    base: &str,
    emulator: &EmulatorHandle,
    emu: &EmulatorConfig,
    hubspot: &patchbay_fake_hubspot::EmulatorHandle,
    hs: &patchbay_fake_hubspot::EmulatorConfig,
) -> anyhow::Result<Demo> {
    let done = format!("{base}{DONE_PATH}");
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
    // The port may differ from the last run. The first URI is the default return; the hosted
    // page's own return URL lets customers who connect there come back to it.
    vault
        .set_redirect_uris(
            &app,
            &[done.clone(), patchbay_console::hosted_return_url(base)],
        )
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
    // HubSpot's profile (no PKCE, the secret on every token call, its default scopes) comes
    // from its connector; the emulator serves the install page, the token endpoint and the API.
    let hubspot_id = ServiceId::parse(HUBSPOT).map_err(|e| anyhow::anyhow!("{e}"))?;
    vault
        .set_integration(
            &app,
            &crm,
            &hubspot_id,
            IntegrationInput {
                enabled: Some(true),
                client_id: Some(hs.client_id.clone()),
                client_secret: Some(SecretString::new(hs.client_secret.clone())),
                login_url: Some(hubspot.base_url()),
                ..IntegrationInput::default()
            },
        )
        .await?;
    let admin_password = admin_user(vault).await?;
    let consumer = ConsumerId::parse(CONSUMER).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = ConnectionKey {
        application_id: app.clone(),
        consumer_id: consumer.clone(),
        unified_api: crm.clone(),
        service_id: salesforce,
    };
    // Keep an earlier run's connection while it points at this emulator. One made against
    // another emulator address (another --emulator-listen) is dead: start that one over.
    let sf_base = emulator.base_url();
    let connected = keep_or_add(vault, &key, |c| {
        c.settings
            .instance_url
            .as_deref()
            .is_none_or(|u| u.trim_end_matches('/') == sf_base.trim_end_matches('/'))
    })
    .await?;
    // A HubSpot connection names no host of its own: its API is the integration's login URL,
    // set to this run's emulator above, and the emulator's state file keeps its tokens.
    let hubspot_key = ConnectionKey {
        service_id: hubspot_id,
        ..key.clone()
    };
    let hubspot_connected = keep_or_add(vault, &hubspot_key, |_| true).await?;
    let session = vault
        .create_session(
            &app,
            &consumer,
            SessionRequest {
                redirect_uri: Some(done),
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
        connected,
        hubspot_connected,
    })
}

/// Keeps an earlier run's connection when `usable` says it still works here, starts it over
/// otherwise, and says whether it is connected.
async fn keep_or_add(
    vault: &Vault,
    key: &ConnectionKey,
    usable: impl Fn(&ConnectionView) -> bool,
) -> anyhow::Result<bool> {
    let existing = vault.get_connection(key).await.ok();
    let points_here = existing.as_ref().is_some_and(usable);
    // A connection row exists (the consumer added it) unless the state is `Available`.
    let added = existing
        .as_ref()
        .is_some_and(|c| c.state != ConnectionState::Available);
    if added && !points_here {
        vault.delete_connection(key, &Actor::Admin).await?;
    }
    if !(points_here && added) {
        vault
            .add_connection(key, ConnectionInput::default(), &Actor::Admin)
            .await?;
    }
    Ok(points_here
        && existing.as_ref().is_some_and(|c| {
            matches!(
                c.state,
                ConnectionState::Callable | ConnectionState::Authorized
            )
        }))
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
