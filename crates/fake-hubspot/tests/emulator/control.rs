//! The control plane: injected faults, the request log and the control token.

use patchbay_fake_hubspot::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{auto, start};

#[tokio::test]
async fn injected_faults_shape_the_next_calls_in_hubspots_shapes() {
    let emu = start(auto(5)).await;
    let tokens = emu.install().await;
    let t = tokens.access.clone();
    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "api", "kind": "status", "status": 503, "count": 2})),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = emu.get(&t, "/crm/v3/objects/contacts").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "error");
    }
    let (status, _) = emu.get(&t, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::OK, "the rule is used up");

    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "api", "kind": "error", "status": 403,
        "category": "MISSING_SCOPES", "message": "nope", "path_contains": "/deals"})),
    )
    .await;
    let (status, _) = emu.get(&t, "/crm/v3/objects/contacts").await;
    assert_eq!(status, StatusCode::OK, "the path filter skips contacts");
    let (status, body) = emu.get(&t, "/crm/v3/objects/deals").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["category"], "MISSING_SCOPES");

    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "token", "kind": "rate_limit", "grant_type": "refresh_token"})),
    )
    .await;
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", emu.config.client_id.as_str()),
        ("client_secret", emu.config.client_secret.as_str()),
        ("refresh_token", tokens.refresh.as_str()),
    ];
    let (status, body) = emu.token(&form).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    let (status, _) = emu.token(&form).await;
    assert_eq!(status, StatusCode::OK);

    emu.control(
        Method::POST,
        "/faults",
        Some(json!({"target": "any", "kind": "latency", "ms": 300})),
    )
    .await;
    let started = std::time::Instant::now();
    let (status, _) = emu.get(&t, "/crm/v3/owners").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let log = emu.control(Method::GET, "/requests", None).await;
    let faults: Vec<&str> = log
        .as_array()
        .expect("log")
        .iter()
        .filter_map(|e| e["fault"].as_str())
        .collect();
    assert_eq!(
        faults,
        ["status", "status", "error", "rate_limit", "latency"]
    );
}

#[tokio::test]
async fn the_request_log_shows_tokens_only_as_hashes() {
    let emu = start(auto(5)).await;
    let tokens = emu.install().await;
    let (_, _) = emu
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &emu.config.client_id),
            ("client_secret", &emu.config.client_secret),
            ("refresh_token", &tokens.refresh),
        ])
        .await;
    emu.get(&tokens.access, "/crm/v3/objects/contacts?limit=2")
        .await;
    emu.get("", &format!("/oauth/v1/access-tokens/{}", tokens.access))
        .await;
    let log = emu.control(Method::GET, "/requests", None).await;
    let text = log.to_string();
    for secret in [&tokens.access, &tokens.refresh, &emu.config.client_secret] {
        assert!(
            !text.contains(secret.as_str()),
            "log leaks a secret: {text}"
        );
    }
    let sha = |v: &str| {
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            v.as_bytes(),
        ))
    };
    let entries = log.as_array().expect("entries");
    let refresh_call = entries
        .iter()
        .find(|e| e["grant_type"] == "refresh_token")
        .expect("refresh logged");
    assert_eq!(refresh_call["kind"], "token");
    assert_eq!(refresh_call["status"], 200);
    assert_eq!(refresh_call["refresh_token_sha256"], sha(&tokens.refresh));
    let api_call = entries
        .iter()
        .find(|e| e["kind"] == "api")
        .expect("api logged");
    assert_eq!(api_call["access_token_sha256"], sha(&tokens.access));
    assert_eq!(api_call["query"], "limit=2");
    let meta_call = entries
        .iter()
        .find(|e| e["kind"] == "metadata")
        .expect("metadata logged");
    assert_eq!(meta_call["token_sha256"], sha(&tokens.access));
    // The raw tokens are in the control plane's token list, on purpose.
    assert!(
        emu.control(Method::GET, "/tokens", None)
            .await
            .to_string()
            .contains(&tokens.access)
    );
}

#[tokio::test]
async fn with_a_control_token_the_control_plane_answers_only_to_it() {
    let emu = start(EmulatorConfig {
        control_token: Some("ctl-token-123".to_owned()),
        ..auto(5)
    })
    .await;
    for (header, expected) in [
        (None, StatusCode::NOT_FOUND),
        (Some("ctl-token-12"), StatusCode::NOT_FOUND),
        (Some("ctl-token-1234"), StatusCode::NOT_FOUND),
        (Some("ctl-token-123"), StatusCode::OK),
    ] {
        for path in ["/__emulator/tokens", "/__emulator/info", "/__emulator/nope"] {
            let mut request = emu.http.get(emu.url(path));
            if let Some(token) = header {
                request = request.header("x-emulator-token", token);
            }
            let response = request.send().await.expect("send");
            let want = if path.ends_with("nope") {
                StatusCode::NOT_FOUND
            } else {
                expected
            };
            assert_eq!(response.status(), want, "{path} with {header:?}");
            let body: Value = response.json().await.expect("json");
            if want == StatusCode::NOT_FOUND && header != Some("ctl-token-123") {
                // As if there were no control plane: nothing about it, nor the token, leaks.
                assert_eq!(body, json!({"error": "not found"}));
            }
        }
    }
    // A write without the token changes nothing.
    let response = emu
        .http
        .post(emu.url("/__emulator/faults"))
        .json(&json!({"target": "api", "kind": "rate_limit"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // The HubSpot surface itself does not ask for it.
    let tokens = emu.install().await;
    let (status, _) = emu
        .get(&tokens.access, "/crm/v3/objects/contacts?limit=1")
        .await;
    assert_eq!(status, StatusCode::OK);
    // The start line says which token to send.
    let info = emu._handle.startup_info();
    assert_eq!(info["control_token"], "ctl-token-123");
    let faults: Value = emu
        .http
        .get(emu.url("/__emulator/faults"))
        .header("x-emulator-token", "ctl-token-123")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(faults, json!([]));
}

#[tokio::test]
async fn without_a_control_token_the_start_line_names_none() {
    let emu = start(auto(0)).await;
    let info = emu._handle.startup_info();
    assert!(info.get("control_token").is_none(), "{info}");
    assert!(info.get("state_file").is_none(), "{info}");
}
