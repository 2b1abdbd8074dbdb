//! `patchbay serve` on port 0 with the embedded default, and its refusals to start.

use std::time::Duration;

use serde_json::Value;

use crate::support::{Running, create_app, exit_within, http, patchbay};

/// `listening on IP:PORT, public URL URL` → the public URL.
fn listening(run: &mut Running) -> String {
    let line = run.line();
    let url = line
        .strip_prefix("listening on ")
        .and_then(|rest| rest.split(", public URL ").nth(1))
        .unwrap_or_else(|| panic!("unexpected first line: {line}"));
    url.to_owned()
}

#[tokio::test]
async fn serve_starts_on_port_zero_with_the_embedded_default_and_answers_the_vault_api() {
    let dir = tempfile::tempdir().expect("tmp");
    // Flags and their PATCHBAY_* variables are interchangeable: set-up by flag, serve by env.
    let (app, key) = create_app(dir.path(), &[]);
    let mut cmd = patchbay();
    cmd.arg("serve")
        .env("PATCHBAY_LISTEN", "127.0.0.1:0")
        .env("PATCHBAY_DATA_DIR", dir.path());
    let mut server = Running::start(cmd);
    let base = listening(&mut server);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(dir.path().join("master.key").exists());

    let client = http();
    let health: Value = client
        .get(format!("{base}/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let r = client
        .post(format!("{base}/vault/sessions"))
        .bearer_auth(&key)
        .header("x-apideck-app-id", &app)
        .header("x-apideck-consumer-id", "customer-1")
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("sessions");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert!(
        body["data"]["session_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with(&base)),
        "{body}"
    );
    let r = client
        .get(format!("{base}/vault/connections"))
        .bearer_auth(&key)
        .header("x-apideck-app-id", &app)
        .header("x-apideck-consumer-id", "customer-1")
        .send()
        .await
        .expect("connections");
    assert_eq!(r.status(), 200);
    // A wrong key gets the error envelope.
    let r = client
        .get(format!("{base}/vault/connections"))
        .bearer_auth("pbk_nope")
        .header("x-apideck-app-id", &app)
        .send()
        .await
        .expect("connections");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["status_code"], 401);
}

#[tokio::test]
async fn the_public_url_names_the_links_the_server_hands_out() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, key) = create_app(dir.path(), &[]);
    let mut cmd = patchbay();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("PATCHBAY_PUBLIC_URL", "https://patchbay.example.test/");
    let mut server = Running::start(cmd);
    let line = server.line();
    assert!(
        line.ends_with("public URL https://patchbay.example.test"),
        "{line}"
    );
    let port = line
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|r| r.split(',').next())
        .expect("port");
    let r = http()
        .post(format!("http://127.0.0.1:{port}/vault/sessions"))
        .bearer_auth(&key)
        .header("x-apideck-app-id", &app)
        .header("x-apideck-consumer-id", "c")
        .send()
        .await
        .expect("sessions");
    let v: Value = r.json().await.expect("json");
    assert!(
        v["data"]["session_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://patchbay.example.test/session/")),
        "{v}"
    );
}

#[test]
fn a_wrong_or_missing_master_key_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tmp");
    create_app(dir.path(), &[]);
    let start = |cmd: &mut std::process::Command| {
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let status = exit_within(&mut child, Duration::from_secs(20));
        let out = child.wait_with_output().expect("output");
        (status, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // Another key than the one the database was sealed with.
    let (status, err) = start(
        patchbay()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("PATCHBAY_MASTER_KEY", "07".repeat(32)),
    );
    assert!(!status.success());
    assert!(err.contains("refusing to start"), "{err}");
    assert!(!err.contains(&"07".repeat(32)));
    // A key file that does not exist is not silently replaced.
    let (status, err) = start(
        patchbay()
            .args(["serve", "--listen", "127.0.0.1:0", "--key-file"])
            .arg(dir.path().join("elsewhere.key"))
            .arg("--data-dir")
            .arg(dir.path()),
    );
    assert!(!status.success(), "{err}");
    // An explicit database without any key.
    let db = format!("sqlite://{}", dir.path().join("other.db").display());
    let (status, err) = start(
        patchbay()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                &db,
                "--data-dir",
            ])
            .arg(dir.path().join("empty")),
    );
    assert!(!status.success());
    assert!(err.contains("no master key configured"), "{err}");
}

/// `--proxy-max-body-bytes` reaches the proxy: a connected consumer's `/proxy` call with a
/// body over the cap gets the 413 envelope naming the cap, and one under it goes through.
#[tokio::test]
async fn the_proxy_size_cap_flag_is_enforced() {
    const PUBLIC: &str = "http://127.0.0.1:9";
    let crate::support::SalesforceSetup {
        emulator: _emulator,
        login,
        dir,
        app,
        key,
    } = crate::support::salesforce_setup(
        "3MVG9sizecap",
        "SIZECAPSECRET0123",
        PUBLIC,
        true,
        &["--redirect-uri", "https://example.com/done"],
    )
    .await;

    let mut cmd = patchbay();
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--public-url",
        PUBLIC,
        "--proxy-max-body-bytes",
        "1000",
    ])
    .env("PATCHBAY_DATA_DIR", dir.path());
    let mut server = Running::start(cmd);
    let base = server.listening_base();

    crate::support::connect_salesforce(&base, PUBLIC, &login, &app, &key, "capped").await;
    let client = http();

    let proxy = |body: Vec<u8>| {
        client
            .post(format!("{base}/proxy"))
            .bearer_auth(&key)
            .header("x-apideck-app-id", &app)
            .header("x-apideck-consumer-id", "capped")
            .header(
                "x-apideck-downstream-url",
                "/services/data/v66.0/sobjects/Account",
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let big = serde_json::to_vec(&serde_json::json!({ "Name": "x".repeat(2_000) })).expect("json");
    let r = proxy(big).await.expect("proxy");
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.headers()
            .get("x-apideck-downstream-error")
            .and_then(|v| v.to_str().ok()),
        Some("false")
    );
    let v: Value = r.json().await.expect("json");
    assert!(v["detail"].to_string().contains("1000"), "{v}");

    let small = serde_json::to_vec(&serde_json::json!({ "Name": "Small Co" })).expect("json");
    let r = proxy(small).await.expect("proxy");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
}
