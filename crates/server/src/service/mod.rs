//! The service layer: every operation the Vault API, the CLI and the admin console perform.
//!
//! [`Vault`] bundles what the operations need (store, keyring, clock, OAuth HTTP client, public
//! URL). Each area adds its methods in its own module. Functions take typed ids and return
//! domain views or [`crate::Error`]; none of them knows about HTTP.

pub mod admin_users;
pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod connect;
pub mod connection_details;
pub mod connections;
pub mod consumers;
pub mod cors;
pub mod credentials;
pub mod crm;
pub mod custom_mappings;
pub mod diagnostics;
pub mod downstream;
pub mod form_fields;
mod grant;
pub mod integrations;
pub mod keys;
mod log_writer;
pub mod logs;
mod outbound;
mod preflight;
pub mod proxy;
mod sealing;
pub mod sessions;
pub mod telemetry;
mod token_in_path;
pub mod tokens;
pub mod views;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use patchbay_core::Clock;
use patchbay_crypto::{ApiKeyPepper, Keyring, SessionSigner};
use patchbay_store::Store;

use crate::error::{Error, Result};

pub use api_keys::{ApiKeyPrincipal, CreatedApiKey, Scope};
pub use applications::CreatedApplication;
pub use log_writer::{LogWriterOptions, LogWriterStats};
/// The filters and rows the service layer's signatures take and return as the store defines
/// them: plain values with no behaviour of their own, re-exported so that callers above the
/// service layer (the console) need not depend on the store.
pub use patchbay_store::{ApplicationRow, AuditScope, ConsumerFilter, LogFilter, WebhookLogFilter};
pub use sessions::{SessionClaims, SessionSettings};

/// How deleting a connection retries revocation at the provider (best effort: the local wipe
/// happens whatever the outcome).
#[derive(Debug, Clone, Copy)]
pub struct RevokePolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl Default for RevokePolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_backoff: Duration::from_millis(200),
        }
    }
}

/// The deadline of one unified-CRM provider call unless configured (`--crm-timeout-ms`): the
/// bound the CRM's reqwest client had before issue 14.
pub const DEFAULT_CRM_TIMEOUT: Duration = Duration::from_secs(20);

/// Options for [`Vault::new`].
#[derive(Debug, Clone)]
pub struct VaultOptions {
    /// The externally visible base URL, e.g. `https://patchbay.example.com`. The OAuth callback
    /// registered at the provider is `{public_url}/vault/callback`.
    pub public_url: String,
    pub revoke: RevokePolicy,
    pub oauth_http: patchbay_oauth::HttpOptions,
    /// The token-lifecycle coordinator's tunables. `node_id` is made unique per [`Vault`]
    /// (one per process) by [`Vault::new`], whatever is set here.
    pub refresh: patchbay_refresh::RefreshConfig,
    /// The Proxy API's size cap, retries and timeouts.
    pub proxy: proxy::ProxyOptions,
    /// The request-log queue's size and how long a caller waits for room in it.
    pub request_log: LogWriterOptions,
    /// Webhook delivery: allowed private hosts, retry schedule, receiver timeout.
    pub webhooks: webhooks::WebhookOptions,
    /// The deadline of one unified-CRM provider call (reads, writes, change polls), from the
    /// send to the answer's last byte; past it the caller gets the "did not answer in time"
    /// 502. The proxy has its own timeouts ([`proxy::ProxyOptions`]).
    pub crm_timeout: Duration,
}

impl VaultOptions {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            revoke: RevokePolicy::default(),
            oauth_http: patchbay_oauth::HttpOptions::default(),
            refresh: patchbay_refresh::RefreshConfig::default(),
            proxy: proxy::ProxyOptions::default(),
            request_log: LogWriterOptions::default(),
            webhooks: webhooks::WebhookOptions::default(),
            crm_timeout: DEFAULT_CRM_TIMEOUT,
        }
    }
}

/// A serving thread's own provider clients ([`Vault::pin_outbound`]); unpinned on drop.
pub(crate) struct PinnedOutbound {
    _proxy: outbound::Pinned,
    _crm: outbound::Pinned,
}

/// The service layer handle. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keyring: Arc<Keyring>,
    pepper: ApiKeyPepper,
    signer: SessionSigner,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    options: VaultOptions,
    /// The public URL's host: the `base_url` of log entries for calls Patchbay answers itself,
    /// parsed once rather than per call.
    public_host: String,
    /// The one token-lifecycle coordinator of this process: every refresh goes through it.
    refresher: patchbay_refresh::Refresher,
    proxy: proxy::ProxyRuntime,
    /// The unified CRM's provider calls: hyper's pooled client (see [`outbound`]), never
    /// following redirects, as the reqwest client it replaced did not.
    crm_http: outbound::PerThread<outbound::Whole>,
    log_queue: log_writer::LogQueue,
    token_cache: tokens::TokenCache,
    key_cache: api_keys::KeyCache,
    /// Deliveries only: no redirects, the receiver timeout, DNS limited to public addresses.
    /// Built on the first delivery: loading the platform's root certificates took a third of
    /// the TLS set-up at start-up, for a client many deployments never use (issue 14).
    webhook_http: std::sync::OnceLock<reqwest::Client>,
    /// Calls to providers, for `/metrics`.
    downstream: telemetry::DownstreamStats,
    /// Webhook deliveries by outcome, for `/metrics`.
    webhook_stats: webhooks::DeliveryStats,
    /// Consecutive unanswered downstream calls per connection (see [`downstream`]).
    downstream_failures: downstream::FailureCounts,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("public_url", &self.inner.options.public_url)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Builds the service layer. The keyring must already be verified against the database
    /// (see [`crate::app`]), so a wrong key never gets this far.
    pub fn new(
        store: Store,
        keyring: Arc<Keyring>,
        clock: Arc<dyn Clock>,
        options: VaultOptions,
    ) -> Result<Self> {
        let http = patchbay_oauth::http_client(options.oauth_http).map_err(Error::internal)?;
        // Every connection write of this process fires its webhook events in its transaction.
        let store = store.with_event_hook(Arc::new(webhooks::hook::VaultEventHook));
        let pepper = keyring.api_key_pepper();
        let signer = keyring.session_signer();
        let refresh = patchbay_refresh::RefreshConfig {
            node_id: format!("{}-{}", options.refresh.node_id, node_suffix()),
            public_url: options.public_url.clone(),
            ..options.refresh
        };
        let refresher = patchbay_refresh::Refresher::new(
            store.clone(),
            patchbay_refresh::Sealer::new(Arc::clone(&keyring)),
            http.clone(),
            Arc::clone(&clock),
            refresh,
        );
        let proxy = proxy::ProxyRuntime::new(options.proxy.clone())?;
        let crm_http = outbound::PerThread::new(options.oauth_http.connect_timeout)?;
        let public_host = url::Url::parse(&options.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let log_queue = log_writer::LogQueue::new(options.request_log);
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                keyring,
                pepper,
                signer,
                clock,
                http,
                options,
                public_host,
                refresher,
                proxy,
                crm_http,
                log_queue,
                token_cache: tokens::TokenCache::default(),
                key_cache: api_keys::KeyCache::default(),
                webhook_http: std::sync::OnceLock::new(),
                downstream: telemetry::DownstreamStats::default(),
                webhook_stats: webhooks::DeliveryStats::default(),
                downstream_failures: downstream::FailureCounts::default(),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The process's token-lifecycle coordinator (see [`tokens`]).
    pub fn refresher(&self) -> &patchbay_refresh::Refresher {
        &self.inner.refresher
    }

    pub(crate) fn proxy_runtime(&self) -> &proxy::ProxyRuntime {
        &self.inner.proxy
    }

    /// Gives the calling thread provider clients of its own (the proxy's and the CRM's) until
    /// the guard drops: a serving thread of the thread-per-core server calls it, so its calls
    /// reuse connections that live on its own runtime (see [`outbound::PerThread`]).
    pub(crate) fn pin_outbound(&self) -> PinnedOutbound {
        PinnedOutbound {
            _proxy: self.inner.proxy.pin_client(),
            _crm: self.inner.crm_http.pin(),
        }
    }

    pub(crate) fn key_cache(&self) -> &api_keys::KeyCache {
        &self.inner.key_cache
    }

    pub(crate) fn token_cache(&self) -> &tokens::TokenCache {
        &self.inner.token_cache
    }

    pub(crate) fn downstream_failures(&self) -> &downstream::FailureCounts {
        &self.inner.downstream_failures
    }

    pub(crate) fn log_queue(&self) -> &log_writer::LogQueue {
        &self.inner.log_queue
    }

    pub fn keyring(&self) -> &Keyring {
        &self.inner.keyring
    }

    pub fn public_url(&self) -> &str {
        &self.inner.options.public_url
    }

    /// The host of the public URL (see `Inner::public_host`).
    pub(crate) fn public_host(&self) -> &str {
        &self.inner.public_host
    }

    /// The one callback URL registered at the provider.
    pub fn callback_url(&self) -> String {
        format!("{}/vault/callback", self.public_url())
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The CRM's client for provider calls, and the deadline of one call from the send to the
    /// answer's last byte ([`VaultOptions::crm_timeout`]).
    fn crm_http(&self) -> (&outbound::PerThread<outbound::Whole>, std::time::Duration) {
        (&self.inner.crm_http, self.inner.options.crm_timeout)
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn pepper(&self) -> &ApiKeyPepper {
        &self.inner.pepper
    }

    pub(crate) fn signer(&self) -> &SessionSigner {
        &self.inner.signer
    }

    pub(crate) fn webhook_http(&self) -> Result<&reqwest::Client> {
        if let Some(client) = self.inner.webhook_http.get() {
            return Ok(client);
        }
        let client = webhooks::delivery::http_client(&self.inner.options.webhooks)?;
        Ok(self.inner.webhook_http.get_or_init(|| client))
    }

    /// Calls to providers since start (see [`telemetry`]).
    pub fn downstream_stats(&self) -> &telemetry::DownstreamStats {
        &self.inner.downstream
    }

    /// Webhook deliveries since start, by outcome.
    pub fn webhook_stats(&self) -> &webhooks::DeliveryStats {
        &self.inner.webhook_stats
    }

    pub fn webhook_options(&self) -> &webhooks::WebhookOptions {
        &self.inner.options.webhooks
    }

    pub(crate) fn revoke_policy(&self) -> RevokePolicy {
        self.inner.options.revoke
    }
}

/// Makes lease owners name this process: the pid tells operators which one, the random part
/// keeps two vaults in one process (tests) apart.
fn node_suffix() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", std::process::id(), &random[..8])
}
