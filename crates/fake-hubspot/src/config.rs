//! Start-up configuration: one app (client id, secret, redirect URLs, scopes), one account with
//! its default user, the seeded data and the rate limits. The `patchbay fake-hubspot` flags map
//! 1:1 onto these fields.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Scopes the default app requires when none are given (`--scopes`).
pub const DEFAULT_SCOPES: &str = "oauth crm.objects.contacts.read crm.objects.contacts.write \
crm.objects.companies.read crm.objects.companies.write crm.objects.deals.read \
crm.objects.deals.write crm.objects.owners.read sales-email-read";

/// Everything the emulator needs at start. `Default` matches the CLI defaults, except
/// `records` (0 here, 200 on the CLI) so that tests start fast unless they ask for data.
#[derive(Clone)]
pub struct EmulatorConfig {
    /// Address to bind (`--listen`); tests use `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// The app's client id (`--client-id`).
    pub client_id: String,
    /// The app's client secret (`--client-secret`).
    pub client_secret: String,
    /// The app's redirect URLs (`--redirect-uri`, repeatable).
    pub redirect_uris: Vec<String>,
    /// Scopes the app requires (`--scopes`): an install must request all of them.
    pub scopes: Vec<String>,
    /// Scopes the app may ask for as `optional_scope` (`--optional-scopes`).
    pub optional_scopes: Vec<String>,
    /// Access-token lifetime in seconds (`--access-token-ttl`); HubSpot's is 1800.
    pub access_token_ttl_secs: u64,
    /// Skip the login and consent page (`--auto-approve`).
    pub auto_approve: bool,
    /// Seed of the deterministic data (`--seed`).
    pub seed: u64,
    /// Roughly how many CRM records to generate (`--records`).
    pub records: usize,
    /// Requests allowed per rolling 10 seconds per app and account (`--rate-limit`); 0: none.
    pub rate_limit_per_10s: u32,
    /// Search requests allowed per second per account (`--search-rate-limit`); 0: none.
    pub search_rate_limit_per_sec: u32,
    /// The default user's email (the login name) and password.
    pub user_email: String,
    pub password: String,
    /// Keep the account's records, the issued tokens and the clock in this JSON file across
    /// restarts (`--state-file`); see [`crate::persist`]. `None`: memory only.
    pub state_file: Option<PathBuf>,
    /// When set, every `/__emulator/*` request must carry `x-emulator-token: TOKEN`; without
    /// it the control plane answers 404 (`--control-token`). The demo sets one, because
    /// Patchbay's `/proxy` can reach the emulator's host and the control plane lists every
    /// token.
    pub control_token: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "5a1e0b52-7c3d-4f0e-9d8b-emulator0app".to_owned(),
            client_secret: "emulator-0000-default-app-secret".to_owned(),
            redirect_uris: vec!["http://localhost:8080/oauth/callback".to_owned()],
            scopes: DEFAULT_SCOPES.split(' ').map(str::to_owned).collect(),
            optional_scopes: Vec::new(),
            access_token_ttl_secs: 1800,
            auto_approve: false,
            seed: 42,
            records: 0,
            rate_limit_per_10s: 100,
            search_rate_limit_per_sec: 5,
            user_email: "admin@emulator.test".to_owned(),
            password: "password123".to_owned(),
            state_file: None,
            control_token: None,
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
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .field("optional_scopes", &self.optional_scopes)
            .field("access_token_ttl_secs", &self.access_token_ttl_secs)
            .field("auto_approve", &self.auto_approve)
            .field("seed", &self.seed)
            .field("records", &self.records)
            .field("rate_limit_per_10s", &self.rate_limit_per_10s)
            .field("search_rate_limit_per_sec", &self.search_rate_limit_per_sec)
            .field("user_email", &self.user_email)
            .field("password", &"<redacted>")
            .field("state_file", &self.state_file)
            .field(
                "control_token",
                &self.control_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}
