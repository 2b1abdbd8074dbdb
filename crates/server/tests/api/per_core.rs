//! The thread-per-core server (`ServerConfig::listener.threads`): several accept loops, each on
//! a serving thread of its own, one connection cap and one set of counters, background work
//! on the caller's runtime, a graceful shutdown that drains every loop, and the service
//! layer's state (the refresh single-flight) shared across the threads.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use patchbay_server::app::RouterExtension;
use patchbay_server::{Application, ServerConfig};
use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::helpers::Db;
use crate::proxy_support::{EXPIRE_ALL_MS, clocked, refresh_calls};

/// Routes that tell which thread served them: a handler on the thread-per-core server runs on
/// the thread that accepted its connection.
fn probe_routes() -> RouterExtension {
    Arc::new(|_| {
        axum::Router::new()
            .route(
                "/test/thread",
                axum::routing::get(|| async {
                    std::thread::current().name().unwrap_or("").to_owned()
                }),
            )
            .route(
                "/test/slow",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    "done"
                }),
            )
    })
}

/// One client per call with no pooling, so every call is a connection of its own and the
/// kernel picks a listening socket (thread) for each.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

#[tokio::test]
async fn every_serving_thread_accepts_and_shutdown_drains_them_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(
        patchbay_crypto::Keyring::generate()
            .expect("keyring")
            .to_json()
            .to_string(),
    );
    config.refresh_interval = None;
    config.listener.threads = 3;
    config.extensions = vec![probe_routes()];
    let app = Application::build(config).await.expect("build");
    let base = app.base_url().to_owned();
    let vault = app.vault().clone();
    let stats = app.connection_stats();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    // 60 connections over 3 listening sockets: all on one socket has odds of 3·3⁻⁶⁰.
    let mut calls = JoinSet::new();
    for _ in 0..60 {
        let url = format!("{base}/test/thread");
        calls.spawn(async move {
            let r = fresh_client().get(url).send().await.expect("send");
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.expect("body")
        });
    }
    let mut served_by = BTreeMap::<String, usize>::new();
    while let Some(name) = calls.join_next().await {
        *served_by.entry(name.expect("join")).or_default() += 1;
    }
    assert!(
        served_by.keys().all(|n| n.starts_with("patchbay-core")),
        "{served_by:?}"
    );
    assert!(
        served_by.len() >= 2,
        "one thread served everything: {served_by:?}"
    );
    assert!(
        stats.accepted.load(Ordering::Relaxed) >= 60,
        "every loop counts into the one ConnectionStats"
    );

    // A logged API call, so the request-log writer has something to flush at shutdown.
    let created = vault
        .create_application("per-core", &["http://127.0.0.1:9/done".to_owned()])
        .await
        .expect("application");
    let logged_before = vault.log_writer_stats().written.load(Ordering::Relaxed);
    let r = fresh_client()
        .get(format!("{base}/vault/connections"))
        .bearer_auth(created.api_key.key.expose_secret())
        .header("x-apideck-app-id", created.application.id.as_str())
        .header("x-apideck-consumer-id", "someone")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);

    // A request in flight when shutdown starts still gets its answer.
    let slow = tokio::spawn(fresh_client().get(format!("{base}/test/slow")).send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("server still running");
    let served = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("shutdown completes")
        .expect("join");
    assert!(served.is_ok(), "{served:?}");
    let answer = slow
        .await
        .expect("join")
        .expect("the in-flight call was answered");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.text().await.expect("body"), "done");

    assert_eq!(stats.open(), 0, "every connection was closed");
    assert!(
        vault.log_writer_stats().written.load(Ordering::Relaxed) > logged_before,
        "the shutdown flushed the request log"
    );
    // Every serving thread's socket is closed: nothing accepts on the port any more.
    let refused = fresh_client()
        .get(format!("{base}/test/thread"))
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "still serving after shutdown");
}

#[tokio::test]
async fn binding_a_port_that_is_taken_fails_even_with_reuse_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::new(dir.path());
    config.listen = taken.local_addr().expect("addr");
    config.listener.threads = 2;
    let err = Application::build(config)
        .await
        .err()
        .expect("a busy port is refused");
    assert!(err.to_string().contains("could not listen"), "{err}");

    // Nor does a second thread-per-core server share the first one's port.
    let dir2 = tempfile::tempdir().expect("temp dir");
    let mut first = ServerConfig::new(dir2.path());
    first.listener.threads = 2;
    let first = Application::build(first).await.expect("first server");
    let dir3 = tempfile::tempdir().expect("temp dir");
    let mut second = ServerConfig::new(dir3.path());
    second.listen = std::net::SocketAddr::from(([127, 0, 0, 1], first.port()));
    second.listener.threads = 2;
    assert!(Application::build(second).await.is_err());
}

crate::server_backend_tests!(an_expired_token_is_refreshed_once_for_callers_on_every_thread);

/// The single-flight refresh and the token cache belong to the service layer, which every
/// serving thread shares: callers on different threads still cause one token call.
async fn an_expired_token_is_refreshed_once_for_callers_on_every_thread(db: Db) {
    let Some(app) = clocked(db, |o| {
        o.listener_threads = 2;
        o.extensions = vec![probe_routes()];
    })
    .await
    else {
        return;
    };
    app.connect("c").await;
    assert!(refresh_calls(&app).is_empty());
    app.clock.advance(EXPIRE_ALL_MS);

    let app = Arc::new(app);
    let start = Arc::new(tokio::sync::Barrier::new(40));
    let mut calls = JoinSet::new();
    for _ in 0..40 {
        let (app, start) = (Arc::clone(&app), Arc::clone(&start));
        calls.spawn(async move {
            // One keep-alive connection per caller: the probe and the proxied call share it,
            // so the probe names the thread the proxied call runs on.
            let client = reqwest::Client::new();
            let thread = client
                .get(format!("{}/test/thread", app.base_url))
                .send()
                .await
                .expect("probe")
                .text()
                .await
                .expect("body");
            start.wait().await;
            let r = client
                .get(format!("{}/proxy", app.base_url))
                .bearer_auth(&app.api_key)
                .header("x-apideck-app-id", app.app_id.as_str())
                .header("x-apideck-consumer-id", "c")
                .header("x-apideck-service-id", "salesforce")
                .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
                .send()
                .await
                .expect("send");
            (thread, r.status())
        });
    }
    let mut threads = HashSet::new();
    while let Some(done) = calls.join_next().await {
        let (thread, status) = done.expect("join");
        assert_eq!(status, StatusCode::OK);
        threads.insert(thread);
    }
    assert!(
        threads.len() >= 2,
        "callers on one thread only: {threads:?}"
    );
    assert_eq!(
        refresh_calls(&app).len(),
        1,
        "one token call for callers on every serving thread"
    );
}
