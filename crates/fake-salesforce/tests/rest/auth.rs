//! Authentication, the daily API limit, `Sforce-Limit-Info` and `/limits`.

use crate::support::{TestOrg, V};
use reqwest::Method;

#[tokio::test]
async fn missing_garbage_and_expired_tokens_are_invalid_sessions() {
    let org = TestOrg::start().await;
    let path = format!("{V}/sobjects");
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 4] = [
        (None, &[]),
        (Some("garbage"), &[]),
        (Some("00D000000000001!AQ0AQ.bogus"), &[]),
        (None, &[("authorization", "Basic dXNlcjpwYXNz")]),
    ];
    for (token, headers) in cases {
        let a = org.call(Method::GET, &path, None, token, headers).await;
        let e = a.assert_error(401, "INVALID_SESSION_ID");
        assert_eq!(e["message"], "Session expired or invalid");
        assert_eq!(
            a.limit_info(),
            None,
            "unauthenticated calls are not counted"
        );
    }
    assert_eq!(org.handle.emulator().api_usage().used, 0);

    assert_eq!(org.get(&path).await.status, 200);
    // Past the 2-hour session timeout the same token is dead.
    org.handle.emulator().advance_clock(2 * 3600 + 60);
    org.get(&path).await.assert_error(401, "INVALID_SESSION_ID");
}

#[tokio::test]
async fn a_token_without_the_api_scope_is_refused() {
    let org = TestOrg::start().await;
    let token = org.token_with_scope("id").await;
    let a = org
        .call(Method::GET, &format!("{V}/limits"), None, Some(&token), &[])
        .await;
    let e = a.assert_error(401, "INVALID_SESSION_ID");
    assert_eq!(
        e["message"],
        "This session is not valid for use with the REST API"
    );
    let full = org.token_with_scope("full").await;
    let a = org
        .call(Method::GET, &format!("{V}/limits"), None, Some(&full), &[])
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn the_oauth_scheme_is_accepted_too() {
    let org = TestOrg::start().await;
    let header = format!("OAuth {}", org.token);
    let a = org
        .call(
            Method::GET,
            &format!("{V}/limits"),
            None,
            None,
            &[("authorization", &header)],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
}

#[tokio::test]
async fn every_counted_response_carries_limit_info() {
    let org = TestOrg::with(|c| c.daily_api_limit = 15_000).await;
    let ok = org.get(&format!("{V}/sobjects")).await;
    assert_eq!(ok.limit_info(), Some("api-usage=1/15000"));
    let missing = org
        .get(&format!("{V}/sobjects/Contact/003000000000000AAA"))
        .await;
    missing.assert_error(404, "NOT_FOUND");
    assert_eq!(missing.limit_info(), Some("api-usage=2/15000"));
    let bad = org.get(&format!("{V}/nonsense")).await;
    bad.assert_error(404, "NOT_FOUND");
    assert_eq!(bad.limit_info(), Some("api-usage=3/15000"));
}

#[tokio::test]
async fn limits_report_daily_api_requests() {
    let org = TestOrg::with(|c| c.daily_api_limit = 15_000).await;
    org.get(&format!("{V}/sobjects")).await;
    let a = org.get(&format!("{V}/limits")).await;
    assert_eq!(a.status, 200);
    let limits = a.json();
    assert_eq!(
        limits["DailyApiRequests"],
        serde_json::json!({"Max": 15000, "Remaining": 14998})
    );
    for name in [
        "DataStorageMB",
        "FileStorageMB",
        "DailyBulkApiBatches",
        "SingleEmail",
    ] {
        assert!(limits[name]["Max"].is_u64(), "{name}");
        assert!(limits[name]["Remaining"].is_u64(), "{name}");
    }
}

#[tokio::test]
async fn the_daily_limit_gives_request_limit_exceeded() {
    let org = TestOrg::with(|c| c.daily_api_limit = 3).await;
    for used in 1..=3 {
        let a = org.get(&format!("{V}/limits")).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.limit_info(), Some(format!("api-usage={used}/3").as_str()));
    }
    let a = org.get(&format!("{V}/limits")).await;
    let e = a.assert_error(403, "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(e["message"], "TotalRequests Limit exceeded.");
    assert_eq!(a.limit_info(), Some("api-usage=3/3"));
    // The versions list stays reachable.
    let v = org
        .call(Method::GET, "/services/data/", None, None, &[])
        .await;
    assert_eq!(v.status, 200);
    // Raising the limit lets calls through again.
    org.handle.emulator().set_api_limit(Some(10), None);
    assert_eq!(org.get(&format!("{V}/limits")).await.status, 200);
}

#[tokio::test]
async fn a_revoked_token_is_an_invalid_session() {
    let org = TestOrg::start().await;
    assert_eq!(org.get(&format!("{V}/limits")).await.status, 200);
    let revoke = org
        .http
        .post(format!("{}/services/oauth2/revoke", org.base))
        .form(&[("token", org.token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoke.status().as_u16(), 200);
    org.get(&format!("{V}/limits"))
        .await
        .assert_error(401, "INVALID_SESSION_ID");
}

#[tokio::test]
async fn rest_calls_reach_the_request_log() {
    let org = TestOrg::start().await;
    org.get(&format!("{V}/sobjects/Nope")).await;
    let log: serde_json::Value = org
        .http
        .get(format!("{}/__emulator/requests", org.base))
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("log JSON");
    let entry = log
        .as_array()
        .expect("an array")
        .iter()
        .find(|e| e["path"] == "/services/data/v66.0/sobjects/Nope")
        .unwrap_or_else(|| panic!("REST call not logged: {log}"))
        .clone();
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["status"], 404);
    assert_eq!(entry["grant_type"], serde_json::Value::Null);
    assert_eq!(entry["refresh_token_sha256"], serde_json::Value::Null);
}
