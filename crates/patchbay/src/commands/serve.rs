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
    config.listener.header_read_timeout = args.listener.header_read_timeout;
    config.listener.body_read_timeout = args.listener.body_read_timeout;
    config.listener.idle_timeout = args.listener.idle_timeout;
    config.listener.max_connections = args.listener.max_connections as usize;
    config.listener.trusted_proxies = args.listener.trusted_proxies.clone();
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
