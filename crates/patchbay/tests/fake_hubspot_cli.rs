//! Drives the real `patchbay fake-hubspot` binary the way a user's script does: start it on
//! port 0, read the one-line JSON it prints, install the app and call the CRM API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Running {
    child: Child,
    info: serde_json::Value,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(extra: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patchbay"))
        .args(["fake-hubspot", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the emulator prints a line");
    let info: serde_json::Value =
        serde_json::from_str(line.trim()).expect("the first line is one JSON object");
    Running { child, info }
}

fn text(info: &serde_json::Value, key: &str) -> String {
    info[key]
        .as_str()
        .unwrap_or_else(|| panic!("startup line has {key}: {info}"))
        .to_owned()
}

#[tokio::test]
async fn prints_one_json_line_and_serves_the_install_flow_and_the_crm_api() {
    let running = start(&[
        "--auto-approve",
        "--records",
        "50",
        "--client-id",
        "my-app",
        "--client-secret",
        "my-secret",
        "--redirect-uri",
        "http://cb.test/done",
        "--scopes",
        "oauth crm.objects.contacts.read",
    ]);
    let info = &running.info;
    let base = text(info, "base_url");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(
        text(info, "authorize_url"),
        format!("{base}/oauth/authorize")
    );
    assert_eq!(text(info, "api_url"), base);
    assert_eq!(text(info, "client_id"), "my-app");
    assert_eq!(text(info, "client_secret"), "my-secret");
    assert_eq!(info["redirect_uris"][0], "http://cb.test/done");
    assert_eq!(text(info, "user"), "admin@emulator.test");
    assert!(info["hub_id"].is_u64());

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let authorize = client
        .get(text(info, "authorize_url"))
        .query(&[
            ("client_id", "my-app"),
            ("redirect_uri", "http://cb.test/done"),
            ("scope", "oauth crm.objects.contacts.read"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(authorize.status(), reqwest::StatusCode::FOUND);
    let location = authorize.headers()["location"].to_str().expect("location");
    let code = location.split("code=").nth(1).expect("a code").to_owned();
    let tokens: serde_json::Value = client
        .post(text(info, "token_url"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "my-app"),
            ("client_secret", "my-secret"),
            ("redirect_uri", "http://cb.test/done"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = tokens["access_token"].as_str().expect("access token");
    let contacts: serde_json::Value = client
        .get(format!("{base}/crm/v3/objects/contacts?limit=100"))
        .bearer_auth(access)
        .send()
        .await
        .expect("contacts")
        .json()
        .await
        .expect("json");
    assert_eq!(
        contacts["results"].as_array().map(Vec::len),
        Some(20),
        "{contacts}"
    );
}

/// SIGINT, as Ctrl-C ends the emulator, and the exit status.
fn interrupt(running: &mut Running) -> std::process::ExitStatus {
    let pid = running.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    running.child.wait().expect("the emulator exits")
}

#[tokio::test]
async fn state_file_and_control_token_flags_keep_tokens_and_guard_the_control_plane() {
    let dir = std::env::temp_dir().join(format!("fake-hubspot-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("state.json");
    let path = file.to_str().expect("utf-8 path");
    let flags = [
        "--auto-approve",
        "--records",
        "10",
        "--redirect-uri",
        "http://cb.test/done",
        "--state-file",
        path,
        "--control-token",
        "ctl-secret",
    ];
    let mut running = start(&flags);
    let info = running.info.clone();
    assert_eq!(text(&info, "state_file"), path);
    assert_eq!(text(&info, "control_token"), "ctl-secret");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let tokens_url = format!("{}/tokens", text(&info, "control_plane"));
    let status = |token: Option<&'static str>| {
        let mut request = client.get(&tokens_url);
        if let Some(t) = token {
            request = request.header("x-emulator-token", t);
        }
        async move { request.send().await.expect("send").status() }
    };
    assert_eq!(status(None).await, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(status(Some("wrong")).await, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(status(Some("ctl-secret")).await, reqwest::StatusCode::OK);

    // An install, then Ctrl-C: the refresh token is in the file and works after a restart.
    let authorize = client
        .get(text(&info, "authorize_url"))
        .query(&[
            ("client_id", text(&info, "client_id").as_str()),
            ("redirect_uri", "http://cb.test/done"),
            ("scope", patchbay_fake_hubspot::config::DEFAULT_SCOPES),
        ])
        .send()
        .await
        .expect("authorize");
    let location = authorize.headers()["location"].to_str().expect("location");
    let code = location
        .split("code=")
        .nth(1)
        .and_then(|c| c.split('&').next())
        .expect("a code")
        .to_owned();
    let form = |grant: &'static str, key: &'static str, value: String| {
        vec![
            ("grant_type", grant.to_owned()),
            ("client_id", text(&info, "client_id")),
            ("client_secret", text(&info, "client_secret")),
            ("redirect_uri", "http://cb.test/done".to_owned()),
            (key, value),
        ]
    };
    let tokens: serde_json::Value = client
        .post(text(&info, "token_url"))
        .form(&form("authorization_code", "code", code))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert!(interrupt(&mut running).success());
    let saved = std::fs::read_to_string(&file).expect("the state file is written");
    assert!(saved.contains(&refresh));

    let again = start(&flags);
    let r = client
        .post(text(&again.info, "token_url"))
        .form(&form("refresh_token", "refresh_token", refresh))
        .send()
        .await
        .expect("refresh");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
