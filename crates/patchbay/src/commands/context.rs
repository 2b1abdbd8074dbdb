//! From flags and `PATCHBAY_*` variables to a [`ServerConfig`], and to an opened service layer
//! for the commands that work on the configured database without serving.

use std::net::SocketAddr;

use anyhow::Context as _;
use patchbay_core::{ApplicationId, ServiceId, UnifiedApi};
use patchbay_server::app::open_vault;
use patchbay_server::{ServerConfig, Vault};

use crate::cli::{Connector, DEFAULT_LISTEN, StoreArgs};

/// The master key's variable. Read here only, never taken as a flag.
pub const MASTER_KEY_ENV: &str = "PATCHBAY_MASTER_KEY";

pub fn server_config(store: &StoreArgs, listen: SocketAddr) -> ServerConfig {
    let mut config = ServerConfig::new(&store.data_dir);
    config.listen = listen;
    config.public_url = store.public_url.clone();
    config.database_url = store.database_url.clone().filter(|u| !u.trim().is_empty());
    config.key_file = store.key_file.clone();
    config.master_key = std::env::var(MASTER_KEY_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty());
    config
}

/// The public URL the server would use: `--public-url`, else `http://{PATCHBAY_LISTEN}`.
pub fn public_url(store: &StoreArgs) -> String {
    store.public_url.clone().unwrap_or_else(|| {
        let listen = std::env::var("PATCHBAY_LISTEN").unwrap_or_else(|_| DEFAULT_LISTEN.to_owned());
        format!("http://{listen}")
    })
}

/// Opens the configured database with the verified keyring, as the server does at start.
///
/// Refuses when the embedded database does not exist yet: a command pointed at the wrong
/// folder would otherwise create an empty database and a new master key there, then report
/// "not found" about objects that live elsewhere.
pub async fn open(store: &StoreArgs) -> anyhow::Result<Vault> {
    let config = command_config(store)?;
    if let Some(missing) = missing_sqlite_file(&config) {
        anyhow::bail!(
            "no Patchbay database at {} (data directory {}). Run the command from the folder \
             where `patchbay serve` or `patchbay demo` keeps its data, or point it there with \
             --data-dir DIR (or --database-url URL); `patchbay apps create` starts a new one",
            missing.display(),
            store.data_dir.display()
        );
    }
    open_config(store, &config).await
}

/// Opens the configured database, creating the embedded one (and its key file) when it does
/// not exist yet: for the commands that begin a deployment (`apps create`, `admin create-user`).
pub async fn open_or_create(store: &StoreArgs) -> anyhow::Result<Vault> {
    let config = command_config(store)?;
    if let Some(missing) = missing_sqlite_file(&config) {
        eprintln!(
            "note: creating a new Patchbay database at {}",
            missing.display()
        );
    }
    open_config(store, &config).await
}

fn command_config(store: &StoreArgs) -> anyhow::Result<ServerConfig> {
    let listen: SocketAddr = DEFAULT_LISTEN.parse().context("default listen address")?;
    Ok(server_config(store, listen))
}

async fn open_config(store: &StoreArgs, config: &ServerConfig) -> anyhow::Result<Vault> {
    open_vault(config, &public_url(store))
        .await
        .context("opening the Patchbay database")
}

/// The SQLite file the configuration names, when it does not exist. PostgreSQL databases are
/// never created by a command, so only SQLite can be "missing" here.
fn missing_sqlite_file(config: &ServerConfig) -> Option<std::path::PathBuf> {
    let url = config.effective_database_url();
    let path = patchbay_store::sqlite_path(&url)?;
    (!path.exists()).then_some(path)
}

pub fn app_id(s: &str) -> anyhow::Result<ApplicationId> {
    ApplicationId::parse(s.trim()).map_err(|e| anyhow::anyhow!("--app: {e}"))
}

pub fn connector(c: &Connector) -> anyhow::Result<(UnifiedApi, ServiceId)> {
    let api = UnifiedApi::parse(&c.0).map_err(|e| anyhow::anyhow!("unified API: {e}"))?;
    let service = ServiceId::parse(&c.1).map_err(|e| anyhow::anyhow!("service id: {e}"))?;
    Ok((api, service))
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
