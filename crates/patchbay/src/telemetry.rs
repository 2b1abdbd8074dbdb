//! Logging set-up. Logs go to stderr so that commands can print machine-readable JSON on stdout.

use tracing_subscriber::EnvFilter;

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `quiet` (one-shot commands such as `doctor`) logs only warnings by default, so that their
/// own output is not buried; `PATCHBAY_LOG` overrides either default.
pub fn init(format: LogFormat, quiet: bool) {
    let default = if quiet {
        "warn"
    } else {
        "info,sqlx=warn,hyper=warn,reqwest=warn"
    };
    let filter =
        EnvFilter::try_from_env("PATCHBAY_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (e.g. in tests) is harmless, so the error is deliberately ignored.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
