//! Running the binary with a clean environment, and reading what it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary with no `PATCHBAY_*` variable inherited from the developer's shell.
pub fn patchbay() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchbay"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PATCHBAY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("PATCHBAY_LOG", "warn");
    cmd
}

/// Runs `patchbay ARGS --data-dir DIR` and returns its output.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    patchbay()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and asserts success; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// `apps create --json` on `dir`: (application id, API key).
pub fn create_app(dir: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["apps", "create", "--name", "Acme", "--json"];
    args.extend_from_slice(extra);
    let out = ok(dir, &args);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    (
        v["application_id"].as_str().expect("id").to_owned(),
        v["api_key"].as_str().expect("key").to_owned(),
    )
}

/// A started process, killed when dropped.
pub struct Running {
    pub child: Child,
    pub lines: BufReader<ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let out = child.stdout.take().expect("piped stdout");
        Running {
            child,
            lines: BufReader::new(out),
        }
    }

    /// Stops the process as Ctrl-C does (SIGINT, through `kill`: no unsafe code here) and
    /// waits for it to finish its graceful shutdown.
    pub fn interrupt(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGINT to {pid}");
        exit_within(&mut self.child, Duration::from_secs(30))
    }

    /// The next line of stdout; panics at end of output (the process died).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.lines.read_line(&mut line).expect("read stdout");
        assert!(
            n > 0,
            "the process ended early: {:?}",
            self.child.try_wait()
        );
        line.trim_end().to_owned()
    }

    /// `serve`'s first line, `listening on IP:PORT, public URL URL` → `http://IP:PORT`.
    pub fn listening_base(&mut self) -> String {
        let line = self.line();
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.split(", ").next())
            .unwrap_or_else(|| panic!("unexpected first line: {line}"));
        format!("http://{addr}")
    }
}

/// Waits for a process to exit on its own (start-up refusals).
pub fn exit_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(start.elapsed() < limit, "the process did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `patchbay integrations set --app APP crm/salesforce` with a consumer key, secret and login
/// URL; panics with the command's stderr if it fails.
pub fn set_salesforce_integration(
    dir: &Path,
    app: &str,
    client_id: &str,
    client_secret: &str,
    login_url: &str,
) {
    let set = run(
        dir,
        &[
            "integrations",
            "set",
            "--app",
            app,
            "crm/salesforce",
            "--client-id",
            client_id,
            "--client-secret",
            client_secret,
            "--login-url",
            login_url,
        ],
    );
    assert!(set.status.success(), "{}", stderr(&set));
}

/// Connects `consumer` of application `app` (API key `key`) to the Salesforce emulator at
/// `login`, walking the connect flow as a browser would, through a `serve` at `base` started
/// with `--public-url public`: links name the public URL, so they are rewritten to `base`.
/// The application must allow the redirect URI `https://example.com/done`.
pub async fn connect_salesforce(
    base: &str,
    public: &str,
    login: &str,
    app: &str,
    key: &str,
    consumer: &str,
) {
    let client = http();
    let v: serde_json::Value = client
        .get(format!("{base}/vault/connections/crm/salesforce"))
        .bearer_auth(key)
        .header("x-apideck-app-id", app)
        .header("x-apideck-consumer-id", consumer)
        .send()
        .await
        .expect("connection")
        .json()
        .await
        .expect("json");
    let mut url = format!(
        "{}&redirect_uri=https%3A%2F%2Fexample.com%2Fdone",
        v["data"]["authorize_url"].as_str().expect("authorize_url")
    )
    .replace(public, base);
    for _ in 0..8 {
        let r = client.get(&url).send().await.expect("walk");
        let Some(next) = r.headers().get("location").and_then(|l| l.to_str().ok()) else {
            panic!("the connect flow stopped at {url} ({})", r.status());
        };
        if next.starts_with("https://example.com/done") {
            assert!(!next.contains("error"), "{next}");
            return;
        }
        url = if next.starts_with('/') {
            format!("{login}{next}")
        } else {
            next.replace(public, base)
        };
    }
    panic!("the connect flow did not finish");
}

/// A Salesforce emulator and a Patchbay data folder that uses it: what a test of `serve`
/// against a connected org starts from.
pub struct SalesforceSetup {
    pub emulator: patchbay_fake_salesforce::EmulatorHandle,
    /// The emulator's login URL, with no trailing slash.
    pub login: String,
    pub dir: tempfile::TempDir,
    pub app: String,
    pub key: String,
}

/// Starts an auto-approving emulator whose app (`client_id`, `client_secret`, no secret needed
/// on refresh) calls back to `{public}/vault/callback`, then creates an application (with
/// `app_args`) and sets its Salesforce integration to that emulator.
pub async fn salesforce_setup(
    client_id: &str,
    client_secret: &str,
    public: &str,
    require_pkce: bool,
    app_args: &[&str],
) -> SalesforceSetup {
    let emulator = patchbay_fake_salesforce::spawn(patchbay_fake_salesforce::EmulatorConfig {
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        callback_urls: vec![format!("{public}/vault/callback")],
        auto_approve: true,
        require_pkce,
        require_secret_for_refresh: false,
        ..patchbay_fake_salesforce::EmulatorConfig::default()
    })
    .await
    .expect("emulator");
    let login = emulator.base_url().trim_end_matches('/').to_owned();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().to_owned();
    let (id, secret, login_url) = (
        client_id.to_owned(),
        client_secret.to_owned(),
        login.clone(),
    );
    let args: Vec<String> = app_args.iter().map(|a| (*a).to_owned()).collect();
    let (app, key) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (app, key) = create_app(&path, &args);
        set_salesforce_integration(&path, &app, &id, &secret, &login_url);
        (app, key)
    })
    .await
    .expect("join");
    SalesforceSetup {
        emulator,
        login,
        dir,
        app,
        key,
    }
}
