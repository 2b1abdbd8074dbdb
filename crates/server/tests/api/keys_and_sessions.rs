//! Session lifetimes, callback-state, consumer stats, key rotation with re-encryption, and a
//! wrong master key refusing to start.

use patchbay_core::ConsumerId;
use patchbay_crypto::Keyring;
use patchbay_server::ServerConfig;
use patchbay_server::app::{StartError, open_vault};
use patchbay_server::service::audit::Actor;
use patchbay_server::service::connections::ConnectionKey;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use patchbay_webhooks::signature::{DEFAULT_TOLERANCE_SECS, verify_apideck, verify_patchbay};

use crate::helpers::{REDIRECT_URI, TestApp, assert_error_envelope, json_with, spawn_app};
use crate::webhooks_support::Receiver;

fn claims(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("b64");
    serde_json::from_slice(&bytes).expect("json")
}

async fn session_with(app: &TestApp, body: Value) -> reqwest::Response {
    app.consumer_api(Method::POST, "/vault/sessions", "sess")
        .json(&body)
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn session_lifetime_default_custom_and_maximum() {
    let app = spawn_app().await;
    let v = json_with(
        session_with(&app, serde_json::json!({})).await,
        StatusCode::OK,
    )
    .await;
    let token = v["data"]["session_token"].as_str().expect("token");
    assert!(
        v["data"]["session_uri"]
            .as_str()
            .is_some_and(|u| u.ends_with(token))
    );
    let c = claims(token);
    assert_eq!(
        c["exp"].as_i64().zip(c["iat"].as_i64()).map(|(e, i)| e - i),
        Some(3600)
    );
    assert_eq!(c["application_id"], app.app_id.as_str());
    assert_eq!(c["consumer_id"], "sess");

    let v = json_with(session_with(&app, serde_json::json!({ "settings": { "session_length": "1w" }, "theme": { "vault_name": "Acme" } })).await, StatusCode::OK).await;
    let c = claims(v["data"]["session_token"].as_str().expect("token"));
    assert_eq!(
        c["exp"].as_i64().zip(c["iat"].as_i64()).map(|(e, i)| e - i),
        Some(604_800)
    );
    assert_eq!(c["theme"]["vault_name"], "Acme");

    for bad in ["8d", "2w", "soon"] {
        let r = session_with(
            &app,
            serde_json::json!({ "settings": { "session_length": bad } }),
        )
        .await;
        assert_error_envelope(
            &json_with(r, StatusCode::BAD_REQUEST).await,
            400,
            "RequestValidationError",
        );
    }
    let r = session_with(&app, serde_json::json!({ "unknown": 1 })).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The session upserted the consumer with its metadata.
    let r = session_with(
        &app,
        serde_json::json!({ "consumer_metadata": { "email": "s@example.com" } }),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .api(Method::GET, "/vault/consumers/sess")
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_with(r, StatusCode::OK).await["data"]["metadata"]["email"],
        "s@example.com"
    );
}

#[tokio::test]
async fn callback_state_is_a_usable_single_use_state() {
    let app = spawn_app().await;
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/callback-state",
            "cs",
        )
        .json(&serde_json::json!({ "redirect_uri": REDIRECT_URI }))
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    let state = v["data"]["state"].as_str().expect("state").to_owned();
    // A provider error for that state comes back to the application, escaped.
    let url = format!(
        "{}/vault/callback?error=access_denied&error_description=%3Cscript%3E&state={state}",
        app.base_url
    );
    let (status, location, _, _) = app.get_raw(&url).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.expect("location");
    assert!(
        location.starts_with(REDIRECT_URI)
            && location.contains("error=access_denied")
            && !location.contains('<')
    );
    // Used once, gone.
    let (status, location, _, _) = app.get_raw(&url).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(location.is_none());
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/callback-state",
            "cs",
        )
        .json(&serde_json::json!({ "redirect_uri": "https://evil.example.com" }))
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::BAD_REQUEST).await,
        400,
        "OAuthRedirectUriError",
    );
}

#[tokio::test]
async fn consumer_stats_count_vault_calls() {
    let app = spawn_app().await;
    app.connect("counted").await;
    let r = app
        .api(Method::GET, "/vault/consumers/counted/stats?start_datetime=2020-01-01T00:00:00Z&end_datetime=2100-01-01T00:00:00Z")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert!(
        v["data"]["request_counts"]["vault"]
            .as_i64()
            .is_some_and(|n| n >= 2),
        "{v}"
    );
    assert_eq!(
        v["data"]["aggregated_request_count"],
        v["data"]["request_counts"]["vault"]
    );
    let r = app
        .api(Method::GET, "/vault/consumers/counted/stats")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

fn config_with(app: &TestApp, keyring_json: &str) -> ServerConfig {
    let mut config = ServerConfig::new(app.data_dir.path());
    config.database_url = Some(app.db.url().to_owned());
    config.master_key = Some(keyring_json.to_owned());
    // The webhook receiver below listens on 127.0.0.1.
    config.webhooks.allowed_hosts = vec!["127.0.0.1".to_owned()];
    config
}

#[tokio::test]
async fn rotate_reencrypt_and_retire_the_old_key() {
    let app = spawn_app().await;
    app.connect("rotating").await;
    let key = ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse("rotating").expect("id"),
        unified_api: patchbay_core::UnifiedApi::crm(),
        service_id: patchbay_core::ServiceId::salesforce(),
    };
    let before = app
        .vault
        .export_credentials(&key, &Actor::Admin)
        .await
        .expect("export");
    // A webhook subscription holds two sealed values: the API key copy and its signing secret.
    let rx = Receiver::start().await;
    let r = app
        .api(Method::POST, "/webhook/webhooks")
        .json(
            &serde_json::json!({"unified_api": "vault", "status": "enabled",
            "delivery_url": rx.url, "events": ["*"]}),
        )
        .send()
        .await
        .expect("send");
    let created = json_with(r, StatusCode::CREATED).await;
    let hook_id = created["data"]["id"].as_str().expect("id").to_owned();
    let signing_secret = created["data"]["signing_secret"]
        .as_str()
        .expect("secret")
        .to_owned();

    let mut ring = Keyring::from_json(&app.keyring_json).expect("ring");
    let old = ring.active_key_id().clone();
    let new = ring.rotate().expect("rotate");
    let rotated = open_vault(&config_with(&app, &ring.to_json()), &app.base_url)
        .await
        .expect("open with rotated ring");
    let report = rotated.reencrypt_all().await.expect("reencrypt");
    assert!(report.resealed >= 5, "{report:?}");
    let status = rotated.key_status().await.expect("status");
    assert_eq!(
        status.values_per_key.keys().collect::<Vec<_>>(),
        vec![&new.to_string()]
    );

    ring.remove_key(&old).expect("remove old");
    let retired = open_vault(&config_with(&app, &ring.to_json()), &app.base_url)
        .await
        .expect("open without the old key");
    let after = retired
        .export_credentials(&key, &Actor::Admin)
        .await
        .expect("export after rotation");
    assert_eq!(after.access_token, before.access_token);
    assert_eq!(after.refresh_token, before.refresh_token);
    // The subscription's secrets were re-sealed too: with only the new key, a test event is
    // still signed with the same API key and signing secret, and both signatures verify.
    let outcome = retired
        .send_test_event(&app.app_id, &hook_id)
        .await
        .expect("test event after rotation");
    assert!(outcome.success, "{outcome:?}");
    let got = rx.deliveries();
    let last = got.last().expect("delivered");
    assert_eq!(got.len(), 2, "validation on create, then the test event");
    assert!(verify_apideck(
        &app.api_key,
        &last.raw,
        &last.apideck_signature
    ));
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs(),
    )
    .expect("secs");
    verify_patchbay(
        &signing_secret,
        &last.patchbay_signature,
        &last.raw,
        now,
        DEFAULT_TOLERANCE_SECS,
    )
    .expect("patchbay signature after rotation");

    // A keyring that never wrote this database is refused at start.
    let stranger = Keyring::generate().expect("ring");
    let err = open_vault(&config_with(&app, &stranger.to_json()), &app.base_url)
        .await
        .expect_err("wrong key");
    assert!(matches!(err, StartError::WrongKey(_)), "{err}");
}

#[tokio::test]
async fn session_allow_actions_are_enforced_and_method_override_works() {
    let app = spawn_app().await;
    app.connect("limited").await;
    let r = app
        .consumer_api(Method::POST, "/vault/sessions", "limited")
        .json(&serde_json::json!({ "settings": { "allow_actions": ["reauthorize"] } }))
        .send()
        .await
        .expect("send");
    let token = json_with(r, StatusCode::OK).await["data"]["session_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let as_session = |method: Method, path: &str| {
        app.client
            .request(method, format!("{}{path}", app.base_url))
            .bearer_auth(&token)
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", "limited")
    };
    let r = as_session(Method::DELETE, "/vault/connections/crm/salesforce")
        .send()
        .await
        .expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::FORBIDDEN).await,
        403,
        "ForbiddenError",
    );
    let r = as_session(Method::PATCH, "/vault/connections/crm/salesforce")
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.connection("limited").await["state"], "callable");

    // `POST ?_method=DELETE` is a DELETE for clients that cannot send one.
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce?_method=DELETE",
            "limited",
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.connection("limited").await["state"], "available");
}

#[tokio::test]
async fn session_unified_apis_and_show_logs_are_enforced() {
    let app = spawn_app().await;
    let mint = |settings: Value| {
        app.consumer_api(Method::POST, "/vault/sessions", "ui")
            .json(&serde_json::json!({ "settings": settings }))
            .send()
    };
    let token = |v: Value| {
        v["data"]["session_token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let hris_only = token(
        json_with(
            mint(serde_json::json!({ "unified_apis": ["hris"], "show_logs": false }))
                .await
                .expect("send"),
            StatusCode::OK,
        )
        .await,
    );
    let crm = token(
        json_with(
            mint(serde_json::json!({ "unified_apis": ["crm"] }))
                .await
                .expect("send"),
            StatusCode::OK,
        )
        .await,
    );
    let get = |token: &str, path: &str| {
        app.client
            .get(format!("{}{path}", app.base_url))
            .bearer_auth(token)
            .header("x-apideck-app-id", app.app_id.as_str())
            .send()
    };
    let v = json_with(
        get(&hris_only, "/vault/connections").await.expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["data"], serde_json::json!([]));
    let v = json_with(
        get(&crm, "/vault/connections").await.expect("send"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(v["data"][0]["id"], "crm+salesforce");
    let r = get(&hris_only, "/vault/logs").await.expect("send");
    assert_error_envelope(
        &json_with(r, StatusCode::FORBIDDEN).await,
        403,
        "ForbiddenError",
    );
    assert_eq!(
        get(&crm, "/vault/logs").await.expect("send").status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn embedded_default_creates_a_private_key_file_and_other_databases_need_a_key() {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = ServerConfig::new(dir.path());
    config.refresh_interval = None;
    let first = patchbay_server::Application::build(config.clone())
        .await
        .expect("first start");
    let key_file = dir.path().join("master.key");
    assert!(key_file.exists() && dir.path().join("patchbay.db").exists());
    assert!(patchbay_crypto::key_file_is_private(&key_file).expect("stat"));
    let created = first
        .vault()
        .create_application("Embedded", &[])
        .await
        .expect("app");
    drop(first);
    // A restart reuses the key and the database.
    let second = patchbay_server::Application::build(config)
        .await
        .expect("second start");
    let apps = second.vault().list_applications().await.expect("apps");
    assert!(apps.iter().any(|a| a.id == created.application.id));
    drop(second);

    // An explicit database without a configured key is refused: no silent key creation.
    let db = patchbay_store::testing::TestDatabase::sqlite();
    let explicit_dir = tempfile::tempdir().expect("dir");
    let mut explicit = ServerConfig::new(explicit_dir.path());
    explicit.database_url = Some(db.url().to_owned());
    let err = patchbay_server::Application::build(explicit)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, StartError::NoMasterKey), "{err}");
}

/// A key revoked on another node stops working here within the key cache's TTL, even while it
/// is in continuous use (a cache hit must not extend the cached row's life).
#[tokio::test]
async fn a_key_revoked_on_another_node_is_refused_within_the_cache_ttl() {
    let app = spawn_app().await;
    let created = app
        .vault
        .create_api_key(
            &app.app_id,
            "busy",
            patchbay_server::service::api_keys::Scope::DEFAULT,
        )
        .await
        .expect("key");
    let key = created.key.expose_secret().to_owned();
    let call = || {
        app.client
            .get(format!("{}/vault/consumers", app.base_url))
            .bearer_auth(&key)
            .header("x-apideck-app-id", app.app_id.as_str())
            .send()
    };
    assert_eq!(call().await.expect("send").status(), StatusCode::OK);

    let other_node = open_vault(&config_with(&app, &app.keyring_json), &app.base_url)
        .await
        .expect("second node");
    other_node
        .revoke_api_key(&app.app_id, &created.row.id)
        .await
        .expect("revoke on the other node");
    let status = first_refusal(call, patchbay_server::service::api_keys::KEY_CACHE_TTL).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A connection disabled on another node stops being served here within the token cache's TTL,
/// even while calls keep hitting the cached token. (Disabling revokes nothing at Salesforce,
/// so only the cache's expiry can make this node notice.)
#[tokio::test]
async fn a_connection_disabled_on_another_node_is_not_served_past_the_cache_ttl() {
    let app = spawn_app().await;
    app.connect("busy-consumer").await;
    let call = || {
        app.consumer_api(Method::GET, "/proxy", "busy-consumer")
            .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
            .send()
    };
    assert_eq!(call().await.expect("send").status(), StatusCode::OK);

    let other_node = open_vault(&config_with(&app, &app.keyring_json), &app.base_url)
        .await
        .expect("second node");
    let key = ConnectionKey {
        application_id: app.app_id.clone(),
        consumer_id: ConsumerId::parse("busy-consumer").expect("id"),
        unified_api: patchbay_core::UnifiedApi::crm(),
        service_id: patchbay_core::ServiceId::salesforce(),
    };
    other_node
        .update_connection(
            &key,
            patchbay_server::service::connections::ConnectionInput {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("disable on the other node");
    let status = first_refusal(call, patchbay_server::service::tokens::CACHE_TTL).await;
    assert!(status.is_client_error(), "{status}");
}

/// Calls `call` every 20 ms while it answers 200 and returns the first other status; fails
/// if 200s go on for longer than `ttl` plus two seconds of slack.
async fn first_refusal<F, Fut>(call: F, ttl: std::time::Duration) -> StatusCode
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let changed_at = std::time::Instant::now();
    let limit = ttl + std::time::Duration::from_secs(2);
    loop {
        let status = call().await.expect("send").status();
        if status != StatusCode::OK {
            return status;
        }
        assert!(
            changed_at.elapsed() < limit,
            "still served {:?} after the other node's change (cache TTL {ttl:?})",
            changed_at.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A graceful shutdown writes the request-log entries still queued (the writer lingers before
/// each batch), so the last calls before a restart are not missing from `/vault/logs`.
#[tokio::test]
async fn a_graceful_shutdown_writes_the_queued_request_logs() {
    let app = spawn_app().await;
    let node = patchbay_server::Application::build(config_with(&app, &app.keyring_json))
        .await
        .expect("second node");
    let base = node.base_url().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(node.run_until(async {
        let _ = stopped.await;
    }));
    // Fewer calls than fill a batch, and the stop right after them: without the flush on
    // shutdown the entries would still be waiting in the writer's queue.
    for _ in 0..2 {
        let r = app
            .client
            .get(format!("{base}/vault/connections"))
            .bearer_auth(&app.api_key)
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", "leaving")
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
    }
    stop.send(()).expect("stop");
    serving.await.expect("join").expect("served");
    // Straight from the store: the serving node's own read path would flush its queue.
    let logged = app
        .vault
        .store()
        .list_request_logs(
            &app.app_id,
            &ConsumerId::parse("leaving").expect("id"),
            &patchbay_store::LogFilter::default(),
            None,
            50,
        )
        .await
        .expect("logs");
    assert_eq!(
        logged.items.len(),
        2,
        "every call before the shutdown is logged"
    );
}
