//! One emulator (port 0), one database (SQLite file or PostgreSQL database of its own), one
//! application with a Salesforce integration, and helpers to make connections in any state.

use std::sync::Arc;

use patchbay_core::{
    ApplicationId, Clock, ConnectionId, ConsumerId, ConsumerMetadata, Health, ManualClock,
    ServiceId, SystemClock, UnifiedApi,
};
use patchbay_crypto::Keyring;
use patchbay_fake_salesforce::control::faults::{FaultKind, FaultRule, FaultTarget};
use patchbay_fake_salesforce::control::log::LogEntry;
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorHandle, spawn};
use patchbay_oauth::{
    CallbackResult, ClientConfig, ClientSecret, HttpOptions, LoginHost, Scopes, TokenSet,
    check_callback, exchange_code, http_client, parse_callback, start_authorization,
};
use patchbay_refresh::{RefreshConfig, Refresher, Sealer, TokenStore};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{
    ConnectionRow, IntegrationWrite, NewApplication, NewConnection, SealedColumn, Store, TokenWrite,
};

pub const CALLBACK: &str = "http://127.0.0.1:9/vault/callback";
pub const HOUR: i64 = 3_600_000;

pub struct Env {
    pub emu: EmulatorHandle,
    pub config: EmulatorConfig,
    pub db: TestDatabase,
    pub store: Store,
    pub sealer: Sealer,
    /// The keyring as JSON, for child processes that play other nodes.
    pub keyring_json: String,
    pub clock: Arc<ManualClock>,
    pub app: ApplicationId,
    pub http: reqwest::Client,
    pub oauth: ClientConfig,
    next_user: std::sync::atomic::AtomicUsize,
}

impl Env {
    /// The emulator follows the setup guide unless `tweak` says otherwise: "Require Secret for
    /// Refresh Token Flow" unchecked.
    pub async fn start(db: TestDatabase, tweak: impl FnOnce(&mut EmulatorConfig)) -> Env {
        Self::start_with(db, tweak, |_| {}).await
    }

    pub async fn start_with(
        db: TestDatabase,
        tweak: impl FnOnce(&mut EmulatorConfig),
        integration: impl FnOnce(&mut IntegrationWrite),
    ) -> Env {
        let mut config = EmulatorConfig {
            auto_approve: true,
            callback_urls: vec![CALLBACK.to_owned()],
            require_secret_for_refresh: false,
            ..EmulatorConfig::default()
        };
        tweak(&mut config);
        let emu = spawn(config.clone()).await.expect("emulator starts");
        let store = db.store().await;
        let keyring = Keyring::generate().expect("keyring");
        let keyring_json = keyring.to_json().to_string();
        let sealer = Sealer::new(Arc::new(keyring));
        let clock = Arc::new(ManualClock::new(SystemClock.now_ms()));
        let now = clock.now_ms();
        let app = ApplicationId::generate();
        store
            .create_application(&NewApplication {
                id: app.clone(),
                name: "Acme".to_owned(),
                redirect_uris: vec!["https://app.example.com/done".to_owned()],
                now_ms: now,
            })
            .await
            .expect("application");
        let login_url = format!("{}/login", emu.base_url());
        let (api, service) = (UnifiedApi::crm(), ServiceId::salesforce());
        let mut w = IntegrationWrite::new(
            app.clone(),
            api.clone(),
            service.clone(),
            &patchbay_connectors::registry::connector(service.as_str())
                .expect("connector")
                .default_settings(),
            now,
        );
        w.client_id = Some(config.client_id.clone());
        w.client_secret_sealed = Some(
            sealer
                .seal_client_secret(&app, &api, &service, &config.client_secret)
                .expect("seal"),
        );
        w.login_url = login_url.clone();
        integration(&mut w);
        store.upsert_integration(&w).await.expect("integration");
        let http = http_client(HttpOptions::default()).expect("http");
        let oauth = ClientConfig::salesforce(
            LoginHost::parse(&login_url).expect("login"),
            config.client_id.clone(),
            Some(ClientSecret::new(config.client_secret.clone())),
        );
        Env {
            emu,
            config,
            db,
            store,
            sealer,
            keyring_json,
            clock,
            app,
            http,
            oauth,
            next_user: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// One node: its own pool, caches and single-flight state, over the shared database.
    pub async fn node(&self, name: &str) -> Refresher<Store> {
        self.node_on(self.db.store().await, name)
    }

    /// A node with its own settings.
    pub async fn node_with(
        &self,
        name: &str,
        tweak: impl FnOnce(&mut RefreshConfig),
    ) -> Refresher<Store> {
        let mut cfg = RefreshConfig {
            node_id: name.to_owned(),
            ..RefreshConfig::default()
        };
        tweak(&mut cfg);
        self.node_cfg(self.db.store().await, cfg)
    }

    /// A node whose clock is `skew_ms` off the others'.
    pub async fn skewed_node(
        &self,
        name: &str,
        skew_ms: i64,
        tweak: impl FnOnce(&mut RefreshConfig),
    ) -> Refresher<Store> {
        let mut cfg = RefreshConfig {
            node_id: name.to_owned(),
            ..RefreshConfig::default()
        };
        tweak(&mut cfg);
        let clock = Arc::new(ManualClock::new(self.now() + skew_ms));
        Refresher::new(
            self.db.store().await,
            self.sealer.clone(),
            self.http.clone(),
            clock as Arc<dyn Clock>,
            cfg,
        )
    }

    pub fn node_on<S: TokenStore>(&self, store: S, name: &str) -> Refresher<S> {
        let cfg = RefreshConfig {
            node_id: name.to_owned(),
            ..RefreshConfig::default()
        };
        self.node_cfg(store, cfg)
    }

    fn node_cfg<S: TokenStore>(&self, store: S, cfg: RefreshConfig) -> Refresher<S> {
        Refresher::new(
            store,
            self.sealer.clone(),
            self.http.clone(),
            Arc::clone(&self.clock) as Arc<dyn Clock>,
            cfg,
        )
    }

    /// A real grant from the emulator. Salesforce keeps 5 approvals per user and app, so each
    /// grant gets a user of its own.
    pub async fn grant(&self) -> TokenSet {
        let n = self
            .next_user
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let username = if n == 0 {
            self.config.username.clone()
        } else {
            let username = format!("user{n}@emulator.test");
            let resp = self
                .http
                .post(format!("{}/__emulator/users", self.emu.base_url()))
                .json(&serde_json::json!({"username": username, "password": self.config.password}))
                .send()
                .await
                .expect("create user");
            assert!(resp.status().is_success(), "create user: {}", resp.status());
            username
        };
        let req = start_authorization(
            &self.oauth,
            CALLBACK,
            &Scopes::parse("api refresh_token offline_access"),
            Some(&username),
            None,
        )
        .expect("start");
        let resp = self
            .http
            .get(req.url.clone())
            .send()
            .await
            .expect("authorize");
        let location = resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned();
        let query = url::Url::parse(&location)
            .expect("url")
            .query()
            .unwrap_or("")
            .to_owned();
        let result = parse_callback(&query).expect("callback");
        assert!(
            matches!(result, CallbackResult::Code { .. }),
            "authorize failed"
        );
        let code = check_callback(result, &req.state, None).expect("state");
        exchange_code(&self.http, &self.oauth, &code, &req.pkce_verifier, CALLBACK)
            .await
            .expect("exchange")
    }

    /// A connection holding `access`/`refresh`, expiring at `expires_at`.
    pub async fn connection(
        &self,
        consumer: &str,
        access: &str,
        refresh: Option<&str>,
        expires_at: i64,
    ) -> ConnectionId {
        let now = self.now();
        let consumer = ConsumerId::parse(consumer).expect("consumer");
        self.store
            .upsert_consumer(
                &self.app,
                &consumer,
                Some(&ConsumerMetadata::default()),
                now,
            )
            .await
            .expect("consumer");
        let row = self
            .store
            .create_connection(&NewConnection {
                id: ConnectionId::generate(),
                application_id: self.app.clone(),
                consumer_id: consumer,
                unified_api: UnifiedApi::crm(),
                service_id: ServiceId::salesforce(),
                enabled: true,
                health: Health::Ok,
                login_url_override: None,
                settings_json: "{}".to_owned(),
                metadata_json: "{}".to_owned(),
                now_ms: now,
            })
            .await
            .expect("connection");
        self.set_tokens(&row.id, access, refresh, expires_at).await;
        row.id
    }

    pub async fn set_tokens(
        &self,
        id: &ConnectionId,
        access: &str,
        refresh: Option<&str>,
        expires_at: i64,
    ) {
        let seal = |column, value: &str| {
            self.sealer
                .seal_connection_token(&self.app, column, id.as_str(), value)
                .expect("seal")
        };
        self.store
            .set_tokens(
                id,
                &TokenWrite {
                    access_token: seal(SealedColumn::ConnectionAccessToken, access),
                    refresh_token: refresh.map(|r| seal(SealedColumn::ConnectionRefreshToken, r)),
                    instance_url: Some(self.emu.base_url()),
                    granted_scopes: Some("api refresh_token".to_owned()),
                    issued_at: Some(self.now()),
                    expires_at: Some(expires_at),
                    next_refresh_at: Some(expires_at - 5 * 60_000),
                    health: Health::Ok,
                    now_ms: self.now(),
                },
            )
            .await
            .expect("set tokens")
            .expect("row exists");
    }

    /// A connection with a real grant whose access token we believe expired a second ago.
    pub async fn expired_connection(&self, consumer: &str) -> (ConnectionId, TokenSet) {
        let tokens = self.grant().await;
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned());
        let id = self
            .connection(
                consumer,
                tokens.access_token.expose_secret(),
                refresh.as_deref(),
                self.now() - 1_000,
            )
            .await;
        (id, tokens)
    }

    pub async fn row(&self, id: &ConnectionId) -> ConnectionRow {
        self.store
            .get_connection(id)
            .await
            .expect("read")
            .expect("row")
    }

    /// The refresh token stored now, in plaintext.
    pub async fn stored_refresh(&self, id: &ConnectionId) -> Option<String> {
        let row = self.row(id).await;
        self.sealer
            .open_refresh(&row)
            .expect("open")
            .map(|t| t.expose_secret().to_owned())
    }

    /// `grant_type=refresh_token` calls the emulator received, in order.
    pub fn refresh_calls(&self) -> Vec<LogEntry> {
        self.emu
            .emulator()
            .requests()
            .into_iter()
            .filter(|e| e.kind == "token" && e.grant_type.as_deref() == Some("refresh_token"))
            .collect()
    }

    pub fn fault(&self, kind: FaultKind, count: u32) {
        self.emu.emulator().add_fault(FaultRule {
            target: FaultTarget::Token,
            kind,
            count,
            grant_type: Some("refresh_token".to_owned()),
            path_contains: None,
        });
    }
}

/// Asserts no refresh token was presented twice (docs/security.md §6: reuse detection).
pub fn assert_no_token_presented_twice(calls: &[LogEntry]) {
    let mut seen = std::collections::HashSet::new();
    for c in calls {
        let sha = c.refresh_token_sha256.clone().expect("sha logged");
        assert!(seen.insert(sha), "a refresh token was presented twice");
    }
}
