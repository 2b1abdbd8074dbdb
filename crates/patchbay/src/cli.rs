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
    /// Run the Patchbay server (Vault, CRM and admin APIs).
    Serve(ServeArgs),
    /// Try Patchbay with no set-up: the server, seeded Salesforce and HubSpot emulators, a
    /// demo application, API key and an integration for each, and a connect link.
    Demo(DemoArgs),
    /// Applications (tenants) and their redirect-URI allow-list.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// API keys of an application (shown once at creation).
    #[command(subcommand)]
    ApiKeys(ApiKeysCommand),
    /// Connector integrations (the company's Salesforce External Client App).
    #[command(subcommand)]
    Integrations(IntegrationsCommand),
    /// Master-key rotation and re-encryption of stored secrets.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// "Test Vault": check an integration and name the Salesforce setting to change.
    Doctor(DoctorArgs),
    /// Admin console users.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Run a local Salesforce emulator (OAuth server + REST API) for development, demos and CI.
    FakeSalesforce(FakeSalesforceArgs),
    /// Run a local HubSpot emulator (OAuth install flow + CRM API) for development, demos and CI.
    FakeHubspot(FakeHubspotArgs),
}

/// Where the state lives and how to open it; shared by every command that uses the database.
/// The master key itself is read only from `PATCHBAY_MASTER_KEY` (never a flag, so it stays
/// out of shell history and process listings) or from the key file.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Folder of the embedded SQLite database and its key file.
    #[arg(long, env = "PATCHBAY_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to the embedded SQLite file in the data dir.
    #[arg(long, env = "PATCHBAY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A keyring file to use instead of `{data-dir}/master.key`.
    #[arg(long, env = "PATCHBAY_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// The externally visible base URL; the OAuth callback is `{public-url}/vault/callback`.
    /// Defaults to `http://{listen address}`.
    #[arg(long, env = "PATCHBAY_PUBLIC_URL")]
    pub public_url: Option<String>,
}

pub const DEFAULT_DATA_DIR: &str = "./.patchbay";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed as `listening on URL`).
    #[arg(long, env = "PATCHBAY_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The largest request or response body `/proxy` passes, in bytes; past it the caller gets
    /// a 413 envelope naming the limit. Bodies stream, so memory does not grow with it.
    #[arg(
        long,
        env = "PATCHBAY_PROXY_MAX_BODY_BYTES",
        default_value_t = patchbay_server::service::proxy::ProxyOptions::default().max_body_bytes,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub proxy_max_body_bytes: u64,
    /// The deadline of one unified-CRM provider call, in ms, from the send to the answer's last
    /// byte (100 to 300000). Past it the caller gets a 502 `ConnectorExecutionError` saying the
    /// provider did not answer in time. The Proxy API has its own timeouts.
    #[arg(long, env = "PATCHBAY_CRM_TIMEOUT_MS", default_value_t = 20_000,
          value_parser = clap::value_parser!(u64).range(100..=300_000))]
    pub crm_timeout_ms: u64,
    /// A file holding the token `/metrics` then requires as `Authorization: Bearer <token>`
    /// (surrounding whitespace is ignored; an empty file refuses to start). Or set
    /// PATCHBAY_METRICS_TOKEN to the token itself, not both. Without either, `/metrics` is open.
    #[arg(long, env = "PATCHBAY_METRICS_TOKEN_FILE")]
    pub metrics_token_file: Option<PathBuf>,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    #[command(flatten)]
    pub listener: ListenerArgs,
    #[command(flatten)]
    pub sweeper: SweeperArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The proactive refresh sweeper of `patchbay serve` (docs/deploy.md, "Token refresh").
#[derive(Debug, Clone, Args)]
pub struct SweeperArgs {
    /// How often the sweeper looks for connections whose tokens are about to expire.
    #[arg(long, env = "PATCHBAY_SWEEPER_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub sweeper_interval: std::time::Duration,
    /// Token calls per second the sweeper makes at most per integration (one Salesforce
    /// External Client App); due connections past it wait for the next sweep. On-demand
    /// refreshes (a request meeting an expired token) are not limited by it.
    #[arg(long, env = "PATCHBAY_SWEEPER_RATE_PER_INTEGRATION",
          default_value_t = patchbay_refresh::SweeperConfig::default().per_integration_per_sec,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub sweeper_rate_per_integration: u32,
    /// The largest burst of sweeper token calls per integration (the bucket's size).
    #[arg(long, env = "PATCHBAY_SWEEPER_BURST_PER_INTEGRATION",
          default_value_t = patchbay_refresh::SweeperConfig::default().per_integration_burst,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub sweeper_burst_per_integration: u32,
}

/// Webhook delivery settings of `patchbay serve`.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Hosts (exact names or IP literals, comma-separated) that may receive webhooks although
    /// they are private or loopback, for receivers inside your own network.
    #[arg(long, env = "PATCHBAY_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub webhook_allowed_hosts: Vec<String>,
    /// Delays in ms between delivery tries (comma-separated); default Apideck's schedule
    /// (3 min … 8 h, nine tries). For tests and staging.
    #[arg(long, env = "PATCHBAY_WEBHOOK_RETRY_DELAYS_MS", value_delimiter = ',')]
    pub webhook_retry_delays_ms: Vec<i64>,
    /// How long a receiver has to answer, in ms (default 60000, as Apideck).
    #[arg(long, env = "PATCHBAY_WEBHOOK_TIMEOUT_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout_ms: u64,
    /// How often the delivery worker looks for due deliveries, in ms.
    #[arg(long, env = "PATCHBAY_WEBHOOK_TICK_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub webhook_tick_ms: u64,
    /// How often the CRM poller looks for connections due for a change poll, in ms. The poll
    /// interval itself is per integration (`integrations set --crm-poll-interval-s`).
    #[arg(long, env = "PATCHBAY_CRM_POLL_TICK_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub crm_poll_tick_ms: u64,
    /// How many poll intervals apart a deletion pass runs, for CRMs whose change query cannot
    /// see deletions (HubSpot: one call per 100 archived records of each polled object). A pass
    /// left unfinished (more than 1,000 archived records) goes on every interval.
    #[arg(long, env = "PATCHBAY_CRM_DELETION_EVERY", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub crm_deletion_every: u32,
}

/// Slow-client timeouts and the connection cap (docs/deploy.md, "Slow clients"). Durations are
/// `30s`, `500ms`, `2m` or plain seconds.
#[derive(Debug, Clone, Args)]
pub struct ListenerArgs {
    /// Time from accepting a connection (or from the first byte of a keep-alive request) to a
    /// complete request head; a client that trickles headers is cut off after it.
    #[arg(long, env = "PATCHBAY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: std::time::Duration,
    /// Time from the request head to the end of the request body; past it the caller gets a
    /// 408 envelope and the connection closes.
    #[arg(long, env = "PATCHBAY_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_read_timeout: std::time::Duration,
    /// How long a keep-alive connection may wait for its next request.
    #[arg(long, env = "PATCHBAY_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: std::time::Duration,
    /// How long writing a response may make no progress (the client reads nothing) before the
    /// connection closes. Progress restarts it: a slow client that keeps reading gets the
    /// whole response, however large.
    #[arg(long, env = "PATCHBAY_RESPONSE_WRITE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub response_write_timeout: std::time::Duration,
    /// Connections served at once; more wait in the kernel's listen backlog. Keep it below the
    /// process's open-file limit (`ulimit -n`).
    #[arg(long, env = "PATCHBAY_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// A reverse proxy (IP or network, repeatable) whose `X-Forwarded-For` names the client:
    /// sign-in throttling counts per client address, so behind a proxy list it here or every
    /// client looks like the proxy. Never list a network clients can send from.
    #[arg(long = "trusted-proxy", env = "PATCHBAY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = patchbay_server::listener::IpNet::parse)]
    pub trusted_proxies: Vec<patchbay_server::listener::IpNet>,
    /// Serving threads. `0`: one work-stealing runtime serves every connection. `N` (or `auto`,
    /// one per CPU): N threads, each with a runtime, a listening socket (`SO_REUSEPORT` on
    /// Linux) and a provider connection pool of its own, so that a call stays on the thread
    /// that accepted its connection, as nginx's workers do. Background work (token refresh,
    /// the request log, webhooks, change polling) runs on the main runtime either way.
    #[arg(long, env = "PATCHBAY_SERVER_THREADS", default_value = "0", value_parser = parse_threads)]
    pub server_threads: usize,
}

/// `auto` (one per CPU) or a number of serving threads, 0 to 256.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("auto") {
        return Ok(std::thread::available_parallelism().map_or(1, usize::from));
    }
    match s.parse::<usize>() {
        Ok(n) if n <= 256 => Ok(n),
        _ => Err(format!(
            "expected `auto` or a number from 0 to 256, got `{s}`"
        )),
    }
}

/// `30s`, `500ms`, `2m`, or a number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 30s, 500ms or 2m)"))?;
    let d = match unit {
        "ms" => std::time::Duration::from_millis(n),
        "s" => std::time::Duration::from_secs(n),
        "m" => std::time::Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("`{s}`: the unit must be ms, s or m")),
    };
    if d.is_zero() {
        return Err("a timeout must be longer than zero".to_owned());
    }
    Ok(d)
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of Patchbay [default: 127.0.0.1:8080; with --smoke, a free port]. Port 0 picks
    /// a free port.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Address of the Salesforce emulator [default: 127.0.0.1:8787; with --smoke, a free
    /// port]. Port 0 picks a free port.
    #[arg(long)]
    pub emulator_listen: Option<SocketAddr>,
    /// Address of the HubSpot emulator [default: 127.0.0.1:8788; with --smoke, a free port].
    /// Port 0 picks a free port.
    #[arg(long)]
    pub hubspot_emulator_listen: Option<SocketAddr>,
    /// Folder of the demo's database, key file and emulator state (reused on the next run).
    #[arg(long, default_value = "./.patchbay-demo")]
    pub data_dir: PathBuf,
    /// Check the demo and exit: start it, do every printed step (connect the demo customer to
    /// Salesforce and to HubSpot, the Vault, CRM and proxy calls, the doctor checks) and exit 0
    /// when all of them work.
    #[arg(long)]
    pub smoke: bool,
}

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Create an application and its first API key (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Where consumers may return after connecting (repeatable); the first is the default.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Print one JSON object with `application_id` and `api_key`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List applications.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Change an application's name or its redirect-URI allow-list (audited).
    Update {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        /// The new name.
        #[arg(long)]
        name: Option<String>,
        /// The complete new allow-list (repeatable): it replaces the old one, so repeat the
        /// flag for every URI to keep. The first is the default.
        #[arg(long = "redirect-uri", conflicts_with = "clear_redirect_uris")]
        redirect_uris: Vec<String>,
        /// Empty the redirect-URI allow-list.
        #[arg(long)]
        clear_redirect_uris: bool,
        /// Extra browser origins (repeatable; the whole new list) that may call the
        /// session-authenticated Vault API, beyond the redirect URIs' own origins.
        #[arg(long = "cors-origin", conflicts_with = "clear_cors_origins")]
        cors_origins: Vec<String>,
        /// Empty the extra CORS origins (the redirect URIs' origins stay allowed).
        #[arg(long)]
        clear_cors_origins: bool,
        /// Print the updated application as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create an API key (shown once).
    Create {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scopes (repeatable): vault, crm, proxy, export. Default: vault, crm, proxy.
        /// `export` allows reading a connection's plaintext credentials (audited).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List an application's API keys (never their secrets).
    List {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke an API key by its id.
    Revoke {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        key_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `unified_api/service_id`, e.g. `crm/salesforce`.
#[derive(Debug, Clone)]
pub struct Connector(pub String, pub String);

impl std::str::FromStr for Connector {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('/') {
            Some((api, service)) if !api.is_empty() && !service.is_empty() => {
                Ok(Connector(api.to_owned(), service.to_owned()))
            }
            _ => Err("expected UNIFIED_API/SERVICE_ID, e.g. crm/salesforce".to_owned()),
        }
    }
}

#[derive(Debug, Args)]
pub struct IntegrationSetArgs {
    /// Application id (from `patchbay apps list`).
    #[arg(long)]
    pub app: String,
    /// e.g. `crm/salesforce` or `crm/hubspot`.
    pub connector: Connector,
    /// The External Client App's Consumer Key (HubSpot: the app's Client ID).
    #[arg(long)]
    pub client_id: Option<String>,
    /// The Consumer Secret. Prefer `--client-secret-stdin` or `PATCHBAY_CLIENT_SECRET`, which
    /// stay out of shell history.
    #[arg(long, env = "PATCHBAY_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// Read the Consumer Secret from the first line of standard input.
    #[arg(long, conflicts_with = "client_secret")]
    pub client_secret_stdin: bool,
    /// `https://login.salesforce.com` (production), `https://test.salesforce.com` (sandbox),
    /// a My Domain, or the emulator's URL. HubSpot: `https://app.hubspot.com` (the default), or
    /// the HubSpot emulator's URL.
    #[arg(long)]
    pub login_url: Option<String>,
    /// Requested scopes (default: the connector's, e.g. `api refresh_token offline_access
    /// openid` for Salesforce).
    #[arg(long)]
    pub scopes: Option<String>,
    /// A second credential set to rotate to without downtime (`integrations promote`).
    #[arg(long)]
    pub staged_client_id: Option<String>,
    #[arg(long, env = "PATCHBAY_STAGED_CLIENT_SECRET", hide_env_values = true)]
    pub staged_client_secret: Option<String>,
    /// Read the staged Consumer Secret from standard input (after the main one, if both).
    #[arg(long, conflicts_with = "staged_client_secret")]
    pub staged_client_secret_stdin: bool,
    /// Send the client secret on refresh (only if "Require Secret for Refresh Token Flow" is
    /// checked in Salesforce).
    #[arg(long, num_args = 1, action = ArgAction::Set)]
    pub send_secret_on_refresh: Option<bool>,
    /// Send PKCE (S256) on authorize; keep it on.
    #[arg(long, num_args = 1, action = ArgAction::Set)]
    pub pkce: Option<bool>,
    /// Seconds between CRM change polls for `crm.*` webhook events (default 300).
    #[arg(long)]
    pub crm_poll_interval_s: Option<u32>,
    #[arg(long, num_args = 1, action = ArgAction::Set)]
    pub enabled: Option<bool>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum IntegrationsCommand {
    /// Create or change an integration. Secrets are never echoed back.
    Set(Box<IntegrationSetArgs>),
    /// Make the staged credential set the main one.
    Promote {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        connector: Connector,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show one integration (without secrets).
    Show {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        connector: Connector,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List an application's integrations.
    List {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable an integration (connections stay, but are not used).
    Disable {
        /// Application id (from `patchbay apps list`).
        #[arg(long)]
        app: String,
        connector: Connector,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new master key for `PATCHBAY_MASTER_KEY` (a keyring document on one line), e.g.
    /// `export PATCHBAY_MASTER_KEY="$(patchbay keys generate)"`. Touches no database. It is key
    /// material: keep it in a secret manager, never in shell history or a shared file.
    Generate,
    /// Add a new master key and make it active. The key file is rewritten in place; with
    /// `PATCHBAY_MASTER_KEY` the new keyring is written to `--output`. Then run `keys reencrypt`.
    Rotate {
        /// Where to write the new keyring when the key comes from `PATCHBAY_MASTER_KEY`.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-seal every stored secret under the active key.
    Reencrypt {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Keys in the keyring and how many stored secrets each protects.
    Status {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user of the admin console (`/admin`). The password is read from
    /// `PATCHBAY_ADMIN_PASSWORD` or, when that is unset, from the first line of stdin; never
    /// from a flag, so it stays out of shell history and process listings.
    CreateUser {
        /// Letters, digits and `. _ @ -`, at most 64 characters.
        username: String,
        /// Replace the password of an existing user instead.
        #[arg(long)]
        reset_password: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Application id (from `patchbay apps list`).
    #[arg(long)]
    pub app: String,
    /// e.g. `crm/salesforce`.
    pub connector: Connector,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
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
    /// Keep apps, users, grants, tokens and records in this file (mode 0600) across restarts.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
}

/// Flags of `patchbay fake-hubspot`. They define one app and one account with its default user
/// so that a script can use the emulator with no other set-up.
#[derive(Debug, Args)]
pub struct FakeHubspotArgs {
    /// Address to listen on; port 0 picks a free port (the chosen URL is printed on start).
    #[arg(long, default_value = "127.0.0.1:8788")]
    pub listen: SocketAddr,
    /// The app's client id.
    #[arg(long)]
    pub client_id: Option<String>,
    /// The app's client secret.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// A redirect URL of the app (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Space-separated scopes the app requires (an install must request all of them).
    #[arg(long, default_value = patchbay_fake_hubspot::config::DEFAULT_SCOPES)]
    pub scopes: String,
    /// Space-separated scopes the app may request as `optional_scope`.
    #[arg(long, default_value = "")]
    pub optional_scopes: String,
    /// Access-token lifetime (HubSpot's is 30 minutes).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
    pub access_token_ttl: u64,
    /// Skip the sign-in and consent page: installs redirect with a code at once.
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub auto_approve: bool,
    /// Seed of the deterministic demo data generator.
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Roughly how many CRM records to generate (40% of them contacts).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub records: usize,
    /// API calls allowed per rolling 10 seconds for the account; 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub rate_limit: u32,
    /// Search calls allowed per second for the account; 0 turns the limit off.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub search_rate_limit: u32,
    /// Keep the account's records, the issued tokens and the clock in this file (mode 0600)
    /// across restarts.
    #[arg(long, value_name = "PATH")]
    pub state_file: Option<PathBuf>,
    /// Answer control-plane requests (`/__emulator/*`) only when they carry
    /// `x-emulator-token: TOKEN`; others get a 404.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "PATCHBAY_EMULATOR_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub control_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_threads_take_auto_or_a_bounded_number() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(parse_threads("auto"), Ok(cores));
        assert_eq!(parse_threads("AUTO"), Ok(cores));
        assert_eq!(parse_threads("0"), Ok(0));
        assert_eq!(parse_threads(" 4 "), Ok(4));
        assert_eq!(parse_threads("256"), Ok(256));
        for bad in ["257", "-1", "two", ""] {
            let err = parse_threads(bad).expect_err(bad);
            assert!(err.contains("auto"), "{err}");
        }
    }

    /// `--app` appears in a dozen commands; each says where the id comes from.
    #[test]
    fn every_app_flag_says_where_the_id_comes_from() {
        fn walk(cmd: &clap::Command, path: &str, seen: &mut usize) {
            for arg in cmd.get_arguments() {
                if arg.get_long() == Some("app") {
                    *seen += 1;
                    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                    assert!(
                        help.contains("patchbay apps list"),
                        "{path} --app: {help:?}"
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), seen);
            }
        }
        let mut seen = 0;
        walk(
            &<Cli as clap::CommandFactory>::command(),
            "patchbay",
            &mut seen,
        );
        assert!(seen >= 10, "{seen}");
    }

    #[test]
    fn apps_update_takes_a_name_and_a_replacement_list() {
        let cli = Cli::try_parse_from([
            "patchbay",
            "apps",
            "update",
            "--app",
            "app_1",
            "--name",
            "Acme",
            "--redirect-uri",
            "https://a.example/cb",
            "--redirect-uri",
            "https://b.example/cb",
        ])
        .expect("valid command line");
        let Command::Apps(AppsCommand::Update {
            app,
            name,
            redirect_uris,
            clear_redirect_uris,
            ..
        }) = cli.command
        else {
            panic!("apps update");
        };
        assert_eq!(app, "app_1");
        assert_eq!(name.as_deref(), Some("Acme"));
        assert_eq!(
            redirect_uris,
            ["https://a.example/cb", "https://b.example/cb"]
        );
        assert!(!clear_redirect_uris);
        assert!(
            Cli::try_parse_from([
                "patchbay",
                "apps",
                "update",
                "--app",
                "a",
                "--redirect-uri",
                "https://a.example/cb",
                "--clear-redirect-uris",
            ])
            .is_err(),
            "a list and --clear-redirect-uris contradict each other"
        );
    }

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
        let Command::FakeSalesforce(args) = cli.command else {
            panic!("fake-salesforce");
        };
        assert!(!args.require_pkce);
        assert!(args.rotate_refresh_tokens);
        assert!(args.auto_approve);
        assert!(
            args.require_secret_for_refresh,
            "Salesforce's default stays on"
        );
    }

    #[test]
    fn state_file_is_off_unless_given() {
        let parse = |extra: &[&str]| {
            let cli = Cli::try_parse_from([&["patchbay", "fake-salesforce"], extra].concat())
                .expect("valid command line");
            let Command::FakeSalesforce(args) = cli.command else {
                panic!("fake-salesforce");
            };
            args.state_file
        };
        assert_eq!(parse(&[]), None);
        assert_eq!(
            parse(&["--state-file", "emu.json"]),
            Some(PathBuf::from("emu.json"))
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
        let Command::FakeSalesforce(args) = cli.command else {
            panic!("fake-salesforce");
        };
        assert_eq!(args.callback_urls, ["http://a/cb", "http://b/cb"]);
        assert!(
            Cli::try_parse_from(["patchbay", "fake-salesforce", "--require-pkce", "maybe"])
                .is_err()
        );
    }
}
