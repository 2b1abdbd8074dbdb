//! The shared emulator state: the org, the OAuth server's memory, the clock, API usage, the
//! request log and injected faults. Cheap to clone; every handler gets one.
//!
//! Locking rules: locks are `parking_lot` and held only for a few map operations, never across
//! an `.await`. When several are needed the order is `oauth`, the org, the passwords, `access`
//! (the state file's snapshot takes all four).
//!
//! Durable state (see [`crate::persist`]) sits behind tracked locks, so any mutable use marks it
//! for the state file. Access tokens' atomics change outside them: whoever revokes or expires
//! one marks the change itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use crate::config::EmulatorConfig;
use crate::control::faults::FaultTable;
use crate::control::log::RequestLog;
use crate::oauth::crypto::SigningKey;
use crate::oauth::model::AccessToken;
use crate::oauth::store::OAuthState;
use crate::oauth::users::Directory;
use crate::persist::{Changes, StateFileError, TrackedMutex, TrackedRwLock};

/// Handle to one running org. Clones share state.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: EmulatorConfig,
    pub(crate) base_url: String,
    /// Added to the wall clock; the control plane advances it.
    clock_offset_ms: AtomicI64,
    /// Set by every change to durable state; the state file's writer waits on it.
    changes: Arc<Changes>,
    pub(crate) directory: Directory,
    pub(crate) oauth: TrackedMutex<OAuthState>,
    /// Access tokens by value. Separate from `oauth` so REST authentication is a read-locked
    /// hash lookup that never waits behind token issuance. Not tracked: it is only written
    /// under a mutably used `oauth` guard, which marks the change.
    pub(crate) access: RwLock<HashMap<String, Arc<AccessToken>>>,
    api_used: AtomicU64,
    api_max: AtomicU64,
    /// Emulator-clock day the usage counter belongs to; a new day starts it again.
    api_day: AtomicI64,
    pub(crate) log: RequestLog,
    pub(crate) faults: FaultTable,
    /// Generated on first use: RSA key generation is slow enough to matter for many tests.
    signing_key: OnceLock<Option<SigningKey>>,
}

/// Daily API usage, as in `Sforce-Limit-Info: api-usage=used/max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

/// Who a REST request acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestPrincipal {
    pub user_id: String,
    pub org_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// Why a REST request is not authenticated. Every case answers 401 `INVALID_SESSION_ID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestAuthError {
    Missing,
    /// Unknown, expired or revoked.
    Invalid,
    /// The token lacks the `api` (or `full`) scope.
    NoApiScope,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("could not build the org or its seed users and apps: {0}")]
    Org(String),
    #[error(transparent)]
    StateFile(#[from] StateFileError),
}

impl Emulator {
    /// The state from `config.state_file` when it holds one; otherwise a new org, the default
    /// app and user, and the seed file's users and apps.
    pub(crate) fn new(config: EmulatorConfig, base_url: String) -> Result<Self, StateError> {
        let changes = Arc::new(Changes::default());
        let wall = wall_clock_ms();
        let start = match crate::persist::restore(&config, wall, &changes)? {
            Some(restored) => restored,
            None => fresh(&config, wall, &changes)?,
        };
        let now = wall.saturating_add(start.clock_offset_ms);
        let api_max = config.daily_api_limit;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                base_url,
                clock_offset_ms: AtomicI64::new(start.clock_offset_ms),
                oauth: TrackedMutex::new(start.oauth, Arc::clone(&changes)),
                changes,
                directory: start.directory,
                access: RwLock::new(start.access),
                api_used: AtomicU64::new(0),
                api_max: AtomicU64::new(api_max),
                api_day: AtomicI64::new(now / MS_PER_DAY),
                log: RequestLog::default(),
                faults: FaultTable::default(),
                signing_key: OnceLock::new(),
            }),
        })
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The durable state's change flag (see [`crate::persist`]).
    pub(crate) fn changes(&self) -> &Changes {
        &self.inner.changes
    }

    pub(crate) fn clock_offset_ms(&self) -> i64 {
        self.inner.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Milliseconds since the epoch on the emulator clock.
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

    /// The base URL: the My Domain host and the org's instance.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// `instance_url` of issued tokens; REST lives under it.
    pub fn instance_url(&self) -> String {
        self.inner.base_url.clone()
    }

    pub fn config(&self) -> &EmulatorConfig {
        &self.inner.config
    }

    /// The org's records. Hold the lock briefly and never across an `.await`. A write guard
    /// used mutably marks the change for the state file.
    pub fn org(&self) -> &TrackedRwLock<patchbay_fake_salesforce_data::Org> {
        self.inner.directory.org()
    }

    /// The org's 18-character id.
    pub fn org_id(&self) -> String {
        self.inner.directory.org_id()
    }

    /// Validates `Authorization: Bearer <token>` for REST. Slides the session on success.
    pub fn authenticate_rest(&self, bearer: Option<&str>) -> Result<RestPrincipal, RestAuthError> {
        let token = bearer.map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or(RestAuthError::Missing)?;
        let now = self.now_ms();
        let access = self.inner.access.read();
        let entry = access.get(token).ok_or(RestAuthError::Invalid)?;
        if entry.state(now) != crate::oauth::model::TokenState::Active {
            return Err(RestAuthError::Invalid);
        }
        if !(entry.has_scope("api") || entry.has_scope("full")) {
            return Err(RestAuthError::NoApiScope);
        }
        entry.touch(now);
        Ok(RestPrincipal {
            user_id: entry.user_id.clone(),
            org_id: entry.org_id.clone(),
            client_id: entry.client_id.clone(),
            scopes: entry.scopes.clone(),
        })
    }

    /// Counts one API call against the org's daily limit; `Err` once the limit is reached.
    pub fn count_api_call(&self) -> Result<ApiUsage, ApiUsage> {
        self.roll_api_day();
        let max = self.inner.api_max.load(Ordering::Relaxed);
        let previous =
            self.inner
                .api_used
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                    (used < max).then_some(used + 1)
                });
        match previous {
            Ok(used) => Ok(ApiUsage {
                used: used + 1,
                max,
            }),
            Err(used) => Err(ApiUsage { used, max }),
        }
    }

    pub fn api_usage(&self) -> ApiUsage {
        self.roll_api_day();
        ApiUsage {
            used: self.inner.api_used.load(Ordering::Relaxed),
            max: self.inner.api_max.load(Ordering::Relaxed),
        }
    }

    /// Resets the usage counter when the emulator clock has entered a new day (UTC).
    fn roll_api_day(&self) {
        let today = self.now_ms() / MS_PER_DAY;
        let day = self.inner.api_day.load(Ordering::Relaxed);
        if today > day
            && self
                .inner
                .api_day
                .compare_exchange(day, today, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.inner.api_used.store(0, Ordering::Relaxed);
        }
    }

    /// Sets the daily limit and, when given, the usage counter (control plane).
    pub fn set_api_limit(&self, max: Option<u64>, used: Option<u64>) {
        if let Some(max) = max {
            self.inner.api_max.store(max, Ordering::Relaxed);
        }
        if let Some(used) = used {
            self.inner.api_used.store(used, Ordering::Relaxed);
        }
    }

    /// The newest REST API version, e.g. `66.0`.
    pub fn latest_api_version(&self) -> &str {
        &self.inner.config.api_version
    }

    /// The request log (`GET /__emulator/requests`), for in-process tests.
    pub fn requests(&self) -> Vec<crate::control::log::LogEntry> {
        self.inner.log.snapshot()
    }

    pub fn clear_requests(&self) {
        self.inner.log.clear();
    }

    /// Adds a fault rule (`POST /__emulator/faults`), for in-process tests.
    pub fn add_fault(&self, rule: crate::control::faults::FaultRule) {
        self.inner.faults.add(rule);
    }

    /// The fault rules not yet used up (`GET /__emulator/faults`); a rule leaves this list
    /// the moment a request consumes its last use, which tests use to know a call arrived.
    pub fn faults(&self) -> Vec<crate::control::faults::FaultRule> {
        self.inner.faults.list()
    }

    /// Revokes a token as `/services/oauth2/revoke` would; `false` if unknown or already dead.
    pub fn revoke_token(&self, token: &str) -> bool {
        crate::oauth::revoke::revoke_token(self, token)
    }

    /// The id_token key, generated on first use.
    pub(crate) fn signing_key(&self) -> Option<&SigningKey> {
        self.inner
            .signing_key
            .get_or_init(|| SigningKey::generate().ok())
            .as_ref()
    }
}

/// A new org with the default app and user, then the seed file's users and apps.
fn fresh(
    config: &EmulatorConfig,
    now: i64,
    changes: &Arc<Changes>,
) -> Result<crate::persist::StartState, StateError> {
    let directory = Directory::new(config, now, changes).map_err(StateError::Org)?;
    let mut oauth = OAuthState::new(config, now);
    for user in &config.seed_file.users {
        directory.create(user, now).map_err(StateError::Org)?;
    }
    for app in &config.seed_file.apps {
        crate::control::apps::create_app_in(&mut oauth, app.clone(), now)
            .map_err(StateError::Org)?;
    }
    Ok(crate::persist::StartState {
        directory,
        oauth,
        access: HashMap::new(),
        clock_offset_ms: 0,
    })
}

const MS_PER_DAY: i64 = 86_400_000;

fn wall_clock_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
