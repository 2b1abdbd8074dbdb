//! The state file's format, version 1, and the mapping between it and the running emulator.
//!
//! These types are the file's own, apart from the in-memory model, so a change to the model
//! cannot silently change the format: a field added here needs a serde default or a new
//! version. `AppSettings`, `AppProfile`, `LoginHost` and `TokenState` are reused as they are
//! already the control plane's JSON. No `Debug` anywhere: the document holds tokens, secrets
//! and passwords.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use patchbay_fake_salesforce_data::{Org, OrgOptions, OrgSnapshot};
use serde::{Deserialize, Serialize};

use crate::config::EmulatorConfig;
use crate::oauth::app::{App, AppProfile, AppSettings, Credential};
use crate::oauth::model::{AccessToken, Grant, LoginHost, RefreshToken, TokenKind, TokenState};
use crate::oauth::store::{DEFAULT_APP_ID, OAuthState};
use crate::oauth::users::Directory;
use crate::persist::Changes;
use crate::state::Emulator;

/// The format version this emulator writes and reads.
pub const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub version: u64,
    /// Milliseconds the emulator clock is ahead of the wall clock (`POST /__emulator/clock`).
    pub clock_offset_ms: i64,
    pub org: OrgDoc,
    pub oauth: OAuthDoc,
}

/// The org and who may log in to it. `seed`, `records` and `username` are the settings the
/// org was built from: a start with other values is refused instead of ignoring them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgDoc {
    pub seed: u64,
    pub records: usize,
    pub username: String,
    /// Org creation time (emulator clock), which the identity endpoints report.
    pub created_ms: i64,
    /// Passwords by lower-cased username; they live outside the User records, as on
    /// Salesforce. The default user's comes from the configuration at each start.
    pub passwords: BTreeMap<String, String>,
    pub data: OrgSnapshot,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthDoc {
    /// Next internal id for apps and grants (one counter).
    pub next_id: u64,
    pub apps: Vec<AppDoc>,
    pub grants: Vec<GrantDoc>,
    /// Each user's live approvals of each app, oldest first (the 5-per-user-per-app cap).
    pub approvals: Vec<ApprovalDoc>,
    /// Every issued token, in issue order (`GET /__emulator/tokens` lists them so).
    pub tokens: Vec<TokenDoc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppDoc {
    pub id: u64,
    pub name: String,
    pub profile: AppProfile,
    pub main: Option<CredentialDoc>,
    pub staged: Option<CredentialDoc>,
    pub settings: AppSettings,
    pub created_at_ms: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialDoc {
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantDoc {
    pub id: u64,
    pub app_id: u64,
    pub client_id: String,
    pub user_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub host: LoginHost,
    pub created_at_ms: i64,
    pub nonce: Option<String>,
    /// The refresh token now valid for this grant; older ones of its chain are `rotated`.
    pub current_refresh: Option<String>,
    pub revoked: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDoc {
    pub user_id: String,
    pub app_id: u64,
    pub grants: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenDoc {
    Access(AccessDoc),
    Refresh(RefreshDoc),
}

/// An access token. A grant's list of access tokens is not stored: it is rebuilt from
/// `grant_id` in issue order, which is how it was built in the first place.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessDoc {
    pub value: String,
    pub app_id: u64,
    pub client_id: String,
    pub org_id: String,
    pub user_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub grant_id: Option<u64>,
    pub host: LoginHost,
    pub issued_at_ms: i64,
    pub ttl_ms: i64,
    /// Start of the sliding session window, as of the last write.
    pub last_used_ms: i64,
    pub revoked: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshDoc {
    pub value: String,
    pub grant_id: u64,
    pub app_id: u64,
    pub client_id: String,
    pub username: String,
    pub issued_at_ms: i64,
    pub last_used_ms: i64,
    /// `active`, `rotated` (reuse revokes the grant), `revoked` or `expired`.
    pub state: TokenState,
}

/// What the writer takes under the locks. The org is cloned there and turned into plain data
/// afterwards, outside every lock.
pub struct Capture {
    clock_offset_ms: i64,
    config: (u64, usize, String),
    created_ms: i64,
    passwords: BTreeMap<String, String>,
    org: Org,
    oauth: OAuthDoc,
}

impl Capture {
    /// One consistent moment: every lock at once, in the crate's order (oauth, org, the
    /// passwords, access tokens), for as long as copying takes.
    pub fn take(emu: &Emulator) -> Capture {
        let inner = emu.inner();
        let config = emu.config();
        let st = inner.oauth.lock();
        let org = inner.directory.org().read();
        let passwords = inner.directory.passwords();
        let access = inner.access.read();
        Capture {
            clock_offset_ms: emu.clock_offset_ms(),
            config: (config.seed, config.records, config.username.clone()),
            created_ms: inner.directory.created_ms(),
            passwords,
            org: org.clone(),
            oauth: OAuthDoc::capture(&st, &access),
        }
    }

    pub fn into_document(self) -> Document {
        let (seed, records, username) = self.config;
        Document {
            version: VERSION,
            clock_offset_ms: self.clock_offset_ms,
            org: OrgDoc {
                seed,
                records,
                username,
                created_ms: self.created_ms,
                passwords: self.passwords,
                data: self.org.to_snapshot(),
            },
            oauth: self.oauth,
        }
    }
}

impl OAuthDoc {
    fn capture(st: &OAuthState, access: &HashMap<String, Arc<AccessToken>>) -> OAuthDoc {
        let mut grants: Vec<GrantDoc> = st.grants.values().map(GrantDoc::from).collect();
        grants.sort_by_key(|g| g.id);
        let mut approvals: Vec<ApprovalDoc> = (st.approvals.iter())
            .map(|((user_id, app_id), grants)| ApprovalDoc {
                user_id: user_id.clone(),
                app_id: *app_id,
                grants: grants.iter().copied().collect(),
            })
            .collect();
        approvals.sort_by(|a, b| (&a.user_id, a.app_id).cmp(&(&b.user_id, b.app_id)));
        let tokens = (st.issued.iter())
            .filter_map(|(kind, value)| match kind {
                TokenKind::Access => access
                    .get(value)
                    .map(|t| TokenDoc::Access(AccessDoc::capture(value, t))),
                TokenKind::Refresh => st
                    .refresh
                    .get(value)
                    .map(|r| TokenDoc::Refresh(RefreshDoc::capture(value, r))),
            })
            .collect();
        OAuthDoc {
            next_id: st.peek_next_id(),
            apps: st.apps.values().map(AppDoc::from).collect(),
            grants,
            approvals,
            tokens,
        }
    }
}

/// Why a document cannot be restored: it is damaged, or it does not fit this start's settings.
pub enum Problem {
    Invalid(String),
    Mismatch { saved: String, wanted: String },
}

/// The state `Emulator::new` starts from: restored from the document, or a fresh one.
pub struct StartState {
    pub directory: Directory,
    pub oauth: OAuthState,
    pub access: HashMap<String, Arc<AccessToken>>,
    pub clock_offset_ms: i64,
}

fn org_settings(seed: u64, records: usize, username: &str) -> String {
    format!("an org made with seed {seed}, records {records} and username {username}")
}

impl Document {
    /// Rebuilds the state. `wall_ms` is the wall clock; the saved clock offset applies on top.
    pub fn restore(
        self,
        config: &EmulatorConfig,
        wall_ms: i64,
        changes: &Arc<Changes>,
    ) -> Result<StartState, Problem> {
        let saved = &self.org;
        if saved.seed != config.seed
            || saved.records != config.records
            || !saved.username.eq_ignore_ascii_case(&config.username)
        {
            return Err(Problem::Mismatch {
                saved: org_settings(saved.seed, saved.records, &saved.username),
                wanted: org_settings(config.seed, config.records, &config.username),
            });
        }
        let options = OrgOptions {
            org_number: config.seed,
            default_username: config.username.clone(),
            ..OrgOptions::default()
        };
        let org = Org::from_snapshot(&options, &self.org.data)
            .map_err(|e| Problem::Invalid(format!("org: {e}")))?;
        let directory = Directory::with_org(
            config,
            org,
            self.org.created_ms,
            self.org.passwords,
            changes,
        );
        let now = wall_ms.saturating_add(self.clock_offset_ms);
        let (oauth, access) = self.oauth.restore(config, now)?;
        Ok(StartState {
            directory,
            oauth,
            access,
            clock_offset_ms: self.clock_offset_ms,
        })
    }
}

impl OAuthDoc {
    fn restore(
        self,
        config: &EmulatorConfig,
        now_ms: i64,
    ) -> Result<(OAuthState, HashMap<String, Arc<AccessToken>>), Problem> {
        let mut st = OAuthState::new(config, now_ms);
        let from_flags = st.apps.remove(&DEFAULT_APP_ID);
        let mut highest = self.next_id.saturating_sub(1);
        for doc in self.apps {
            let mut app = doc.into_app();
            highest = highest.max(app.id);
            if let Some(flags) = from_flags.as_ref().filter(|_| app.id == DEFAULT_APP_ID) {
                // The flags win for what they set: key, secret and the flag-backed settings.
                // `created_at_ms` too, so `--activation-delay` counts from this start.
                app.main = flags.main.clone();
                app.settings = app.settings.with_flags(config);
                app.created_at_ms = flags.created_at_ms;
            }
            st.apps.insert(app.id, app);
        }
        if let Some(flags) = from_flags {
            st.apps.entry(DEFAULT_APP_ID).or_insert(flags);
        }
        check_unique_keys(&st)?;
        for doc in self.grants {
            highest = highest.max(doc.id);
            st.grants.insert(doc.id, doc.into_grant());
        }
        for doc in self.approvals {
            st.approvals
                .insert((doc.user_id, doc.app_id), doc.grants.into_iter().collect());
        }
        let mut access = HashMap::new();
        for doc in self.tokens {
            match doc {
                TokenDoc::Access(t) => {
                    if let Some(grant) = t.grant_id.and_then(|g| st.grants.get_mut(&g)) {
                        grant.access_tokens.push(t.value.clone());
                    }
                    st.issued.push((TokenKind::Access, t.value.clone()));
                    let (value, token) = t.into_token();
                    access.insert(value, Arc::new(token));
                }
                TokenDoc::Refresh(t) => {
                    st.issued.push((TokenKind::Refresh, t.value.clone()));
                    let (value, token) = t.into_token();
                    st.refresh.insert(value, token);
                }
            }
        }
        st.restore_next_id(highest.saturating_add(1));
        Ok((st, access))
    }
}

/// A consumer key names one app: the flags' `--client-id` must not be another saved app's.
fn check_unique_keys(st: &OAuthState) -> Result<(), Problem> {
    let mut owners: HashMap<&str, &App> = HashMap::new();
    for app in st.apps.values() {
        for credential in [&app.main, &app.staged].into_iter().flatten() {
            let key = credential.client_id.as_str();
            if let Some(other) = owners.insert(key, app).filter(|o| o.id != app.id) {
                let (default, saved) = if other.id == DEFAULT_APP_ID {
                    (other, app)
                } else {
                    (app, other)
                };
                return Err(Problem::Mismatch {
                    saved: format!("app {:?} with client id {key}", saved.name),
                    wanted: format!("the same client id for app {:?}", default.name),
                });
            }
        }
    }
    Ok(())
}

impl From<&App> for AppDoc {
    fn from(app: &App) -> Self {
        let credential = |c: &Option<Credential>| {
            c.as_ref().map(|c| CredentialDoc {
                client_id: c.client_id.clone(),
                client_secret: c.client_secret.clone(),
            })
        };
        AppDoc {
            id: app.id,
            name: app.name.clone(),
            profile: app.profile,
            main: credential(&app.main),
            staged: credential(&app.staged),
            settings: app.settings.clone(),
            created_at_ms: app.created_at_ms,
        }
    }
}

impl AppDoc {
    fn into_app(self) -> App {
        let credential = |c: Option<CredentialDoc>| {
            c.map(|c| Credential {
                client_id: c.client_id,
                client_secret: c.client_secret,
            })
        };
        App {
            id: self.id,
            name: self.name,
            profile: self.profile,
            main: credential(self.main),
            staged: credential(self.staged),
            settings: self.settings,
            created_at_ms: self.created_at_ms,
        }
    }
}

impl From<&Grant> for GrantDoc {
    fn from(g: &Grant) -> Self {
        GrantDoc {
            id: g.id,
            app_id: g.app_id,
            client_id: g.client_id.clone(),
            user_id: g.user_id.clone(),
            username: g.username.clone(),
            scopes: g.scopes.clone(),
            host: g.host,
            created_at_ms: g.created_at_ms,
            nonce: g.nonce.clone(),
            current_refresh: g.current_refresh.clone(),
            revoked: g.revoked,
        }
    }
}

impl GrantDoc {
    fn into_grant(self) -> Grant {
        Grant {
            id: self.id,
            app_id: self.app_id,
            client_id: self.client_id,
            user_id: self.user_id,
            username: self.username,
            scopes: self.scopes,
            host: self.host,
            created_at_ms: self.created_at_ms,
            nonce: self.nonce,
            current_refresh: self.current_refresh,
            access_tokens: Vec::new(),
            revoked: self.revoked,
        }
    }
}

impl AccessDoc {
    fn capture(value: &str, t: &AccessToken) -> Self {
        AccessDoc {
            value: value.to_owned(),
            app_id: t.app_id,
            client_id: t.client_id.clone(),
            org_id: t.org_id.clone(),
            user_id: t.user_id.clone(),
            username: t.username.clone(),
            scopes: t.scopes.clone(),
            grant_id: t.grant_id,
            host: t.host,
            issued_at_ms: t.issued_at_ms,
            ttl_ms: t.ttl_ms,
            last_used_ms: t.last_used_ms.load(Ordering::Relaxed),
            revoked: t.revoked.load(Ordering::Acquire),
        }
    }

    fn into_token(self) -> (String, AccessToken) {
        let token = AccessToken {
            app_id: self.app_id,
            client_id: self.client_id,
            org_id: self.org_id,
            user_id: self.user_id,
            username: self.username,
            scopes: self.scopes,
            grant_id: self.grant_id,
            host: self.host,
            issued_at_ms: self.issued_at_ms,
            ttl_ms: self.ttl_ms,
            last_used_ms: AtomicI64::new(self.last_used_ms),
            revoked: AtomicBool::new(self.revoked),
        };
        (self.value, token)
    }
}

impl RefreshDoc {
    fn capture(value: &str, r: &RefreshToken) -> Self {
        RefreshDoc {
            value: value.to_owned(),
            grant_id: r.grant_id,
            app_id: r.app_id,
            client_id: r.client_id.clone(),
            username: r.username.clone(),
            issued_at_ms: r.issued_at_ms,
            last_used_ms: r.last_used_ms,
            state: r.state,
        }
    }

    fn into_token(self) -> (String, RefreshToken) {
        let token = RefreshToken {
            grant_id: self.grant_id,
            app_id: self.app_id,
            client_id: self.client_id,
            username: self.username,
            issued_at_ms: self.issued_at_ms,
            last_used_ms: self.last_used_ms,
            state: self.state,
        };
        (self.value, token)
    }
}
