//! One module per subcommand; each turns parsed flags into a call on a library crate.

mod admin;
mod api_keys;
mod apps;
mod context;
mod demo;
mod doctor;
mod fake_hubspot;
mod fake_salesforce;
mod integrations;
mod keys;
mod serve;

use crate::cli::Command;

/// What a command asks `main` to exit with, beyond success and error.
pub enum Outcome {
    Success,
    /// The command ran, and what it found is a failure (e.g. `doctor` with failed checks).
    Failed,
}

pub async fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Serve(args) => serve::run(args).await?,
        Command::Demo(args) => demo::run(args).await?,
        Command::Apps(cmd) => apps::run(cmd).await?,
        Command::ApiKeys(cmd) => api_keys::run(cmd).await?,
        Command::Integrations(cmd) => integrations::run(cmd).await?,
        Command::Keys(cmd) => keys::run(cmd).await?,
        Command::Doctor(args) => return doctor::run(args).await,
        Command::Admin(cmd) => admin::run(cmd).await?,
        Command::FakeSalesforce(args) => fake_salesforce::run(args).await?,
        Command::FakeHubspot(args) => fake_hubspot::run(args).await?,
    }
    Ok(Outcome::Success)
}

/// Routers served beside the API: the admin console (`/admin`) and the hosted connect page
/// (`/session/{jwt}`).
pub fn extensions() -> Vec<patchbay_server::app::RouterExtension> {
    vec![patchbay_console::extension()]
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, fall back to waiting forever on SIGTERM alone.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
