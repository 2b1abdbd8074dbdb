//! `patchbay serve`: binds, prints `listening on URL` (scripts and tests read it), serves
//! until Ctrl-C or SIGTERM, then finishes in-flight requests.

use anyhow::Context as _;
use patchbay_crypto::SecretString;
use patchbay_server::Application;

use super::context::server_config;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = server_config(&args.store, args.listen);
    config.extensions.extend(super::extensions());
    config.proxy.max_body_bytes = args.proxy_max_body_bytes;
    config.crm_timeout = std::time::Duration::from_millis(args.crm_timeout_ms);
    config.metrics_token = metrics_token(args.metrics_token_file.as_deref())?;
    config.webhooks = webhook_options(&args.webhooks)?;
    config.listener.header_read_timeout = args.listener.header_read_timeout;
    config.listener.body_read_timeout = args.listener.body_read_timeout;
    config.listener.idle_timeout = args.listener.idle_timeout;
    config.listener.response_write_timeout = args.listener.response_write_timeout;
    config.listener.max_connections = args.listener.max_connections as usize;
    config.listener.trusted_proxies = args.listener.trusted_proxies.clone();
    config.listener.threads = args.listener.server_threads;
    config.refresh_interval = Some(args.sweeper.sweeper_interval);
    config.sweeper_rate_per_integration = args.sweeper.sweeper_rate_per_integration;
    config.sweeper_burst_per_integration = args.sweeper.sweeper_burst_per_integration;
    let app = Application::build(config)
        .await
        .context("Patchbay refused to start")?;
    println!(
        "listening on {}:{}, public URL {}",
        args.listen.ip(),
        app.port(),
        app.base_url()
    );
    app.run_until(super::shutdown_signal())
        .await
        .context("serving")?;
    Ok(())
}

/// The scrape token's variable: read here only, never taken as a flag (`--metrics-token-file`
/// is the flag), so the token stays out of process listings and shell history.
const METRICS_TOKEN_ENV: &str = "PATCHBAY_METRICS_TOKEN";

/// The `/metrics` token from `PATCHBAY_METRICS_TOKEN` or `--metrics-token-file`. A variable that
/// is set counts even when empty: the server refuses an empty token rather than serving
/// `/metrics` open to a deployment that meant to close it.
fn metrics_token(file: Option<&std::path::Path>) -> anyhow::Result<Option<SecretString>> {
    let from_env = match std::env::var(METRICS_TOKEN_ENV) {
        Ok(value) => Some(SecretString::new(value)),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("{METRICS_TOKEN_ENV} is not valid UTF-8")
        }
    };
    match (from_env, file) {
        (Some(_), Some(_)) => anyhow::bail!(
            "both {METRICS_TOKEN_ENV} and --metrics-token-file are set: use one of them"
        ),
        (Some(token), None) => Ok(Some(token)),
        (None, Some(path)) => {
            // The error names the file and the IO problem, never the content.
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--metrics-token-file {}", path.display()))?;
            Ok(Some(SecretString::new(text)))
        }
        (None, None) => Ok(None),
    }
}

/// `--webhook-*` flags as the server's options.
fn webhook_options(
    args: &crate::cli::WebhookArgs,
) -> anyhow::Result<patchbay_server::service::webhooks::WebhookOptions> {
    let mut options = patchbay_server::service::webhooks::WebhookOptions {
        allowed_hosts: args
            .webhook_allowed_hosts
            .iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        timeout: std::time::Duration::from_millis(args.webhook_timeout_ms),
        tick: std::time::Duration::from_millis(args.webhook_tick_ms),
        crm_poll_tick: std::time::Duration::from_millis(args.crm_poll_tick_ms),
        crm_deletion_every: args.crm_deletion_every,
        ..Default::default()
    };
    if !args.webhook_retry_delays_ms.is_empty() {
        options.retry = patchbay_webhooks::RetrySchedule::new(args.webhook_retry_delays_ms.clone())
            .ok_or_else(|| {
                anyhow::anyhow!("--webhook-retry-delays-ms: delays must be 0 or more")
            })?;
    }
    Ok(options)
}
