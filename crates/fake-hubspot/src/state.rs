//! The emulator's shared state: the configuration, the account's data, issued tokens, the
//! clock (which tests can move forward), fault rules, the request log and the rate limiter.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use patchbay_fake_hubspot_data::Account;
use patchbay_fake_hubspot_data::seed::{SeedUser, seed};

use crate::config::EmulatorConfig;
use crate::control::faults::FaultTable;
use crate::control::log::RequestLog;
use crate::limits::Limiter;
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
    pub account: Mutex<Account>,
    pub tokens: Mutex<TokenStore>,
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
    pub fn new(config: EmulatorConfig, base_url: String) -> Self {
        let user = SeedUser {
            email: &config.user_email,
            first_name: "Admin",
            last_name: "User",
        };
        let account = seed(config.seed, config.records, &user);
        let user_id = account.owners().first().map_or(9_000_000, |o| o.user_id);
        let app_id = 1_000_000 + config.seed % 1_000_000;
        let limiter = Limiter::new(config.rate_limit_per_10s, config.search_rate_limit_per_sec);
        Self {
            inner: Arc::new(Inner {
                config,
                base_url,
                app_id,
                user_id,
                account: Mutex::new(account),
                tokens: Mutex::new(TokenStore::default()),
                faults: FaultTable::default(),
                log: RequestLog::default(),
                limiter,
                clock_offset_ms: AtomicI64::new(0),
            }),
        }
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
    }
}
