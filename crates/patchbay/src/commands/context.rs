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
pub async fn open(store: &StoreArgs) -> anyhow::Result<Vault> {
    let listen: SocketAddr = DEFAULT_LISTEN.parse().context("default listen address")?;
    let config = server_config(store, listen);
    open_vault(&config, &public_url(store))
        .await
        .context("opening the Patchbay database")
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
