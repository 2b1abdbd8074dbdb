//! External Client Apps: their credentials and every setting that changes OAuth behaviour.

use serde::{Deserialize, Serialize};

use crate::config::EmulatorConfig;

/// Authorization codes live 15 minutes unless an app says otherwise.
pub const DEFAULT_CODE_TTL_SECS: u64 = 15 * 60;
/// id_tokens live 5 minutes unless an app says otherwise.
pub const DEFAULT_ID_TOKEN_TTL_SECS: u64 = 300;

/// How long refresh tokens live (ECA `refreshTokenPolicyType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RefreshTokenPolicy {
    /// "Refresh token is valid until revoked" (`Infinite`).
    Infinite,
    /// "Expire refresh token after N": an absolute lifetime counted from the grant's approval.
    ExpireAfter { seconds: u64 },
    /// "Expire refresh token if not used for N": a sliding idle lifetime.
    ExpireIfUnused { seconds: u64 },
    /// "Immediately expire refresh token" (`Zero`): no refresh token is issued.
    ImmediatelyExpire,
}

/// A preset that sets several flags at once, as the two kinds of Salesforce apps default them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AppProfile {
    /// An External Client App: PKCE and both secrets required.
    #[default]
    ExternalClientApp,
    /// A legacy Connected App: PKCE optional, secret required on refresh and web-server flow.
    LegacyConnectedApp,
}

/// One consumer key and secret pair.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub client_id: String,
    pub client_secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Every per-app switch the OAuth endpoints consult.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSettings {
    pub callback_urls: Vec<String>,
    pub scopes: Vec<String>,
    pub require_pkce: bool,
    pub require_secret_web_server: bool,
    pub require_secret_refresh: bool,
    pub rotate_refresh_tokens: bool,
    pub introspect_all_tokens: bool,
    pub refresh_token_policy: RefreshTokenPolicy,
    pub access_token_ttl_secs: u64,
    /// Seconds after the app's creation (on the emulator clock) before its keys are accepted.
    pub activation_delay_secs: u64,
    pub client_credentials_enabled: bool,
    /// Username of the client-credentials "Run As" user.
    pub run_as_username: Option<String>,
    /// Grant the allowed part of a requested scope instead of refusing the authorization with
    /// `invalid_scope` (Salesforce's handling of a disallowed scope is \[I\]).
    pub ignore_disallowed_scopes: bool,
    /// Include an `id_token` in a refresh response when `openid` was granted \[I\].
    pub id_token_on_refresh: bool,
    /// Seconds an authorization code stays redeemable ("about 15 minutes" \[I\]). Codes are
    /// forgotten after a day whatever this says.
    pub authorization_code_ttl_secs: u64,
    /// Seconds an id_token is valid (Salesforce's `idTokenValidity`; the default is \[I\]).
    pub id_token_ttl_secs: u64,
    /// With the web-server flow's secret optional, refuse a code exchange that sends one anyway
    /// with `invalid_client` (whether Salesforce does is \[I\]).
    pub reject_secret_when_optional: bool,
}

impl AppSettings {
    /// The settings a fresh app of `profile` starts with.
    pub fn for_profile(profile: AppProfile) -> Self {
        let legacy = profile == AppProfile::LegacyConnectedApp;
        Self {
            callback_urls: Vec::new(),
            scopes: crate::config::DEFAULT_SCOPES
                .split(' ')
                .map(str::to_owned)
                .collect(),
            require_pkce: !legacy,
            require_secret_web_server: true,
            require_secret_refresh: true,
            rotate_refresh_tokens: false,
            introspect_all_tokens: false,
            refresh_token_policy: RefreshTokenPolicy::Infinite,
            access_token_ttl_secs: 7200,
            activation_delay_secs: 0,
            client_credentials_enabled: false,
            run_as_username: None,
            ignore_disallowed_scopes: false,
            id_token_on_refresh: true,
            authorization_code_ttl_secs: DEFAULT_CODE_TTL_SECS,
            id_token_ttl_secs: DEFAULT_ID_TOKEN_TTL_SECS,
            reject_secret_when_optional: false,
        }
    }

    /// The default app's settings: an External Client App with the flags applied.
    pub fn from_config(config: &EmulatorConfig) -> Self {
        Self::for_profile(AppProfile::ExternalClientApp).with_flags(config)
    }

    /// These settings with the ones the `patchbay fake-salesforce` flags set taken from
    /// `config`. A restored default app goes through it too, so the flags win over the state
    /// file for what they set and the control plane's other changes survive.
    pub fn with_flags(self, config: &EmulatorConfig) -> Self {
        Self {
            callback_urls: config.callback_urls.clone(),
            scopes: config.scopes.clone(),
            require_pkce: config.require_pkce,
            require_secret_refresh: config.require_secret_for_refresh,
            rotate_refresh_tokens: config.rotate_refresh_tokens,
            access_token_ttl_secs: config.access_token_ttl_secs,
            activation_delay_secs: config.activation_delay_secs,
            ..self
        }
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Which credential set matched a presented consumer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSlot {
    Main,
    Staged,
}

/// An app as the emulator holds it.
#[derive(Clone, Debug)]
pub struct App {
    /// Stable internal id: tokens belong to the app, not to one of its keys.
    pub id: u64,
    pub name: String,
    pub profile: AppProfile,
    pub main: Option<Credential>,
    /// While staged, both sets are accepted (Salesforce's credential rotation).
    pub staged: Option<Credential>,
    pub settings: AppSettings,
    pub created_at_ms: i64,
}

impl App {
    pub fn credential(&self, slot: CredentialSlot) -> Option<&Credential> {
        match slot {
            CredentialSlot::Main => self.main.as_ref(),
            CredentialSlot::Staged => self.staged.as_ref(),
        }
    }

    /// The slot whose consumer key is `client_id`, if any.
    pub fn slot_of(&self, client_id: &str) -> Option<CredentialSlot> {
        if self.main.as_ref().is_some_and(|c| c.client_id == client_id) {
            Some(CredentialSlot::Main)
        } else if self
            .staged
            .as_ref()
            .is_some_and(|c| c.client_id == client_id)
        {
            Some(CredentialSlot::Staged)
        } else {
            None
        }
    }

    /// Whether the app's keys have propagated yet (the activation delay).
    pub fn is_active(&self, now_ms: i64) -> bool {
        let delay_ms = i64::try_from(self.settings.activation_delay_secs.saturating_mul(1000))
            .unwrap_or(i64::MAX);
        now_ms >= self.created_at_ms.saturating_add(delay_ms)
    }

    /// The secret used to sign responses: the main one, or the staged one when it is all there is.
    pub fn signing_secret(&self, slot: CredentialSlot) -> &str {
        self.credential(slot)
            .or(self.main.as_ref())
            .or(self.staged.as_ref())
            .map_or("", |c| c.client_secret.as_str())
    }
}
