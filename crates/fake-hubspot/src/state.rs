//! The emulator's shared state: the configuration, the account's data, issued tokens, the
//! clock (which tests can move forward), fault rules, the request log and the rate limiter.
//! The account, the tokens and the clock are the durable part ([`crate::persist`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use patchbay_fake_hubspot_data::Account;
use patchbay_fake_hubspot_data::seed::{SeedUser, seed};

use crate::config::EmulatorConfig;
use crate::control::faults::FaultTable;
use crate::control::log::RequestLog;
use crate::limits::Limiter;
use crate::persist::StateFileError;
use crate::persist::{Changes, TrackedMutex};
use crate::tokens::TokenStore;

#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub config: EmulatorConfig,
    pub base_url: String,
    /// The app's numeric id (`app_id` in token metadata).
    pub app_id: u64,
    /// The default user's user id.
    pub user_id: u64,
    pub account: TrackedMutex<Account>,
    pub tokens: TrackedMutex<TokenStore>,
    /// Set by a mutable use of `account` or `tokens`, or a clock move: the state file's writer
    /// waits on it.
    changes: Arc<Changes>,
    pub faults: FaultTable,
    pub log: RequestLog,
    pub limiter: Limiter,
    /// Added to the wall clock: `POST /__emulator/clock` moves time forward for expiry tests.
    clock_offset_ms: AtomicI64,
}

fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Emulator {
    /// The seeded account, with the state file's records, tokens and clock on top when
    /// `config.state_file` holds a saved state.
    pub fn new(config: EmulatorConfig, base_url: String) -> Result<Self, StateFileError> {
        let user = SeedUser {
            email: &config.user_email,
            first_name: "Admin",
            last_name: "User",
        };
        let mut account = seed(config.seed, config.records, &user);
        let (tokens, clock_offset_ms) = match crate::persist::restore(&config, &mut account)? {
            Some(saved) => (saved.tokens, saved.clock_offset_ms),
            None => (TokenStore::default(), 0),
        };
        let changes = Arc::new(Changes::default());
        let user_id = account.owners().first().map_or(9_000_000, |o| o.user_id);
        let app_id = 1_000_000 + config.seed % 1_000_000;
        let limiter = Limiter::new(config.rate_limit_per_10s, config.search_rate_limit_per_sec);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                base_url,
                app_id,
                user_id,
                account: TrackedMutex::new(account, Arc::clone(&changes)),
                tokens: TrackedMutex::new(tokens, Arc::clone(&changes)),
                changes,
                faults: FaultTable::default(),
                log: RequestLog::default(),
                limiter,
                clock_offset_ms: AtomicI64::new(clock_offset_ms),
            }),
        })
    }

    /// The durable state's change flag (see [`crate::persist`]).
    pub(crate) fn changes(&self) -> &Changes {
        &self.inner.changes
    }

    pub(crate) fn clock_offset_ms(&self) -> i64 {
        self.inner.clock_offset_ms.load(Ordering::Relaxed)
    }

    pub fn inner(&self) -> &Inner {
        &self.inner
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub fn hub_id(&self) -> u64 {
        self.inner.account.lock().hub_id
    }

    /// The account's domain, as token metadata reports it.
    pub fn hub_domain(&self) -> String {
        format!("emulator-{}.hubspot.test", self.hub_id())
    }

    pub fn now_ms(&self) -> i64 {
        wall_clock_ms().saturating_add(self.inner.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the emulator clock forward (tokens and codes expire by it).
    pub fn advance_clock(&self, seconds: i64) {
        self.inner
            .clock_offset_ms
            .fetch_add(seconds.saturating_mul(1000), Ordering::Relaxed);
        self.inner.changes.mark();
    }
}
