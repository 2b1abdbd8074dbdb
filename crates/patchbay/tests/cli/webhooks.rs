//! Issue #12: a SIGKILL of the real `patchbay serve` while a webhook is being delivered loses
//! no event. The receiver holds every delivery open until the first server is killed; the
//! restarted server (same data dir) delivers the same events, with the same idempotency keys,
//! once the dead node's leases run out.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

use crate::support::{Running, create_app, http, patchbay, set_salesforce_integration};

#[derive(Default)]
struct Seen {
    /// Idempotency keys of event deliveries that arrived (answered or not).
    arrived: Vec<String>,
    /// Keys answered 200.
    delivered: Vec<String>,
    hold: bool,
}

async fn receiver(seen: Arc<Mutex<Seen>>) -> String {
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let seen = Arc::clone(&seen);
            async move {
                let header = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                if header("x-apideck-event-type") == "webhook.validation" {
                    return StatusCode::OK;
                }
                let key = header("x-apideck-idempotency-key");
                let hold = {
                    let mut s = seen.lock().unwrap();
                    s.arrived.push(key.clone());
                    s.hold
                };
                if hold {
                    // Held until the sender is gone; its answer never matters.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                seen.lock().unwrap().delivered.push(key);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hook")
}

fn serve(dir: &std::path::Path) -> (Running, String) {
    let mut cmd = patchbay();
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(["--webhook-allowed-hosts", "127.0.0.1"])
        // Long enough that a held delivery cannot time out before the test kills the node:
        // under load the second delivery can arrive seconds after the first, and a try that
        // timed out is a recorded failure, retried minutes later by the schedule (correctly),
        // not a delivery in flight. The lease (1.5 × this + 1 s) is what the restart waits out.
        .args(["--webhook-timeout-ms", "10000"])
        .args(["--webhook-tick-ms", "100"])
        .env("PATCHBAY_DATA_DIR", dir);
    let mut server = Running::start(cmd);
    let line = server.line();
    let base = line
        .split(", public URL ")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (server, base)
}

async fn wait_until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 20 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_delivery_loses_no_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, key) = create_app(dir.path(), &[]);
    set_salesforce_integration(
        dir.path(),
        &app,
        "3MVG9webhooks",
        "secret-not-used",
        "https://login.salesforce.com",
    );
    let seen = Arc::new(Mutex::new(Seen {
        hold: true,
        ..Seen::default()
    }));
    let url = receiver(Arc::clone(&seen)).await;
    let (mut first, base) = serve(dir.path());
    let client = http();
    let api = |method: reqwest::Method, path: &str, consumer: Option<&str>| {
        let mut r = client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&key)
            .header("x-apideck-app-id", &app);
        if let Some(c) = consumer {
            r = r.header("x-apideck-consumer-id", c);
        }
        r
    };
    let r = api(reqwest::Method::POST, "/webhook/webhooks", None)
        .json(
            &json!({"unified_api": "vault", "status": "enabled", "delivery_url": url,
                      "events": ["vault.connection.created"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["data"]["status"], "enabled", "{created}");
    for consumer in ["one", "two"] {
        let r = api(
            reqwest::Method::POST,
            "/vault/connections/crm/salesforce",
            Some(consumer),
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    // Kill the node the moment the first delivery is held at the receiver. Waiting for both
    // to arrive was a race under load: a held try that reached the 10 s timeout before the
    // second arrived became a recorded failure, retried by the schedule minutes later (CI saw
    // it once). The second event is then either in flight, leased by the dead node, or not yet
    // claimed; every case must still end in exactly one delivery.
    assert!(
        wait_until(10, || !seen.lock().unwrap().arrived.is_empty()).await,
        "no delivery ever arrived"
    );
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reaped");
    let in_flight: Vec<String> = {
        let mut s = seen.lock().unwrap();
        s.hold = false;
        s.arrived.clone()
    };
    assert!(seen.lock().unwrap().delivered.is_empty());
    let (_second, _) = serve(dir.path());
    assert!(
        // Generous: the restarted binary must start, migrate and wait out the dead node's lease,
        // and under a full parallel test run that once took longer than 20 s.
        wait_until(60, || seen.lock().unwrap().delivered.len() >= 2).await,
        "the restarted server did not deliver both events: {:?} arrived, {:?} delivered",
        seen.lock().unwrap().arrived,
        seen.lock().unwrap().delivered,
    );
    let mut delivered = seen.lock().unwrap().delivered.clone();
    delivered.sort();
    let mut distinct = delivered.clone();
    distinct.dedup();
    assert_eq!(
        delivered, distinct,
        "each event delivered once: {delivered:?}"
    );
    assert_eq!(
        delivered.len(),
        2,
        "two connections, two events: {delivered:?}"
    );
    for key in &in_flight {
        assert!(
            delivered.contains(key),
            "an event in flight at the kill was delivered with the same key: {key} not in {delivered:?}"
        );
    }
}
