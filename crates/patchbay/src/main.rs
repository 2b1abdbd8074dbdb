//! The `patchbay` binary: parses the command line, loads configuration and wires the crates
//! together. No product logic lives here; each subcommand hands off to a library crate.
//!
//! Exit codes: 0 success; 1 the command could not run (the message says why); 2 bad usage
//! (clap); 3 the command ran and found failures (`doctor` with a failed check).

mod cli;
mod commands;
mod telemetry;

use clap::Parser;

/// mimalloc instead of glibc's malloc: the proxy's hot path allocates small, short-lived
/// buffers across worker threads, and glibc's arena upkeep (`malloc_consolidate`,
/// `unlink_chunk`) was a sixth of Patchbay's CPU per proxied call under load (`perf`, see
/// bench/results.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let long_running = matches!(
        cli.command,
        cli::Command::Serve(_) | cli::Command::Demo(_) | cli::Command::FakeSalesforce(_)
    );
    telemetry::init(cli.log_format, !long_running);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(commands::Outcome::Success) => std::process::ExitCode::SUCCESS,
        // The command ran and found a failure (`doctor`): distinct from "could not run".
        Ok(commands::Outcome::Failed) => std::process::ExitCode::from(3),
        Err(err) => {
            // `{:#}` prints the whole context chain on one line; no secret ever reaches an error.
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
