//! `patchbay doctor`: the report against an in-process emulator, and its exit codes.

use patchbay_fake_salesforce::EmulatorConfig;
use serde_json::Value;

use crate::support::{create_app, run, set_salesforce_integration, stderr, stdout};

const PUBLIC_URL: &str = "http://127.0.0.1:9";

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

#[tokio::test]
async fn doctor_passes_a_healthy_integration_and_fails_with_the_fix() {
    let emulator = patchbay_fake_salesforce::spawn(EmulatorConfig {
        client_id: "3MVG9doctor".to_owned(),
        client_secret: "DOCTORSECRET0123".to_owned(),
        callback_urls: vec![format!("{PUBLIC_URL}/vault/callback")],
        require_secret_for_refresh: false,
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let login = emulator.base_url();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().to_owned();
    let (code, out, app) = blocking(move || {
        let (app, _) = create_app(&path, &[]);
        set_salesforce_integration(&path, &app, "3MVG9doctor", "DOCTORSECRET0123", &login);
        let o = run(
            &path,
            &[
                "doctor",
                "--app",
                &app,
                "crm/salesforce",
                "--public-url",
                PUBLIC_URL,
            ],
        );
        (o.status.code(), stdout(&o), app)
    })
    .await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("[PASS] Consumer key recognised") && out.contains("All checks passed"),
        "{out}"
    );
    assert!(
        out.contains("[SKIP] Introspection allowed"),
        "no connection yet: {out}"
    );
    assert!(!out.contains("DOCTORSECRET0123"));

    // Salesforce side: "Require Secret for Refresh Token Flow" gets checked.
    let r = reqwest::Client::new()
        .patch(format!(
            "{}/__emulator/apps/3MVG9doctor",
            emulator.base_url()
        ))
        .json(&serde_json::json!({ "require_secret_refresh": true }))
        .send()
        .await
        .expect("control plane");
    assert!(r.status().is_success());
    let path = dir.path().to_owned();
    let (human, json) = blocking(move || {
        let h = run(
            &path,
            &[
                "doctor",
                "--app",
                &app,
                "crm/salesforce",
                "--public-url",
                PUBLIC_URL,
            ],
        );
        let j = run(
            &path,
            &[
                "doctor",
                "--app",
                &app,
                "crm/salesforce",
                "--public-url",
                PUBLIC_URL,
                "--json",
            ],
        );
        (h, j)
    })
    .await;
    assert_eq!(human.status.code(), Some(3), "{}", stdout(&human));
    let text = stdout(&human);
    assert!(
        text.contains("[FAIL] Refresh works without the secret")
            && text.contains("uncheck 'Require Secret for Refresh Token Flow'")
            && text.contains("1 check(s) failed"),
        "{text}"
    );
    assert_eq!(json.status.code(), Some(3));
    let v: Value = serde_json::from_str(stdout(&json).trim()).expect("json report");
    assert_eq!(v["ok"], false);
    assert!(v["checks"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["id"] == "refresh_without_secret" && c["status"] == "failed")
    }));

    // An integration that does not exist is an error (exit 1), not a failed check.
    let path = dir.path().to_owned();
    let missing = blocking(move || {
        let (other, _) = create_app(&path, &[]);
        run(&path, &["doctor", "--app", &other, "crm/salesforce"])
    })
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("integration not found"),
        "{}",
        stderr(&missing)
    );
}
