//! `patchbay serve --sweeper-rate-per-integration`: the proactive sweeper refreshes due
//! connections no faster than the flag allows, as the emulator's own token log sees it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Running, http, patchbay, run, stderr};

const PUBLIC: &str = "http://127.0.0.1:9";
const CLIENT_ID: &str = "3MVG9sweeperrate";
const CLIENT_SECRET: &str = "SWEEPERRATESECRET0123";

/// A refresh token straight from the emulator (authorization code grant, auto-approved), so
/// that connections can be imported with it.
async fn tokens_from(login: &str) -> Value {
    let client = http();
    let redirect = format!("{PUBLIC}/vault/callback");
    let mut url = format!(
        "{login}/services/oauth2/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}",
        url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
    );
    let mut code = None;
    for _ in 0..8 {
        let r = client.get(&url).send().await.expect("authorize");
        let next = r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or_else(|| panic!("authorize stopped at {url} ({})", r.status()))
            .to_owned();
        if let Some(query) = next.strip_prefix(&format!("{redirect}?")) {
            code = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned());
            break;
        }
        url = if next.starts_with('/') {
            format!("{login}{next}")
        } else {
            next
        };
    }
    let code = code.expect("an authorization code");
    let r = client
        .post(format!("{login}/services/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("redirect_uri", redirect.as_str()),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    r.json().await.expect("json")
}

/// Eight connections fall due at once. At 2 token calls per second with a burst of 1, the
/// sweeper spreads their refreshes over about 3.5 s and never makes more than 3 in any one
/// second; with the defaults (10/s, burst 20) all eight would go out in the first sweep.
#[tokio::test]
async fn the_sweeper_refreshes_no_faster_than_its_per_integration_rate() {
    const N: usize = 8;
    let crate::support::SalesforceSetup {
        emulator,
        login,
        dir,
        app,
        key,
    } = crate::support::salesforce_setup(CLIENT_ID, CLIENT_SECRET, PUBLIC, false, &[]).await;
    let tokens = tokens_from(&login).await;

    let mut cmd = patchbay();
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--public-url",
        PUBLIC,
        "--sweeper-interval",
        "100ms",
        "--sweeper-rate-per-integration",
        "2",
        "--sweeper-burst-per-integration",
        "1",
    ])
    .env("PATCHBAY_DATA_DIR", dir.path());
    let mut server = Running::start(cmd);
    let base = server.listening_base();

    // Imported without an expiry, each connection is due for a refresh at once.
    let client = http();
    for i in 0..N {
        let r = client
            .post(format!("{base}/vault/connections/crm/salesforce/import"))
            .bearer_auth(&key)
            .header("x-apideck-app-id", &app)
            .header("x-apideck-consumer-id", format!("due-{i}"))
            .json(&json!({
                "credentials": {
                    "access_token": tokens["access_token"],
                    "refresh_token": tokens["refresh_token"],
                },
                "settings": { "instance_url": tokens["instance_url"] },
            }))
            .send()
            .await
            .expect("import");
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }

    let refreshes = || {
        let mut times: Vec<i64> = emulator
            .emulator()
            .requests()
            .iter()
            .filter(|e| e.kind == "token" && e.grant_type.as_deref() == Some("refresh_token"))
            .map(|e| e.time_ms)
            .collect();
        times.sort_unstable();
        times
    };
    let started = Instant::now();
    while refreshes().len() < N {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "only {} of {N} connections refreshed",
            refreshes().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let times = refreshes();
    assert_eq!(times.len(), N, "one refresh per connection");
    // Burst 1, then one every 500 ms: the last refresh comes about 3.5 s after the first.
    let span = times[N - 1] - times[0];
    assert!(span >= 2_500, "{N} refreshes within {span} ms: {times:?}");
    // In any one second: the burst plus the rate, at most.
    let peak = times
        .iter()
        .map(|&t| times.iter().filter(|&&u| u >= t && u < t + 1_000).count())
        .max()
        .unwrap_or(0);
    assert!(peak <= 3, "{peak} refreshes in one second: {times:?}");
}

#[test]
fn a_zero_sweeper_rate_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sweeper-rate-per-integration",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--sweeper-rate-per-integration"),
        "{}",
        stderr(&out)
    );
}
