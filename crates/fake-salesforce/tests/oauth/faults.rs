//! Fault injection and the request log.

use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} in {v}"))
        .to_owned()
}

#[tokio::test]
async fn request_log_records_token_and_rest_calls() {
    let env = start().await;
    let t = env.tokens("api refresh_token").await;
    let rt = s(&t, "refresh_token");
    env.refresh(&rt).await;
    env.http
        .get(env.url("/services/data/"))
        .send()
        .await
        .unwrap();
    env.get("/services/oauth2/userinfo").await; // not logged
    let (_, log) = env.control(Method::GET, "/requests", Value::Null).await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["grant_type"], "authorization_code");
    assert_eq!(log[0]["refresh_token_sha256"], Value::Null);
    assert_eq!(log[1]["grant_type"], "refresh_token");
    assert_eq!(
        log[1]["refresh_token_sha256"],
        hex::encode(digest::digest(&digest::SHA256, rt.as_bytes()))
    );
    assert_eq!(log[1]["status"], 200);
    assert_eq!(log[1]["method"], "POST");
    assert_eq!(log[1]["path"], "/services/oauth2/token");
    assert!(log[1]["time"].as_str().unwrap().contains('T'));
    assert_eq!(log[2]["path"], "/services/data/");
    assert_eq!(log[2]["grant_type"], Value::Null);
    let (status, _) = env.control(Method::DELETE, "/requests", Value::Null).await;
    assert_eq!(status, 204);
    let (_, log) = env.control(Method::GET, "/requests", Value::Null).await;
    assert_eq!(log, json!([]));
}

#[tokio::test]
async fn faults_latency_status_rate_limit_and_resets() {
    let env = start().await;
    let t = env.tokens("api refresh_token").await;
    let rt = s(&t, "refresh_token");
    let add = |rule: Value| async { env.control(Method::POST, "/faults", rule).await.0 };
    assert_eq!(
        add(json!({"target": "token", "kind": "latency", "ms": 300})).await,
        201
    );
    let started = Instant::now();
    assert_eq!(env.refresh(&rt).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    assert_eq!(
        add(json!({"target": "token", "kind": "status", "status": 503, "count": 2})).await,
        201
    );
    assert_eq!(env.refresh(&rt).await.0, 503);
    assert_eq!(env.refresh(&rt).await.0, 503);
    assert_eq!(env.refresh(&rt).await.0, 200);

    assert_eq!(
        add(json!({"target": "rest", "kind": "rate_limit", "retry_after_secs": 7})).await,
        201
    );
    assert_eq!(
        env.refresh(&rt).await.0,
        200,
        "rest faults leave the token endpoint alone"
    );
    let r = env
        .http
        .get(env.url("/services/data/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");

    assert_eq!(
        add(json!({"target": "token", "kind": "connection_reset", "grant_type": "refresh_token"}))
            .await,
        201
    );
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
        ])
        .send()
        .await;
    assert!(r.is_err(), "the connection is closed without a response");
    let (status, _) = env.control(Method::GET, "/faults", Value::Null).await;
    assert_eq!(status, 200);
    let (status, _) = env
        .control(
            Method::POST,
            "/faults",
            json!({"target": "nowhere", "kind": "x"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn drop_response_applies_the_rotation_first() {
    let env = start().await;
    env.patch_default_app(json!({"rotate_refresh_tokens": true}))
        .await;
    let t = env.tokens("api refresh_token").await;
    let rt = s(&t, "refresh_token");
    env.control(
        Method::POST,
        "/faults",
        json!({"target": "token", "kind": "drop_response"}),
    )
    .await;
    let r = env
        .http
        .post(env.url("/services/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", env.client_id.as_str()),
            ("client_secret", env.client_secret.as_str()),
        ])
        .send()
        .await;
    assert!(r.is_err());
    let (_, tokens) = env.control(Method::GET, "/tokens", Value::Null).await;
    let tokens = tokens.as_array().unwrap();
    let old = tokens.iter().find(|x| x["value"] == rt.as_str()).unwrap();
    assert_eq!(old["state"], "rotated");
    assert_eq!(
        tokens
            .iter()
            .filter(|x| x["kind"] == "refresh" && x["state"] == "active")
            .count(),
        1
    );
    let (_, log) = env.control(Method::GET, "/requests", Value::Null).await;
    let last = log.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["fault"], "drop_response");
    assert_eq!(last["status"], 200);
    // The client retries with the old token: that is reuse, and the grant dies.
    assert_eq!(env.refresh(&rt).await.0, 400);
    let (_, tokens) = env.control(Method::GET, "/tokens", Value::Null).await;
    assert_eq!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["state"] == "active")
            .count(),
        0
    );
}

#[tokio::test]
async fn in_process_helpers_match_the_control_plane() {
    use patchbay_fake_salesforce::control::faults::{FaultKind, FaultRule, FaultTarget};
    let env = start().await;
    let emu = env.handle.emulator();
    let t = env.tokens("api refresh_token").await;
    assert_eq!(emu.requests().len(), 1);
    emu.add_fault(FaultRule {
        target: FaultTarget::Token,
        kind: FaultKind::Status { status: 500 },
        count: 1,
        grant_type: None,
        path_contains: None,
    });
    assert_eq!(env.refresh(&s(&t, "refresh_token")).await.0, 500);
    assert_eq!(emu.requests()[1].status, Some(500));
    assert!(emu.revoke_token(&s(&t, "refresh_token")));
    assert!(!emu.revoke_token(&s(&t, "refresh_token")));
    emu.clear_requests();
    assert!(emu.requests().is_empty());
}
