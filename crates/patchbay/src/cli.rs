//! The command-line surface. Flag names are a contract with users' scripts: change none of them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "patchbay",
    version,
    about = "Open-source integration vault and unified CRM API"
)]
pub struct Cli {
    /// Log output format (logs go to stderr).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "PATCHBAY_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local Salesforce emulator (OAuth server + REST API) for development, demos and CI.
    FakeSalesforce(FakeSalesforceArgs),
}

/// Flags of `patchbay fake-salesforce`. They define one default External Client App and one
/// default user so that a script can use the emulator with no other set-up.
#[derive(Debug, Args)]
pub struct FakeSalesforceArgs {
    /// Address to listen on; port 0 picks a free port (the chosen URL is printed on start).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// Consumer key of the default External Client App.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Consumer secret of the default External Client App.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Allowed callback URL of the default app (repeatable).
    #[arg(long = "callback-url")]
    pub callback_urls: Vec<String>,
    /// Space-separated scopes the default app allows.
    #[arg(
        long,
        default_value = "api refresh_token offline_access openid id profile email web full"
    )]
    pub scopes: String,
    /// "Require Proof Key for Code Exchange (PKCE)".
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub require_pkce: bool,
    /// "Require Secret for Refresh Token Flow" (Salesforce's default is on).
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub require_secret_for_refresh: bool,
    /// "Enable Refresh Token Rotation".
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub rotate_refresh_tokens: bool,
    /// Access-token lifetime (an inactivity window, as Salesforce's session timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 7200)]
    pub access_token_ttl: u64,
    /// Skip the login and consent pages for `login_hint=<username>` or the default user.
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub auto_approve: bool,
    /// Seed of the deterministic demo data generator.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Roughly how many CRM records to generate.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub records: usize,
    /// Seconds after start during which the default app is "not active yet" (invalid_client_id).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub activation_delay: u64,
    /// Serve HTTPS with a self-signed certificate written to this folder (cert.pem, key.pem).
    #[arg(long, value_name = "CERT_DIR")]
    pub tls: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_flags_take_an_explicit_value() {
        let cli = Cli::try_parse_from([
            "patchbay",
            "fake-salesforce",
            "--require-pkce",
            "false",
            "--rotate-refresh-tokens",
            "true",
            "--auto-approve",
        ])
        .expect("valid command line");
        let Command::FakeSalesforce(args) = cli.command;
        assert!(!args.require_pkce);
        assert!(args.rotate_refresh_tokens);
        assert!(args.auto_approve);
        assert!(
            args.require_secret_for_refresh,
            "Salesforce's default stays on"
        );
    }

    #[test]
    fn callback_url_is_repeatable_and_bad_values_are_rejected() {
        let cli = Cli::try_parse_from([
            "patchbay",
            "fake-salesforce",
            "--callback-url",
            "http://a/cb",
            "--callback-url",
            "http://b/cb",
        ])
        .expect("valid command line");
        let Command::FakeSalesforce(args) = cli.command;
        assert_eq!(args.callback_urls, ["http://a/cb", "http://b/cb"]);
        assert!(
            Cli::try_parse_from(["patchbay", "fake-salesforce", "--require-pkce", "maybe"])
                .is_err()
        );
    }
}
