//! Issue 13's fault suite, the Salesforce part: the fault proxy sits between Patchbay and the
//! emulator (its login host and its instance both point at the proxy), so every code exchange,
//! refresh and REST call crosses it. With the link slowed, resetting, or cutting responses off
//! mid-body, a call ends in success or a clean Apideck envelope within a bound, the connection
//! is not lost, and once the link heals calls succeed again.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::fault_proxy::{FaultProxy, Mode};
use crate::helpers::Db;
use crate::proxy_support::{EXPIRE_ALL_MS, clocked, exported, proxy};

const BOUND: Duration = Duration::from_secs(30);

/// A CRM call (which refreshes first when the clock says the token is due): status and body.
async fn crm_call(app: &crate::helpers::TestApp) -> (u16, Value, Duration) {
    let started = Instant::now();
    let r = app
        .consumer_api(Method::GET, "/crm/contacts?limit=1", "c")
        .header("x-apideck-service-id", "salesforce")
        .timeout(BOUND)
        .send()
        .await
        .expect("an answer within the bound");
    let status = r.status().as_u16();
    let v: Value = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    (status, v, started.elapsed())
}

fn assert_clean(status: u16, v: &Value, what: &str) {
    if (200..300).contains(&status) {
        return;
    }
    assert_eq!(v["status_code"], status, "{what}: {v}");
    assert!(
        v["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{what}: {v}"
    );
    assert!(
        v["type_name"].as_str().is_some_and(|s| !s.is_empty()),
        "{what}: {v}"
    );
    assert!(v["message"].is_string(), "{what}: {v}");
    assert!(
        v["ref"]
            .as_str()
            .is_some_and(patchbay_server::request_id::is_valid),
        "{what}: {v}"
    );
    assert_ne!(
        status, 500,
        "{what}: a link fault is not an internal error: {v}"
    );
}

/// What the link faults did, for docs/resilience.md: per mode, the refresh-and-call's status,
/// then per mode the CRM and proxy statuses with a fresh token.
#[derive(Debug, Clone, Default)]
pub struct UpstreamFigures {
    pub refresh: Vec<(Mode, u16)>,
    pub rest: Vec<(Mode, u16, u16)>,
}

#[tokio::test]
async fn refreshes_across_a_slow_resetting_or_cut_link_end_clean_and_keep_the_connection() {
    let _ = scenario().await;
}

/// Runs the link faults and asserts their invariants.
pub async fn scenario() -> UpstreamFigures {
    // The emulator listens on a port of its own and calls itself by the link's address, so
    // its instance_url, like its login host, leads through the link.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let link = FaultProxy::start(format!("127.0.0.1:{port}")).await;
    let app = clocked(Db::Sqlite, |o| {
        o.emulator.listen = ([127, 0, 0, 1], port).into();
        o.emulator.public_url = Some(format!("http://{}", link.addr()));
    })
    .await
    .expect("sqlite");
    assert_eq!(app.emulator.base_url(), format!("http://{}", link.addr()));
    let walk = app.connect("c").await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    let (_, refresh_before) = exported(&app, "c").await;
    let refresh_before = refresh_before.expect("a refresh token");
    let (status, v, _) = crm_call(&app).await;
    assert_eq!(status, 200, "{v}");
    let through_before = link.accepted();

    let mut seen = Vec::new();
    for mode in [
        Mode::Latency(Duration::from_millis(400)),
        Mode::Reset,
        Mode::CutAfter(60),
    ] {
        link.set(mode);
        app.clock.advance(EXPIRE_ALL_MS);
        let (status, v, took) = crm_call(&app).await;
        assert_clean(status, &v, &format!("{mode:?}"));
        assert!(took < BOUND, "{mode:?}: {took:?}");
        seen.push((mode, status));
        link.set(Mode::Pass);
    }
    eprintln!("upstream faults: {seen:?}");
    assert!(
        link.accepted() > through_before,
        "the refreshes crossed the link"
    );
    assert_eq!(seen[0].1, 200, "latency alone only slows a refresh down");

    // Healed: calls succeed again by themselves (after any backoff the faults started).
    app.clock.advance(EXPIRE_ALL_MS);
    let started = Instant::now();
    loop {
        let (status, v, _) = crm_call(&app).await;
        if status == 200 {
            break;
        }
        assert_clean(status, &v, "healed");
        assert!(
            started.elapsed() < BOUND,
            "still failing after the link healed: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // With a fresh token again (no refresh), faults on REST calls: CRM and proxy calls alike.
    let mut rest = Vec::new();
    for mode in [
        Mode::Latency(Duration::from_millis(300)),
        Mode::Reset,
        Mode::CutAfter(60),
    ] {
        link.set(mode);
        let (status, v, took) = crm_call(&app).await;
        assert_clean(status, &v, &format!("crm {mode:?}"));
        assert!(took < BOUND, "{mode:?}: {took:?}");
        let r = proxy(&app, Method::GET, "c")
            .header(
                "x-apideck-downstream-url",
                "/services/data/v66.0/query?q=SELECT+Id+FROM+Contact+LIMIT+1",
            )
            .timeout(BOUND)
            .send()
            .await
            .expect("an answer within the bound");
        let p_status = r.status().as_u16();
        let pv: Value =
            serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
        assert_clean(p_status, &pv, &format!("proxy {mode:?}"));
        rest.push((mode, status, p_status));
        link.set(Mode::Pass);
    }
    eprintln!("upstream faults on REST (mode, crm, proxy): {rest:?}");
    assert_eq!(
        (rest[0].1, rest[0].2),
        (200, 200),
        "latency alone only slows calls down"
    );

    // And again after the REST faults.
    let started = Instant::now();
    loop {
        let (status, v, _) = crm_call(&app).await;
        if status == 200 {
            break;
        }
        assert_clean(status, &v, "healed after REST faults");
        assert!(
            started.elapsed() < BOUND,
            "still failing after the link healed: {v}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let conn = app.connection("c").await;
    assert_eq!(conn["state"], "callable", "{conn}");
    // Rotation is off: the same refresh token is still stored and still honoured.
    let (_, refresh_after) = exported(&app, "c").await;
    assert_eq!(refresh_after.as_deref(), Some(refresh_before.as_str()));
    assert!(app.refresh_token_alive(&refresh_before).await);
    UpstreamFigures {
        refresh: seen,
        rest,
    }
}
