//! `patchbay fake-hubspot`: runs the HubSpot emulator until interrupted.

use anyhow::Context as _;
use patchbay_fake_hubspot::EmulatorConfig;

use crate::cli::FakeHubspotArgs;

pub async fn run(args: FakeHubspotArgs) -> anyhow::Result<()> {
    let handle = patchbay_fake_hubspot::spawn(emulator_config(args))
        .await
        .context("starting the HubSpot emulator")?;
    // One line of JSON on stdout, so scripts can read the URLs and credentials.
    println!("{}", handle.startup_info());
    super::shutdown_signal().await;
    // Graceful: with a state file, the last changes are written before the process ends.
    handle.shutdown().await;
    Ok(())
}

pub fn emulator_config(args: FakeHubspotArgs) -> EmulatorConfig {
    let defaults = EmulatorConfig::default();
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    EmulatorConfig {
        listen: args.listen,
        client_id: args.client_id.unwrap_or(defaults.client_id),
        client_secret: args.client_secret.unwrap_or(defaults.client_secret),
        redirect_uris: if args.redirect_uris.is_empty() {
            defaults.redirect_uris
        } else {
            args.redirect_uris
        },
        scopes: words(&args.scopes),
        optional_scopes: words(&args.optional_scopes),
        access_token_ttl_secs: args.access_token_ttl,
        auto_approve: args.auto_approve,
        seed: args.seed,
        records: args.records,
        rate_limit_per_10s: args.rate_limit,
        search_rate_limit_per_sec: args.search_rate_limit,
        state_file: args.state_file,
        control_token: args.control_token.filter(|t| !t.is_empty()),
        ..defaults
    }
}
