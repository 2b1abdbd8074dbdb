//! `state_file`: a restarted emulator keeps grants, tokens, apps, users, records and its clock.
//! Each test restarts on a new port 0 over the same file in its own temp dir.

use std::path::{Path, PathBuf};
use std::time::Instant;

use patchbay_fake_salesforce::persist::DEBOUNCE;
use patchbay_fake_salesforce::{EmulatorConfig, EmulatorError, StateFileError, spawn};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Env, start_with};

const V: &str = "/services/data/v66.0";

fn config(path: &Path) -> EmulatorConfig {
    EmulatorConfig {
        auto_approve: true,
        state_file: Some(path.to_owned()),
        ..EmulatorConfig::default()
    }
}

fn state_path() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("emulator-state.json");
    (dir, path)
}

async fn rest(
    env: &Env,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = env
        .http
        .request(method, env.url(&format!("{V}{path}")))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("rest call");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn create_contact(env: &Env, token: &str, last_name: &str) -> String {
    let body = json!({"LastName": last_name});
    let (status, created) = rest(env, Method::POST, "/sobjects/Contact", token, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_str().expect("id").to_owned()
}

fn token_pair(tokens: &Value) -> (String, String) {
    let access = tokens["access_token"].as_str().expect("access token");
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    (access.to_owned(), refresh.to_owned())
}

#[tokio::test]
async fn a_restart_keeps_tokens_and_records() {
    let (_dir, path) = state_path();
    let env = start_with(config(&path)).await;
    let (access, refresh) = token_pair(&env.tokens("api refresh_token").await);
    let kept = create_contact(&env, &access, "Kept").await;
    let gone = create_contact(&env, &access, "Gone").await;
    let (status, _) = rest(
        &env,
        Method::DELETE,
        &format!("/sobjects/Contact/{gone}"),
        &access,
        None,
    )
    .await;
    assert_eq!(status, 204);
    env.handle.shutdown().await;

    let env = start_with(config(&path)).await;
    let (status, record) = rest(
        &env,
        Method::GET,
        &format!("/sobjects/Contact/{kept}"),
        &access,
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "the old access token and the record both survive: {record}"
    );
    assert_eq!(record["LastName"], "Kept");
    let (status, body) = env.refresh(&refresh).await;
    assert_eq!(status, 200, "the old refresh token still refreshes: {body}");
    let (status, _) = rest(
        &env,
        Method::GET,
        &format!("/sobjects/Contact/{gone}"),
        &access,
        None,
    )
    .await;
    assert_eq!(status, 404, "a deleted record stays deleted");
    let soql = format!("SELECT Id, IsDeleted FROM Contact WHERE Id = '{gone}'");
    let all = format!("/queryAll?q={}", urlencode(&soql));
    let (status, result) = rest(&env, Method::GET, &all, &access, None).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["totalSize"], 1, "{result}");
    assert_eq!(result["records"][0]["IsDeleted"], true, "{result}");
    let live = format!("/query?q={}", urlencode(&soql));
    let (_, result) = rest(&env, Method::GET, &live, &access, None).await;
    assert_eq!(result["totalSize"], 0, "{result}");
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn rotation_and_reuse_detection_survive_a_restart() {
    let (_dir, path) = state_path();
    let rotating = EmulatorConfig {
        rotate_refresh_tokens: true,
        ..config(&path)
    };
    let env = start_with(rotating.clone()).await;
    let (_, first) = token_pair(&env.tokens("api refresh_token").await);
    let (status, body) = env.refresh(&first).await;
    assert_eq!(status, 200, "{body}");
    let current = body["refresh_token"]
        .as_str()
        .expect("rotated token")
        .to_owned();
    env.handle.shutdown().await;

    let env = start_with(rotating).await;
    let (status, body) = env.refresh(&current).await;
    assert_eq!(status, 200, "the current token works: {body}");
    let newest = body["refresh_token"]
        .as_str()
        .expect("rotated again")
        .to_owned();
    let (status, body) = env.refresh(&first).await;
    crate::support::assert_error(
        status,
        &body,
        "invalid_grant",
        "expired access/refresh token",
    );
    let (status, body) = env.refresh(&newest).await;
    assert_eq!(status, 400, "reuse revoked the whole chain: {body}");
}

#[tokio::test]
async fn apps_users_the_clock_and_control_plane_settings_survive_but_flags_win() {
    let (_dir, path) = state_path();
    let env = start_with(config(&path)).await;
    let (status, app) = env
        .control(
            Method::POST,
            "/apps",
            json!({"name": "Second", "rotate_refresh_tokens": true}),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    let (status, _) = env
        .control(
            Method::POST,
            "/users",
            json!({"username": "kim@emulator.test", "password": "pw"}),
        )
        .await;
    assert_eq!(status, 201);
    // Two settings on the default app: one a flag sets, one only the control plane can.
    env.patch_default_app(json!({"require_pkce": false, "introspect_all_tokens": true}))
        .await;
    env.advance(3600).await;
    env.handle.shutdown().await;

    let env = start_with(config(&path)).await;
    let (_, apps) = env.control(Method::GET, "/apps", Value::Null).await;
    let second = apps
        .as_array()
        .and_then(|a| a.iter().find(|a| a["name"] == "Second"))
        .unwrap_or_else(|| panic!("the created app survives: {apps}"));
    assert_eq!(second["client_id"], app["client_id"]);
    assert_eq!(second["client_secret"], app["client_secret"]);
    assert_eq!(second["settings"]["rotate_refresh_tokens"], true);
    let default = &apps[0];
    assert_eq!(default["client_id"], env.client_id);
    assert_eq!(default["settings"]["require_pkce"], true, "the flag wins");
    assert_eq!(
        default["settings"]["introspect_all_tokens"], true,
        "the rest survives"
    );
    let (_, users) = env.control(Method::GET, "/users", Value::Null).await;
    assert!(users.to_string().contains("kim@emulator.test"), "{users}");
    let (_, clock) = env.control(Method::GET, "/clock", Value::Null).await;
    let wall = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let ahead = clock["now_ms"].as_i64().expect("now_ms") - wall;
    assert!(
        (3_590_000..3_700_000).contains(&ahead),
        "the clock stays ahead: {ahead} ms"
    );
}

#[tokio::test]
async fn a_kill_loses_at_most_the_last_debounce_window() {
    let (_dir, path) = state_path();
    let env = start_with(config(&path)).await;
    let (access, refresh) = token_pair(&env.tokens("api refresh_token").await);
    let id = create_contact(&env, &access, "Unflushed").await;
    // No shutdown: wait for the writer alone, then drop the handle as a kill would.
    let deadline = Instant::now() + DEBOUNCE * 25;
    loop {
        let text = std::fs::read_to_string(&path).expect("state file");
        if text.contains(&id) && text.contains(&refresh) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not written within {:?}",
            DEBOUNCE * 25
        );
        tokio::time::sleep(DEBOUNCE / 4).await;
    }
    drop(env);

    let env = start_with(config(&path)).await;
    let (status, _) = rest(
        &env,
        Method::GET,
        &format!("/sobjects/Contact/{id}"),
        &access,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = env.refresh(&refresh).await;
    assert_eq!(status, 200, "{body}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_state_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = state_path();
    std::fs::write(&path, b"").expect("an empty file, as mktemp leaves it");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let env = start_with(config(&path)).await;
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600, "written at start, owner-only");
    env.tokens("api refresh_token").await;
    env.handle.shutdown().await;
    assert_eq!(mode(&path), 0o600, "and at every write after");
}

async fn refused(path: &Path, config: EmulatorConfig) -> StateFileError {
    match spawn(config).await {
        Err(EmulatorError::StateFile(e)) => {
            let message = e.to_string();
            assert!(
                message.contains(&path.display().to_string()),
                "names the file: {message}"
            );
            e
        }
        Err(other) => panic!("not a state file error: {other}"),
        Ok(_) => panic!("started over a bad state file"),
    }
}

#[tokio::test]
async fn a_bad_state_file_is_refused_and_kept() {
    let (_dir, path) = state_path();
    std::fs::write(&path, b"{\"version\": 1, \"clock_").expect("write");
    let e = refused(&path, config(&path)).await;
    assert!(matches!(e, StateFileError::Invalid { .. }), "{e}");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"{\"version\": 1, \"clock_",
        "never discarded"
    );

    std::fs::write(&path, b"{\"version\": 2, \"from\": \"the future\"}").expect("write");
    let e = refused(&path, config(&path)).await;
    assert!(
        matches!(e, StateFileError::NewerVersion { found: 2, .. }),
        "{e}"
    );
}

#[tokio::test]
async fn a_state_file_of_another_org_is_refused() {
    let (_dir, path) = state_path();
    let env = start_with(config(&path)).await;
    let app = json!({"name": "Taken", "client_id": "taken-key"});
    let (status, body) = env.control(Method::POST, "/apps", app).await;
    assert_eq!(status, 201, "{body}");
    env.handle.shutdown().await;
    let taken = EmulatorConfig {
        client_id: "taken-key".to_owned(),
        ..config(&path)
    };
    let e = refused(&path, taken).await;
    assert!(
        e.to_string().contains("\"Taken\" with client id taken-key"),
        "{e}"
    );
    let other = EmulatorConfig {
        seed: 7,
        ..config(&path)
    };
    let e = refused(&path, other).await;
    assert!(matches!(e, StateFileError::Mismatch { .. }), "{e}");
    assert!(e.to_string().contains("seed 42"), "{e}");
    let clash = EmulatorConfig {
        records: 10,
        ..config(&path)
    };
    assert!(matches!(
        refused(&path, clash).await,
        StateFileError::Mismatch { .. }
    ));
    // Untouched by the refusals: the right settings still start.
    let env = start_with(config(&path)).await;
    env.handle.shutdown().await;
}

/// Two emulators on one state file would each overwrite the other's state: the second start
/// is refused, naming the file, until the first has stopped (a kill frees it too, since the
/// operating system drops the lock with the process).
#[tokio::test]
async fn a_state_file_in_use_is_refused_until_its_emulator_stops() {
    let (_dir, path) = state_path();
    let first = start_with(config(&path)).await;
    let e = refused(&path, config(&path)).await;
    assert!(matches!(e, StateFileError::InUse { .. }), "{e:?}");
    assert!(e.to_string().contains("in use"), "{e}");
    first.handle.shutdown().await;
    let again = start_with(config(&path)).await;
    again.handle.shutdown().await;
}
