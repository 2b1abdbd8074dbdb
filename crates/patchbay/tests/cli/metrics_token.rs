//! `serve --metrics-token-file` / `PATCHBAY_METRICS_TOKEN`: `/metrics` behind a bearer token
//! (open without one, with a start-up warning on a non-loopback address), the token never in
//! the server's output, and the start-up refusals of this change (empty tokens,
//! `--crm-timeout-ms` out of range).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Running, create_app, exit_within, http, patchbay};

const TOKEN: &str = "scrape-7f3a9c2e5b1d4086";
const OPEN_WARNING: &str = "/metrics needs no credentials";

/// `serve` on `listen` over `dir`, its stderr (logs) going to `log`, at trace level for
/// Patchbay's own crates so that anything the server might print about a request shows.
fn serve(dir: &Path, listen: &str, log: &Path, configure: impl FnOnce(&mut Command)) -> Running {
    let mut cmd = patchbay();
    cmd.args(["serve", "--listen", listen, "--data-dir"])
        .arg(dir)
        .env("PATCHBAY_LOG", "debug,patchbay_server=trace,hyper=info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"));
    configure(&mut cmd);
    let mut child = cmd.spawn().expect("the binary starts");
    let out = child.stdout.take().expect("piped stdout");
    Running {
        child,
        lines: std::io::BufReader::new(out),
    }
}

/// The loopback URL of a server that printed `listening on IP:PORT, …`.
fn base(server: &mut Running) -> String {
    let listening = server.listening_base();
    let port = listening.rsplit(':').next().expect("port");
    format!("http://127.0.0.1:{port}")
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

async fn scrape(base: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut request = http().get(format!("{base}/metrics"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.expect("scrape")
}

/// A refused scrape: 401 in the API's envelope with `WWW-Authenticate: Bearer`, the token
/// nowhere in the answer.
async fn assert_refused(response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let text = response.text().await.expect("body");
    assert!(!text.contains(TOKEN), "{text}");
    let v: Value = serde_json::from_str(&text).expect("JSON envelope");
    assert_eq!(v["status_code"], 401, "{v}");
    assert_eq!(v["type_name"], "UnauthorizedError", "{v}");
    assert_eq!(v["error"], "Unauthorized", "{v}");
    assert!(v["message"].is_string(), "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("--metrics-token-file")),
        "{v}"
    );
    assert!(v["ref"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
}

async fn assert_served(response: reqwest::Response) {
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(text.contains("patchbay_http_requests_total"), "{text}");
}

/// With a token (from the file, then from the variable), a scrape without it, with another
/// token, another scheme or a longer token is refused; the token itself is served. Neither
/// the server's output at trace level nor any answer holds the token, although the refused
/// headers carried it.
#[tokio::test]
async fn a_configured_token_guards_metrics_and_never_shows() {
    let dir = tempfile::tempdir().expect("tmp");
    create_app(dir.path(), &[]);
    let token_file = dir.path().join("metrics.token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token file");
    let by_file = |cmd: &mut Command| {
        cmd.arg("--metrics-token-file").arg(&token_file);
    };
    let by_env = |cmd: &mut Command| {
        cmd.env("PATCHBAY_METRICS_TOKEN", TOKEN);
    };
    for (way, configure) in [
        ("file", &by_file as &dyn Fn(&mut Command)),
        ("env", &by_env),
    ] {
        let log = dir.path().join(format!("serve-{way}.log"));
        let mut server = serve(dir.path(), "127.0.0.1:0", &log, configure);
        let base = base(&mut server);

        assert_refused(scrape(&base, None).await).await;
        assert_refused(scrape(&base, Some("Bearer not-the-token")).await).await;
        assert_refused(scrape(&base, Some(&format!("Basic {TOKEN}"))).await).await;
        assert_refused(scrape(&base, Some(&format!("Bearer {TOKEN}x"))).await).await;
        assert_refused(scrape(&base, Some(TOKEN)).await).await;
        assert_served(scrape(&base, Some(&format!("Bearer {TOKEN}"))).await).await;
        assert_served(scrape(&base, Some(&format!("bearer {TOKEN}"))).await).await;
        // Only /metrics is guarded.
        let health = http()
            .get(format!("{base}/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(health.status(), 200);

        assert!(server.interrupt().success());
        let output = read(&log);
        assert!(
            output.contains("patchbay server bound"),
            "the log was captured ({way}): {output}"
        );
        assert!(!output.contains(TOKEN), "the token is in the log ({way})");
        assert!(!output.contains(OPEN_WARNING), "{output}");
    }
}

/// Without a token `/metrics` stays open; on a non-loopback address `serve` warns once at
/// start, and does not with a token or on loopback.
#[tokio::test]
async fn without_a_token_metrics_stay_open_and_a_public_address_warns() {
    let dir = tempfile::tempdir().expect("tmp");
    create_app(dir.path(), &[]);

    let log = dir.path().join("public-open.log");
    let mut server = serve(dir.path(), "0.0.0.0:0", &log, |_| {});
    let base_url = base(&mut server);
    assert_served(scrape(&base_url, None).await).await;
    // The warning is written before the `listening on` line; allow the pipe a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !read(&log).contains(OPEN_WARNING) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.interrupt().success());
    let output = read(&log);
    assert_eq!(output.matches(OPEN_WARNING).count(), 1, "{output}");
    assert!(output.contains("--metrics-token-file"), "{output}");

    let log = dir.path().join("loopback-open.log");
    let mut server = serve(dir.path(), "127.0.0.1:0", &log, |_| {});
    let base_url = base(&mut server);
    assert_served(scrape(&base_url, None).await).await;
    assert!(server.interrupt().success());
    assert!(!read(&log).contains(OPEN_WARNING));

    let log = dir.path().join("public-guarded.log");
    let mut server = serve(dir.path(), "0.0.0.0:0", &log, |cmd| {
        cmd.env("PATCHBAY_METRICS_TOKEN", TOKEN);
    });
    let base_url = base(&mut server);
    assert_refused(scrape(&base_url, None).await).await;
    assert!(server.interrupt().success());
    assert!(!read(&log).contains(OPEN_WARNING));
}

/// Runs `serve` expecting a refusal; returns its stderr.
fn refused(dir: &Path, configure: impl FnOnce(&mut Command)) -> String {
    let mut cmd = patchbay();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    configure(&mut cmd);
    let mut child = cmd.spawn().expect("spawn");
    let status = exit_within(&mut child, Duration::from_secs(20));
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!status.success(), "started: {stdout}{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    stderr
}

#[test]
fn empty_tokens_and_a_crm_deadline_out_of_range_refuse_to_start() {
    let dir = tempfile::tempdir().expect("tmp");
    create_app(dir.path(), &[]);
    let empty = dir.path().join("empty.token");
    std::fs::write(&empty, "").expect("file");
    let blank = dir.path().join("blank.token");
    std::fs::write(&blank, "  \n\t\n").expect("file");
    for file in [&empty, &blank] {
        let err = refused(dir.path(), |cmd| {
            cmd.arg("--metrics-token-file").arg(file);
        });
        assert!(err.contains("metrics token is empty"), "{err}");
    }
    for value in ["", "   "] {
        let err = refused(dir.path(), |cmd| {
            cmd.env("PATCHBAY_METRICS_TOKEN", value);
        });
        assert!(err.contains("metrics token is empty"), "{err}");
    }
    let err = refused(dir.path(), |cmd| {
        cmd.env("PATCHBAY_METRICS_TOKEN", "two words");
    });
    assert!(err.contains("printable ASCII without spaces"), "{err}");
    assert!(!err.contains("two words"), "{err}");
    let secret_file = dir.path().join("secret.token");
    std::fs::write(&secret_file, TOKEN).expect("file");
    let err = refused(dir.path(), |cmd| {
        cmd.arg("--metrics-token-file")
            .arg(&secret_file)
            .env("PATCHBAY_METRICS_TOKEN", TOKEN);
    });
    assert!(err.contains("use one of them"), "{err}");
    assert!(!err.contains(TOKEN), "{err}");
    let err = refused(dir.path(), |cmd| {
        cmd.arg("--metrics-token-file")
            .arg(dir.path().join("missing.token"));
    });
    assert!(err.contains("missing.token"), "{err}");

    for value in ["99", "300001", "0", "soon"] {
        let err = refused(dir.path(), |cmd| {
            cmd.args(["--crm-timeout-ms", value]);
        });
        assert!(err.contains("--crm-timeout-ms"), "{err}");
    }
    let err = refused(dir.path(), |cmd| {
        cmd.env("PATCHBAY_CRM_TIMEOUT_MS", "50");
    });
    assert!(err.contains("100..=300000"), "{err}");

    let help = patchbay().args(["serve", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for name in [
        "--crm-timeout-ms",
        "PATCHBAY_CRM_TIMEOUT_MS",
        "[default: 20000]",
        "--metrics-token-file",
        "PATCHBAY_METRICS_TOKEN_FILE",
    ] {
        assert!(help.contains(name), "serve --help lacks {name}: {help}");
    }
    assert!(
        help.replace("PATCHBAY_METRICS_TOKEN_FILE", "")
            .contains("PATCHBAY_METRICS_TOKEN"),
        "serve --help names the token variable: {help}"
    );
}
