//! `patchbay serve`: binds, prints `listening on URL` (scripts and tests read it), serves
//! until Ctrl-C or SIGTERM, then finishes in-flight requests.

use anyhow::Context as _;
use patchbay_server::Application;

use super::context::server_config;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = server_config(&args.store, args.listen);
    config.extensions.extend(super::extensions());
    config.proxy.max_body_bytes = args.proxy_max_body_bytes;
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
