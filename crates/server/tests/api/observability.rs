//! Issue 13's observability, each proven on the real thing: every metric is read from
//! `/metrics` after driving what it measures, and one request id links the response header,
//! the error envelope's `ref`, the `/vault/logs` entry and the service layer's log lines.

use std::sync::Arc;
use std::time::Duration;

use patchbay_server::service::{Vault, VaultOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, Options, TestApp, captured_logs, json_with, spawn_app, spawn_with};
use crate::proxy_support::{EXPIRE_ALL_MS, clocked, exported, proxy};
use crate::webhooks_support::Receiver;

crate::server_backend_tests!(
    an_error_ref_is_the_request_id_and_its_log_entry_carries_it,
    downstream_calls_are_counted_by_provider_and_outcome,
    refreshes_are_counted_by_outcome,
    a_second_node_waits_for_the_lease_and_uses_its_result,
    webhook_deliveries_and_the_backlog_are_counted,
);

/// `/metrics` as text.
async fn scrape(app: &TestApp) -> String {
    let r = app
        .client
        .get(format!("{}/metrics", app.base_url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.expect("text")
}

/// The value of one series (`name{labels}` exactly as rendered); `None` when absent.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

fn must(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
}

async fn add_fault(app: &TestApp, rule: Value) {
    let r = app
        .client
        .post(format!("{}/__emulator/faults", app.emulator.base_url()))
        .json(&rule)
        .send()
        .await
        .expect("add fault");
    assert!(r.status().is_success(), "{}", r.status());
}

// ---- request ids ----

async fn an_error_ref_is_the_request_id_and_its_log_entry_carries_it(db: Db) {
    let Some(app) = spawn_with(Options {
        db,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let id = format!("case-{}", uuid::Uuid::new_v4().simple());
    let r = app
        .consumer_api(
            Method::GET,
            "/vault/connections/crm/nosuchservice",
            "nobody",
        )
        .header("x-request-id", &id)
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["x-request-id"].to_str().ok(), Some(id.as_str()));
    assert_eq!(r.headers()["request-id"].to_str().ok(), Some(id.as_str()));
    let body = json_with(r, StatusCode::NOT_FOUND).await;
    assert_eq!(body["ref"], id.as_str(), "{body}");

    // Without a client id: a generated one, the same in the header and the envelope.
    let r = app
        .consumer_api(
            Method::GET,
            "/vault/connections/crm/nosuchservice",
            "nobody",
        )
        .send()
        .await
        .expect("send");
    let generated = r.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
    let body = json_with(r, StatusCode::NOT_FOUND).await;
    assert_eq!(body["ref"], generated.as_str(), "{body}");

    app.vault.flush_request_logs().await;
    let r = app
        .consumer_api(Method::GET, "/vault/logs?limit=50", "nobody")
        .send()
        .await
        .expect("logs");
    let logs = json_with(r, StatusCode::OK).await;
    let entries = logs["data"].as_array().expect("data");
    let mine = entries
        .iter()
        .find(|e| e["id"] == id.as_str())
        .unwrap_or_else(|| panic!("no log entry with id {id}: {logs}"));
    assert_eq!(mine["status_code"], 404, "{mine}");
    assert_eq!(mine["path"], "/vault/connections/crm/nosuchservice");
    assert!(
        entries.iter().any(|e| e["id"] == generated.as_str()),
        "{logs}"
    );
}

#[tokio::test]
async fn an_unsafe_incoming_request_id_is_replaced() {
    let app = spawn_app().await;
    for bad in [
        "two words".to_owned(),
        "x".repeat(129),
        "quote\"inside".to_owned(),
    ] {
        let r = app
            .api(Method::GET, "/vault/connections")
            .header("x-request-id", &bad)
            .send()
            .await
            .expect("send");
        let answered = r.headers()["x-request-id"].to_str().expect("ascii");
        assert_ne!(answered, bad);
        assert!(uuid::Uuid::parse_str(answered).is_ok(), "{answered}");
    }
    // Apideck's header name is read too when `x-request-id` is absent.
    let r = app
        .api(Method::GET, "/vault/connections")
        .header("request-id", "from-apideck-client.1")
        .send()
        .await
        .expect("send");
    assert_eq!(r.headers()["x-request-id"], "from-apideck-client.1");
    // Every route gets one, the ones outside the API too.
    let r = app
        .client
        .get(format!("{}/health", app.base_url))
        .send()
        .await
        .expect("send");
    assert!(r.headers().contains_key("x-request-id"));
}

/// The service layer's spans nest under the request's: a log line the refresh coordinator
/// writes deep inside `validate_connection` names the request id, and nothing secret appears
/// anywhere in the captured output.
#[tokio::test]
async fn service_log_lines_carry_the_request_id_and_no_secret() {
    let app = spawn_app().await;
    let walk = app.connect("traced").await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    let id = format!("trace-{}", uuid::Uuid::new_v4().simple());
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "traced",
        )
        .header("x-request-id", &id)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let (access, refresh) = exported(&app, "traced").await;
    let logs = captured_logs();
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(&id)).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("validate_connection") && l.contains("token refreshed")),
        "the coordinator's line nests under the request and the service span: {lines:#?}"
    );
    let mut secrets = vec![
        ("access token", access),
        ("client secret", app.client_secret.clone()),
        ("api key", app.api_key.clone()),
    ];
    if let Some(r) = refresh {
        secrets.push(("refresh token", r));
    }
    for (what, secret) in &secrets {
        assert!(!secret.is_empty());
        assert!(!logs.contains(secret.as_str()), "the {what} is in the logs");
    }
}

// ---- metrics ----

async fn downstream_calls_are_counted_by_provider_and_outcome(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("c").await;
    let before = scrape(&app).await;
    let proxy_ok = "patchbay_downstream_requests_total{kind=\"proxy\",provider=\"salesforce\",outcome=\"2xx\"}";
    let proxy_5xx = "patchbay_downstream_requests_total{kind=\"proxy\",provider=\"salesforce\",outcome=\"5xx\"}";
    let crm_ok =
        "patchbay_downstream_requests_total{kind=\"crm\",provider=\"salesforce\",outcome=\"2xx\"}";
    assert_eq!(must(&before, proxy_ok), 0.0);
    assert_eq!(must(&before, crm_ok), 0.0);
    // The connect flow made one connection; the gauge reads the database.
    assert_eq!(
        must(
            &before,
            "patchbay_vault_connections{health=\"ok\",enabled=\"true\"}"
        ),
        1.0
    );

    let url = "/services/data/v66.0/limits";
    let proxied_id = format!("proxied-{}", uuid::Uuid::new_v4().simple());
    for _ in 0..3 {
        let r = proxy(&app, Method::GET, "c")
            .header("x-apideck-downstream-url", url)
            .header("x-request-id", &proxied_id)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
    }
    // One 503 the proxy's GET retry gets past: two calls, one of each class.
    add_fault(
        &app,
        json!({"target": "rest", "kind": "status", "status": 503, "count": 1}),
    )
    .await;
    let r = proxy(&app, Method::GET, "c")
        .header("x-apideck-downstream-url", url)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .consumer_api(Method::GET, "/crm/companies?limit=1", "c")
        .header("x-apideck-service-id", "salesforce")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);

    let after = scrape(&app).await;
    assert_eq!(must(&after, proxy_ok), 4.0, "{after}");
    assert_eq!(must(&after, proxy_5xx), 1.0, "{after}");
    let crm_calls = must(&after, crm_ok);
    assert!(crm_calls >= 1.0, "{after}");
    assert_eq!(
        must(
            &after,
            "patchbay_downstream_request_duration_seconds_count{kind=\"proxy\",provider=\"salesforce\"}"
        ),
        5.0
    );
    assert_eq!(
        must(
            &after,
            "patchbay_downstream_request_duration_seconds_count{kind=\"crm\",provider=\"salesforce\"}"
        ),
        crm_calls
    );
    assert!(
        must(
            &after,
            "patchbay_downstream_request_duration_seconds_sum{kind=\"proxy\",provider=\"salesforce\"}"
        ) > 0.0
    );
    assert_eq!(
        must(
            &after,
            "patchbay_downstream_requests_total{kind=\"proxy\",provider=\"hubspot\",outcome=\"2xx\"}"
        ),
        0.0
    );

    // The request log: every call above was written, none shed, nothing left queued.
    app.vault.flush_request_logs().await;
    let logged = scrape(&app).await;
    assert!(
        must(
            &logged,
            "patchbay_request_log_entries_total{outcome=\"written\"}"
        ) >= 5.0,
        "{logged}"
    );
    assert_eq!(
        must(
            &logged,
            "patchbay_request_log_entries_total{outcome=\"shed\"}"
        ),
        0.0
    );
    assert_eq!(must(&logged, "patchbay_request_log_queue_depth"), 0.0);
    assert!(value(&logged, "patchbay_request_log_waits_total").is_some());
    // Proxy entries carry their request's id too (a client may reuse one: three entries).
    let r = app
        .consumer_api(Method::GET, "/vault/logs?limit=50", "c")
        .send()
        .await
        .expect("logs");
    let logs = json_with(r, StatusCode::OK).await;
    let proxied = logs["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|e| e["id"] == proxied_id.as_str() && e["unified_api"] == "proxy")
        .count();
    assert_eq!(proxied, 3, "{logs}");
}

async fn refreshes_are_counted_by_outcome(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("c").await;
    let outcome = |text: &str, o: &str| {
        must(
            text,
            &format!("patchbay_token_refreshes_total{{outcome=\"{o}\"}}"),
        )
    };
    let start = scrape(&app).await;
    for o in ["success", "invalid_grant", "transient_failure", "coalesced"] {
        assert_eq!(outcome(&start, o), 0.0, "{o}");
    }

    // Ten callers on an expired token, the token call held 300 ms: one refresh, the others
    // queue behind it and use its result.
    add_fault(
        &app,
        json!({"target": "token", "kind": "latency", "ms": 300, "count": 1}),
    )
    .await;
    app.clock.advance(EXPIRE_ALL_MS);
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let req = proxy(&app, Method::GET, "c")
            .header("x-apideck-downstream-url", "/services/data/v66.0/limits");
        set.spawn(async move { req.send().await.expect("send").status() });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.expect("join"), StatusCode::OK);
    }
    let after = scrape(&app).await;
    assert_eq!(outcome(&after, "success"), 1.0, "{after}");
    assert!(outcome(&after, "coalesced") >= 1.0, "{after}");

    // The token endpoint fails: a transient failure.
    add_fault(
        &app,
        json!({"target": "token", "kind": "status", "status": 503, "count": 5}),
    )
    .await;
    let r = app
        .consumer_api(
            Method::POST,
            "/vault/connections/crm/salesforce/validate",
            "c",
        )
        .send()
        .await
        .expect("send");
    assert!(!r.status().is_success());
    let after = scrape(&app).await;
    assert_eq!(outcome(&after, "transient_failure"), 1.0, "{after}");
    assert_eq!(outcome(&after, "invalid_grant"), 0.0, "{after}");

    // The grant is revoked: invalid_grant.
    let _ = app
        .client
        .delete(format!("{}/__emulator/faults", app.emulator.base_url()))
        .send()
        .await;
    let (_, refresh) = exported(&app, "c").await;
    let r = app
        .client
        .post(format!(
            "{}/__emulator/tokens/revoke",
            app.emulator.base_url()
        ))
        .json(&json!({ "token": refresh }))
        .send()
        .await
        .expect("revoke");
    assert!(r.status().is_success());
    app.clock.advance(EXPIRE_ALL_MS);
    let r = proxy(&app, Method::GET, "c")
        .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let after = scrape(&app).await;
    assert_eq!(outcome(&after, "invalid_grant"), 1.0, "{after}");
    assert_eq!(outcome(&after, "success"), 1.0, "{after}");
}

/// Two nodes on one database: the other node holds the lease during a slow token call, so
/// this one waits for it (a lease wait) and then uses the other's tokens (coalesced).
async fn a_second_node_waits_for_the_lease_and_uses_its_result(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("c").await;
    let keyring = patchbay_crypto::Keyring::from_env_value(&app.keyring_json).expect("keyring");
    let store = patchbay_store::Store::connect(app.db.url())
        .await
        .expect("store");
    let other = Vault::new(
        store,
        Arc::new(keyring),
        Arc::clone(&app.clock) as Arc<dyn patchbay_core::Clock>,
        VaultOptions::new(&app.base_url),
    )
    .expect("second node");
    add_fault(
        &app,
        json!({"target": "token", "kind": "latency", "ms": 800, "count": 1}),
    )
    .await;
    app.clock.advance(EXPIRE_ALL_MS);
    let consumer = patchbay_core::ConsumerId::parse("c").expect("id");
    let crm = patchbay_core::UnifiedApi::crm();
    let first = {
        let (other, app_id, consumer, crm) = (
            other.clone(),
            app.app_id.clone(),
            consumer.clone(),
            crm.clone(),
        );
        tokio::spawn(async move {
            other
                .connection_token(&app_id, &consumer, &crm, None)
                .await
                .map(|t| t.access_token.expose_secret().to_owned())
        })
    };
    // Wait (bounded) until the other node holds the lease: its token call then takes 800 ms.
    let id = crate::proxy_support::connection_id(&app, "c").await;
    let mut leased = false;
    for _ in 0..500 {
        let row = app.vault.store().get_connection(&id).await.expect("read");
        if row.is_some_and(|r| r.lease_owner.is_some()) {
            leased = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(leased, "the other node never took the lease");
    let mine = app
        .vault
        .connection_token(&app.app_id, &consumer, &crm, None)
        .await
        .expect("token");
    let theirs = first.await.expect("join").expect("token");
    assert_eq!(
        mine.access_token.expose_secret(),
        theirs,
        "one refresh, shared"
    );
    let text = scrape(&app).await;
    assert_eq!(
        must(&text, "patchbay_refresh_lease_waits_total"),
        1.0,
        "{text}"
    );
    assert_eq!(
        must(&text, "patchbay_refresh_lease_wait_seconds_count"),
        1.0
    );
    let waited = must(&text, "patchbay_refresh_lease_wait_seconds_sum");
    assert!(waited > 0.1 && waited < 30.0, "{waited}");
    assert_eq!(
        must(
            &text,
            "patchbay_token_refreshes_total{outcome=\"coalesced\"}"
        ),
        1.0
    );
    assert_eq!(
        must(&text, "patchbay_token_refreshes_total{outcome=\"success\"}"),
        0.0,
        "this node never called the token endpoint"
    );
    assert_eq!(
        other
            .refresher()
            .stats()
            .outcome(patchbay_refresh::RefreshOutcome::Success),
        1
    );
}

async fn webhook_deliveries_and_the_backlog_are_counted(db: Db) {
    let mut options = Options {
        db,
        ..Options::default()
    };
    // A failed try is retried only after a minute: it stays in the backlog for the test.
    options.webhooks.retry = patchbay_webhooks::RetrySchedule::new(vec![60_000]).expect("schedule");
    let Some(app) = spawn_with(options).await else {
        return;
    };
    let ok = Receiver::start().await;
    let failing = Receiver::start().await;
    for url in [&ok.url, &failing.url] {
        let r = app
            .api(Method::POST, "/webhook/webhooks")
            .json(&json!({
                "unified_api": "vault",
                "status": "enabled",
                "delivery_url": url,
                "events": ["vault.connection.created"],
            }))
            .send()
            .await
            .expect("subscribe");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Validation passed; from now on the second receiver fails.
    failing.fail_next(100);
    app.connect("hooked").await;
    let created = |d: &[crate::webhooks_support::Delivery]| {
        d.iter().any(|d| d.event_type == "vault.connection.created")
    };
    ok.wait_for(20, created).await;
    failing.wait_for(20, created).await;
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(&app).await;
        if value(
            &text,
            "patchbay_webhook_deliveries_total{outcome=\"retrying\"}",
        ) == Some(1.0)
            && value(
                &text,
                "patchbay_webhook_deliveries_total{outcome=\"delivered\"}",
            ) == Some(1.0)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        must(
            &text,
            "patchbay_webhook_deliveries_total{outcome=\"delivered\"}"
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        must(
            &text,
            "patchbay_webhook_deliveries_total{outcome=\"retrying\"}"
        ),
        1.0
    );
    assert_eq!(
        must(
            &text,
            "patchbay_webhook_deliveries_total{outcome=\"failed\"}"
        ),
        0.0
    );
    assert_eq!(
        must(&text, "patchbay_webhook_delivery_duration_seconds_count"),
        2.0
    );
    // The backlog gauge is cached for 5 s; a fresh node's first scrape read it after both
    // tries only if nothing scraped earlier, so wait out the cache once.
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    let text = scrape(&app).await;
    assert_eq!(
        must(&text, "patchbay_webhook_outbox_pending"),
        1.0,
        "{text}"
    );
}
