//! The deadline of one unified-CRM provider call (`ServerConfig::crm_timeout`,
//! `serve --crm-timeout-ms`): a Salesforce answer slower than it is the "did not answer in
//! time" 502, given as soon as the deadline passes; under the default deadline the same slow
//! answer is served.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::crm_support::{CrmApp, Provider};
use crate::helpers::{Db, Options, assert_error_envelope, spawn_with};

/// How long the emulator holds the slowed call: well past the short deadline, well inside
/// the default one.
const INJECTED_MS: u64 = 1_500;

/// A connected Salesforce consumer on a server whose CRM deadline is `deadline` (the default
/// when `None`).
async fn crm_app_with_deadline(deadline: Option<Duration>) -> CrmApp {
    let mut options = Options {
        db: Db::Sqlite,
        crm_timeout: deadline,
        ..Options::default()
    };
    options.emulator.records = 3;
    let app = spawn_with(options)
        .await
        .expect("sqlite is always available");
    let walk = app.connect(crate::crm_support::CONSUMER).await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    CrmApp {
        app,
        provider: Provider::Salesforce,
        hubspot: None,
    }
}

/// The emulator sleeps [`INJECTED_MS`] before handling the next REST call.
async fn slow_down_next_rest_call(crm: &CrmApp) {
    let r = crm
        .app
        .client
        .post(format!("{}/__emulator/faults", crm.app.emulator.base_url()))
        .json(&json!({"target": "rest", "kind": "latency", "ms": INJECTED_MS, "count": 1}))
        .send()
        .await
        .expect("add fault");
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test]
async fn a_provider_call_past_a_short_deadline_is_a_prompt_502_and_the_default_waits() {
    let short = crm_app_with_deadline(Some(Duration::from_millis(300))).await;
    // Warm the token and the describe cache, so the slowed call is the list query itself.
    short.get("/crm/contacts?limit=1").await.expect(200);
    slow_down_next_rest_call(&short).await;
    let started = Instant::now();
    let answer = short.get("/crm/contacts?limit=1").await;
    let took = started.elapsed();
    assert_error_envelope(&answer.body, 502, "ConnectorExecutionError");
    assert!(
        answer.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did not answer in time")),
        "{:#}",
        answer.body
    );
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(INJECTED_MS),
        "answered after {took:?}, not at the 300 ms deadline"
    );
    // Only the slowed call failed: the next one is served.
    short.get("/crm/contacts?limit=1").await.expect(200);

    let default = crm_app_with_deadline(None).await;
    default.get("/crm/contacts?limit=1").await.expect(200);
    slow_down_next_rest_call(&default).await;
    let started = Instant::now();
    let answer = default.get("/crm/contacts?limit=1").await.expect(200);
    assert!(
        started.elapsed() >= Duration::from_millis(INJECTED_MS),
        "the slow call was the one served: {:#}",
        answer.body
    );
    assert!(answer.data().as_array().is_some_and(|a| a.len() == 1));
}
