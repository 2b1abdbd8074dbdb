//! Drives the real `patchbay fake-salesforce` binary the way a user's script does: start it on
//! port 0, read the one-line JSON it prints, and talk to it over HTTP.

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
        .args(["fake-salesforce", "--listen", "127.0.0.1:0"])
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

fn base_url(info: &serde_json::Value) -> String {
    info["base_url"]
        .as_str()
        .expect("startup line has base_url")
        .to_owned()
}

#[tokio::test]
async fn prints_its_url_and_credentials_as_one_json_line() {
    let running = start(&["--client-id", "my-key", "--client-secret", "my-secret"]);
    let base = base_url(&running.info);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let text = running.info.to_string();
    assert!(text.contains("my-key"), "client id is printed: {text}");
    assert!(
        text.contains("my-secret"),
        "client secret is printed for scripts: {text}"
    );

    // The versions resource needs no auth: proof that the printed URL serves Salesforce's REST API.
    let versions: serde_json::Value = reqwest::get(format!("{base}/services/data/"))
        .await
        .expect("reachable")
        .json()
        .await
        .expect("json");
    assert!(
        versions.as_array().is_some_and(|v| !v.is_empty()),
        "{versions}"
    );
}

/// Runs the web-server flow with PKCE against the auto-approving emulator and returns the
/// refresh token.
async fn authorize_and_exchange(client: &reqwest::Client, info: &serde_json::Value) -> String {
    use base64::Engine as _;
    let base = base_url(info);
    let client_id = info["client_id"].as_str().expect("client_id");
    let secret = info["client_secret"].as_str().expect("client_secret");
    let callback = info["callback_urls"][0].as_str().expect("a callback url");
    let verifier = "a-verifier-that-is-long-enough-to-be-valid-for-pkce-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()),
    );
    let resp = client
        .get(format!("{base}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", callback),
            ("scope", "api refresh_token"),
            ("state", "s-123"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize reachable");
    assert_eq!(resp.status(), 302, "auto-approve redirects straight back");
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let location = url::Url::parse(&location).expect("absolute redirect");
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query.get("state").map(String::as_str), Some("s-123"));
    let code = query.get("code").expect("a code").clone();
    let tokens: serde_json::Value = client
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", client_id),
            ("client_secret", secret),
            ("redirect_uri", callback),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .expect("token reachable")
        .json()
        .await
        .expect("json");
    tokens["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("refresh token granted: {tokens}"))
        .to_owned()
}

async fn refresh_without_secret(
    client: &reqwest::Client,
    info: &serde_json::Value,
    refresh_token: &str,
) -> (u16, serde_json::Value) {
    let resp = client
        .post(format!("{}/services/oauth2/token", base_url(info)))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", info["client_id"].as_str().expect("client_id")),
        ])
        .send()
        .await
        .expect("token reachable");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

#[tokio::test]
async fn require_secret_for_refresh_flag_decides_whether_refresh_needs_the_secret() {
    let client = no_redirects();

    let relaxed = start(&[
        "--require-secret-for-refresh",
        "false",
        "--auto-approve",
        "true",
    ]);
    let refresh = authorize_and_exchange(&client, &relaxed.info).await;
    let (status, body) = refresh_without_secret(&client, &relaxed.info, &refresh).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    assert!(
        body.get("expires_in").is_none(),
        "Salesforce sends no expires_in: {body}"
    );

    let strict = start(&["--auto-approve"]);
    let refresh = authorize_and_exchange(&client, &strict.info).await;
    let (status, body) = refresh_without_secret(&client, &strict.info, &refresh).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_client", "{body}");
    assert_eq!(
        body["error_description"], "invalid client credentials",
        "{body}"
    );
}

#[tokio::test]
async fn unknown_grant_types_get_salesforces_error_pair() {
    let running = start(&[]);
    let resp = no_redirects()
        .post(format!("{}/services/oauth2/token", base_url(&running.info)))
        .form(&[("grant_type", "password_magic")])
        .send()
        .await
        .expect("reachable");
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.expect("json error");
    assert_eq!(body["error"], "unsupported_grant_type", "{body}");
    assert_eq!(
        body["error_description"], "grant type not supported",
        "{body}"
    );
}
