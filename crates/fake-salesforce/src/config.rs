//! Start-up configuration: one default External Client App, one default user, the org's data and
//! how to listen. The `patchbay fake-salesforce` flags map 1:1 onto these fields.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::control::apps::AppPatch;
use crate::oauth::users::UserInput;

/// The scopes a new app allows when none are given (`--scopes`).
pub const DEFAULT_SCOPES: &str =
    "api refresh_token offline_access openid id profile email web full";

/// Everything the emulator needs at start. `Default` matches the CLI defaults.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to bind (`--listen`); tests use `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Consumer key of the default app (`--client-id`).
    pub client_id: String,
    /// Consumer secret of the default app (`--client-secret`).
    pub client_secret: String,
    /// Callback URLs of the default app (`--callback-url`, repeatable).
    pub callback_urls: Vec<String>,
    /// Scopes the default app allows (`--scopes`).
    pub scopes: Vec<String>,
    /// "Require PKCE" on the default app (`--require-pkce`).
    pub require_pkce: bool,
    /// "Require Secret for Refresh Token Flow" on the default app (`--require-secret-for-refresh`).
    pub require_secret_for_refresh: bool,
    /// "Enable Refresh Token Rotation" on the default app (`--rotate-refresh-tokens`).
    pub rotate_refresh_tokens: bool,
    /// Session timeout of the default app's access tokens, in seconds (`--access-token-ttl`).
    pub access_token_ttl_secs: u64,
    /// Skip the login and consent pages (`--auto-approve`).
    pub auto_approve: bool,
    /// Seed of the deterministic demo data (`--seed`).
    pub seed: u64,
    /// How many demo records to generate (`--records`).
    pub records: usize,
    /// Seconds after start before the default app's client id is accepted (`--activation-delay`).
    pub activation_delay_secs: u64,
    /// Serve HTTPS with a self-signed certificate written into this folder (`--tls`).
    pub tls_cert_dir: Option<PathBuf>,
    /// Username of the default user.
    pub username: String,
    /// Password of the default user (every seeded user shares it).
    pub password: String,
    /// The newest REST API version the org serves.
    pub api_version: String,
    /// The org's daily API request limit (`Sforce-Limit-Info` maximum).
    pub daily_api_limit: u64,
    /// More users and apps to create at start (users first, so apps can name a Run As user).
    /// Applied only when the state starts fresh: a restored state already holds them.
    pub seed_file: SeedFile,
    /// Keep the durable state (apps, users, grants, tokens, records, clock) in this JSON file
    /// across restarts (`--state-file`); see [`crate::persist`]. `None`: memory only.
    pub state_file: Option<PathBuf>,
    /// When set, every `/__emulator/*` request must carry `x-emulator-token: TOKEN`; without
    /// it the control plane answers 404. The demo sets one, because Patchbay's `/proxy` can
    /// reach the emulator's host, and the control plane hands out every grant's tokens.
    pub control_token: Option<String>,
    /// The URL callers reach this emulator at when something sits in front of it (a reverse
    /// proxy, a fault-injecting proxy in tests): its My Domain and every token's
    /// `instance_url`. `None`: the listen address.
    pub public_url: Option<String>,
}

/// Users and apps to create at start, e.g. read from a JSON seed file:
/// `{"users": [{"username": "...", "password": "..."}], "apps": [{"name": "...", "profile":
/// "legacy_connected_app", "callback_urls": ["..."], "rotate_refresh_tokens": true}]}`.
/// App fields are those of `POST /__emulator/apps`.
/// No `Debug`: it holds passwords and secrets.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(default)]
    pub users: Vec<UserInput>,
    #[serde(default)]
    pub apps: Vec<AppPatch>,
}

impl SeedFile {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "3MVG9emulatorDefaultConsumerKey.PatchbayLocalOrg".to_owned(),
            client_secret: "EMULATOR0DEFAULT0CONSUMER0SECRET".to_owned(),
            callback_urls: vec!["http://localhost:8080/oauth/callback".to_owned()],
            scopes: DEFAULT_SCOPES.split(' ').map(str::to_owned).collect(),
            require_pkce: true,
            require_secret_for_refresh: true,
            rotate_refresh_tokens: false,
            access_token_ttl_secs: 7200,
            auto_approve: false,
            seed: 42,
            records: 0,
            activation_delay_secs: 0,
            tls_cert_dir: None,
            username: "admin@emulator.test".to_owned(),
            password: "password123".to_owned(),
            api_version: "66.0".to_owned(),
            daily_api_limit: 100_000,
            seed_file: SeedFile::default(),
            state_file: None,
            control_token: None,
            public_url: None,
        }
    }
}

/// Secrets stay out of Debug output, so a logged config never leaks them.
impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("callback_urls", &self.callback_urls)
            .field("scopes", &self.scopes)
            .field("require_pkce", &self.require_pkce)
            .field(
                "require_secret_for_refresh",
                &self.require_secret_for_refresh,
            )
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("auto_approve", &self.auto_approve)
            .field("seed", &self.seed)
            .field("records", &self.records)
            .field("activation_delay_secs", &self.activation_delay_secs)
            .field("tls_cert_dir", &self.tls_cert_dir)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("api_version", &self.api_version)
            .field("daily_api_limit", &self.daily_api_limit)
            .field("seed_users", &self.seed_file.users.len())
            .field("seed_apps", &self.seed_file.apps.len())
            .field("state_file", &self.state_file)
            .finish()
    }
}
