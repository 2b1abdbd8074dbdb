//! The whole connect flow against the in-process emulator, on SQLite and PostgreSQL.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Db, Options, REDIRECT_URI, json_with, spawn_with, urlencode};
use patchbay_server::service::Scope;

async fn full_flow(db: Db) {
    let Some(app) = spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let consumer = "acme-corp";
    let session = app.session(consumer).await;

    // The hosted UI's view: the session JWT instead of the API key.
    let r = app
        .client
        .get(format!("{}/vault/connections", app.base_url))
        .bearer_auth(&session)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", consumer)
        .send()
        .await
        .expect("send");
    let list = json_with(r, StatusCode::OK).await;
    let conns = list["data"].as_array().expect("array");
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["id"], "crm+salesforce");
    assert_eq!(conns[0]["state"], "available");
    assert_eq!(conns[0]["integration_state"], "configured");
    let authorize_url = conns[0]["authorize_url"]
        .as_str()
        .expect("authorize_url")
        .to_owned();
    assert!(authorize_url.starts_with(&format!(
        "{}/vault/authorize/salesforce/{}?state=",
        app.base_url, app.app_id
    )));

    let walk = app
        .walk(&format!(
            "{authorize_url}&redirect_uri={}",
            urlencode(REDIRECT_URI)
        ))
        .await;
    // Patchbay → login host with PKCE S256 and its own state, never the link state.
    let to_provider = url::Url::parse(&walk.hops[1]).expect("url");
    assert!(walk.hops[1].starts_with(&format!(
        "{}/services/oauth2/authorize",
        app.emulator.base_url()
    )));
    let q: std::collections::HashMap<String, String> =
        to_provider.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/vault/callback", app.base_url)
    );
    assert!(q["state"].len() >= 22 && !authorize_url.contains(&q["state"]));
    // Callback → back to the application, privately.
    assert_eq!(walk.status, StatusCode::SEE_OTHER, "{walk:?}");
    assert_eq!(walk.location.as_deref(), Some(REDIRECT_URI));
    assert_eq!(walk.headers["cache-control"], "no-store");
    assert_eq!(walk.headers["referrer-policy"], "no-referrer");

    let conn = app.connection(consumer).await;
    assert_eq!(conn["state"], "callable", "{conn}");
    assert_eq!(conn["health"], "ok");
    assert_eq!(conn["enabled"], true);
    assert_eq!(
        conn["settings"]["instance_url"],
        app.emulator.base_url().trim_end_matches('/')
    );
    assert!(
        conn["revoke_url"]
            .as_str()
            .is_some_and(|u| u.contains("/vault/revoke/salesforce/"))
    );
    assert!(conn["created_at"].as_i64().is_some_and(|t| t > 0));

    // Validate forces a refresh at the emulator.
    let before = app.emulator_requests().await;
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            consumer,
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(
        v["data"],
        serde_json::json!({ "id": "crm+salesforce", "state": "callable" })
    );
    let after = app.emulator_requests().await;
    let refreshes = |l: &[Value]| {
        l.iter()
            .filter(|e| e["grant_type"] == "refresh_token")
            .count()
    };
    assert_eq!(
        refreshes(&after),
        refreshes(&before) + 1,
        "validate must force exactly one refresh"
    );

    // The refresh token, as the audited export shows it, to check the revoke afterwards.
    let export_key = app.key_with(&[Scope::Vault, Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&export_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", consumer)
        .send()
        .await
        .expect("send");
    let exported = json_with(r, StatusCode::OK).await;
    let refresh_token = exported["data"]["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    // Delete revokes at Salesforce, then wipes.
    let r = app
        .consumer_api(
            Method::DELETE,
            "/vault/connections/crm/salesforce",
            consumer,
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let conn = app.connection(consumer).await;
    assert_eq!(conn["state"], "available");
    // The emulator recorded the revoke of exactly this refresh token (hashed in its log)...
    let revoked_hash = patchbay_fake_salesforce::oauth::crypto::sha256_hex(&refresh_token);
    let revokes: Vec<Value> = app
        .emulator_requests()
        .await
        .into_iter()
        .filter(|e| e["kind"] == "revoke")
        .collect();
    assert!(
        revokes
            .iter()
            .any(|e| e["token_sha256"] == revoked_hash.as_str() && e["status"] == 200),
        "no successful revoke of the refresh token in {revokes:?}"
    );
    // ...and the grant, alive before the delete (validate refreshed it), is dead now.
    assert!(
        !app.refresh_token_alive(&refresh_token).await,
        "the refresh token survived the delete"
    );

    // Every step is in the audit log, without secrets.
    let audit = app
        .vault
        .list_audit(Some(&app.app_id), None, 200)
        .await
        .expect("audit");
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "connection.create",
        "connection.export",
        "connection.delete",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let dump = format!("{:?}", audit.items);
    assert!(!dump.contains(&refresh_token));

    // And every Vault call of this consumer is in its request log.
    let r = app
        .consumer_api(Method::GET, "/vault/logs?limit=200", consumer)
        .send()
        .await
        .expect("send");
    let logs = json_with(r, StatusCode::OK).await;
    let ops: Vec<&str> = logs["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|l| l["operation"]["id"].as_str())
        .collect();
    for op in [
        "sessionsCreate",
        "connectionsAll",
        "connectionsAuthorize",
        "connectionsCallback",
        "validateConnectionState",
        "connectionsDelete",
    ] {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
}

#[tokio::test]
async fn connect_flow_on_sqlite() {
    full_flow(Db::Sqlite).await;
}

#[tokio::test]
async fn connect_flow_on_postgres() {
    full_flow(Db::Postgres).await;
}

async fn nonce_flow(db: Db) {
    let Some(app) = spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let consumer = "nonce-user";
    let start = format!(
        "{}&redirect_uri={}&nonce=n-123",
        app.authorize_url(consumer).await,
        urlencode(REDIRECT_URI)
    );
    let walk = app.walk(&start).await;
    let location = walk.location.clone().expect("location");
    let (base, fragment) = location.split_once('#').expect("fragment");
    assert_eq!(base, REDIRECT_URI);
    let f: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(f["nonce"], "n-123");
    assert_eq!(f["service_id"], "salesforce");
    let conn = app.connection(consumer).await;
    assert_eq!(conn["health"], "pending_confirmation");
    assert_ne!(conn["state"], "callable");

    // A wrong token changes nothing; the right one confirms once.
    let confirm = |token: &str| {
        app.consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/confirm",
            consumer,
        )
        .json(&serde_json::json!({ "confirm_token": token }))
        .send()
    };
    let r = confirm("not-the-token").await.expect("send");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = confirm(&f["confirm_token"]).await.expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["confirmed"], true);
    assert_eq!(app.connection(consumer).await["state"], "callable");
    let r = confirm(&f["confirm_token"]).await.expect("send");
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "confirm_token is single-use"
    );
}

#[tokio::test]
async fn nonce_and_confirm_on_sqlite() {
    nonce_flow(Db::Sqlite).await;
}

#[tokio::test]
async fn nonce_and_confirm_on_postgres() {
    nonce_flow(Db::Postgres).await;
}

#[tokio::test]
async fn revoke_link_revokes_and_returns() {
    let app = crate::helpers::spawn_app().await;
    let consumer = "revoker";
    app.connect(consumer).await;
    let revoke_url = app.connection(consumer).await["revoke_url"]
        .as_str()
        .expect("revoke_url")
        .to_owned();
    let (status, location, headers, _) = app
        .get_raw(&format!(
            "{revoke_url}&redirect_uri={}",
            urlencode(REDIRECT_URI)
        ))
        .await;
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(location.as_deref(), Some(REDIRECT_URI));
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let conn = app.connection(consumer).await;
    assert_eq!(conn["health"], "revoked");
    assert_eq!(conn["state"], "added");
}

#[tokio::test]
async fn import_then_validate() {
    let app = crate::helpers::spawn_app().await;
    // Obtain real tokens from a first connection, export them, and import them for a
    // second consumer as if they came from elsewhere.
    app.connect("source").await;
    let export_key = app.key_with(&[Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&export_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "source")
        .send()
        .await
        .expect("send");
    let exported = json_with(r, StatusCode::OK).await["data"].clone();
    let body = serde_json::json!({
        "credentials": { "access_token": exported["access_token"], "refresh_token": exported["refresh_token"] },
        "settings": { "instance_url": exported["instance_url"] },
    });
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/import",
            "imported",
        )
        .json(&body)
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "callable");
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "imported",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"]["state"],
        "callable"
    );

    // An instance_url outside the allow-list is refused.
    let bad = serde_json::json!({
        "credentials": { "access_token": "x" },
        "settings": { "instance_url": "https://evil.example.com" },
    });
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/import",
            "evil",
        )
        .json(&bad)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn export_needs_the_export_scope() {
    let app = crate::helpers::spawn_app().await;
    app.connect("c1").await;
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/export",
            "c1",
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::FORBIDDEN).await;
    crate::helpers::assert_error_envelope(&v, 403, "ForbiddenError");
}

#[tokio::test]
async fn imported_tokens_without_expiry_are_refreshed_by_the_sweeper() {
    let app = crate::helpers::spawn_app().await;
    app.connect("source").await;
    let export_key = app.key_with(&[Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&export_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "source")
        .send()
        .await
        .expect("send");
    let exported = json_with(r, StatusCode::OK).await["data"].clone();
    let body = serde_json::json!({
        "credentials": { "access_token": exported["access_token"], "refresh_token": exported["refresh_token"] },
        "settings": { "instance_url": exported["instance_url"] },
    });
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/import",
            "queued",
        )
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let refreshes = |l: &[Value]| {
        l.iter()
            .filter(|e| e["grant_type"] == "refresh_token")
            .count()
    };
    let before = refreshes(&app.emulator_requests().await);
    let n = app.vault.refresh_due(10).await.expect("sweep");
    assert_eq!(n, 1, "only the imported connection is due");
    assert_eq!(refreshes(&app.emulator_requests().await), before + 1);
    assert_eq!(
        app.vault.refresh_due(10).await.expect("sweep"),
        0,
        "refreshed tokens are not due again"
    );
    assert_eq!(app.connection("queued").await["state"], "callable");
}

#[tokio::test]
async fn two_tabs_finishing_at_once_make_one_connection() {
    let app = crate::helpers::spawn_app().await;
    let mut callbacks = Vec::new();
    for _ in 0..2 {
        let start = format!(
            "{}&redirect_uri={}",
            app.authorize_url("twice").await,
            urlencode(REDIRECT_URI)
        );
        let (_, to_provider, _, _) = app.get_raw(&start).await;
        let (_, to_callback, _, _) = app.get_raw(&to_provider.expect("provider")).await;
        callbacks.push(to_callback.expect("callback"));
    }
    let (a, b) = tokio::join!(app.get_raw(&callbacks[0]), app.get_raw(&callbacks[1]));
    for (status, location, _, body) in [a, b] {
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(location.as_deref(), Some(REDIRECT_URI));
    }
    assert_eq!(app.connection("twice").await["state"], "callable");
    let r = app
        .api(Method::GET, "/vault/consumers/twice")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["connections"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_grant_revoked_at_salesforce_makes_the_connection_invalid() {
    let app = crate::helpers::spawn_app().await;
    app.connect("gone").await;
    let export_key = app.key_with(&[Scope::Export]).await;
    let r = app
        .client
        .post(format!(
            "{}/vault/connections/crm/salesforce/export",
            app.base_url
        ))
        .bearer_auth(&export_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "gone")
        .send()
        .await
        .expect("send");
    let refresh = json_with(r, StatusCode::OK).await["data"]["refresh_token"]
        .as_str()
        .expect("rt")
        .to_owned();
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
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "gone",
        )
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["data"]["state"], "invalid");
    let conn = app.connection("gone").await;
    assert_eq!(conn["health"], "needs_auth");
    assert!(
        conn["last_refresh_failed_at"]
            .as_i64()
            .is_some_and(|t| t > 0)
    );
    assert!(
        conn["credentials_expire_at"]
            .as_i64()
            .is_some_and(|t| t > 0)
    );
    // Reconnecting heals it.
    app.connect("gone").await;
    let conn = app.connection("gone").await;
    assert_eq!(conn["state"], "callable");
    assert_eq!(conn["health"], "ok");
}
