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
        cli::Command::Serve(_)
            | cli::Command::Demo(_)
            | cli::Command::FakeSalesforce(_)
            | cli::Command::FakeHubspot(_)
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
            // No secret ever reaches an error.
            eprintln!("error: {}", causes(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once. Many library errors repeat their
/// source in their own message ("could not listen: Address in use"), and anyhow's `{:#}` then
/// prints the source again; a cause whose text is already on the line adds nothing.
fn causes(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::causes;

    #[derive(Debug, thiserror::Error)]
    #[error("could not listen on 127.0.0.1:8080: {0}")]
    struct Bind(#[source] std::io::Error);

    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "Address already in use");
        let err = anyhow::Error::new(Bind(io)).context("Patchbay refused to start");
        assert_eq!(
            causes(&err),
            "Patchbay refused to start: could not listen on 127.0.0.1:8080: Address already in use"
        );
    }

    #[test]
    fn distinct_causes_are_all_kept() {
        let err = anyhow::anyhow!("no such table").context("opening the database");
        assert_eq!(causes(&err), "opening the database: no such table");
    }
}
