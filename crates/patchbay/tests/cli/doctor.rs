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

/// `patchbay doctor --json` for `crm/hubspot`: the exit code and the report.
fn hubspot_doctor(path: &std::path::Path, app: &str, public_url: &str) -> (Option<i32>, Value) {
    let o = run(
        path,
        &[
            "doctor",
            "--app",
            app,
            "crm/hubspot",
            "--public-url",
            public_url,
            "--json",
        ],
    );
    let v = serde_json::from_str(stdout(&o).trim())
        .unwrap_or_else(|e| panic!("json report ({e}): {} {}", stdout(&o), stderr(&o)));
    (o.status.code(), v)
}

fn hubspot_check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

fn set_hubspot(path: &std::path::Path, app: &str, secret: &str, login: &str, scopes: &str) {
    let set = run(
        path,
        &[
            "integrations",
            "set",
            "--app",
            app,
            "crm/hubspot",
            "--client-id",
            HUBSPOT_ID,
            "--client-secret",
            secret,
            "--login-url",
            login,
            "--scopes",
            scopes,
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
}

const HUBSPOT_ID: &str = "5a1e0b52-7c3d-4f0e-9d8b-00000doctor0";
const HUBSPOT_SECRET: &str = "hubspot-doctor-secret-0123";

#[tokio::test]
async fn doctor_names_hubspots_own_setup_mistakes() {
    let emulator = patchbay_fake_hubspot::spawn(patchbay_fake_hubspot::EmulatorConfig {
        client_id: HUBSPOT_ID.to_owned(),
        client_secret: HUBSPOT_SECRET.to_owned(),
        redirect_uris: vec![format!("{PUBLIC_URL}/vault/callback")],
        ..patchbay_fake_hubspot::EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let login = emulator.base_url();
    let all_scopes = patchbay_fake_hubspot::config::DEFAULT_SCOPES.to_owned();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().to_owned();
    let (healthy, redirect, scope, secret, no_email_content) = blocking(move || {
        let (app, _) = create_app(&path, &[]);
        set_hubspot(&path, &app, HUBSPOT_SECRET, &login, &all_scopes);
        let healthy = hubspot_doctor(&path, &app, PUBLIC_URL);
        // The app lists another redirect URL than this deployment's callback.
        let redirect = hubspot_doctor(&path, &app, "http://127.0.0.1:8");
        // The integration requests fewer scopes than the app requires.
        let fewer = all_scopes.replace(" crm.objects.deals.write", "");
        set_hubspot(&path, &app, HUBSPOT_SECRET, &login, &fewer);
        let scope = hubspot_doctor(&path, &app, PUBLIC_URL);
        // Email activities need their content scope too; an integration without it is the
        // same setup mistake.
        let no_email = all_scopes.replace(" sales-email-read", "");
        assert_ne!(no_email, all_scopes, "the app requires sales-email-read");
        set_hubspot(&path, &app, HUBSPOT_SECRET, &login, &no_email);
        let no_email_content = hubspot_doctor(&path, &app, PUBLIC_URL);
        set_hubspot(&path, &app, "not-the-secret", &login, &all_scopes);
        let secret = hubspot_doctor(&path, &app, PUBLIC_URL);
        (healthy, redirect, scope, secret, no_email_content)
    })
    .await;

    let (code, r) = healthy;
    assert_eq!(code, Some(0), "{r:#}");
    let ids: Vec<&str> = r["checks"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["id"].as_str()).collect())
        .unwrap_or_default();
    // HubSpot's own list: no PKCE, refresh-without-secret or rotation checks; introspection
    // reads HubSpot's token metadata, so it waits for a connected customer (none here).
    assert_eq!(
        ids,
        [
            "credentials",
            "enabled",
            "login_host",
            "client_id",
            "client_secret",
            "callback_url",
            "introspection",
            "scopes"
        ],
        "{r:#}"
    );
    assert_eq!(
        hubspot_check(&r, "introspection")["status"],
        "skipped",
        "{r:#}"
    );
    for id in [
        "credentials",
        "login_host",
        "client_id",
        "client_secret",
        "callback_url",
    ] {
        assert_eq!(hubspot_check(&r, id)["status"], "passed", "{id}: {r:#}");
    }
    assert_eq!(
        hubspot_check(&r, "client_id")["title"],
        "Client ID recognised (app active)"
    );
    assert!(!r.to_string().contains(HUBSPOT_SECRET));
    assert!(
        !r.to_string().to_ascii_lowercase().contains("consumer"),
        "{r:#}"
    );

    let (code, r) = redirect;
    assert_eq!(code, Some(3), "{r:#}");
    let c = hubspot_check(&r, "callback_url");
    assert_eq!(c["status"], "failed", "{r:#}");
    let fix = c["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("add http://127.0.0.1:8/vault/callback as a Redirect URL")
            && fix.contains("HubSpot developer account"),
        "{fix}"
    );
    assert!(
        c["detail"]
            .as_str()
            .is_some_and(|d| d.contains("redirect URL")),
        "{c:#}"
    );

    let (code, r) = scope;
    assert_eq!(code, Some(3), "{r:#}");
    let c = hubspot_check(&r, "scopes");
    assert_eq!(c["status"], "failed", "{r:#}");
    assert!(
        c["fix"].as_str().is_some_and(|f| f.contains("> Scopes")),
        "{c:#}"
    );
    assert_eq!(
        hubspot_check(&r, "callback_url")["status"],
        "skipped",
        "{r:#}"
    );

    let (code, r) = no_email_content;
    assert_eq!(code, Some(3), "{r:#}");
    assert_eq!(hubspot_check(&r, "scopes")["status"], "failed", "{r:#}");

    let (code, r) = secret;
    assert_eq!(code, Some(3), "{r:#}");
    assert_eq!(hubspot_check(&r, "client_id")["status"], "passed", "{r:#}");
    let c = hubspot_check(&r, "client_secret");
    assert_eq!(c["status"], "failed", "{r:#}");
    assert!(
        c["fix"]
            .as_str()
            .is_some_and(|f| f.contains("Client secret again")),
        "{c:#}"
    );
    assert!(!r.to_string().contains("not-the-secret"));
}
