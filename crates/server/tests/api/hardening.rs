//! Small hardening rules: HSTS exactly when the public URL is https.

use patchbay_crypto::Keyring;
use patchbay_server::{Application, ServerConfig};

async fn health_headers(public_url: Option<&str>) -> reqwest::header::HeaderMap {
    let dir = tempfile::tempdir().expect("dir");
    let mut config = ServerConfig::new(dir.path());
    config.master_key = Some(Keyring::generate().expect("keyring").to_json().to_string());
    config.database_url = Some(format!("sqlite://{}/p.db", dir.path().display()));
    config.refresh_interval = None;
    config.public_url = public_url.map(str::to_owned);
    let app = Application::build(config).await.expect("build");
    let local = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let r = reqwest::get(format!("{local}/health"))
        .await
        .expect("health");
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), served).await;
    headers
}

#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let h = health_headers(Some("https://patchbay.example.test")).await;
    let hsts = h
        .get("strict-transport-security")
        .and_then(|v| v.to_str().ok())
        .expect("HSTS header");
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
}

#[tokio::test]
async fn hsts_is_not_sent_over_plain_http() {
    let h = health_headers(None).await;
    assert!(h.get("strict-transport-security").is_none());
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_connections_by_state() {
    let app = crate::helpers::spawn_app().await;
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let r = client
            .get(format!("{}/vault/connections/crm/salesforce", app.base_url))
            .header("authorization", "Bearer pbk_nope")
            .header("x-apideck-app-id", app.app_id.to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), 401);
    }
    let r = client
        .get(format!("{}/metrics", app.base_url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.expect("text");
    assert!(
        text.contains(
            "patchbay_http_requests_total{route=\"/vault/connections/{unified_api}/{service_id}\",method=\"GET\",status=\"401\"} 2"
        ),
        "{text}"
    );
    assert!(
        text.contains("patchbay_http_request_duration_seconds_count{route=\"/vault/connections/{unified_api}/{service_id}\",method=\"GET\"} 2"),
        "{text}"
    );
    // The /metrics request itself is being served on a busy connection.
    assert!(
        text.contains("patchbay_connections{state=\"busy\"} "),
        "{text}"
    );
    assert!(
        text.contains("patchbay_connections_accepted_total "),
        "{text}"
    );
    // Raw paths never become labels.
    assert!(!text.contains("/crm/salesforce\""), "{text}");
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let app = crate::helpers::spawn_app().await;
    let id = format!("req-{}", uuid::Uuid::new_v4().simple());
    let r = reqwest::Client::new()
        .get(format!("{}/vault/connections", app.base_url))
        .header("request-id", &id)
        .header("authorization", "Bearer pbk_nope")
        .header("x-apideck-app-id", app.app_id.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["request-id"].to_str().ok(), Some(id.as_str()));
    // Bounded wait for the response-side log line.
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = crate::helpers::captured_logs()
            .lines()
            .filter(|l| l.contains(&id))
            .map(str::to_owned)
            .collect();
        if lines.iter().any(|l| l.contains("request rejected")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        lines.iter().any(|l| l.contains("request rejected")),
        "the handler's log line names the request id: {lines:?}"
    );
}
