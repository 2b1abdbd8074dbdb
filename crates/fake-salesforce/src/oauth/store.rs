//! The OAuth server's memory and the bookkeeping shared by every grant: apps, approvals (with
//! the 5-per-user-per-app cap), refresh-token chains and access-token minting.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::config::EmulatorConfig;
use crate::oauth::app::{App, AppProfile, AppSettings, Credential, CredentialSlot};
use crate::oauth::crypto;
use crate::oauth::model::{
    AccessToken, AuthCode, Grant, LoginHost, MAX_GRANTS_PER_USER_AND_APP, RefreshToken, Session,
    TokenKind, TokenState, Transaction,
};
use crate::oauth::users::UserView;

pub struct OAuthState {
    next_id: u64,
    pub apps: BTreeMap<u64, App>,
    pub codes: HashMap<String, AuthCode>,
    pub grants: HashMap<u64, Grant>,
    /// (user id, app id) -> that user's grants for the app, oldest first.
    pub approvals: HashMap<(String, u64), VecDeque<u64>>,
    pub refresh: HashMap<String, RefreshToken>,
    /// Every issued token in issue order, for `GET /__emulator/tokens`.
    pub issued: Vec<(TokenKind, String)>,
    pub sessions: HashMap<String, Session>,
    pub transactions: HashMap<String, Transaction>,
}

/// The default app's internal id.
pub const DEFAULT_APP_ID: u64 = 1;

impl OAuthState {
    pub fn new(config: &EmulatorConfig, now_ms: i64) -> Self {
        let mut state = Self {
            next_id: DEFAULT_APP_ID,
            apps: BTreeMap::new(),
            codes: HashMap::new(),
            grants: HashMap::new(),
            approvals: HashMap::new(),
            refresh: HashMap::new(),
            issued: Vec::new(),
            sessions: HashMap::new(),
            transactions: HashMap::new(),
        };
        let id = state.next_id();
        state.apps.insert(
            id,
            App {
                id,
                name: "Default".to_owned(),
                profile: AppProfile::ExternalClientApp,
                main: Some(Credential {
                    client_id: config.client_id.clone(),
                    client_secret: config.client_secret.clone(),
                }),
                staged: None,
                settings: AppSettings::from_config(config),
                created_at_ms: now_ms,
            },
        );
        state
    }

    /// The id [`OAuthState::next_id`] hands out next, for the state file.
    pub fn peek_next_id(&self) -> u64 {
        self.next_id
    }

    /// Continues a restored state's id counter; never moves it back.
    pub fn restore_next_id(&mut self, next: u64) {
        self.next_id = self.next_id.max(next);
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The app owning consumer key `client_id`, and which of its credential sets matched.
    pub fn app_by_client_id(&self, client_id: &str) -> Option<(&App, CredentialSlot)> {
        self.apps
            .values()
            .find_map(|app| app.slot_of(client_id).map(|slot| (app, slot)))
    }

    pub fn client_id_in_use(&self, client_id: &str) -> bool {
        self.app_by_client_id(client_id).is_some()
    }

    /// Records a new approval, evicting the oldest live one past the per-user cap.
    pub fn create_grant(
        &mut self,
        access: &HashMap<String, Arc<AccessToken>>,
        grant: Grant,
    ) -> u64 {
        let key = (grant.user_id.clone(), grant.app_id);
        let id = grant.id;
        let live: VecDeque<u64> = self
            .approvals
            .remove(&key)
            .unwrap_or_default()
            .into_iter()
            .filter(|g| self.grants.get(g).is_some_and(|g| !g.revoked))
            .collect();
        let mut live = live;
        while live.len() >= MAX_GRANTS_PER_USER_AND_APP {
            if let Some(oldest) = live.pop_front() {
                self.revoke_grant(access, oldest);
            }
        }
        live.push_back(id);
        self.approvals.insert(key, live);
        self.grants.insert(id, grant);
        id
    }

    /// Revokes a grant: its current refresh token and every access token it minted.
    pub fn revoke_grant(&mut self, access: &HashMap<String, Arc<AccessToken>>, grant_id: u64) {
        let Some(grant) = self.grants.get_mut(&grant_id) else {
            return;
        };
        grant.revoked = true;
        for value in &grant.access_tokens {
            if let Some(token) = access.get(value) {
                token.revoked.store(true, Ordering::Release);
            }
        }
        if let Some(current) = grant.current_refresh.take()
            && let Some(record) = self.refresh.get_mut(&current)
        {
            record.state = TokenState::Revoked;
        }
    }

    /// Issues a refresh token for `grant_id` and makes it the grant's current one.
    pub fn issue_refresh(&mut self, grant_id: u64, now_ms: i64) -> Option<String> {
        let grant = self.grants.get_mut(&grant_id)?;
        let value = crypto::refresh_token_value();
        grant.current_refresh = Some(value.clone());
        self.refresh.insert(
            value.clone(),
            RefreshToken {
                grant_id,
                app_id: grant.app_id,
                client_id: grant.client_id.clone(),
                username: grant.username.clone(),
                issued_at_ms: now_ms,
                last_used_ms: now_ms,
                state: TokenState::Active,
            },
        );
        self.issued.push((TokenKind::Refresh, value.clone()));
        Some(value)
    }

    /// Mints an access token into `access`, attached to `grant_id` when there is one.
    #[allow(clippy::too_many_arguments)] // reason: one flat call site per grant type reads best
    pub fn mint_access(
        &mut self,
        access: &mut HashMap<String, Arc<AccessToken>>,
        app: &App,
        client_id: &str,
        org_id: &str,
        user: &UserView,
        scopes: &[String],
        grant_id: Option<u64>,
        host: LoginHost,
        now_ms: i64,
    ) -> String {
        let org15 = org_id.get(..15).unwrap_or(org_id);
        let value = crypto::access_token_value(org15);
        let ttl_ms = i64::try_from(app.settings.access_token_ttl_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX / 4);
        let token = AccessToken {
            app_id: app.id,
            client_id: client_id.to_owned(),
            org_id: org_id.to_owned(),
            user_id: user.id.clone(),
            username: user.username.clone(),
            scopes: scopes.to_vec(),
            grant_id,
            host,
            issued_at_ms: now_ms,
            ttl_ms,
            last_used_ms: AtomicI64::new(now_ms),
            revoked: AtomicBool::new(false),
        };
        access.insert(value.clone(), Arc::new(token));
        if let Some(grant) = grant_id.and_then(|g| self.grants.get_mut(&g)) {
            grant.access_tokens.push(value.clone());
        }
        self.issued.push((TokenKind::Access, value.clone()));
        value
    }

    /// The state a refresh token reports, with policy expiry applied.
    pub fn refresh_state(&self, record: &RefreshToken, now_ms: i64) -> TokenState {
        if record.state != TokenState::Active {
            return record.state;
        }
        let Some(grant) = self.grants.get(&record.grant_id) else {
            return TokenState::Revoked;
        };
        if grant.revoked {
            return TokenState::Revoked;
        }
        let Some(app) = self.apps.get(&record.app_id) else {
            return TokenState::Revoked;
        };
        use crate::oauth::app::RefreshTokenPolicy as P;
        let expired = match app.settings.refresh_token_policy {
            P::Infinite => false,
            P::ImmediatelyExpire => true,
            P::ExpireAfter { seconds } => {
                now_ms >= grant.created_at_ms.saturating_add(secs(seconds))
            }
            P::ExpireIfUnused { seconds } => {
                now_ms >= record.last_used_ms.saturating_add(secs(seconds))
            }
        };
        if expired {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }

    /// Drops codes, transactions and sessions past their lifetime.
    pub fn sweep(&mut self, now_ms: i64) {
        // Spent and expired codes stay a while so a late redemption still reads "expired".
        let code_cutoff = now_ms - 24 * 3600 * 1000;
        self.codes.retain(|_, c| c.created_at_ms > code_cutoff);
        let cutoff = now_ms - crate::oauth::model::TRANSACTION_TTL_MS;
        self.transactions.retain(|_, t| t.created_at_ms > cutoff);
        let session_cutoff = now_ms - 12 * 3600 * 1000;
        self.sessions
            .retain(|_, s| s.created_at_ms > session_cutoff);
    }
}

pub fn secs(seconds: u64) -> i64 {
    i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}
