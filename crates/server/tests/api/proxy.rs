//! The Proxy API against a stand-in instance ([`Echo`]) for header, SSRF, streaming and retry
//! rules, and against the emulator for token injection and the refresh after a `401`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use patchbay_server::service::proxy::ProxyOptions;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Db, assert_error_envelope, json_with};
use crate::proxy_support::{
    ECHO_TOKEN, EXPIRE_ALL_MS, EchoApp, assert_no_refresh_token_presented_twice, clocked, exported,
    proxy, refresh_calls, spawn_echo, spawn_echo_app,
};

async fn echo_app() -> EchoApp {
    spawn_echo_app(ProxyOptions::default()).await
}

fn downstream_error(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("x-apideck-downstream-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn the_token_is_injected_and_caller_headers_are_filtered() {
    let app = echo_app().await;
    let r = app
        .proxy(Method::POST, "/echo/services/data?x=1")
        .header("cookie", "session=caller")
        .header("x-apideck-raw", "true")
        .header("connection", "x-hop")
        .header("x-hop", "1")
        .header("x-custom", "kept")
        .header("sforce-auto-assign", "FALSE")
        .header("content-type", "application/json")
        .body(r#"{"Name":"Acme"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let v = json_with(r, StatusCode::OK).await;
    let h = &v["headers"];
    assert_eq!(h["authorization"], format!("Bearer {ECHO_TOKEN}"), "{v}");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/echo/services/data");
    assert_eq!(v["query"], "x=1");
    assert_eq!(v["body_len"], 15);
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["sforce-auto-assign"], "FALSE");
    assert_eq!(h["content-type"], "application/json");
    let host = app.echo.base.trim_start_matches("http://");
    assert_eq!(h["host"], host);
    let names: Vec<&String> = h.as_object().expect("headers").keys().collect();
    for n in &names {
        assert!(!n.starts_with("x-apideck-"), "{n} leaked: {names:?}");
        assert!(!["cookie", "x-hop"].contains(&n.as_str()), "{n} leaked");
    }
    assert!(
        !v.to_string().contains(&app.api_key),
        "the caller's API key reached the downstream"
    );
}

#[tokio::test]
async fn downstream_authorization_replaces_the_token_and_method_can_be_overridden() {
    let app = echo_app().await;
    let r = app
        .proxy(Method::POST, "/echo")
        .header("x-apideck-downstream-authorization", "Bearer theirs")
        .header("x-apideck-downstream-method", "patch")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["headers"]["authorization"], "Bearer theirs");
    assert_eq!(v["method"], "PATCH");
    // An absolute URL on the instance is accepted as well.
    let r = app
        .proxy(Method::GET, &format!("{}/echo/abs", app.echo.base))
        .send()
        .await
        .expect("send");
    assert_eq!(json_with(r, StatusCode::OK).await["path"], "/echo/abs");
}

#[tokio::test]
async fn own_errors_and_downstream_errors_are_told_apart() {
    let app = echo_app().await;
    let r = app
        .client
        .get(format!("{}/proxy", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .send()
        .await
        .expect("send");
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    let v = json_with(r, StatusCode::BAD_REQUEST).await;
    assert_error_envelope(&v, 400, "RequestValidationError");
    assert!(v["detail"].to_string().contains("x-apideck-downstream-url"));

    let r = app
        .proxy(Method::GET, "/flaky/nf?fail=1&status=404")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(downstream_error(&r).as_deref(), Some("true"));
    assert_eq!(r.text().await.expect("body"), "failure 1");

    // Unknown consumer: Patchbay's own 404, no downstream call.
    let before = app.echo.hits.load(Ordering::SeqCst);
    let r = app
        .client
        .get(format!("{}/proxy", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "nobody")
        .header("x-apideck-downstream-url", "/echo")
        .send()
        .await
        .expect("send");
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    assert_error_envelope(
        &json_with(r, StatusCode::NOT_FOUND).await,
        404,
        "ConnectionNotFoundError",
    );
    // A bad API key and a bad method are Patchbay's answers too.
    let r = app
        .client
        .get(format!("{}/proxy", app.base_url))
        .bearer_auth("pbk_wrong")
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .header("x-apideck-downstream-url", "/echo")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    let r = app
        .proxy(Method::TRACE, "/echo")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = app
        .proxy(Method::GET, "/echo")
        .header("x-apideck-timeout", "soon")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.echo.hits.load(Ordering::SeqCst), before);
}

#[tokio::test]
async fn the_ssrf_corpus_never_leaves_the_instance() {
    let app = echo_app().await;
    let other = spawn_echo().await;
    let port = app.echo.base.rsplit(':').next().expect("port").to_owned();
    let corpus = [
        format!("{}/echo", other.base),
        format!(
            "http://127.0.0.1:{port}@{}/echo",
            other.base.trim_start_matches("http://")
        ),
        format!("http://user:pw@127.0.0.1:{port}/echo"),
        format!("//{}/echo", other.base.trim_start_matches("http://")),
        "/echo/..%2f..%2fadmin".to_owned(),
        "/echo/%2e%2e/admin".to_owned(),
        "/echo/../admin".to_owned(),
        "/echo%0d%0aHost:%20evil".to_owned(),
        format!("http://[::1]:{port}/echo"),
        format!("http://localhost:{port}/echo"),
        format!("https://127.0.0.1:{port}/echo"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://evil。com/echo".to_owned(),
        format!("http://127。0。0。2:{port}/echo"),
        "file:///etc/passwd".to_owned(),
        "echo".to_owned(),
    ];
    for raw in &corpus {
        let r = app.proxy(Method::GET, raw).send().await.expect("send");
        assert_eq!(downstream_error(&r).as_deref(), Some("false"), "{raw}");
        let v = json_with(r, StatusCode::BAD_REQUEST).await;
        assert_error_envelope(&v, 400, "RequestValidationError");
    }
    assert_eq!(
        other.hits.load(Ordering::SeqCst),
        0,
        "nothing reached the other origin"
    );
    assert_eq!(
        app.echo.hits.load(Ordering::SeqCst),
        0,
        "refused before any call"
    );
    // CRLF cannot even be sent as a header value; the client refuses it, so it is covered by
    // the unit corpus (`resolve_target`).
}

#[tokio::test]
async fn redirects_are_followed_only_within_the_instance() {
    let app = echo_app().await;
    let other = spawn_echo().await;
    let r = app
        .proxy(
            Method::GET,
            &format!(
                "/redirect?to={}/echo",
                crate::helpers::urlencode(&other.base)
            ),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FOUND, "handed back, not followed");
    assert_eq!(other.hits.load(Ordering::SeqCst), 0);
    let r = app
        .proxy(Method::GET, "/redirect?to=/echo/landed")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["path"], "/echo/landed");
    assert_eq!(
        v["headers"]["authorization"],
        format!("Bearer {ECHO_TOKEN}")
    );
}

#[tokio::test]
async fn bodies_stream_both_ways_up_to_the_cap() {
    let app = spawn_echo_app(ProxyOptions {
        max_body_bytes: 8 * 1024 * 1024,
        ..ProxyOptions::default()
    })
    .await;
    // Well past Apideck's 2 MB and the Vault API's own body limit, both ways.
    let up = vec![1_u8; 6 * 1024 * 1024];
    let r = app
        .proxy(Method::POST, "/echo")
        .body(up.clone())
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    assert_eq!(v["body_len"], up.len());
    assert_eq!(v["body_sum"], up.len());
    for chunked in ["0", "1"] {
        let r = app
            .proxy(
                Method::GET,
                &format!("/big?bytes={}&chunked={chunked}", 7 * 1024 * 1024),
            )
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.bytes().await.expect("whole body");
        assert_eq!(body.len(), 7 * 1024 * 1024);
    }

    // Past the cap: an announced request body is refused before any call.
    let before = app.echo.hits.load(Ordering::SeqCst);
    let r = app
        .proxy(Method::POST, "/echo")
        .body(vec![1_u8; 9 * 1024 * 1024])
        .send()
        .await
        .expect("send");
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    let v = json_with(r, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_error_envelope(&v, 413, "RequestValidationError");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("8388608")),
        "{v}"
    );
    assert_eq!(app.echo.hits.load(Ordering::SeqCst), before);
    // An announced response body past the cap is refused with a clear error.
    let r = app
        .proxy(Method::GET, &format!("/big?bytes={}", 9 * 1024 * 1024))
        .send()
        .await
        .expect("send");
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    let v = json_with(r, StatusCode::BAD_GATEWAY).await;
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("size cap")),
        "{v}"
    );
    // An unannounced one is cut at the cap: the stream ends in an error, never past it.
    let r = app
        .proxy(
            Method::GET,
            &format!("/big?bytes={}&chunked=1", 9 * 1024 * 1024),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.is_err(), "the stream must not end cleanly");
}

#[tokio::test]
async fn an_unannounced_upload_past_the_cap_is_refused() {
    let app = spawn_echo_app(ProxyOptions {
        max_body_bytes: 2 * 1024 * 1024,
        replay_buffer_bytes: 64 * 1024,
        ..ProxyOptions::default()
    })
    .await;
    // A chunked upload (no Content-Length) of 3 MiB.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..48).map(|_| Ok(vec![2_u8; 64 * 1024])).collect();
    let body = reqwest::Body::wrap(ChunkedUpload(chunks.into_iter()));
    let r = app
        .proxy(Method::POST, "/echo")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    assert_error_envelope(
        &json_with(r, StatusCode::PAYLOAD_TOO_LARGE).await,
        413,
        "RequestValidationError",
    );
}

/// A request body without a length, chunk by chunk.
struct ChunkedUpload(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);

impl http_body::Body for ChunkedUpload {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(
            self.0
                .next()
                .map(|c| c.map(|v| http_body::Frame::data(axum::body::Bytes::from(v)))),
        )
    }
}

#[tokio::test]
async fn gets_are_retried_after_5xx_and_429_but_nothing_else_is() {
    let app = echo_app().await;
    let r = app
        .proxy(Method::GET, "/flaky/a?fail=2&status=503")
        .send()
        .await
        .expect("send");
    assert_eq!(json_with(r, StatusCode::OK).await["attempt"], 3);

    let started = Instant::now();
    let r = app
        .proxy(Method::GET, "/flaky/b?fail=1&status=429&retry_after=1")
        .send()
        .await
        .expect("send");
    assert_eq!(json_with(r, StatusCode::OK).await["attempt"], 2);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After was honoured"
    );

    // Out of retries: the last answer goes back as it is, marked as the downstream's.
    let r = app
        .proxy(Method::GET, "/flaky/c?fail=9&status=500")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(downstream_error(&r).as_deref(), Some("true"));
    assert_eq!(r.text().await.expect("body"), "failure 3");

    // A Retry-After beyond the proxy's patience is passed through at once.
    let started = Instant::now();
    let r = app
        .proxy(Method::GET, "/flaky/d?fail=1&status=429&retry_after=120")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "120");
    assert!(started.elapsed() < Duration::from_secs(5));

    for method in [Method::POST, Method::PATCH, Method::PUT, Method::DELETE] {
        let key = format!("/flaky/{}?fail=1&status=503", method.as_str());
        let r = app.proxy(method.clone(), &key).send().await.expect("send");
        assert_eq!(
            r.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} not retried"
        );
        assert_eq!(r.text().await.expect("body"), "failure 1");
    }
}

#[tokio::test]
async fn the_timeout_header_bounds_the_wait() {
    let app = echo_app().await;
    let started = Instant::now();
    let r = app
        .proxy(Method::GET, "/slow?ms=3000")
        .header("x-apideck-timeout", "300")
        .send()
        .await
        .expect("send");
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    let v = json_with(r, StatusCode::BAD_GATEWAY).await;
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("300 ms")),
        "{v}"
    );
}

/// After the headers, a body may take as long as it keeps moving; a silence longer than
/// `x-apideck-timeout` ends it, so a downstream that hangs mid-body holds nothing forever.
#[tokio::test]
async fn a_body_that_stops_moving_is_ended_after_the_timeout() {
    let app = echo_app().await;
    let r = app
        .proxy(Method::GET, "/stall?ms=200")
        .header("x-apideck-timeout", "2000")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.text().await.expect("a pause under the timeout"),
        "head,tail"
    );

    let started = Instant::now();
    let r = app
        .proxy(Method::GET, "/stall?ms=5000")
        .header("x-apideck-timeout", "300")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK, "the headers came in time");
    let body = r.bytes().await;
    assert!(
        body.is_err(),
        "the stalled body is cut, not completed: {body:?}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(3000),
        "{took:?}"
    );
}

#[tokio::test]
async fn proxy_calls_reach_the_request_log() {
    let app = echo_app().await;
    let r = app
        .proxy(Method::GET, "/echo/logged?secret=never-logged")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    app.vault.flush_request_logs().await;
    let r = app
        .client
        .get(format!("{}/vault/logs", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::OK).await;
    let logs = v["data"].as_array().expect("logs");
    let entry = logs
        .iter()
        .find(|l| l["unified_api"] == "proxy")
        .unwrap_or_else(|| panic!("a proxy entry: {v}"));
    assert_eq!(entry["path"], "/echo/logged");
    assert_eq!(entry["status_code"], 200);
    assert_eq!(entry["http_method"], "GET");
    assert!(!v.to_string().contains("never-logged"));
    assert!(!v.to_string().contains(ECHO_TOKEN));
}

// ---- against the emulator ----

crate::server_backend_tests!(
    two_hundred_proxy_requests_on_an_expired_connection_refresh_once,
    a_revoked_session_is_refreshed_once_and_the_request_replayed,
    every_proxy_call_is_logged_in_batches
);

/// 450 concurrent calls: the batched writer (multi-row inserts of up to 64 per statement)
/// records each one exactly once.
async fn every_proxy_call_is_logged_in_batches(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("c").await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..450 {
        let req = proxy(&app, Method::GET, "c")
            .header("x-apideck-downstream-url", "/services/data/v66.0/limits");
        set.spawn(async move { req.send().await.expect("send").status() });
    }
    while let Some(status) = set.join_next().await {
        assert_eq!(status.expect("join"), StatusCode::OK);
    }
    app.vault.flush_request_logs().await;
    let counts = app
        .vault
        .store()
        .count_requests(
            &app.app_id,
            &patchbay_core::ConsumerId::parse("c").expect("id"),
            0,
            i64::MAX,
        )
        .await
        .expect("count");
    assert_eq!(counts.proxy, 450);

    // The batch statement itself (not its row-by-row fallback) succeeds on this backend.
    let consumer = patchbay_core::ConsumerId::parse("direct").expect("id");
    let logs: Vec<patchbay_store::RequestLog> = (0..450)
        .map(|i| patchbay_store::RequestLog {
            id: uuid::Uuid::now_v7().hyphenated().to_string(),
            application_id: app.app_id.clone(),
            consumer_id: consumer.clone(),
            parent_id: None,
            child_request: false,
            has_children: false,
            api_style: "REST".into(),
            base_url: "example.test".to_owned(),
            http_method: "GET".into(),
            path: format!("/p/{i}"),
            operation_id: "proxy".into(),
            operation_name: "Proxy".into(),
            service_id: "salesforce".into(),
            service_name: "Salesforce".into(),
            unified_api: "proxy".into(),
            status_code: 200,
            success: true,
            error_message: None,
            duration_ms: 1.5,
            execution_ms: 2,
            latency_ms: 0.5,
            sandbox: false,
            source_ip: Some("127.0.0.1".to_owned()),
            timestamp: 1_000 + i,
            request_id: None,
        })
        .collect();
    app.vault
        .store()
        .insert_request_logs(&logs)
        .await
        .expect("one batch");
    let counts = app
        .vault
        .store()
        .count_requests(&app.app_id, &consumer, 0, i64::MAX)
        .await
        .expect("count");
    assert_eq!(counts.proxy, 450);
}

/// Issue 4's done-means, in one process: 200 concurrent proxy requests on an expired
/// connection make exactly one refresh at the emulator, with rotation on (the emulator
/// revokes the grant if a rotated refresh token is presented again), and all succeed.
async fn two_hundred_proxy_requests_on_an_expired_connection_refresh_once(db: Db) {
    let Some(app) = clocked(db, |o| o.emulator.rotate_refresh_tokens = true).await else {
        return;
    };
    app.connect("c").await;
    let (_, refresh_before) = exported(&app, "c").await;
    app.clock.advance(EXPIRE_ALL_MS);
    let url = "/services/data/v66.0/limits";
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let req = proxy(&app, Method::GET, "c").header("x-apideck-downstream-url", url);
        set.spawn(async move {
            let r = req.send().await.expect("send");
            let status = r.status();
            (status, r.text().await.unwrap_or_default())
        });
    }
    while let Some(done) = set.join_next().await {
        let (status, body) = done.expect("join");
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let calls = refresh_calls(&app);
    assert_eq!(calls.len(), 1, "exactly one refresh for 200 proxy calls");
    assert_no_refresh_token_presented_twice(&calls);
    let (_, refresh_after) = exported(&app, "c").await;
    assert_ne!(refresh_before, refresh_after, "the rotated token was kept");
    assert!(app.refresh_token_alive(&refresh_after.expect("rt")).await);
}

/// The emulator answers `401 INVALID_SESSION_ID` for a revoked access token: one shared
/// refresh, then the request (a POST with a body) is sent again and succeeds.
async fn a_revoked_session_is_refreshed_once_and_the_request_replayed(db: Db) {
    let Some(app) = clocked(db, |_| {}).await else {
        return;
    };
    app.connect("c").await;
    let (access, _) = exported(&app, "c").await;
    let r = app
        .client
        .post(format!(
            "{}/__emulator/tokens/revoke",
            app.emulator.base_url()
        ))
        .json(&serde_json::json!({ "token": access }))
        .send()
        .await
        .expect("revoke the access token");
    assert!(r.status().is_success());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let req = proxy(&app, Method::POST, "c")
            .header(
                "x-apideck-downstream-url",
                "/services/data/v66.0/sobjects/Account",
            )
            .header("content-type", "application/json")
            .body(format!(r#"{{"Name":"Replayed {i}"}}"#));
        set.spawn(async move {
            let r = req.send().await.expect("send");
            (r.status(), r.text().await.unwrap_or_default())
        });
    }
    while let Some(done) = set.join_next().await {
        let (status, body) = done.expect("join");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["success"], true, "{v}");
    }
    assert_eq!(
        refresh_calls(&app).len(),
        1,
        "one refresh for 20 rejected calls"
    );
    let (after, _) = exported(&app, "c").await;
    assert_ne!(after, access);
}

/// Tokens are cached in memory on the hot path; a local change to the connection is seen by
/// the very next call, not after the cache's TTL.
#[tokio::test]
async fn a_disabled_connection_is_refused_at_once_despite_the_token_cache() {
    let app = echo_app().await;
    let r = app
        .proxy(Method::GET, "/echo")
        .header("x-apideck-service-id", "salesforce")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK, "warms the cache");
    let r = app
        .client
        .patch(format!("{}/vault/connections/crm/salesforce", app.base_url))
        .bearer_auth(&app.api_key)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("x-apideck-consumer-id", "c")
        .json(&serde_json::json!({ "enabled": false }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let before = app.echo.hits.load(Ordering::SeqCst);
    let r = app
        .proxy(Method::GET, "/echo")
        .header("x-apideck-service-id", "salesforce")
        .send()
        .await
        .expect("send");
    assert_eq!(downstream_error(&r).as_deref(), Some("false"));
    assert_error_envelope(
        &json_with(r, StatusCode::UNAUTHORIZED).await,
        401,
        "ConnectorCredentialsError",
    );
    assert_eq!(app.echo.hits.load(Ordering::SeqCst), before);
}

/// API keys are cached on the hot path too: a revoked key is refused by the very next call,
/// and a wrong secret for a cached key id is still refused.
#[tokio::test]
async fn a_revoked_key_is_refused_at_once_despite_the_key_cache() {
    let app = echo_app().await;
    let key = app
        .vault
        .create_api_key(&app.app_id, "hot", patchbay_server::service::Scope::DEFAULT)
        .await
        .expect("key");
    let secret = key.key.expose_secret().to_owned();
    let call = |bearer: String| {
        app.client
            .get(format!("{}/proxy", app.base_url))
            .bearer_auth(bearer)
            .header("x-apideck-app-id", app.app_id.as_str())
            .header("x-apideck-consumer-id", "c")
            .header("x-apideck-downstream-url", "/echo")
            .send()
    };
    assert_eq!(
        call(secret.clone()).await.expect("send").status(),
        StatusCode::OK
    );
    let mut wrong = secret.clone();
    let last = wrong.pop().expect("char");
    wrong.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(
        call(wrong).await.expect("send").status(),
        StatusCode::UNAUTHORIZED
    );
    app.vault
        .revoke_api_key(&app.app_id, &key.row.id)
        .await
        .expect("revoke");
    assert_eq!(
        call(secret).await.expect("send").status(),
        StatusCode::UNAUTHORIZED
    );
}
