//! A Patchbay app with a HubSpot integration pointed at its own HubSpot emulator and one
//! consumer connected through the hosted flow: what the HubSpot activities, change-event and
//! token tests share.

use patchbay_core::{ServiceId, UnifiedApi};
use patchbay_crypto::SecretString;
use patchbay_fake_hubspot::{EmulatorConfig, EmulatorHandle};
use patchbay_server::service::integrations::IntegrationInput;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Db, Options, TestApp, json_with, spawn_with};

pub const HUBSPOT: &str = "hubspot";

pub struct HubSpotApp {
    pub app: TestApp,
    pub hs: EmulatorHandle,
    pub consumer: String,
}

/// Spawns the app and the emulator (`records` seeded records, rate limits out of reach), sets the
/// HubSpot integration (`tweak` may change its input) and connects `consumer` to HubSpot only.
/// `None` when the backend is unavailable.
pub async fn spawn_hubspot(
    db: Db,
    records: usize,
    consumer: &str,
    options: impl FnOnce(&mut Options),
    tweak: impl FnOnce(&mut IntegrationInput),
) -> Option<HubSpotApp> {
    let mut o = Options {
        db,
        ..Options::default()
    };
    options(&mut o);
    let app = spawn_with(o).await?;
    let secret = format!("hs-secret-{}", uuid::Uuid::new_v4().simple());
    let client_id = uuid::Uuid::new_v4().to_string();
    let hs = patchbay_fake_hubspot::spawn(EmulatorConfig {
        client_id: client_id.clone(),
        client_secret: secret.clone(),
        redirect_uris: vec![format!("{}/vault/callback", app.base_url)],
        auto_approve: true,
        records,
        // High rather than off: the poller reads the usage headers, and an emulator without a
        // limit reports a window of 0.
        rate_limit_per_10s: 100_000,
        search_rate_limit_per_sec: 100_000,
        ..EmulatorConfig::default()
    })
    .await
    .expect("spawn the HubSpot emulator");
    let mut input = IntegrationInput {
        client_id: Some(client_id),
        client_secret: Some(SecretString::new(secret)),
        login_url: Some(hs.base_url()),
        ..IntegrationInput::default()
    };
    tweak(&mut input);
    app.vault
        .set_integration(
            &app.app_id,
            &UnifiedApi::crm(),
            &ServiceId::parse(HUBSPOT).expect("service id"),
            input,
        )
        .await
        .expect("set the HubSpot integration");
    let t = HubSpotApp {
        app,
        hs,
        consumer: consumer.to_owned(),
    };
    t.connect().await;
    Some(t)
}

impl HubSpotApp {
    /// Patchbay's authorize URL → the emulator's install page (auto-approved) → Patchbay's
    /// callback → the application's redirect URI, without an error.
    pub async fn connect(&self) {
        let conn = self.connection().await;
        let authorize = conn["authorize_url"]
            .as_str()
            .expect("authorize_url")
            .to_owned();
        self.app.connect_through(&authorize).await;
    }

    /// `GET /vault/connections/crm/hubspot`'s `data`.
    pub async fn connection(&self) -> Value {
        let r = self
            .app
            .consumer_api(
                Method::GET,
                "/vault/connections/crm/hubspot",
                &self.consumer,
            )
            .send()
            .await
            .expect("send");
        json_with(r, StatusCode::OK).await["data"].clone()
    }

    /// A unified CRM call to the HubSpot connection.
    pub fn crm(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .consumer_api(method, path, &self.consumer)
            .header("x-apideck-service-id", HUBSPOT)
    }

    /// A unified CRM call that must answer `status`.
    pub async fn crm_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Value {
        let mut r = self.crm(method, path);
        if let Some(body) = body {
            r = r.json(&body);
        }
        json_with(r.send().await.expect("send"), status).await
    }

    /// The emulator's `/__emulator/{what}` as JSON.
    pub async fn control(&self, what: &str) -> Value {
        self.app
            .client
            .get(format!("{}/__emulator/{what}", self.hs.base_url()))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }

    /// The emulator's request log.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self.control("requests").await;
        v.as_array()
            .cloned()
            .or_else(|| v["requests"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Every token the emulator issued (`kind`, `value`, `state`, …).
    pub async fn tokens(&self) -> Vec<Value> {
        let v = self.control("tokens").await;
        v.as_array()
            .cloned()
            .or_else(|| v["tokens"].as_array().cloned())
            .unwrap_or_default()
    }
}
