//! Issue 4's done-means across nodes: three Patchbay server processes on one PostgreSQL
//! database each send ~67 concurrent proxy requests on the same expired connection (201 in
//! all). The emulator sees exactly one refresh, no refresh token twice (rotation on), and
//! every request succeeds.
//!
//! Each node is this test binary re-run as `multi_node::node_process`: its own process, its
//! own `Application` (pool, coordinator, single-flight state), its own listening port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use patchbay_fake_salesforce::control::faults::{FaultKind, FaultRule, FaultTarget};
use reqwest::StatusCode;

use crate::helpers::Db;
use crate::proxy_support::{
    EXPIRE_ALL_MS, assert_no_refresh_token_presented_twice, clocked, exported, refresh_calls,
};

const CALLS_PER_NODE: usize = 67;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_server_processes_on_postgres_refresh_once() {
    let Some(app) = clocked(Db::Postgres, |o| o.emulator.rotate_refresh_tokens = true).await else {
        return;
    };
    app.connect("c").await;
    let (_, refresh_before) = exported(&app, "c").await;
    // Slow the one refresh down so all three nodes ask while it is in flight.
    app.emulator.emulator().add_fault(FaultRule {
        target: FaultTarget::Token,
        kind: FaultKind::Latency { ms: 1_500 },
        count: 1,
        grant_type: Some("refresh_token".to_owned()),
        path_contains: None,
    });
    let expired_at = app.clock.now_ms_plus(EXPIRE_ALL_MS);
    let children: Vec<Child> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            let exe = std::env::current_exe().expect("test binary");
            Command::new(exe)
                .args([
                    "--exact",
                    "multi_node::node_process",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("PB_NODE_DB", app.db.url())
                .env("PB_NODE_KEYRING", &app.keyring_json)
                .env("PB_NODE_APP", app.app_id.as_str())
                .env("PB_NODE_KEY", &app.api_key)
                .env("PB_NODE_NAME", name)
                .env("PB_NODE_CLOCK_MS", expired_at.to_string())
                .env("PB_NODE_CALLS", CALLS_PER_NODE.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn node")
        })
        .collect();
    for mut child in children {
        let ok =
            tokio::task::spawn_blocking(move || child.wait().map(|s| s.success()).unwrap_or(false))
                .await
                .unwrap_or(false);
        assert!(ok, "every proxy call in every node succeeded");
    }
    let calls = refresh_calls(&app);
    assert_eq!(calls.len(), 1, "one refresh across three server processes");
    assert_no_refresh_token_presented_twice(&calls);
    let (_, refresh_after) = exported(&app, "c").await;
    assert_ne!(refresh_before, refresh_after);
    assert!(app.refresh_token_alive(&refresh_after.expect("rt")).await);
}

trait PlusMs {
    fn now_ms_plus(&self, ms: i64) -> i64;
}

impl PlusMs for patchbay_core::ManualClock {
    fn now_ms_plus(&self, ms: i64) -> i64 {
        patchbay_core::Clock::now_ms(self) + ms
    }
}

/// The child side: one server process. Does nothing unless started by the test above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs only as a child process of three_server_processes_on_postgres_refresh_once"]
async fn node_process() {
    let Ok(db) = std::env::var("PB_NODE_DB") else {
        return;
    };
    let var = |k: &str| std::env::var(k).expect(k);
    let dir = tempfile::tempdir().expect("dir");
    let mut config = patchbay_server::ServerConfig::new(dir.path());
    config.database_url = Some(db);
    config.master_key = Some(var("PB_NODE_KEYRING"));
    config.refresh_interval = None;
    config.clock = std::sync::Arc::new(patchbay_core::ManualClock::new(
        var("PB_NODE_CLOCK_MS").parse().expect("clock"),
    ));
    let app = patchbay_server::Application::build(config)
        .await
        .expect("node starts");
    let base = app.base_url().to_owned();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..var("PB_NODE_CALLS").parse::<usize>().expect("calls") {
        let req = client
            .get(format!("{base}/proxy"))
            .bearer_auth(var("PB_NODE_KEY"))
            .header("x-apideck-app-id", var("PB_NODE_APP"))
            .header("x-apideck-consumer-id", "c")
            .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
            .timeout(Duration::from_secs(60));
        set.spawn(async move {
            let r = req.send().await.expect("send");
            (r.status(), r.text().await.unwrap_or_default())
        });
    }
    while let Some(done) = set.join_next().await {
        let (status, body) = done.expect("join");
        assert_eq!(
            status,
            StatusCode::OK,
            "node {}: {body}",
            var("PB_NODE_NAME")
        );
    }
}
