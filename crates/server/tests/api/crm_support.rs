//! Support for the CRM tests: a connected consumer on a seeded emulator, request helpers with
//! the CRM headers, in-process seeding, and a checker for crm.yml's schemas.
//!
//! No YAML crate is in the lockfile, so [`yaml`] reads the block-style subset the spec uses
//! (mappings, sequences, plain and quoted scalars, block scalars) into JSON; [`assert_schema`]
//! then checks `type`, `nullable`, `enum`, `required`, `properties`, `items`,
//! `additionalProperties: false`, `$ref`, `allOf` and `anyOf`/`oneOf`.

use std::sync::OnceLock;

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_server::service::integrations::IntegrationInput;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::{Db, Options, TestApp, spawn_with};

pub const CONSUMER: &str = "crm-consumer";

/// The CRM behind a test's connection. Provider facts the shared tests need (id shapes, what
/// a provider truly cannot do) live here, so each test reads once for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Salesforce,
    HubSpot,
}

impl Provider {
    /// The `service_id` in envelopes, logs and `x-apideck-service-id`.
    pub fn service(self) -> &'static str {
        match self {
            Provider::Salesforce => "salesforce",
            Provider::HubSpot => "hubspot",
        }
    }

    /// A provider the test consumer has no connection to.
    pub fn other_service(self) -> &'static str {
        match self {
            Provider::Salesforce => "hubspot",
            Provider::HubSpot => "salesforce",
        }
    }

    /// A well-formed id of `resource` that names no record (`activity_type` for activities).
    pub fn unknown_id(self, resource: &str) -> String {
        match self {
            Provider::Salesforce => {
                let prefix = match resource {
                    "contacts" => "003",
                    "companies" => "001",
                    "leads" => "00Q",
                    "opportunities" => "006",
                    "activities" => "00T",
                    "notes" => "002",
                    "users" => "005",
                    other => panic!("no unknown id for {other}"),
                };
                format!("{prefix}000000000000AAA")
            }
            Provider::HubSpot => match resource {
                // Activity ids name their engagement object (`ids.rs` in the connector).
                "activities" => "task-999999999".to_owned(),
                _ => "999999999".to_owned(),
            },
        }
    }

    /// Asserts the provider's native id shape for a record of `resource`; `kind` is the
    /// activity type for activities.
    pub fn assert_native_id(self, resource: &str, kind: Option<&str>, id: &str) {
        match self {
            Provider::Salesforce => {
                let prefix = match (resource, kind) {
                    ("contacts", _) => "003",
                    ("companies", _) => "001",
                    ("leads", _) => "00Q",
                    ("opportunities", _) => "006",
                    // Meetings are Events, everything else a Task.
                    ("activities", Some("meeting")) => "00U",
                    ("activities", _) => "00T",
                    ("users", _) => "005",
                    _ => "",
                };
                assert!(id.len() == 18 && id.starts_with(prefix), "{resource}: {id}");
            }
            Provider::HubSpot => {
                let digits = match (resource, kind) {
                    ("activities", Some(k)) => id
                        .strip_prefix(&format!("{k}-"))
                        .unwrap_or_else(|| panic!("activity {id} is not a {k}")),
                    _ => id,
                };
                assert!(
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                    "{resource}: {id}"
                );
            }
        }
    }

    /// An open opportunity stage of the provider's default pipeline.
    pub fn open_stage(self) -> &'static str {
        match self {
            Provider::Salesforce => "Prospecting",
            Provider::HubSpot => "appointmentscheduled",
        }
    }

    /// The display name of [`Self::open_stage`].
    pub fn open_stage_name(self) -> &'static str {
        match self {
            Provider::Salesforce => "Prospecting",
            Provider::HubSpot => "Appointment Scheduled",
        }
    }

    /// Where nulls sort: Salesforce puts them first ascending (last descending); HubSpot
    /// puts records without the property last in either direction.
    pub fn nulls_last_both_ways(self) -> bool {
        self == Provider::HubSpot
    }
}

/// `server_backend_tests!` with a provider dimension: each `fn name(Provider, Db)` becomes
/// `name::{salesforce,hubspot}::{sqlite,postgres}`.
#[macro_export]
macro_rules! crm_provider_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                mod salesforce {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn sqlite() {
                        super::super::$name(
                            $crate::crm_support::Provider::Salesforce,
                            $crate::helpers::Db::Sqlite,
                        )
                        .await;
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn postgres() {
                        super::super::$name(
                            $crate::crm_support::Provider::Salesforce,
                            $crate::helpers::Db::Postgres,
                        )
                        .await;
                    }
                }

                mod hubspot {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn sqlite() {
                        super::super::$name(
                            $crate::crm_support::Provider::HubSpot,
                            $crate::helpers::Db::Sqlite,
                        )
                        .await;
                    }

                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn postgres() {
                        super::super::$name(
                            $crate::crm_support::Provider::HubSpot,
                            $crate::helpers::Db::Postgres,
                        )
                        .await;
                    }
                }
            }
        )*
    };
}

/// A test app whose consumer has connected one CRM, seeded with CRM records.
pub struct CrmApp {
    pub app: TestApp,
    pub provider: Provider,
    /// The HubSpot emulator, for [`Provider::HubSpot`] (the app's own emulator is
    /// Salesforce's, and stays unconnected then).
    pub hubspot: Option<patchbay_fake_hubspot::EmulatorHandle>,
}

/// A Salesforce app on `db` (tests that are about Salesforce alone).
pub async fn crm_app_on(db: Db, records: usize) -> Option<CrmApp> {
    crm_app(Provider::Salesforce, db, records).await
}

/// An app on `db` whose consumer has connected `provider`'s emulator, seeded with about
/// `records` CRM records, through the real connect flow. `None` when PostgreSQL is unreachable
/// outside CI (the skip is printed to stderr); under `CI=true` an unreachable PostgreSQL panics
/// instead, so the suite cannot pass on SQLite alone there.
pub async fn crm_app(provider: Provider, db: Db, records: usize) -> Option<CrmApp> {
    crm_app_with_scopes(provider, db, records, &[]).await
}

/// [`crm_app`] whose HubSpot app and integration also hold `extra_scopes` (HubSpot's
/// optional ones, such as `settings.users.write`); Salesforce ignores them.
pub async fn crm_app_with_scopes(
    provider: Provider,
    db: Db,
    records: usize,
    extra_scopes: &[&str],
) -> Option<CrmApp> {
    let mut options = Options {
        db,
        ..Options::default()
    };
    // The Salesforce emulator runs either way (the app's own); it holds data only when used.
    options.emulator.records = match provider {
        Provider::Salesforce => records,
        Provider::HubSpot => 0,
    };
    let app = spawn_with(options).await?;
    match provider {
        Provider::Salesforce => {
            let walk = app.connect(CONSUMER).await;
            assert!(
                walk.location_param("error").is_none(),
                "connect failed: {walk:?}"
            );
            Some(CrmApp {
                app,
                provider,
                hubspot: None,
            })
        }
        Provider::HubSpot => {
            let hubspot = spawn_hubspot(&app, records, extra_scopes).await;
            let crm = CrmApp {
                app,
                provider,
                hubspot: Some(hubspot),
            };
            crm.connect_hubspot().await;
            Some(crm)
        }
    }
}

/// The HubSpot emulator, registered as the app's `crm/hubspot` integration. Its rate limits
/// start off so that tests making many calls are not throttled; tests that want them set them.
async fn spawn_hubspot(
    app: &TestApp,
    records: usize,
    extra_scopes: &[&str],
) -> patchbay_fake_hubspot::EmulatorHandle {
    let secret = format!("hs-secret-{}", uuid::Uuid::new_v4().simple());
    let client_id = uuid::Uuid::new_v4().to_string();
    let mut scopes: Vec<String> = patchbay_fake_hubspot::config::DEFAULT_SCOPES
        .split(' ')
        .map(str::to_owned)
        .collect();
    scopes.extend(extra_scopes.iter().map(|s| (*s).to_owned()));
    let hs = patchbay_fake_hubspot::spawn(patchbay_fake_hubspot::EmulatorConfig {
        scopes: scopes.clone(),
        client_id: client_id.clone(),
        client_secret: secret.clone(),
        redirect_uris: vec![format!("{}/vault/callback", app.base_url)],
        auto_approve: true,
        records,
        rate_limit_per_10s: 0,
        search_rate_limit_per_sec: 0,
        ..patchbay_fake_hubspot::EmulatorConfig::default()
    })
    .await
    .expect("spawn the HubSpot emulator");
    app.vault
        .set_integration(
            &app.app_id,
            &UnifiedApi::crm(),
            &ServiceId::parse("hubspot").expect("service id"),
            IntegrationInput {
                client_id: Some(client_id),
                client_secret: Some(SecretString::new(secret)),
                login_url: Some(hs.base_url()),
                // The default scopes unless more are asked for, so most tests keep the
                // integration's own defaults.
                scopes: (!extra_scopes.is_empty()).then(|| scopes.join(" ")),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("set the HubSpot integration");
    hs
}

/// One downstream call as the provider's emulator logged it.
#[derive(Debug, Clone)]
pub struct Downstream {
    /// A CRM API call (not OAuth).
    pub api: bool,
    pub path: String,
    pub query: Option<String>,
    pub status: Option<u16>,
    pub grant_type: Option<String>,
}

impl Downstream {
    pub fn is_refresh(&self) -> bool {
        self.grant_type.as_deref() == Some("refresh_token")
    }
}

/// One CRM answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        self
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl CrmApp {
    pub fn service(&self) -> &'static str {
        self.provider.service()
    }

    fn hs(&self) -> patchbay_fake_hubspot::Emulator {
        self.hubspot
            .as_ref()
            .expect("a HubSpot test app")
            .emulator()
    }

    /// The connected provider's emulator origin.
    pub fn downstream_base(&self) -> String {
        match &self.hubspot {
            Some(hs) => hs.base_url(),
            None => self.app.emulator.base_url(),
        }
    }

    /// Walks Patchbay's authorize URL → the HubSpot install page (auto-approved) → Patchbay's
    /// callback → the application's redirect URI.
    async fn connect_hubspot(&self) {
        self.app.connect_service(CONSUMER, "hubspot").await;
    }

    /// A CRM request with `Authorization`, `x-apideck-app-id` and `x-apideck-consumer-id`.
    pub fn request(&self, method: Method, path_and_query: &str) -> reqwest::RequestBuilder {
        self.app.consumer_api(method, path_and_query, CONSUMER)
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Answer {
        let r = builder.send().await.expect("send");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        self.send(self.request(Method::GET, path_and_query)).await
    }

    /// GET of an absolute URL (a `links.next`), with the CRM headers.
    pub async fn get_url(&self, url: &str) -> Answer {
        let builder = self
            .app
            .client
            .get(url)
            .bearer_auth(&self.app.api_key)
            .header("x-apideck-app-id", self.app.app_id.as_str())
            .header("x-apideck-consumer-id", CONSUMER);
        self.send(builder).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::POST, path).json(&body))
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.send(self.request(Method::PATCH, path).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// A provider record read through `/proxy`, for checks the unified model cannot show.
    pub async fn proxy_get(&self, downstream_path: &str) -> Value {
        self.app
            .consumer_api(Method::GET, "/proxy", CONSUMER)
            .header("x-apideck-service-id", self.service())
            .header("x-apideck-downstream-url", downstream_path)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }

    /// Every token the connected emulator issued, as its control plane lists them.
    pub async fn all_tokens(&self) -> Vec<Value> {
        let r = self
            .app
            .client
            .get(format!("{}/__emulator/tokens", self.downstream_base()))
            .send()
            .await
            .expect("send");
        let v: Value = r.json().await.expect("json");
        match v {
            Value::Array(a) => a,
            Value::Object(o) => o
                .get("tokens")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The access tokens the emulator considers active.
    pub async fn active_access_tokens(&self) -> Vec<String> {
        self.all_tokens()
            .await
            .iter()
            .filter(|t| t["kind"].as_str().is_some_and(|k| k.starts_with("access")))
            .filter(|t| t["state"] == "active")
            .filter_map(|t| t["value"].as_str().map(str::to_owned))
            .collect()
    }

    /// Makes the provider refuse `token` from now on.
    fn revoke(&self, token: &str) {
        match self.provider {
            Provider::Salesforce => {
                self.app.emulator.emulator().revoke_token(token);
            }
            Provider::HubSpot => {
                let emu = self.hs();
                let mut tokens = emu.inner().tokens.lock();
                if let Some(access) = tokens.access.get_mut(token) {
                    access.revoked = true;
                } else if let Some(refresh) = tokens.refresh.get_mut(token) {
                    refresh.deleted = true;
                }
            }
        }
    }

    /// Every active access token stops working; the grant (refresh token) stays good.
    pub async fn revoke_access_tokens(&self) {
        let active = self.active_access_tokens().await;
        assert!(!active.is_empty(), "no active access token");
        for token in &active {
            self.revoke(token);
        }
    }

    /// Ends the connection's grant at the provider: its refresh token and the access tokens
    /// with it. Salesforce revokes the access tokens of a revoked refresh token itself;
    /// HubSpot's deletion leaves them alone, so they are revoked too. Returns the refresh
    /// token, for leak checks.
    pub async fn kill_grant(&self) -> String {
        let refresh = self
            .all_tokens()
            .await
            .iter()
            .find(|t| t["kind"].as_str().is_some_and(|k| k.starts_with("refresh")))
            .and_then(|t| t["value"].as_str())
            .expect("refresh token")
            .to_owned();
        match self.provider {
            Provider::Salesforce => assert!(self.app.emulator.emulator().revoke_token(&refresh)),
            Provider::HubSpot => {
                self.revoke(&refresh);
                for token in self.active_access_tokens().await {
                    self.revoke(&token);
                }
            }
        }
        refresh
    }

    pub fn clear_downstream_log(&self) {
        match self.provider {
            Provider::Salesforce => self.app.emulator.emulator().clear_requests(),
            Provider::HubSpot => self.hs().inner().log.clear(),
        }
    }

    /// The connected emulator's request log, oldest first.
    pub fn downstream_log(&self) -> Vec<Downstream> {
        match self.provider {
            Provider::Salesforce => self
                .app
                .emulator
                .emulator()
                .requests()
                .into_iter()
                .map(|e| Downstream {
                    api: e.path.starts_with("/services/data/"),
                    path: e.path,
                    query: e.query,
                    status: e.status,
                    grant_type: e.grant_type,
                })
                .collect(),
            Provider::HubSpot => self
                .hs()
                .inner()
                .log
                .snapshot()
                .into_iter()
                .map(|e| Downstream {
                    api: e.kind == "api",
                    path: e.path,
                    query: e.query,
                    status: e.status,
                    grant_type: e.grant_type,
                })
                .collect(),
        }
    }

    pub fn refresh_count(&self) -> usize {
        self.downstream_log()
            .iter()
            .filter(|e| e.is_refresh())
            .count()
    }

    /// Injects a fault into the provider's CRM API. `rule` is the emulators' shared part:
    /// `{"kind": "status", "status": 503}`, `{"kind": "rate_limit"}`, with an optional
    /// `count`; the target is filled in.
    pub fn fault(&self, mut rule: Value) {
        let target = match self.provider {
            Provider::Salesforce => "rest",
            Provider::HubSpot => "api",
        };
        rule["target"] = json!(target);
        match self.provider {
            Provider::Salesforce => {
                self.app.emulator.emulator().add_fault(
                    serde_json::from_value(rule).expect("a Salesforce emulator fault rule"),
                )
            }
            Provider::HubSpot => self
                .hs()
                .inner()
                .faults
                .add(serde_json::from_value(rule).expect("a HubSpot emulator fault rule")),
        }
    }

    /// The provider allows exactly `n` more API calls (Salesforce: the org's daily limit;
    /// HubSpot: the rolling 10-second window, cleared).
    pub fn allow_calls(&self, n: u64) {
        match self.provider {
            Provider::Salesforce => {
                let emu = self.app.emulator.emulator();
                let used = emu.api_usage().used;
                emu.set_api_limit(Some(used + n), None);
            }
            Provider::HubSpot => {
                let emu = self.hs();
                emu.inner()
                    .limiter
                    .set(Some(u32::try_from(n).expect("small")), None);
                emu.inner().limiter.reset();
            }
        }
    }

    /// No limit in the way any more.
    pub fn lift_limit(&self) {
        match self.provider {
            Provider::Salesforce => self
                .app
                .emulator
                .emulator()
                .set_api_limit(Some(100_000), None),
            Provider::HubSpot => {
                let emu = self.hs();
                emu.inner().limiter.set(Some(0), None);
                emu.inner().limiter.reset();
            }
        }
    }

    /// Sets a visible API budget and returns its size: Salesforce's daily 15,000 with 17
    /// already used; HubSpot's 10-second window of 150, cleared (its log too, so
    /// [`Self::budget_used`] can count).
    pub fn set_budget(&self) -> u64 {
        match self.provider {
            Provider::Salesforce => {
                self.app
                    .emulator
                    .emulator()
                    .set_api_limit(Some(15_000), Some(17));
                15_000
            }
            Provider::HubSpot => {
                let emu = self.hs();
                emu.inner().limiter.set(Some(150), None);
                emu.inner().limiter.reset();
                emu.inner().log.clear();
                150
            }
        }
    }

    /// Calls counted against the budget of [`Self::set_budget`].
    pub fn budget_used(&self) -> u64 {
        match self.provider {
            Provider::Salesforce => self.app.emulator.emulator().api_usage().used,
            Provider::HubSpot => {
                let calls = self.downstream_log().iter().filter(|e| e.api).count();
                u64::try_from(calls).expect("count")
            }
        }
    }

    /// Creates `n` contacts directly in the emulator (fast: no HTTP), returning their unified
    /// ids. Contact `i` is named `last_names[i % len]`; every third has no first name (so
    /// sorts meet nulls); creation times spread over five minutes, with many ties.
    pub fn seed_contacts(&self, n: usize, last_names: &[&str]) -> Vec<String> {
        match self.provider {
            Provider::Salesforce => self.seed_salesforce_contacts(n, last_names),
            Provider::HubSpot => self.seed_hubspot_contacts(n, last_names),
        }
    }

    fn seed_salesforce_contacts(&self, n: usize, last_names: &[&str]) -> Vec<String> {
        let emu = self.app.emulator.emulator();
        // Salesforce keeps audit datetimes to the second (`.000`), and SOQL datetime literals
        // cannot say milliseconds, so seeded rows get whole seconds like real ones.
        let now = emu.now_ms() / 1000 * 1000;
        let mut org = emu.org().write();
        let user = org.default_user_id();
        (0..n)
            .map(|i| {
                let (first, last, email, at) = seed_fields(i, n, last_names, now);
                let body = json!({"FirstName": first, "LastName": last, "Email": email});
                org.create("Contact", &body, user, at)
                    .map(|id| id.to_18())
                    .unwrap_or_else(|e| panic!("seed contact: {e:?}"))
            })
            .collect()
    }

    fn seed_hubspot_contacts(&self, n: usize, last_names: &[&str]) -> Vec<String> {
        let emu = self.hs();
        let now = emu.now_ms() / 1000 * 1000;
        let mut account = emu.inner().account.lock();
        (0..n)
            .map(|i| {
                let (first, last, email, at) = seed_fields(i, n, last_names, now);
                let mut properties = std::collections::BTreeMap::new();
                if let Some(first) = first {
                    properties.insert("firstname".to_owned(), first);
                }
                properties.insert("lastname".to_owned(), last.to_owned());
                properties.insert("email".to_owned(), email);
                account
                    .insert_raw(
                        patchbay_fake_hubspot_data::schema::ObjectType::Contacts,
                        properties,
                        at,
                        at,
                    )
                    .to_string()
            })
            .collect()
    }
}

/// Contact `i` of `n` for [`CrmApp::seed_contacts`]: first name, last name, email, time.
fn seed_fields<'a>(
    i: usize,
    n: usize,
    last_names: &[&'a str],
    now: i64,
) -> (Option<String>, &'a str, String, i64) {
    let last = last_names[i % last_names.len()];
    let first = (!i.is_multiple_of(3)).then(|| format!("Seed{:05}", (i * 7919) % n));
    let email = format!("seed{i}@paging.example");
    let at = now - i64::try_from((i * 7) % 300).unwrap_or(0) * 1000;
    (first, last, email, at)
}

// ---------------------------------------------------------------------------------------------
// The spec

fn crm_spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spec/apideck/crm.yml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        yaml::parse(&text)
    })
}

pub fn schema(name: &str) -> &'static Value {
    let s = &crm_spec()["components"]["schemas"][name];
    assert!(s.is_object(), "schema {name} not in crm.yml");
    s
}

/// Every violation of the spec's schema `name` by `value`.
pub fn schema_errors(name: &str, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema(name), value, name, &mut errors);
    errors
}

pub fn assert_schema(name: &str, value: &Value) {
    let errors = schema_errors(name, value);
    assert!(
        errors.is_empty(),
        "{name} does not match crm.yml:\n{}\n{value:#}",
        errors.join("\n")
    );
}

fn resolve(s: &Value) -> &Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            schema(name)
        }
        None => s,
    }
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn check(s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let s = resolve(s);
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(part, v, at, errors);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = s.get(key).and_then(Value::as_array) {
            let ok = any.iter().any(|part| {
                let mut e = Vec::new();
                check(part, v, at, &mut e);
                e.is_empty()
            });
            if !ok {
                errors.push(format!("{at}: matches none of {key}"));
            }
        }
    }
    if v.is_null() {
        if s.get("nullable").and_then(Value::as_bool) != Some(true) && s.get("type").is_some() {
            errors.push(format!("{at}: null but not nullable"));
        }
        return;
    }
    if let Some(ty) = s.get("type").and_then(Value::as_str)
        && !type_ok(ty, v)
    {
        errors.push(format!("{at}: expected {ty}, got {v}"));
        return;
    }
    if let (Some(values), Some(text)) = (s.get("enum").and_then(Value::as_array), v.as_str())
        && !values.iter().any(|e| e.as_str() == Some(text))
    {
        errors.push(format!("{at}: {text:?} is not one of {values:?}"));
    }
    if let Some(items) = s.get("items")
        && let Some(list) = v.as_array()
    {
        for (i, item) in list.iter().enumerate() {
            check(items, item, &format!("{at}/{i}"), errors);
        }
    }
    let Some(obj) = v.as_object() else { return };
    let empty = Map::new();
    let props = s
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for r in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !obj.contains_key(r) {
            errors.push(format!("{at}: required property {r} missing"));
        }
    }
    if s.get("additionalProperties").and_then(Value::as_bool) == Some(false) {
        for k in obj.keys().filter(|k| !props.contains_key(*k)) {
            errors.push(format!("{at}: property {k} is not in the schema"));
        }
    }
    for (k, ps) in props {
        if let Some(pv) = obj.get(k) {
            check(ps, pv, &format!("{at}/{k}"), errors);
        }
    }
}

/// The block-style YAML subset of the Apideck specs, into JSON. Scalars stay strings except
/// `true`/`false`; that is all the schema checker needs.
pub mod yaml {
    use serde_json::{Map, Value};

    struct Line {
        indent: usize,
        text: String,
    }

    pub fn parse(text: &str) -> Value {
        let mut lines: Vec<Line> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|l| Line {
                indent: l.len() - l.trim_start().len(),
                text: l.trim().to_owned(),
            })
            .collect();
        let mut i = 0;
        block(&mut lines, &mut i, 0)
    }

    fn block(lines: &mut [Line], i: &mut usize, indent: usize) -> Value {
        if *i < lines.len() && lines[*i].indent == indent && is_item(&lines[*i].text) {
            sequence(lines, i, indent)
        } else {
            mapping(lines, i, indent)
        }
    }

    fn is_item(text: &str) -> bool {
        text == "-" || text.starts_with("- ")
    }

    fn sequence(lines: &mut [Line], i: &mut usize, indent: usize) -> Value {
        let mut out = Vec::new();
        while *i < lines.len() && lines[*i].indent == indent && is_item(&lines[*i].text) {
            let rest = lines[*i].text.get(2..).unwrap_or("").trim().to_owned();
            if rest.is_empty() {
                *i += 1;
                let child = lines.get(*i).map_or(indent + 2, |l| l.indent);
                out.push(block(lines, i, child));
            } else if key_value(&rest).is_some() {
                // `- key: v` opens a mapping whose keys sit two columns in.
                lines[*i].indent = indent + 2;
                lines[*i].text = rest;
                out.push(mapping(lines, i, indent + 2));
            } else {
                out.push(scalar(&rest));
                *i += 1;
                skip_deeper(lines, i, indent);
            }
        }
        Value::Array(out)
    }

    fn mapping(lines: &mut [Line], i: &mut usize, indent: usize) -> Value {
        let mut out = Map::new();
        while *i < lines.len() && lines[*i].indent == indent && !is_item(&lines[*i].text) {
            let Some((key, value)) = key_value(&lines[*i].text) else {
                *i += 1;
                continue;
            };
            *i += 1;
            let v = if value.is_empty() {
                match lines.get(*i) {
                    Some(next) if next.indent > indent => {
                        let child = next.indent;
                        block(lines, i, child)
                    }
                    Some(next) if next.indent == indent && is_item(&next.text) => {
                        sequence(lines, i, indent)
                    }
                    _ => Value::Null,
                }
            } else if value.starts_with('|') || value.starts_with('>') {
                skip_deeper(lines, i, indent);
                Value::String(String::new())
            } else {
                skip_deeper(lines, i, indent);
                scalar(&value)
            };
            out.insert(key, v);
        }
        Value::Object(out)
    }

    /// Continuation lines of a scalar (and block scalars) are more indented than their key.
    fn skip_deeper(lines: &[Line], i: &mut usize, indent: usize) {
        while *i < lines.len() && lines[*i].indent > indent {
            *i += 1;
        }
    }

    fn key_value(text: &str) -> Option<(String, String)> {
        let (key, rest) = if let Some(stripped) = text.strip_prefix('\'') {
            let end = stripped.find("':")?;
            (stripped[..end].to_owned(), &stripped[end + 2..])
        } else if let Some(stripped) = text.strip_prefix('"') {
            let end = stripped.find("\":")?;
            (stripped[..end].to_owned(), &stripped[end + 2..])
        } else {
            let pos = text
                .find(": ")
                .or_else(|| text.ends_with(':').then(|| text.len() - 1))?;
            (text[..pos].to_owned(), &text[pos + 1..])
        };
        Some((key, rest.trim().to_owned()))
    }

    fn scalar(text: &str) -> Value {
        match text {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            "[]" => return Value::Array(Vec::new()),
            "{}" => return Value::Object(Map::new()),
            _ => {}
        }
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return Value::Array(inner.split(',').map(|s| scalar(s.trim())).collect());
        }
        if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            return Value::String(inner.replace("''", "'"));
        }
        if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            return Value::String(inner.replace("\\\"", "\""));
        }
        Value::String(text.to_owned())
    }
}

#[test]
fn the_yaml_reader_understands_the_crm_spec() {
    let contact = schema("Contact");
    assert_eq!(contact["type"], "object");
    assert_eq!(
        contact["properties"]["emails"]["items"]["$ref"],
        "#/components/schemas/Email"
    );
    assert_eq!(contact["properties"]["gender"]["enum"][1], "female");
    assert_eq!(contact["properties"]["name"]["nullable"], true);
    let list = schema("GetContactsResponse");
    assert_eq!(list["required"].as_array().map(Vec::len), Some(6));
    assert!(schema("Meta")["properties"]["cursors"]["properties"]["next"].is_object());
    // the checker catches violations
    assert!(!schema_errors("Contact", &json!({"gender": "robot"})).is_empty());
    assert!(!schema_errors("GetContactsResponse", &json!({"status_code": 200})).is_empty());
    assert!(!schema_errors("Contact", &json!({"emails": [{"type": "work"}]})).is_empty());
    assert!(schema_errors("Contact", &json!({"emails": [{"email": "a@b.c"}]})).is_empty());
}
