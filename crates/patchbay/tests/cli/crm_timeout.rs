//! `serve --crm-timeout-ms`: the deadline reaches the unified CRM's provider calls. A call the
//! Salesforce emulator holds past it is the 502 "did not answer in time" at the deadline
//! (the default's behaviour and the deadline's edge cases: `crates/server/tests/api/crm_deadline.rs`;
//! out-of-range values: `metrics_token.rs`).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    Running, SalesforceSetup, connect_salesforce, http, patchbay, salesforce_setup,
};

const PUBLIC: &str = "http://127.0.0.1:9";
const CLIENT_ID: &str = "3MVG9deadline";
const CLIENT_SECRET: &str = "DEADLINESECRET0123";
/// How long the emulator holds the slowed call: well past the 300 ms deadline.
const INJECTED_MS: u64 = 1_500;

#[tokio::test]
async fn the_crm_timeout_flag_bounds_each_provider_call() {
    let SalesforceSetup {
        emulator: _emulator,
        login,
        dir,
        app,
        key,
    } = salesforce_setup(
        CLIENT_ID,
        CLIENT_SECRET,
        PUBLIC,
        true,
        &["--redirect-uri", "https://example.com/done"],
    )
    .await;

    let mut cmd = patchbay();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--public-url", PUBLIC])
        .env("PATCHBAY_CRM_TIMEOUT_MS", "300")
        .env("PATCHBAY_DATA_DIR", dir.path());
    let mut server = Running::start(cmd);
    let base = server.listening_base();
    connect_salesforce(&base, PUBLIC, &login, &app, &key, "slow").await;

    let client = http();
    let contacts = || {
        client
            .get(format!("{base}/crm/contacts?limit=1"))
            .bearer_auth(&key)
            .header("x-apideck-app-id", &app)
            .header("x-apideck-consumer-id", "slow")
            .send()
    };
    // Warm the token and the describe cache, so the slowed call is the list query itself.
    let r = contacts().await.expect("warm");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let r = client
        .post(format!("{login}/__emulator/faults"))
        .json(&json!({"target": "rest", "kind": "latency", "ms": INJECTED_MS, "count": 1}))
        .send()
        .await
        .expect("add fault");
    assert!(r.status().is_success(), "{}", r.status());

    let started = Instant::now();
    let r = contacts().await.expect("slow call");
    let took = started.elapsed();
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["type_name"], "ConnectorExecutionError", "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not answer in time")),
        "{v}"
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(INJECTED_MS),
        "answered after {took:?}, not at the 300 ms deadline"
    );
}
