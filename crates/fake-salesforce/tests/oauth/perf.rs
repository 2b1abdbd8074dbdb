//! A throughput smoke check, ignored by default: run with
//! `cargo test --release -p patchbay-fake-salesforce --test oauth perf -- --ignored --nocapture`.
//! Needs `wrk` on PATH; it drives authenticated REST GETs through the whole stack (fault and
//! log middleware, bearer authentication, the REST handler).

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "load test; needs wrk and a release build"]
async fn authenticated_rest_gets_per_second() {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("wrk not installed; skipping");
        return;
    }
    let env = start().await;
    // The default daily limit (100k, as a real org) would run out within seconds.
    let limit = serde_json::json!({"daily_api_limit": 100_000_000u64});
    env.control(reqwest::Method::POST, "/limits", limit).await;
    let t = env.tokens("api").await;
    let token = t["access_token"].as_str().unwrap().to_owned();
    let url = env.url("/services/data/v66.0/limits");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("wrk")
            .args([
                "-t2",
                "-c32",
                "-d5s",
                "-H",
                &format!("Authorization: Bearer {token}"),
                &url,
            ])
            .output()
            .expect("wrk runs")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    let (_, log) = env
        .control(reqwest::Method::GET, "/requests", serde_json::Value::Null)
        .await;
    let non_200 = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] != 200)
        .count();
    assert_eq!(non_200, 0, "every load request succeeds");
}
