//! `patchbay fake-salesforce`: runs the Salesforce emulator until interrupted.

use anyhow::Context as _;
use patchbay_fake_salesforce::EmulatorConfig;

use crate::cli::FakeSalesforceArgs;

pub async fn run(args: FakeSalesforceArgs) -> anyhow::Result<()> {
    let config = emulator_config(args);
    let handle = patchbay_fake_salesforce::spawn(config)
        .await
        .context("starting the Salesforce emulator")?;
    // One line of JSON on stdout, so scripts can read the URL and credentials.
    println!("{}", handle.startup_info());
    super::shutdown_signal().await;
    // Graceful: with a state file, the last changes are written before the process ends.
    handle.shutdown().await;
    Ok(())
}

pub fn emulator_config(args: FakeSalesforceArgs) -> EmulatorConfig {
    let defaults = EmulatorConfig::default();
    EmulatorConfig {
        listen: args.listen,
        client_id: args.client_id.unwrap_or(defaults.client_id),
        client_secret: args.client_secret.unwrap_or(defaults.client_secret),
        callback_urls: if args.callback_urls.is_empty() {
            defaults.callback_urls
        } else {
            args.callback_urls
        },
        scopes: args.scopes.split_whitespace().map(str::to_owned).collect(),
        require_pkce: args.require_pkce,
        require_secret_for_refresh: args.require_secret_for_refresh,
        rotate_refresh_tokens: args.rotate_refresh_tokens,
        access_token_ttl_secs: args.access_token_ttl,
        auto_approve: args.auto_approve,
        seed: args.seed,
        records: args.records,
        activation_delay_secs: args.activation_delay,
        tls_cert_dir: args.tls,
        state_file: args.state_file,
        ..defaults
    }
}
