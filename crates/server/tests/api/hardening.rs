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
