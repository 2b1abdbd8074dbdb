//! The app factory: [`ServerConfig`] in, a bound [`Application`] out. Tests and the binary
//! start the same server; tests bind port 0.
//!
//! Start-up refuses to run without a usable master key: the keyring comes from
//! `master_key` (`PATCHBAY_MASTER_KEY`) or a key file, and is checked against the canary stored
//! in the database. Only the embedded default (SQLite in the data dir, no key configured)
//! creates a key file, with a loud warning.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use patchbay_core::{Clock, SystemClock};
use patchbay_crypto::Keyring;
use patchbay_refresh::{Sweeper, SweeperConfig};
use patchbay_store::Store;
use tokio::net::TcpListener;

use crate::listener::{ConnectionStats, ListenerOptions};
use crate::routes::{AppState, router};
use crate::service::keys::CANARY_META_KEY;
use crate::service::{RevokePolicy, Vault, VaultOptions};

/// Bodies larger than this are refused with 413 before any parsing.
pub const BODY_LIMIT_BYTES: usize = 256 * 1024;
/// Where the key canary lives in the `meta` table.
const KEY_FILE_NAME: &str = "master.key";
const DB_FILE_NAME: &str = "patchbay.db";

/// Everything needed to start the server. Built once by the binary (flags, then `PATCHBAY_*`
/// environment variables) or by a test, and validated by [`Application::build`].
#[derive(Clone)]
pub struct ServerConfig {
    /// `--listen`; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `--public-url`; the OAuth callback is `{public_url}/vault/callback`. Defaults to
    /// `http://{bound address}`.
    pub public_url: Option<String>,
    /// `--database-url`; defaults to `sqlite://{data_dir}/patchbay.db`.
    pub database_url: Option<String>,
    /// `--data-dir`: the embedded database and key file live here.
    pub data_dir: PathBuf,
    /// `PATCHBAY_MASTER_KEY`: a keyring JSON document or one base64 key. Secret.
    pub master_key: Option<String>,
    /// A keyring file to use instead of `{data_dir}/master.key`.
    pub key_file: Option<PathBuf>,
    pub revoke: RevokePolicy,
    /// How often the server refreshes tokens that are about to expire; `None` turns the
    /// background refresher off (tests drive [`Vault::sweep_refresh`] themselves).
    pub refresh_interval: Option<std::time::Duration>,
    /// The sweeper's token calls per second per integration, and its largest burst
    /// (`--sweeper-rate-per-integration`, `--sweeper-burst-per-integration`).
    pub sweeper_rate_per_integration: u32,
    pub sweeper_burst_per_integration: u32,
    /// The token-lifecycle coordinator's tunables (lease TTL, backoffs); the fault suite
    /// shortens the lease so a SIGKILLed holder's lease expires within the test.
    pub refresh: patchbay_refresh::RefreshConfig,
    /// Injectable time, for tests.
    pub clock: Arc<dyn Clock>,
    /// Extra routers merged beside the API (the admin console and the hosted connect page
    /// live in their own crate, which depends on this one, so they plug in here).
    pub extensions: Vec<RouterExtension>,
    /// The Proxy API's size cap, retries and timeouts.
    pub proxy: crate::service::proxy::ProxyOptions,
    /// The request-log queue's size and how long a caller waits for room in it.
    pub request_log: crate::service::LogWriterOptions,
    /// Webhook delivery options (`--webhook-allowed-hosts`, test knobs).
    pub webhooks: crate::service::webhooks::WebhookOptions,
    /// Slow-client timeouts and the connection cap of the accept loop.
    pub listener: crate::listener::ListenerOptions,
    /// `--metrics-token-file` / `PATCHBAY_METRICS_TOKEN`: when set, `/metrics` answers only
    /// `Authorization: Bearer <token>`; when `None` it stays open. Secret: checked and reduced
    /// to a digest by [`Application::build`], never logged.
    pub metrics_token: Option<patchbay_crypto::SecretString>,
    /// `--crm-timeout-ms`: the deadline of one unified-CRM provider call, from the send to
    /// the answer's last byte; [`CRM_TIMEOUT_MS`] bounds it.
    pub crm_timeout: std::time::Duration,
}

/// The accepted range of [`ServerConfig::crm_timeout`], in milliseconds.
pub const CRM_TIMEOUT_MS: std::ops::RangeInclusive<u64> = 100..=300_000;

/// Builds extra routes over the running server's service layer; see [`ServerConfig::extensions`].
pub type RouterExtension = Arc<dyn Fn(&Vault) -> axum::Router + Send + Sync>;

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            database_url: None,
            data_dir: data_dir.into(),
            master_key: None,
            key_file: None,
            revoke: RevokePolicy::default(),
            refresh_interval: Some(std::time::Duration::from_secs(30)),
            sweeper_rate_per_integration: SweeperConfig::default().per_integration_per_sec,
            sweeper_burst_per_integration: SweeperConfig::default().per_integration_burst,
            refresh: patchbay_refresh::RefreshConfig::default(),
            clock: Arc::new(SystemClock),
            extensions: Vec::new(),
            proxy: crate::service::proxy::ProxyOptions::default(),
            request_log: crate::service::LogWriterOptions::default(),
            webhooks: crate::service::webhooks::WebhookOptions::default(),
            listener: crate::listener::ListenerOptions::default(),
            metrics_token: None,
            crm_timeout: crate::service::DEFAULT_CRM_TIMEOUT,
        }
    }

    pub fn effective_database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join(DB_FILE_NAME).display()))
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("database_url", &self.database_url.as_deref().map(mask_url))
            .field("data_dir", &self.data_dir)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("key_file", &self.key_file)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("crm_timeout", &self.crm_timeout)
            .finish_non_exhaustive()
    }
}

/// `postgres://user:pass@host/db` → `postgres://user:***@host/db`.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Why the server refused to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key: {0}")]
    Keyring(#[from] patchbay_crypto::KeyringError),
    #[error(
        "no master key configured: set PATCHBAY_MASTER_KEY or a key file (a key file is only created automatically for the embedded SQLite database)"
    )]
    NoMasterKey,
    #[error("{0}; refusing to start")]
    WrongKey(#[from] patchbay_crypto::WrongKey),
    #[error("database: {0}")]
    Store(#[from] patchbay_store::StoreError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid public URL: {0}")]
    PublicUrl(String),
    #[error("{0} (--metrics-token-file or PATCHBAY_METRICS_TOKEN)")]
    MetricsToken(#[from] crate::metrics::MetricsTokenError),
    #[error(
        "the CRM call deadline (--crm-timeout-ms) must be from {min} to {max} ms, got {0} ms",
        min = CRM_TIMEOUT_MS.start(),
        max = CRM_TIMEOUT_MS.end()
    )]
    CrmTimeout(u128),
    #[error("start-up failed: {0}")]
    Other(String),
}

/// Loads or creates the keyring and checks it against the database's canary.
pub async fn open_keyring(config: &ServerConfig, store: &Store) -> Result<Keyring, StartError> {
    let keyring = if let Some(value) = &config.master_key {
        Keyring::from_env_value(value)?
    } else {
        let path = config
            .key_file
            .clone()
            .unwrap_or_else(|| config.data_dir.join(KEY_FILE_NAME));
        if path.exists() || config.key_file.is_some() {
            Keyring::load(&path)?
        } else if config.database_url.is_none() {
            let (keyring, created) = Keyring::load_or_create(&path)?;
            if created {
                tracing::warn!(
                    path = %path.display(),
                    "created a new master key file: back it up, because losing it loses every stored credential"
                );
            }
            keyring
        } else {
            return Err(StartError::NoMasterKey);
        }
    };
    // Sealing takes a random nonce, and the process's first random bytes cost aws-lc's
    // entropy set-up (about 0.1 s of CPU): only a new database needs a canary sealed, so an
    // existing one is read first and start-up draws no randomness (issue 14).
    let stored = match store.get_meta(CANARY_META_KEY).await? {
        Some(stored) => stored,
        None => {
            let canary = keyring
                .seal_canary()
                .map_err(|e| StartError::Other(e.to_string()))?;
            store
                .set_meta_if_absent(CANARY_META_KEY, canary.as_str())
                .await?;
            store
                .get_meta(CANARY_META_KEY)
                .await?
                .ok_or_else(|| StartError::Other("the key canary could not be stored".to_owned()))?
        }
    };
    keyring.verify_canary(&stored)?;
    Ok(keyring)
}

/// Opens the database and the keyring as the server would, for CLI commands that work on the
/// configured database without serving.
pub async fn open_vault(config: &ServerConfig, public_url: &str) -> Result<Vault, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let store = Store::connect(&config.effective_database_url()).await?;
    let keyring = open_keyring(config, &store).await?;
    let mut options = VaultOptions::new(public_url);
    options.revoke = config.revoke;
    options.refresh = config.refresh.clone();
    options.proxy = config.proxy.clone();
    options.request_log = config.request_log;
    options.webhooks = config.webhooks.clone();
    options.crm_timeout = config.crm_timeout;
    Vault::new(store, Arc::new(keyring), Arc::clone(&config.clock), options)
        .map_err(|e| StartError::Other(e.to_string()))
}

/// The bound listening sockets: one for the caller's runtime, or one per serving thread.
enum Bound {
    Shared(TcpListener),
    PerCore(Vec<std::net::TcpListener>),
}

/// A server bound to its port, not yet serving.
pub struct Application {
    listener: Bound,
    port: u16,
    base_url: String,
    vault: Vault,
    refresh_interval: Option<std::time::Duration>,
    sweeper_rate: (u32, u32),
    extensions: Vec<RouterExtension>,
    listener_options: ListenerOptions,
    connections: Arc<ConnectionStats>,
    metrics_token: Option<Arc<crate::metrics::MetricsToken>>,
}

impl Application {
    /// Opens the database (running migrations), loads and checks the key, and binds.
    pub async fn build(config: ServerConfig) -> Result<Application, StartError> {
        // Settings first: a refusal should not wait for the database.
        let metrics_token = config
            .metrics_token
            .as_ref()
            .map(crate::metrics::MetricsToken::new)
            .transpose()?
            .map(Arc::new);
        let crm_timeout_ms = config.crm_timeout.as_millis();
        if !u64::try_from(crm_timeout_ms).is_ok_and(|ms| CRM_TIMEOUT_MS.contains(&ms)) {
            return Err(StartError::CrmTimeout(crm_timeout_ms));
        }
        let bind_error = |source| StartError::Bind {
            addr: config.listen,
            source,
        };
        let (listener, local) = if config.listener.threads == 0 {
            let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
            let local = listener.local_addr().map_err(bind_error)?;
            (Bound::Shared(listener), local)
        } else {
            let listeners = crate::listener::per_core::bind(config.listen, config.listener.threads)
                .map_err(bind_error)?;
            let local = match listeners.first() {
                Some(first) => first.local_addr().map_err(bind_error)?,
                None => config.listen,
            };
            (Bound::PerCore(listeners), local)
        };
        let base_url = match &config.public_url {
            Some(u) => {
                let parsed = url::Url::parse(u).map_err(|_| StartError::PublicUrl(u.clone()))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
                    return Err(StartError::PublicUrl(u.clone()));
                }
                u.trim_end_matches('/').to_owned()
            }
            None => format!("http://{local}"),
        };
        let vault = open_vault(&config, &base_url).await?;
        tracing::info!(listen = %local, public_url = %base_url, "patchbay server bound");
        if metrics_token.is_none() && !local.ip().is_loopback() {
            tracing::warn!(
                listen = %local,
                "/metrics needs no credentials and this address is not loopback: set a scrape \
                 token (--metrics-token-file or PATCHBAY_METRICS_TOKEN) or block /metrics at the \
                 reverse proxy"
            );
        }
        Ok(Application {
            listener,
            port: local.port(),
            base_url,
            vault,
            refresh_interval: config.refresh_interval,
            sweeper_rate: (
                config.sweeper_rate_per_integration,
                config.sweeper_burst_per_integration,
            ),
            extensions: config.extensions,
            listener_options: config.listener,
            connections: Arc::new(ConnectionStats::default()),
            metrics_token,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The public URL (`--public-url`, or `http://{bound address}`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The service layer the server uses, for tests and in-process tooling.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The accept loop's counters (connections by phase, timeouts), as `/metrics` reports them.
    pub fn connection_stats(&self) -> Arc<ConnectionStats> {
        Arc::clone(&self.connections)
    }

    /// Serves until the process stops or serving fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        // The proactive sweeper shares the vault's coordinator, so a scheduled refresh and an
        // on-demand one of the same connection never both call the provider.
        let sweeper = self.refresh_interval.map(|every| {
            Sweeper::new(
                self.vault.refresher().clone(),
                SweeperConfig {
                    interval: every,
                    per_integration_per_sec: self.sweeper_rate.0,
                    per_integration_burst: self.sweeper_rate.1,
                    ..SweeperConfig::default()
                },
            )
            .spawn()
        });
        let webhook_worker = self.vault.spawn_webhook_worker();
        let crm_poller = self.vault.spawn_crm_poller();
        // Here, not on whichever serving thread logs first: the writer is background work.
        self.vault.start_request_log_writer();
        let routes = Routes {
            vault: self.vault.clone(),
            extensions: self.extensions,
            metrics: Arc::new(crate::metrics::Metrics::default()),
            stats: Arc::clone(&self.connections),
            hsts: self.base_url.starts_with("https://"),
            metrics_token: self.metrics_token,
        };
        // Draw the process's first random bytes off the request path: aws-lc seeds its
        // generator from CPU jitter on first use (about 0.1 s of CPU), which the first session,
        // OAuth state or sealed token would otherwise wait for.
        tokio::task::spawn_blocking(|| {
            let _ = patchbay_crypto::random::random_array::<1>();
        });
        let (served, cores) = match self.listener {
            Bound::Shared(listener) => {
                let served = crate::listener::serve(
                    listener,
                    routes.build(),
                    self.listener_options,
                    self.connections,
                    shutdown,
                )
                .await;
                (served, None)
            }
            Bound::PerCore(listeners) => {
                let vault = self.vault.clone();
                let routes = Arc::new(routes);
                // Each thread builds its own router (its per-request clones touch no other
                // core's reference counts) and pins its own provider clients.
                let setup: crate::listener::per_core::ThreadSetup = Arc::new(move || {
                    let pinned: Box<dyn std::any::Any> = Box::new(vault.pin_outbound());
                    (routes.build(), pinned)
                });
                let (served, cores) = crate::listener::per_core::serve(
                    listeners,
                    setup,
                    self.listener_options,
                    self.connections,
                    shutdown,
                )
                .await;
                (served, Some(cores))
            }
        };
        if let Some(sweeper) = sweeper {
            sweeper.stop().await;
        }
        webhook_worker.stop().await;
        crm_poller.stop().await;
        // The request-log writer lingers before each batch; write what the last requests
        // queued before the process goes away.
        self.vault.flush_request_logs().await;
        if let Some(cores) = cores {
            cores.finish().await;
        }
        served
    }
}

/// What every router of one server is built from (one per serving thread with
/// `--server-threads`); the metrics and the connection counters are the server's, shared.
struct Routes {
    vault: Vault,
    extensions: Vec<RouterExtension>,
    metrics: Arc<crate::metrics::Metrics>,
    stats: Arc<ConnectionStats>,
    /// Served (through a TLS-terminating proxy) at an https URL.
    hsts: bool,
    /// When set, `/metrics` admits only this bearer token.
    metrics_token: Option<Arc<crate::metrics::MetricsToken>>,
}

impl Routes {
    fn build(&self) -> axum::Router {
        let mut app = router(AppState {
            vault: self.vault.clone(),
        });
        for extension in &self.extensions {
            app = extension(&self.vault).merge(app);
        }
        let stats = Arc::clone(&self.stats);
        let exposed = Arc::clone(&self.metrics);
        let measured = self.vault.clone();
        let guard = self.metrics_token.clone();
        app = app
            .route(
                "/metrics",
                axum::routing::get(move |headers: axum::http::HeaderMap| {
                    let (m, s, v) = (Arc::clone(&exposed), Arc::clone(&stats), measured.clone());
                    let admitted = guard.as_ref().is_none_or(|t| t.admits(&headers));
                    async move {
                        if !admitted {
                            return axum::response::IntoResponse::into_response(
                                crate::error::Error::MetricsUnauthorized,
                            );
                        }
                        crate::metrics::exposition(&m, &s, &v).await
                    }
                }),
            )
            // One span per request carrying its id, so every log line of the request names it.
            .layer(
                tower_http::trace::TraceLayer::new_for_http()
                    .make_span_with(crate::request_id::make_span),
            )
            // Outside the span: it picks the id the span is named by, and counts the request.
            .layer(crate::metrics::ObserveLayer::new(Arc::clone(&self.metrics)));
        if self.hsts {
            // Browsers must never fall back to http for the console or the connect page.
            app = app.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            ));
        }
        app
    }
}
