//! HubSpot's token calls that carry the token in the path, against the HubSpot emulator:
//! deleting a connection revokes its refresh token with `DELETE
//! /oauth/v1/refresh-tokens/{token}` (docs/hubspot.md §4), and Test Vault reads the fresh access
//! token's metadata (`GET /oauth/v1/access-tokens/{token}`: hub id, scopes) for its
//! introspection and scopes checks. Neither token appears in Patchbay's logs or answers.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Db, captured_logs, json_with};
use crate::hubspot_support::{HubSpotApp, spawn_hubspot};

crate::server_backend_tests!(
    deleting_a_hubspot_connection_deletes_its_refresh_token_at_hubspot,
    a_refresh_token_already_gone_at_hubspot_still_counts_as_revoked,
    test_vault_reads_hubspot_token_metadata_for_introspection_and_scopes,
);

/// The connection's live refresh token at the emulator.
async fn refresh_token(t: &HubSpotApp) -> String {
    let tokens = t.tokens().await;
    let live: Vec<&Value> = tokens
        .iter()
        .filter(|t| t["kind"] == "refresh" && t["state"] == "active")
        .collect();
    assert_eq!(live.len(), 1, "{tokens:?}");
    live[0]["value"].as_str().expect("value").to_owned()
}

async fn refresh_state(t: &HubSpotApp, token: &str) -> String {
    t.tokens()
        .await
        .iter()
        .find(|x| x["value"] == token)
        .and_then(|x| x["state"].as_str())
        .expect("the token is listed")
        .to_owned()
}

fn sha256(s: &str) -> String {
    patchbay_fake_hubspot::oauth::sha256_hex(s)
}

/// `connection.delete`'s `revoked_at_provider` in the audit log.
async fn revoked_at_provider(t: &HubSpotApp) -> bool {
    let page = t
        .app
        .vault
        .list_audit(Some(&t.app.app_id), None, 100)
        .await
        .expect("audit");
    let entry = page
        .items
        .iter()
        .rev()
        .find(|e| e.action == "connection.delete")
        .expect("a delete entry");
    let details: Value = serde_json::from_str(&entry.details_json).expect("json");
    details["revoked_at_provider"]
        .as_bool()
        .expect("revoked_at_provider")
}

async fn delete_connection(t: &HubSpotApp) {
    let r = t
        .app
        .consumer_api(
            Method::DELETE,
            "/vault/connections/crm/hubspot",
            &t.consumer,
        )
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success(), "{}", r.status());
}

async fn deleting_a_hubspot_connection_deletes_its_refresh_token_at_hubspot(db: Db) {
    let Some(t) = spawn_hubspot(db, 0, "revoked", |_| {}, |_| {}).await else {
        return;
    };
    let token = refresh_token(&t).await;
    let access: Vec<String> = t
        .tokens()
        .await
        .iter()
        .filter(|x| x["kind"] == "access")
        .filter_map(|x| x["value"].as_str().map(str::to_owned))
        .collect();
    assert!(!access.is_empty());

    delete_connection(&t).await;

    assert_eq!(refresh_state(&t, &token).await, "deleted");
    // One DELETE with the token as the path's last segment (the log shows its hash), no body
    // and no form: HubSpot's v1 shape.
    let deletes: Vec<Value> = t
        .requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(
        deletes[0]["path"],
        format!("/oauth/v1/refresh-tokens/sha256:{}", sha256(&token)).as_str()
    );
    assert_eq!(deletes[0]["status"], 204);
    assert!(revoked_at_provider(&t).await);
    // The connection is gone; the tokens never reached a log line.
    let r = t.connection().await;
    assert_eq!(r["state"], "available", "{r}");
    let logs = captured_logs();
    assert!(!logs.contains(&token), "the refresh token was logged");
    for a in &access {
        assert!(!logs.contains(a.as_str()), "an access token was logged");
    }
}

async fn a_refresh_token_already_gone_at_hubspot_still_counts_as_revoked(db: Db) {
    let Some(t) = spawn_hubspot(db, 0, "gone", |_| {}, |_| {}).await else {
        return;
    };
    let token = refresh_token(&t).await;
    // Someone deleted it at HubSpot first (uninstall, another client).
    let r = t
        .app
        .client
        .post(format!("{}/__emulator/tokens/revoke", t.hs.base_url()))
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .expect("send");
    assert!(r.status().is_success());
    delete_connection(&t).await;
    let statuses: Vec<Value> = t
        .requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == "DELETE")
        .map(|r| r["status"].clone())
        .collect();
    // HubSpot answers 404 for a deleted token: what a revocation wants, so no retries.
    assert_eq!(statuses, vec![Value::from(404)]);
    assert!(revoked_at_provider(&t).await);
    assert!(!captured_logs().contains(&token));
}

async fn test_vault_reads_hubspot_token_metadata_for_introspection_and_scopes(db: Db) {
    let Some(t) = spawn_hubspot(db, 0, "checked", |_| {}, |_| {}).await else {
        return;
    };
    let r = t
        .app
        .api(
            Method::POST,
            "/admin/v1/integrations/crm/hubspot/diagnostics",
        )
        .send()
        .await
        .expect("send");
    let body = json_with(r, StatusCode::OK).await;
    let data = &body["data"];
    let checks = data["checks"].as_array().expect("checks");
    let check = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id} check: {body}"))
            .clone()
    };
    let introspection = check("introspection");
    assert_eq!(introspection["status"], "passed", "{body}");
    let info = t.hs.startup_info();
    let hub_id = info["hub_id"]
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| info["hub_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the emulator names its hub id: {info}"));
    let detail = introspection["detail"].as_str().expect("detail");
    assert!(detail.contains(&format!("account {hub_id}")), "{detail}");
    assert!(detail.contains("crm.objects.contacts.read"), "{detail}");
    // The scopes check is decided from the metadata's scopes: every requested one granted.
    assert_eq!(check("scopes")["status"], "passed", "{body}");
    assert_eq!(data["ok"], true, "{body}");
    // The metadata call went to HubSpot's v1 path with the fresh access token, and no form
    // introspection was sent.
    let requests = t.requests().await;
    let metadata: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/oauth/v1/access-tokens/sha256:"))
        })
        .collect();
    assert_eq!(metadata.len(), 1, "{requests:?}");
    assert_eq!(metadata[0]["status"], 200);
    assert!(
        !requests
            .iter()
            .any(|r| r["path"].as_str().is_some_and(|p| p.contains("introspect"))),
        "{requests:?}"
    );
    // No token in the report or the logs.
    let text = body.to_string();
    let logs = captured_logs();
    for x in t.tokens().await {
        let value = x["value"].as_str().expect("value");
        assert!(!text.contains(value), "a token is in the report");
        assert!(!logs.contains(value), "a token was logged");
    }
}
