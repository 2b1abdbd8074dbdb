//! Shared by the proxy, lifecycle and multi-node tests: an app on a manual clock (so a test
//! can expire Patchbay's view of a token while the emulator still honours it), the exported
//! tokens of a connection, and the emulator's refresh calls.

use std::sync::Arc;

use patchbay_core::{ConnectionId, ConsumerId, ManualClock, ServiceId, SystemClock, UnifiedApi};
use patchbay_fake_salesforce::control::log::LogEntry;
use patchbay_server::service::Scope;
use reqwest::StatusCode;

use crate::helpers::{Db, Options, TestApp, json_with, spawn_with};

/// Far enough past any session timeout that every stored token is due.
pub const EXPIRE_ALL_MS: i64 = 3 * 3_600_000;

pub struct ClockedApp {
    pub app: TestApp,
    pub clock: Arc<ManualClock>,
}

impl std::ops::Deref for ClockedApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// An app on a manual clock; `None` when the backend is unavailable.
pub async fn clocked(db: Db, tweak: impl FnOnce(&mut Options)) -> Option<ClockedApp> {
    let clock = Arc::new(ManualClock::new(patchbay_core::Clock::now_ms(&SystemClock)));
    let mut options = Options {
        db,
        clock: Some(Arc::clone(&clock)),
        ..Options::default()
    };
    tweak(&mut options);
    let app = spawn_with(options).await?;
    Some(ClockedApp { app, clock })
}

/// The stored `(access_token, refresh_token)` of a consumer's connection, via the audited export.
pub async fn exported(app: &TestApp, consumer: &str) -> (String, Option<String>) {
    let key = app.key_with(&[Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", consumer)
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    (
        v["data"]["access_token"]
            .as_str()
            .expect("access")
            .to_owned(),
        v["data"]["refresh_token"].as_str().map(str::to_owned),
    )
}

pub async fn connection_id(app: &TestApp, consumer: &str) -> ConnectionId {
    app.vault
        .store()
        .find_connection(
            &app.app_id,
            &ConsumerId::parse(consumer).expect("consumer id"),
            &UnifiedApi::crm(),
            &ServiceId::salesforce(),
        )
        .await
        .expect("read")
        .expect("connection")
        .id
}

/// `grant_type=refresh_token` calls the emulator received.
pub fn refresh_calls(app: &TestApp) -> Vec<LogEntry> {
    app.emulator
        .emulator()
        .requests()
        .into_iter()
        .filter(|e| e.kind == "token" && e.grant_type.as_deref() == Some("refresh_token"))
        .collect()
}

pub fn assert_no_refresh_token_presented_twice(calls: &[LogEntry]) {
    let mut seen = std::collections::HashSet::new();
    for c in calls {
        let sha = c.refresh_token_sha256.clone().expect("sha logged");
        assert!(seen.insert(sha), "a refresh token was presented twice");
    }
}

/// `patchbay_store::backend_tests!` for server tests: `spawn_with` creates the database
/// itself, so each test takes the backend to ask for rather than a database.
#[macro_export]
macro_rules! server_backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Db::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Db::Postgres).await;
                }
            }
        )*
    };
}
