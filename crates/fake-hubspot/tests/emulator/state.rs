//! `--state-file`: what the account and its tokens were survives a restart; a file that does
//! not fit is refused, named, and left as it was.

use std::path::{Path, PathBuf};

use patchbay_fake_hubspot::{EmulatorConfig, spawn};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Emu, auto, start};

/// A folder of its own under the system temp dir, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("fake-hubspot-state-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("hubspot-state.json")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn with_file(path: &Path, records: usize) -> EmulatorConfig {
    EmulatorConfig {
        state_file: Some(path.to_owned()),
        ..auto(records)
    }
}

async fn stop(emu: Emu) {
    let Emu { _handle, .. } = emu;
    _handle.shutdown().await;
}

async fn refresh(emu: &Emu, refresh_token: &str) -> (StatusCode, Value) {
    emu.token(&[
        ("grant_type", "refresh_token"),
        ("client_id", &emu.config.client_id),
        ("client_secret", &emu.config.client_secret),
        ("refresh_token", refresh_token),
    ])
    .await
}

#[tokio::test]
async fn a_restarted_emulator_keeps_records_tokens_and_the_clock() {
    let scratch = Scratch::new();
    let emu = start(with_file(&scratch.file(), 20)).await;
    let tokens = emu.install().await;
    let (status, created) = emu
        .send(
            Method::POST,
            &tokens.access,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "kept@example.com", "firstname": "Kept"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let (_, page) = emu
        .get(&tokens.access, "/crm/v3/objects/deals?limit=1")
        .await;
    let deal = page["results"][0]["id"]
        .as_str()
        .expect("a deal")
        .to_owned();
    let (status, _) = emu
        .send(
            Method::DELETE,
            &tokens.access,
            &format!("/crm/v3/objects/deals/{deal}"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, pipeline) = emu
        .send(
            Method::POST,
            &tokens.access,
            "/crm/v3/pipelines/deals",
            &json!({"label": "Kept", "displayOrder": 3, "stages": [
                {"label": "Only", "displayOrder": 0, "metadata": {"probability": "0.5"}}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pipeline}");
    let (status, _) = emu
        .send(
            Method::DELETE,
            &tokens.access,
            "/crm/v3/pipelines/deals/renewals",
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let clock = emu
        .control(
            Method::POST,
            "/clock",
            Some(json!({"advance_seconds": 120})),
        )
        .await;
    let listed = emu.control(Method::GET, "/tokens", None).await;
    stop(emu).await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(scratch.file())
            .expect("the state file exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let document: Value =
        serde_json::from_slice(&std::fs::read(scratch.file()).expect("read")).expect("json");
    assert_eq!(document["version"], 1);

    let emu = start(with_file(&scratch.file(), 20)).await;
    // The access token still authenticates; the created contact and the archive are there.
    let (status, contact) = emu
        .get(&tokens.access, &format!("/crm/v3/objects/contacts/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{contact}");
    assert_eq!(contact["properties"]["email"], "kept@example.com");
    let (status, _) = emu
        .get(&tokens.access, &format!("/crm/v3/objects/deals/{deal}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The created pipeline is there, the deleted one is not.
    let (_, pipelines) = emu.get(&tokens.access, "/crm/v3/pipelines/deals").await;
    assert_eq!(pipelines["results"][0]["id"], "default", "{pipelines}");
    assert_eq!(pipelines["results"][1], pipeline, "{pipelines}");
    assert_eq!(pipelines["results"].as_array().expect("results").len(), 2);
    // The refresh token still refreshes, and is not rotated.
    let (status, body) = refresh(&emu, &tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["refresh_token"], tokens.refresh);
    // The clock offset is kept; the token list is the same, in the same order, plus the new one.
    let now = emu.control(Method::GET, "/clock", None).await;
    assert!(
        now["now_ms"].as_i64().expect("now_ms") >= clock["now_ms"].as_i64().expect("now_ms"),
        "{now} {clock}"
    );
    let again = emu.control(Method::GET, "/tokens", None).await;
    let values = |v: &Value| -> Vec<Value> {
        v.as_array()
            .expect("tokens")
            .iter()
            .map(|t| t["value"].clone())
            .collect()
    };
    let (before, after) = (values(&listed), values(&again));
    assert_eq!(after.len(), before.len() + 1, "{again}");
    assert_eq!(&after[..before.len()], &before[..]);
    // New records carry on from the saved id counter: no id is handed out twice.
    let (status, next) = emu
        .send(
            Method::POST,
            &tokens.access,
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "next@example.com"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{next}");
    let next_id: u64 = next["id"].as_str().expect("id").parse().expect("number");
    assert!(next_id > id.parse::<u64>().expect("number"));
    stop(emu).await;
}

#[tokio::test]
async fn changes_are_written_within_the_debounce_window_without_a_graceful_stop() {
    let scratch = Scratch::new();
    let emu = start(with_file(&scratch.file(), 0)).await;
    let tokens = emu.install().await;
    tokio::time::sleep(patchbay_fake_hubspot::persist::DEBOUNCE * 4).await;
    // Dropped, as a kill would end it: no last write.
    drop(emu);
    let emu = start(with_file(&scratch.file(), 0)).await;
    let (status, body) = refresh(&emu, &tokens.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    stop(emu).await;
}

#[tokio::test]
async fn an_empty_file_starts_fresh_and_is_written_at_once() {
    let scratch = Scratch::new();
    std::fs::write(scratch.file(), b"").expect("write");
    let emu = start(with_file(&scratch.file(), 0)).await;
    let document: Value =
        serde_json::from_slice(&std::fs::read(scratch.file()).expect("read")).expect("json");
    assert_eq!(document["version"], 1);
    assert_eq!(document["tokens"], json!([]));
    stop(emu).await;
}

#[tokio::test]
async fn a_file_that_does_not_fit_is_refused_named_and_left_alone() {
    let scratch = Scratch::new();
    let path = scratch.file();
    let emu = start(with_file(&path, 10)).await;
    stop(emu).await;
    let saved = std::fs::read(&path).expect("read");

    let other_seed = EmulatorConfig {
        seed: 7,
        ..with_file(&path, 10)
    };
    let err = spawn(other_seed).await.err().expect("refused").to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("seed 42") && err.contains("seed 7"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), saved);

    for (text, expected) in [
        (&b"not json"[..], "is not valid"),
        (&br#"{"version": 99}"#[..], "newer than this emulator reads"),
        (&br#"{"version": 1, "surprise": true}"#[..], "is not valid"),
    ] {
        std::fs::write(&path, text).expect("write");
        let err = spawn(with_file(&path, 10))
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains(expected), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), text);
    }
}
