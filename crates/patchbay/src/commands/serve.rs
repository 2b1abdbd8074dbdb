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
