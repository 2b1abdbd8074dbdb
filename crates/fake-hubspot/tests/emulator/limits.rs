//! The account's rate limits: headers on every call, HubSpot's 429 bodies for the burst and
//! search limits (`docs/hubspot.md §13`).

use patchbay_fake_hubspot::EmulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{auto, start};

#[tokio::test]
async fn the_burst_limit_answers_429_with_headers_and_the_documented_body() {
    let config = EmulatorConfig {
        rate_limit_per_10s: 4,
        ..auto(10)
    };
    let emu = start(config).await;
    let t = emu.install().await.access;
    for expected_remaining in (0..4).rev() {
        let response = emu
            .http
            .get(emu.url("/crm/v3/objects/contacts"))
            .bearer_auth(&t)
            .send()
            .await
            .expect("call");
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["x-hubspot-ratelimit-interval-milliseconds"], "10000");
        assert_eq!(h["x-hubspot-ratelimit-max"], "4");
        assert_eq!(
            h["x-hubspot-ratelimit-remaining"],
            expected_remaining.to_string().as_str()
        );
        assert!(
            h.get("x-hubspot-ratelimit-daily").is_none(),
            "no daily headers for OAuth calls"
        );
    }
    let response = emu
        .http
        .get(emu.url("/crm/v3/objects/deals"))
        .bearer_auth(&t)
        .send()
        .await
        .expect("call");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["x-hubspot-ratelimit-remaining"], "0");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(body["correlationId"].is_string());
    // Token calls are not API calls: refreshing still works while the API is limited.
    let log = emu.control(Method::GET, "/requests", None).await;
    let statuses: Vec<u64> = log
        .as_array()
        .expect("log")
        .iter()
        .filter(|e| e["kind"] == "api")
        .filter_map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 429]);
    emu.control(
        Method::POST,
        "/limits",
        Some(json!({"reset": true, "rate_limit_per_10s": 100})),
    )
    .await;
    let (status, _) = emu.get(&t, "/crm/v3/objects/deals").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn search_has_its_own_per_second_limit() {
    let config = EmulatorConfig {
        search_rate_limit_per_sec: 2,
        ..auto(10)
    };
    let emu = start(config).await;
    let t = emu.install().await.access;
    let mut statuses = Vec::new();
    let mut limited: Option<Value> = None;
    for _ in 0..4 {
        let (status, body) = emu
            .send(
                Method::POST,
                &t,
                "/crm/v3/objects/contacts/search",
                &json!({}),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(body);
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(&statuses[..2], [200, 200]);
    assert!(statuses.contains(&429), "{statuses:?}");
    let body = limited.expect("a 429 body");
    assert_eq!(body["policyName"], "SECONDLY");
    assert_eq!(body["message"], "You have reached your secondly limit.");
    let (status, _) = emu.get(&t, "/crm/v3/objects/contacts").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "plain calls are not held back by the search limit"
    );
}
