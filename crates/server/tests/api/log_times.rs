//! Every request-log row carries measured times (the spec's `Log`): `execution` the whole
//! request, `duration` the time at the service provider, `latency` Patchbay's part. The
//! emulator's latency fault makes the provider's part long enough to check against.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::crm_support::{CONSUMER, crm_app_on};
use crate::helpers::{Db, TestApp, assert_error_envelope, json_with, spawn_app};

crate::server_backend_tests!(
    crm_rows_record_the_time_spent_at_salesforce,
    proxy_rows_record_the_connection_service_and_its_time,
);

/// The emulator waits this long before handling the next REST call.
const INJECTED_MS: u64 = 300;

async fn slow_down_next_rest_call(app: &TestApp) {
    let r = app
        .client
        .post(format!("{}/__emulator/faults", app.emulator.base_url()))
        .json(&json!({"target": "rest", "kind": "latency", "ms": INJECTED_MS, "count": 1}))
        .send()
        .await
        .expect("add fault");
    assert!(r.status().is_success(), "{}", r.status());
}

/// The consumer's log rows, newest first, after this node's queue is written.
async fn logs(app: &TestApp, consumer: &str) -> Vec<Value> {
    app.vault.flush_request_logs().await;
    let r = app
        .consumer_api(Method::GET, "/vault/logs?limit=200", consumer)
        .send()
        .await
        .expect("send");
    json_with(r, StatusCode::OK).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `(duration, execution, latency)` of a row, checking they fit together: execution is the
/// total in whole ms rounded up, so duration + latency lies in (execution - 1, execution].
fn times(row: &Value) -> (f64, f64, f64) {
    let duration = row["duration"].as_f64().expect("duration");
    let execution = row["execution"].as_i64().expect("execution integer") as f64;
    let latency = row["latency"].as_f64().expect("latency");
    assert!(duration >= 0.0 && latency >= 0.0, "{row}");
    let total = duration + latency;
    assert!(
        total <= execution + 1e-6 && total > execution - 1.0,
        "duration + latency must be the execution time: {row}"
    );
    (duration, execution, latency)
}

async fn crm_rows_record_the_time_spent_at_salesforce(db: Db) {
    let Some(crm) = crm_app_on(db, 20).await else {
        return;
    };
    // Warm the token and the describe cache, so the slow call is the list query itself.
    crm.get("/crm/contacts?limit=1").await.expect(200);
    slow_down_next_rest_call(&crm.app).await;
    crm.get("/crm/contacts?limit=2").await.expect(200);
    // Refused before Salesforce is called: nothing is Salesforce's time.
    crm.get("/crm/contacts?limit=0").await.expect(400);

    let rows = logs(&crm.app, CONSUMER).await;
    let crm_rows: Vec<&Value> = rows.iter().filter(|l| l["unified_api"] == "crm").collect();
    assert_eq!(crm_rows.len(), 3, "{rows:#?}");
    // Rows of one millisecond may come in any order: tell them apart by what they show.
    let refused = *crm_rows
        .iter()
        .find(|l| l["status_code"] == 400)
        .expect("the refused call");
    let mut answered: Vec<&Value> = crm_rows
        .iter()
        .copied()
        .filter(|l| l["status_code"] == 200)
        .collect();
    answered.sort_by(|a, b| {
        a["duration"]
            .as_f64()
            .partial_cmp(&b["duration"].as_f64())
            .expect("numbers")
    });
    let (warm, slow) = (answered[0], answered[1]);

    let (duration, execution, latency) = times(slow);
    assert_eq!(slow["service"]["id"], "salesforce");
    assert!(
        duration >= INJECTED_MS as f64,
        "the injected {INJECTED_MS} ms are Salesforce's: {slow}"
    );
    assert!(execution >= duration, "{slow}");
    assert!(
        latency < INJECTED_MS as f64,
        "the wait is not Patchbay's: {slow}"
    );

    let (duration, _, latency) = times(warm);
    assert!(duration > 0.0 && latency > 0.0, "{warm}");

    let (duration, _, latency) = times(refused);
    assert_eq!(duration, 0.0, "Salesforce was not called: {refused}");
    assert!(latency > 0.0, "{refused}");
}

async fn proxy_rows_record_the_connection_service_and_its_time(db: Db) {
    let Some(crm) = crm_app_on(db, 5).await else {
        return;
    };
    let app = &crm.app;
    slow_down_next_rest_call(app).await;
    let r = app
        .consumer_api(Method::GET, "/proxy", CONSUMER)
        .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    // A service the consumer has not connected: the row names the service asked for (there
    // is no connection to take it from), and nothing was sent downstream.
    let r = app
        .consumer_api(Method::GET, "/proxy", CONSUMER)
        .header("x-apideck-downstream-url", "/services/data/v66.0/limits")
        .header("x-apideck-service-id", "hubspot")
        .send()
        .await
        .expect("send");
    let v = json_with(r, StatusCode::NOT_FOUND).await;
    assert_error_envelope(&v, 404, "ConnectionNotFoundError");

    let rows = logs(app, CONSUMER).await;
    let proxied: Vec<&Value> = rows
        .iter()
        .filter(|l| l["unified_api"] == "proxy")
        .collect();
    assert_eq!(proxied.len(), 2, "{rows:#?}");
    let missing = *proxied
        .iter()
        .find(|l| l["status_code"] == 404)
        .expect("the refused call");
    let slow = *proxied
        .iter()
        .find(|l| l["status_code"] == 200)
        .expect("the proxied call");

    assert_eq!(slow["service"]["id"], "salesforce", "{slow}");
    assert_eq!(slow["service"]["name"], "Salesforce", "{slow}");
    let (duration, execution, _) = times(slow);
    assert!(duration >= INJECTED_MS as f64, "{slow}");
    assert!(execution >= INJECTED_MS as f64, "{slow}");

    assert_eq!(missing["service"]["id"], "hubspot", "{missing}");
    let (duration, _, latency) = times(missing);
    assert_eq!(duration, 0.0, "{missing}");
    assert!(latency > 0.0, "{missing}");
}

/// A Vault call has no provider but the Vault itself: its whole, measured time is the
/// service's, and Patchbay adds nothing on top.
#[tokio::test]
async fn vault_rows_record_their_measured_time() {
    let app = spawn_app().await;
    let r = app
        .consumer_api(Method::GET, "/vault/connections", "timed")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let rows = logs(&app, "timed").await;
    let row = rows
        .iter()
        .find(|l| l["operation"]["id"] == "connectionsAll")
        .unwrap_or_else(|| panic!("{rows:#?}"));
    let (duration, execution, latency) = times(row);
    assert!(duration > 0.0, "{row}");
    assert!(execution >= 1.0, "{row}");
    assert_eq!(latency, 0.0, "{row}");
    assert_eq!(row["service"]["id"], "patchbay-vault");
}
