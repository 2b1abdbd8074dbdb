//! What a newcomer meets in the first hour: administration commands pointed at the wrong
//! folder, a port already taken, a key for `PATCHBAY_MASTER_KEY`, and the pages `serve` shows
//! a browser.

use std::net::TcpListener;
use std::time::Duration;

use crate::support::{Running, create_app, exit_within, http, patchbay, run, stderr, stdout};

#[test]
fn administration_commands_refuse_a_folder_with_no_database_and_create_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("not-here");
    let app = "01a22354-9cf6-7261-9cbb-fad1eb8eabb9";
    let data_str = data.to_str().expect("utf-8 path");
    for args in [
        vec!["doctor", "--app", app, "crm/salesforce"],
        vec!["integrations", "list", "--app", app],
        vec!["api-keys", "list", "--app", app],
        vec!["apps", "list"],
        vec!["keys", "status"],
    ] {
        let out = run(&data, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("no Patchbay database") && err.contains(data_str),
            "{args:?} should name the folder: {err}"
        );
        assert!(
            err.contains("--data-dir"),
            "{args:?} should suggest --data-dir: {err}"
        );
    }
    assert!(
        !data.exists(),
        "a refused command must not create the data directory"
    );
    // The commands that begin a deployment may create it.
    create_app(&data, &[]);
    assert!(data.join("patchbay.db").exists());
}

#[test]
fn a_port_in_use_is_reported_once_with_its_cause() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let out = patchbay()
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in {err}"));
    assert!(line.contains(&addr), "{line}");
    assert_eq!(
        line.matches("Address already in use").count(),
        1,
        "each cause once: {line}"
    );
}

#[test]
fn keys_generate_prints_a_master_key_the_server_accepts() {
    let out = patchbay()
        .args(["keys", "generate"])
        .output()
        .expect("keys");
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out);
    assert_eq!(key.lines().count(), 1, "one line: {key}");
    let key = key.trim().to_owned();
    // A database given explicitly never gets a key file: it starts only with this key.
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("explicit.db").display());
    let mut cmd = patchbay();
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--data-dir",
    ])
    .arg(dir.path())
    .env("PATCHBAY_MASTER_KEY", &key);
    let mut server = Running::start(cmd);
    assert!(server.line().starts_with("listening on "));
    assert!(!dir.path().join("master.key").exists());
    drop(server);
    // And without it, the same database refuses to start.
    let mut refused = patchbay()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    assert!(!exit_within(&mut refused, Duration::from_secs(20)).success());
}

#[tokio::test]
async fn the_root_is_a_landing_page_with_working_links() {
    let dir = tempfile::tempdir().expect("tmp");
    create_app(dir.path(), &[]);
    let mut cmd = patchbay();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    let mut server = Running::start(cmd);
    let line = server.line();
    let base = line
        .split(", public URL ")
        .nth(1)
        .expect("public URL")
        .to_owned();
    let client = http();
    let r = client.get(format!("{base}/")).send().await.expect("get /");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/html"))
    );
    let page = r.text().await.expect("body");
    assert!(page.contains(&format!("{base}/vault/callback")), "{page}");
    let links: Vec<&str> = page
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with('/'))
        .collect();
    for wanted in ["/admin", "/health", "/docs"] {
        assert!(links.contains(&wanted), "no link to {wanted} in {links:?}");
    }
    for link in links {
        let target = link.split('#').next().unwrap_or(link);
        let r = client
            .get(format!("{base}{target}"))
            .send()
            .await
            .expect("get");
        // The console sends a signed-out visitor to its sign-in page.
        assert!(
            r.status().is_success() || r.status().is_redirection(),
            "{link} answered {}",
            r.status()
        );
    }
    let docs = client
        .get(format!("{base}/docs"))
        .send()
        .await
        .expect("docs")
        .text()
        .await
        .expect("body");
    assert!(
        docs.contains(r#"id="the-demo""#),
        "the README renders with anchors"
    );
    let image = client
        .get(format!("{base}/docs/docs/screenshots/connect-page.png"))
        .send()
        .await
        .expect("image");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let missing = client
        .get(format!("{base}/docs/nope.md"))
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status(), 404);
}
