//! The server's use of the token-lifecycle coordinator: the Vault's sealing and the
//! coordinator's agree, a fresh token costs no token call, an expired one is refreshed once
//! for many callers, and dead grants answer the spec's errors.

use std::sync::Arc;

use patchbay_core::{ConsumerId, ServiceId, UnifiedApi};
use patchbay_server::service::integrations::IntegrationInput;
use reqwest::{Method, StatusCode};
use tokio::task::JoinSet;

use crate::helpers::{Db, json_with};
use crate::proxy_support::{
    EXPIRE_ALL_MS, assert_no_refresh_token_presented_twice, clocked, connection_id, exported,
    refresh_calls,
};

crate::server_backend_tests!(
    vault_and_coordinator_open_each_others_secrets,
    two_hundred_callers_share_one_refresh_under_rotation,
    a_dead_grant_is_a_connector_credentials_error,
    fresh_tokens_cost_no_write_and_no_token_call
);

fn crm() -> UnifiedApi {
    UnifiedApi::crm()
}

fn consumer(s: &str) -> ConsumerId {
    ConsumerId::parse(s).expect("consumer id")
}

/// Tokens sealed by the Vault (connect flow) open in the coordinator, tokens the coordinator
/// seals open in the Vault (export), and the integration's client secret sealed by the Vault
/// opens in the coordinator (the emulator refuses the refresh without it).
async fn vault_and_coordinator_open_each_others_secrets(db: Db) {
    let Some(app) = clocked(db, |o| o.emulator.require_secret_for_refresh = true).await else {
        return;
    };
    app.vault
        .set_integration(
            &app.app_id,
            &crm(),
            &ServiceId::salesforce(),
            IntegrationInput {
                send_secret_on_refresh: Some(true),
                ..IntegrationInput::default()
            },
        )
        .await
        .expect("send the secret on refresh");
    app.connect("c").await;
    let id = connection_id(&app, "c").await;
    let (access, _) = exported(&app, "c").await;
    let current = app
        .vault
        .refresher()
        .access_token_for(&id)
        .await
        .expect("the coordinator opens what the Vault sealed");
    assert_eq!(current.access_token.expose_secret(), access);

    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "c",
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "callable", "{v}");
    assert_eq!(refresh_calls(&app).len(), 1);
    let (after, _) = exported(&app, "c").await;
    assert_ne!(after, access, "validate stored a new access token");
    let current = app
        .vault
        .refresher()
        .access_token_for(&id)
        .await
        .expect("fresh");
    assert_eq!(
        current.access_token.expose_secret(),
        after,
        "the Vault opens what the coordinator sealed"
    );
}

async fn two_hundred_callers_share_one_refresh_under_rotation(db: Db) {
    let Some(app) = clocked(db, |o| o.emulator.rotate_refresh_tokens = true).await else {
        return;
    };
    app.connect("c").await;
    let (before, refresh_before) = exported(&app, "c").await;

    // Fresh: served from the row, no token call.
    let t = app
        .vault
        .connection_token(&app.app_id, &consumer("c"), &crm(), None)
        .await
        .expect("token");
    assert_eq!(t.access_token.expose_secret(), before);
    assert_eq!(
        t.instance_url,
        app.emulator.base_url().trim_end_matches('/')
    );
    assert!(refresh_calls(&app).is_empty());

    app.clock.advance(EXPIRE_ALL_MS);
    let vault = Arc::new(app.vault.clone());
    let mut set = JoinSet::new();
    for _ in 0..200 {
        let (vault, app_id) = (Arc::clone(&vault), app.app_id.clone());
        set.spawn(async move {
            vault
                .connection_token(
                    &app_id,
                    &consumer("c"),
                    &crm(),
                    Some(&ServiceId::salesforce()),
                )
                .await
                .map(|t| t.access_token.expose_secret().to_owned())
        });
    }
    let mut tokens = std::collections::HashSet::new();
    while let Some(r) = set.join_next().await {
        tokens.insert(r.expect("join").expect("every caller gets a token"));
    }
    assert_eq!(tokens.len(), 1, "all callers got the one refreshed token");
    assert!(!tokens.contains(&before));
    let calls = refresh_calls(&app);
    assert_eq!(calls.len(), 1, "exactly one refresh for 200 callers");
    assert_no_refresh_token_presented_twice(&calls);
    let (_, refresh_after) = exported(&app, "c").await;
    assert_ne!(
        refresh_after, refresh_before,
        "the rotated token was stored"
    );
}

async fn a_dead_grant_is_a_connector_credentials_error(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("gone").await;
    let (_, refresh) = exported(&app, "gone").await;
    let r = app
        .client
        .post(format!(
            "{}/__emulator/tokens/revoke",
            app.emulator.base_url()
        ))
        .json(&serde_json::json!({ "token": refresh }))
        .send()
        .await
        .expect("revoke at the emulator");
    assert!(r.status().is_success());
    app.clock.advance(EXPIRE_ALL_MS);
    let err = app
        .vault
        .connection_token(&app.app_id, &consumer("gone"), &crm(), None)
        .await
        .expect_err("a revoked grant cannot give a token");
    let v = err.envelope();
    assert_eq!(v["status_code"], 401, "{v}");
    assert_eq!(v["type_name"], "ConnectorCredentialsError", "{v}");
    assert_eq!(v["detail"]["type"], "refresh_token_connector_error", "{v}");
    assert_eq!(v["detail"]["debug"]["code"], "invalid_grant", "{v}");
    assert!(
        v["detail"]["debug"]["credentials_expire_at_ms"].is_i64(),
        "{v}"
    );
    // Marked once: a second caller is answered from the row, without a token call.
    let calls = refresh_calls(&app).len();
    let again = app
        .vault
        .connection_token(&app.app_id, &consumer("gone"), &crm(), None)
        .await
        .expect_err("still dead");
    assert_eq!(again.envelope()["type_name"], "ConnectorCredentialsError");
    assert_eq!(refresh_calls(&app).len(), calls);
    assert_eq!(app.connection("gone").await["state"], "invalid");
}

/// The hot path: proxy calls with a fresh token leave the connection row exactly as it was
/// (no write, no lease) and make no token call.
async fn fresh_tokens_cost_no_write_and_no_token_call(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("c").await;
    let id = connection_id(&app, "c").await;
    let before = app.vault.store().get_connection(&id).await.expect("read");
    for _ in 0..20 {
        let r = crate::proxy_support::proxy(&app, Method::GET, "c")
            .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let after = app.vault.store().get_connection(&id).await.expect("read");
    let (before, after) = (before.expect("row"), after.expect("row"));
    assert_eq!(before.updated_at, after.updated_at);
    assert_eq!(before.token_version, after.token_version);
    assert!(after.lease_owner.is_none());
    assert!(refresh_calls(&app).is_empty());
}
