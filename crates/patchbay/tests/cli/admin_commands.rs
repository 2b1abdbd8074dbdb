//! `apps`, `api-keys`, `integrations` and `keys` on a temp data dir.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::Value;

use crate::support::{create_app, ok, patchbay, run, stderr, stdout};

#[test]
fn apps_create_json_prints_one_object_with_id_and_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(
        dir.path(),
        &[
            "apps",
            "create",
            "--name",
            "Acme",
            "--redirect-uri",
            "https://acme.example.com/connected",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--json",
        ],
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    let obj = v.as_object().expect("object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["api_key", "application_id"]);
    assert!(v["api_key"].as_str().is_some_and(|k| k.starts_with("pbk_")));
    let id = v["application_id"].as_str().expect("id");

    let list: Value =
        serde_json::from_str(ok(dir.path(), &["apps", "list", "--json"]).trim()).expect("json");
    let app = list
        .as_array()
        .and_then(|a| a.iter().find(|x| x["application_id"] == id))
        .expect("listed");
    assert_eq!(app["redirect_uris"].as_array().map(Vec::len), Some(2));
    assert!(
        !list
            .to_string()
            .contains(v["api_key"].as_str().unwrap_or("-"))
    );

    // Bad input is a clear error, not a panic.
    let bad = run(
        dir.path(),
        &[
            "apps",
            "create",
            "--name",
            "X",
            "--redirect-uri",
            "javascript:alert(1)",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("redirect URI"), "{}", stderr(&bad));
    assert!(!stderr(&bad).contains("panicked"));
}

#[test]
fn api_keys_are_shown_once_listed_without_secrets_and_revocable() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, first_key) = create_app(dir.path(), &[]);
    let out = ok(
        dir.path(),
        &[
            "api-keys", "create", "--app", &app, "--name", "exporter", "--scope", "vault",
            "--scope", "export", "--json",
        ],
    );
    let created: Value = serde_json::from_str(out.trim()).expect("json");
    let key = created["api_key"].as_str().expect("key").to_owned();
    assert_eq!(created["scopes"], serde_json::json!(["vault", "export"]));
    let id = created["id"].as_str().expect("id").to_owned();

    let listed = ok(dir.path(), &["api-keys", "list", "--app", &app, "--json"]);
    assert!(
        !listed.contains(&key) && !listed.contains(&first_key),
        "{listed}"
    );
    let v: Value = serde_json::from_str(listed.trim()).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(2));

    ok(dir.path(), &["api-keys", "revoke", "--app", &app, &id]);
    let v: Value =
        serde_json::from_str(ok(dir.path(), &["api-keys", "list", "--app", &app, "--json"]).trim())
            .expect("json");
    let revoked = v
        .as_array()
        .and_then(|a| a.iter().find(|k| k["id"] == id.as_str()))
        .expect("still listed");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let unknown = run(
        dir.path(),
        &["api-keys", "create", "--app", &app, "--scope", "admin"],
    );
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("unknown scope"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn integrations_never_echo_a_secret() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, _) = create_app(dir.path(), &[]);
    let secret = format!("SECRET{}", std::process::id());
    let staged_secret = format!("STAGED{}", std::process::id());
    let set = run(
        dir.path(),
        &[
            "integrations",
            "set",
            "--app",
            &app,
            "crm/salesforce",
            "--client-id",
            "3MVG9main",
            "--client-secret",
            &secret,
            "--login-url",
            "https://test.salesforce.com",
            "--scopes",
            "api refresh_token",
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    // The staged secret comes from standard input, out of shell history.
    let mut child = patchbay()
        .args([
            "integrations",
            "set",
            "--app",
            &app,
            "crm/salesforce",
            "--staged-client-id",
            "3MVG9staged",
            "--staged-client-secret-stdin",
            "--json",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{staged_secret}\n").as_bytes())
        .expect("write");
    let staged = child.wait_with_output().expect("output");
    assert!(staged.status.success(), "{}", stderr(&staged));
    let view: Value = serde_json::from_str(stdout(&staged).trim()).expect("json");
    assert_eq!(view["staged"]["client_id"], "3MVG9staged");
    assert_eq!(view["staged"]["has_client_secret"], true);

    let show = run(
        dir.path(),
        &["integrations", "show", "--app", &app, "crm/salesforce"],
    );
    let show_json = ok(
        dir.path(),
        &[
            "integrations",
            "show",
            "--app",
            &app,
            "crm/salesforce",
            "--json",
        ],
    );
    let list = ok(
        dir.path(),
        &["integrations", "list", "--app", &app, "--json"],
    );
    let promoted = ok(
        dir.path(),
        &[
            "integrations",
            "promote",
            "--app",
            &app,
            "crm/salesforce",
            "--json",
        ],
    );
    for text in [
        stdout(&set),
        stderr(&set),
        stdout(&staged),
        stderr(&staged),
        stdout(&show),
        show_json.clone(),
        list,
        promoted.clone(),
    ] {
        assert!(
            !text.contains(&secret) && !text.contains(&staged_secret),
            "{text}"
        );
    }
    // The callback URL to enter in Salesforce, from the default public URL.
    assert!(
        stdout(&show).contains("callback url:           http://127.0.0.1:8080/vault/callback"),
        "{}",
        stdout(&show)
    );
    let shown: Value = serde_json::from_str(show_json.trim()).expect("json");
    assert_eq!(
        shown["callback_url"],
        "http://127.0.0.1:8080/vault/callback"
    );
    assert!(
        stdout(&show).contains("client secret:          stored"),
        "{}",
        stdout(&show)
    );
    let v: Value = serde_json::from_str(show_json.trim()).expect("json");
    assert_eq!(v["login_url"], "https://test.salesforce.com");
    assert_eq!(v["scopes"], "api refresh_token");
    let p: Value = serde_json::from_str(promoted.trim()).expect("json");
    assert_eq!(p["client_id"], "3MVG9staged");
    assert!(p["staged"].is_null());

    // An empty standard input is no secret; PATCHBAY_CLIENT_SECRET works instead of the flag.
    let empty = patchbay()
        .args([
            "integrations",
            "set",
            "--app",
            &app,
            "crm/salesforce",
            "--client-secret-stdin",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        stderr(&empty).contains("client secret must not be empty"),
        "{}",
        stderr(&empty)
    );
    let from_env = patchbay()
        .args([
            "integrations",
            "set",
            "--app",
            &app,
            "crm/salesforce",
            "--json",
        ])
        .env("PATCHBAY_CLIENT_SECRET", &secret)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(from_env.status.success(), "{}", stderr(&from_env));
    assert!(!stdout(&from_env).contains(&secret));

    ok(
        dir.path(),
        &["integrations", "disable", "--app", &app, "crm/salesforce"],
    );
    let v: Value = serde_json::from_str(
        ok(
            dir.path(),
            &[
                "integrations",
                "show",
                "--app",
                &app,
                "crm/salesforce",
                "--json",
            ],
        )
        .trim(),
    )
    .expect("json");
    assert_eq!(v["state"], "disabled");

    // Nor is a secret in the database file in plaintext.
    let db = std::fs::read(dir.path().join("patchbay.db")).expect("db file");
    let hay = String::from_utf8_lossy(&db);
    assert!(!hay.contains(&secret) && !hay.contains(&staged_secret));
    let bad = run(
        dir.path(),
        &["integrations", "show", "--app", &app, "crm-salesforce"],
    );
    assert_eq!(bad.status.code(), Some(2), "a usage error");
}

fn values_under(status: &Value, key: &str) -> u64 {
    status["values_per_key"][key].as_u64().unwrap_or(0)
}

#[test]
fn keys_rotate_then_reencrypt_moves_every_value_to_the_new_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, _) = create_app(dir.path(), &[]);
    ok(
        dir.path(),
        &[
            "integrations",
            "set",
            "--app",
            &app,
            "crm/salesforce",
            "--client-id",
            "3MVG9x",
            "--client-secret",
            "s3cr3t-value",
        ],
    );
    let before: Value =
        serde_json::from_str(ok(dir.path(), &["keys", "status", "--json"]).trim()).expect("json");
    let old = before["active_key_id"].as_str().expect("active").to_owned();
    assert!(values_under(&before, &old) >= 1, "{before}");

    let rotated = ok(dir.path(), &["keys", "rotate"]);
    let new = rotated
        .lines()
        .find_map(|l| l.strip_prefix("new active key: "))
        .expect("new key id")
        .to_owned();
    assert_ne!(new, old);
    let mid: Value =
        serde_json::from_str(ok(dir.path(), &["keys", "status", "--json"]).trim()).expect("json");
    assert_eq!(mid["active_key_id"], new.as_str());
    assert_eq!(mid["keys"].as_array().map(Vec::len), Some(2));
    assert!(
        values_under(&mid, &old) >= 1 && values_under(&mid, &new) == 0,
        "{mid}"
    );
    // The human status names both keys.
    let human = ok(dir.path(), &["keys", "status"]);
    assert!(
        human.contains(&old) && human.contains(&format!("{new} (active)")),
        "{human}"
    );

    let report: Value =
        serde_json::from_str(ok(dir.path(), &["keys", "reencrypt", "--json"]).trim())
            .expect("json");
    assert!(
        report["resealed"].as_u64().is_some_and(|n| n >= 1),
        "{report}"
    );
    let after: Value =
        serde_json::from_str(ok(dir.path(), &["keys", "status", "--json"]).trim()).expect("json");
    assert_eq!(values_under(&after, &old), 0, "{after}");
    assert!(values_under(&after, &new) >= 1);
    // Everything still opens: the integration shows, and a new secret can be set.
    ok(
        dir.path(),
        &["integrations", "show", "--app", &app, "crm/salesforce"],
    );

    // With the key in PATCHBAY_MASTER_KEY, rotation writes the new keyring elsewhere.
    let env_dir = tempfile::tempdir().expect("tmp");
    let key = "07".repeat(32);
    let db = format!("sqlite://{}", env_dir.path().join("x.db").display());
    let with_env = |args: &[&str]| {
        patchbay()
            .env("PATCHBAY_MASTER_KEY", &key)
            .env("PATCHBAY_DATABASE_URL", &db)
            .args(args)
            .arg("--data-dir")
            .arg(env_dir.path())
            .output()
            .expect("run")
    };
    assert!(
        with_env(&["apps", "create", "--name", "E"])
            .status
            .success()
    );
    let refused = with_env(&["keys", "rotate"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("--output"),
        "{}",
        stderr(&refused)
    );
    let out_file = env_dir.path().join("rotated.json");
    let rotated = with_env(&[
        "keys",
        "rotate",
        "--output",
        out_file.to_str().expect("utf8"),
    ]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    assert!(!stdout(&rotated).contains(&key));
    let with_file = patchbay()
        .env("PATCHBAY_DATABASE_URL", &db)
        .args(["keys", "reencrypt", "--key-file"])
        .arg(&out_file)
        .arg("--data-dir")
        .arg(env_dir.path())
        .output()
        .expect("run");
    assert!(with_file.status.success(), "{}", stderr(&with_file));
}

/// `apps update` renames and replaces the redirect-URI allow-list (validated as at creation),
/// and the change is in the audit log.
#[test]
fn apps_update_changes_the_name_and_replaces_the_redirect_uris() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, _) = create_app(
        dir.path(),
        &["--redirect-uri", "https://old.example.com/cb"],
    );
    let out = ok(
        dir.path(),
        &[
            "apps",
            "update",
            "--app",
            &app,
            "--name",
            "Acme Renamed",
            "--redirect-uri",
            "https://new.example.com/cb",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["application_id"], app.as_str());
    assert_eq!(v["name"], "Acme Renamed");
    assert_eq!(
        v["redirect_uris"],
        serde_json::json!(["https://new.example.com/cb", "http://localhost:3000/cb"])
    );

    // Only the name: the list stays.
    let out = ok(
        dir.path(),
        &["apps", "update", "--app", &app, "--name", "Acme"],
    );
    assert!(
        out.contains("Acme") && out.contains("https://new.example.com/cb"),
        "{out}"
    );
    let list: Value =
        serde_json::from_str(ok(dir.path(), &["apps", "list", "--json"]).trim()).expect("json");
    assert_eq!(list[0]["name"], "Acme");
    assert_eq!(list[0]["redirect_uris"].as_array().map(Vec::len), Some(2));

    // Emptying the list takes the explicit flag.
    ok(
        dir.path(),
        &["apps", "update", "--app", &app, "--clear-redirect-uris"],
    );
    let list: Value =
        serde_json::from_str(ok(dir.path(), &["apps", "list", "--json"]).trim()).expect("json");
    assert_eq!(list[0]["redirect_uris"], serde_json::json!([]));

    // Bad input is refused with a clear error and changes nothing.
    for (args, expected) in [
        (
            vec!["--redirect-uri", "http://app.example.com/cb"],
            "redirect URI must use https",
        ),
        (vec!["--name", "   "], "name must be"),
        (vec![], "nothing to change"),
    ] {
        let mut full = vec!["apps", "update", "--app", app.as_str()];
        full.extend(args);
        let bad = run(dir.path(), &full);
        assert_eq!(bad.status.code(), Some(1), "{full:?}");
        assert!(
            stderr(&bad).contains(expected),
            "{full:?}: {}",
            stderr(&bad)
        );
        assert!(!stderr(&bad).contains("panicked"));
    }
    let unknown = run(
        dir.path(),
        &[
            "apps",
            "update",
            "--app",
            "0190f3c2-7c5e-7abc-8def-0123456789ab",
            "--name",
            "X",
        ],
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(!stderr(&unknown).contains("panicked"));
    let list: Value =
        serde_json::from_str(ok(dir.path(), &["apps", "list", "--json"]).trim()).expect("json");
    assert_eq!(list[0]["name"], "Acme");

    // Audited, with the new values of what changed.
    let config = patchbay_server::ServerConfig::new(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let updates: Vec<Value> = runtime.block_on(async {
        let vault = patchbay_server::app::open_vault(&config, "http://127.0.0.1:8080")
            .await
            .expect("open");
        let id = patchbay_core::ApplicationId::parse(&app).expect("id");
        vault
            .list_audit(Some(&id), None, 100)
            .await
            .expect("audit")
            .items
            .into_iter()
            .filter(|e| e.action == "application.update" && e.actor == "admin")
            .map(|e| serde_json::from_str(&e.details_json).expect("details"))
            .collect()
    });
    assert_eq!(updates.len(), 3, "{updates:?}");
    assert_eq!(updates[0]["name"], "Acme Renamed");
    assert_eq!(updates[1], serde_json::json!({"name": "Acme"}));
    assert_eq!(updates[2], serde_json::json!({"redirect_uris": []}));
}

/// The database is created owner-only, like the key file next to it.
#[cfg(unix)]
#[test]
fn the_database_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tmp");
    create_app(dir.path(), &[]);
    for name in ["patchbay.db", "master.key"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .expect(name)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is {mode:o}");
    }
}

#[test]
fn integrations_take_a_crm_poll_interval_in_seconds() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, _) = create_app(dir.path(), &[]);
    let set = |extra: &[&str]| {
        let mut args = vec![
            "integrations",
            "set",
            "--app",
            &app,
            "crm/salesforce",
            "--json",
        ];
        args.extend_from_slice(extra);
        run(dir.path(), &args)
    };
    let first = set(&["--client-id", "3MVG9main"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let view: Value = serde_json::from_str(stdout(&first).trim()).expect("json");
    assert_eq!(view["crm_poll_interval_s"], 300, "five minutes by default");
    let changed = set(&["--crm-poll-interval-s", "60"]);
    assert!(changed.status.success(), "{}", stderr(&changed));
    let view: Value = serde_json::from_str(stdout(&changed).trim()).expect("json");
    assert_eq!(view["crm_poll_interval_s"], 60);
    assert_eq!(view["client_id"], "3MVG9main", "other settings are kept");
    let refused = set(&["--crm-poll-interval-s", "0"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("crm_poll_interval_s must be between 1 and 86400"),
        "{}",
        stderr(&refused)
    );
    let shown = ok(
        dir.path(),
        &["integrations", "show", "--app", &app, "crm/salesforce"],
    );
    assert!(shown.contains("crm poll interval:      60 s"), "{shown}");
}

#[test]
fn integrations_set_crm_hubspot_starts_from_hubspots_defaults() {
    let dir = tempfile::tempdir().expect("tmp");
    let (app, _) = create_app(dir.path(), &[]);
    let set = run(
        dir.path(),
        &[
            "integrations",
            "set",
            "--app",
            &app,
            "crm/hubspot",
            "--client-id",
            "5a1e0b52-hubspot-app",
            "--client-secret",
            "hs-secret-value",
            "--json",
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let out = stdout(&set);
    assert!(!out.contains("hs-secret-value"), "{out}");
    let view: Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(view["service_id"], "hubspot", "{view}");
    assert_eq!(view["login_url"], "https://app.hubspot.com", "{view}");
    let scopes = view["scopes"].to_string();
    assert!(
        scopes.contains("oauth") && scopes.contains("crm.objects.contacts.read"),
        "{view}"
    );
    assert_eq!(view["pkce"], false, "HubSpot's flow takes no PKCE: {view}");
}
