//! Issue 13's fault suite, the two emulator-link faults upstream_faults.rs leaves out:
//!
//! - **A black hole** between Patchbay and the emulator (the fault proxy accepts and forwards
//!   nothing): proxy calls end at the caller's `x-apideck-timeout`, CRM calls at the CRM
//!   client's deadline, both with a clean envelope; meanwhile the node answers `/health`,
//!   `/ready` and Vault calls at once; once the hole closes calls succeed by themselves.
//! - **A rotated refresh whose answer never arrives** (the emulator's `drop_response` rule: the
//!   token endpoint rotates, then closes the connection). Patchbay cannot tell a lost answer
//!   from a lost request, so it presents the same refresh token once more (docs/security.md
//!   §3.3); under rotation with reuse detection that retry is refused and the grant is gone.
//!   What Patchbay must then do, and this test holds it to: the connection says `needs_auth`
//!   with `refresh_in_doubt`, every call answers the spec's 401 envelope naming the
//!   re-authorization, the token is never presented a third time, and a reconnect restores it.
//!
//! [`black_hole`] and [`rotated_refresh_cut_off`] return what they observed for
//! docs/resilience.md.

use std::time::{Duration, Instant};

use patchbay_fake_salesforce::control::faults::{FaultKind, FaultRule, FaultTarget};
use reqwest::Method;
use serde_json::Value;

use crate::fault_proxy::{FaultProxy, Mode};
use crate::helpers::{Db, Options, TestApp, spawn_with};
use crate::proxy_support::{EXPIRE_ALL_MS, clocked, connection_id, exported, proxy, refresh_calls};

const PROXY_TIMEOUT_MS: u64 = 1_500;
/// The CRM client's fixed total deadline (upstream_abuse.rs), plus room for a loaded machine.
const CRM_BOUND: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
pub struct BlackHoleFigures {
    pub proxy_status: u16,
    pub proxy_ms: u64,
    pub crm_status: u16,
    pub crm_ms: u64,
    /// The slowest of the `/health`, `/ready` and `/vault/connections` calls made while the
    /// hole was open, and their statuses.
    pub local_max_ms: u64,
    pub local_statuses: Vec<u16>,
    /// Hole closed to the first successful CRM call.
    pub recovery_ms: u64,
}

#[derive(Debug, Clone, Default)]
pub struct CutOffFigures {
    /// Presentations of the rotated-out refresh token: the lost one and the one retry.
    pub presentations: usize,
    pub retry_status: Option<u16>,
    pub first_status: u16,
    /// The envelope's `message`, which names the diagnosis.
    pub first_message: String,
    pub health: String,
    pub last_refresh_error: String,
    /// Calls made after the failure, and refresh-token presentations they caused.
    pub later_calls: usize,
    pub later_presentations: usize,
    pub reconnected_status: u16,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn assert_clean(status: u16, v: &Value, what: &str) {
    assert!(!(200..300).contains(&status), "{what}: {status} {v}");
    assert_eq!(v["status_code"], status, "{what}: {v}");
    assert!(
        v["error"].as_str().is_some_and(|s| !s.is_empty())
            && v["type_name"].as_str().is_some_and(|s| !s.is_empty())
            && v["message"].is_string()
            && v["ref"]
                .as_str()
                .is_some_and(patchbay_server::request_id::is_valid),
        "{what}: {v}"
    );
    assert_ne!(status, 500, "{what}: a link fault is not an internal error");
}

async fn answer(r: reqwest::RequestBuilder) -> (u16, Value, Duration) {
    let started = Instant::now();
    let r = r.send().await.expect("an answer within the bound");
    let status = r.status().as_u16();
    let v = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    (status, v, started.elapsed())
}

fn crm(app: &TestApp) -> reqwest::RequestBuilder {
    app.consumer_api(Method::GET, "/crm/contacts?limit=1", "c")
        .header("x-apideck-service-id", "salesforce")
        .timeout(CRM_BOUND)
}

/// An app whose emulator (login host and instance) is reached through a fault proxy.
async fn behind_link(tweak: impl FnOnce(&mut Options)) -> (TestApp, FaultProxy) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let link = FaultProxy::start(format!("127.0.0.1:{port}")).await;
    let mut options = Options::default();
    options.emulator.listen = ([127, 0, 0, 1], port).into();
    options.emulator.public_url = Some(format!("http://{}", link.addr()));
    tweak(&mut options);
    let app = spawn_with(options).await.expect("sqlite");
    (app, link)
}

pub async fn black_hole() -> BlackHoleFigures {
    let (app, link) = behind_link(|_| {}).await;
    let walk = app.connect("c").await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    let (_, refresh_before) = exported(&app, "c").await;
    let (status, v, _) = answer(crm(&app)).await;
    assert_eq!(status, 200, "{v}");

    link.set(Mode::BlackHole);
    let proxy_call = answer(
        proxy(&app, Method::GET, "c")
            .header(
                "x-apideck-downstream-url",
                "/services/data/v66.0/query?q=SELECT+Id+FROM+Contact+LIMIT+1",
            )
            .header("x-apideck-timeout", PROXY_TIMEOUT_MS.to_string())
            .timeout(CRM_BOUND),
    );
    let crm_call = answer(crm(&app));
    // While both hang on the hole, the node itself answers at once.
    let local = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut statuses = Vec::new();
        let mut slowest = Duration::ZERO;
        for _ in 0..3 {
            for r in [
                app.client.get(format!("{}/health", app.base_url)),
                app.client.get(format!("{}/ready", app.base_url)),
                app.consumer_api(Method::GET, "/vault/connections", "c"),
            ] {
                let (status, _, took) = answer(r.timeout(Duration::from_secs(10))).await;
                statuses.push(status);
                slowest = slowest.max(took);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        (statuses, slowest)
    };
    let ((p_status, pv, p_took), (c_status, cv, c_took), (statuses, slowest)) =
        tokio::join!(proxy_call, crm_call, local);
    assert_clean(p_status, &pv, "proxy into the hole");
    assert!(
        p_took >= Duration::from_millis(PROXY_TIMEOUT_MS) && p_took < Duration::from_secs(10),
        "the proxy gives up on the caller's timeout: {p_took:?}"
    );
    assert_clean(c_status, &cv, "crm into the hole");
    assert!(c_took < CRM_BOUND, "{c_took:?}");
    assert!(
        statuses.iter().all(|&s| s == 200),
        "the node stays healthy: {statuses:?}"
    );
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");

    link.set(Mode::Pass);
    let healed = Instant::now();
    loop {
        let (status, v, _) = answer(crm(&app)).await;
        if status == 200 {
            break;
        }
        assert_clean(status, &v, "after the hole");
        assert!(healed.elapsed() < CRM_BOUND, "still failing: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovery = healed.elapsed();
    let conn = app.connection("c").await;
    assert_eq!(conn["state"], "callable", "{conn}");
    let (_, refresh_after) = exported(&app, "c").await;
    assert_eq!(refresh_after, refresh_before, "the hole cost no token");
    BlackHoleFigures {
        proxy_status: p_status,
        proxy_ms: ms(p_took),
        crm_status: c_status,
        crm_ms: ms(c_took),
        local_max_ms: ms(slowest),
        local_statuses: statuses,
        recovery_ms: ms(recovery),
    }
}

pub async fn rotated_refresh_cut_off() -> CutOffFigures {
    let app = clocked(Db::Sqlite, |o| o.emulator.rotate_refresh_tokens = true)
        .await
        .expect("sqlite");
    let walk = app.connect("c").await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    let (_, refresh_before) = exported(&app, "c").await;
    let refresh_before = refresh_before.expect("a refresh token");
    app.emulator.emulator().add_fault(FaultRule {
        target: FaultTarget::Token,
        kind: FaultKind::DropResponse,
        count: 1,
        grant_type: Some("refresh_token".to_owned()),
        path_contains: None,
    });
    app.clock.advance(EXPIRE_ALL_MS);
    let (first_status, v, took) = answer(crm(&app)).await;
    assert_clean(first_status, &v, "the call whose refresh was cut off");
    assert_eq!(first_status, 401, "{v}");
    assert!(took < CRM_BOUND);
    let detail = v["detail"].to_string();
    let message = v["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        detail.contains("refresh_in_doubt") || v["message"].to_string().contains("reconnect"),
        "the answer names the diagnosis: {v}"
    );

    let calls = refresh_calls(&app);
    assert!(
        app.emulator.emulator().faults().is_empty(),
        "the rotation happened"
    );
    assert_eq!(calls.len(), 2, "the lost presentation and one retry");
    assert_eq!(
        calls[0].refresh_token_sha256, calls[1].refresh_token_sha256,
        "the retry presents the same token: the outcome was unknown"
    );
    assert_eq!(calls[1].status, Some(400), "reuse refused");
    let id = connection_id(&app, "c").await;
    let row = app
        .vault
        .store()
        .get_connection(&id)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.health.as_str(), "needs_auth");
    assert_eq!(row.last_refresh_error.as_deref(), Some("refresh_in_doubt"));
    assert!(row.lease_owner.is_none(), "the lease is released");

    // Nothing presents it again, whatever calls keep coming.
    let mut later = 0;
    for _ in 0..3 {
        let (status, v, _) = answer(crm(&app)).await;
        assert_clean(status, &v, "crm after the loss");
        let (status, v, _) = answer(
            proxy(&app, Method::GET, "c")
                .header("x-apideck-downstream-url", "/services/data/v66.0/limits"),
        )
        .await;
        assert_clean(status, &v, "proxy after the loss");
        later += 2;
    }
    let later_presentations = refresh_calls(&app).len() - calls.len();
    assert_eq!(later_presentations, 0, "never presented a third time");
    // (This probe presents it too, so it comes last.)
    assert!(
        !app.refresh_token_alive(&refresh_before).await,
        "the grant is gone"
    );

    // The consumer reconnects: a new grant, callable again.
    let walk = app.connect("c").await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    let (reconnected_status, v, _) = answer(crm(&app)).await;
    assert_eq!(reconnected_status, 200, "{v}");
    CutOffFigures {
        presentations: calls.len(),
        retry_status: calls[1].status,
        first_status,
        first_message: message,
        health: row.health.as_str().to_owned(),
        last_refresh_error: row.last_refresh_error.unwrap_or_default(),
        later_calls: later,
        later_presentations,
        reconnected_status,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_hole_to_the_emulator_times_out_on_schedule_and_heals() {
    let f = black_hole().await;
    eprintln!("black hole: {f:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_refresh_whose_answer_is_lost_asks_for_reauthorization_once() {
    let f = rotated_refresh_cut_off().await;
    eprintln!("cut-off rotated refresh: {f:?}");
}
