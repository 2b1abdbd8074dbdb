//! Issue 13's fault suite, the database part: Patchbay on a throwaway PostgreSQL cluster that
//! this test starts itself (`initdb` + `pg_ctl`, never the shared server), reached through the
//! fault proxy. Under a bounded mixed load of Vault, CRM and proxy calls the cluster is stopped
//! and started, restarted with `pg_ctl restart -m fast`, and the link is black-holed. Every
//! request must succeed or end in a clean Apideck error envelope within a bound, `/ready` must
//! report the outage and recover by itself, and afterwards the connection is intact, unleased,
//! and its sealed tokens still decrypt.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::fault_proxy::{FaultProxy, Mode};
use crate::helpers::{Db, Options, TestApp, spawn_with};
use crate::proxy_support::{exported, proxy};

/// A PostgreSQL cluster in a temporary directory, stopped on drop (the chaos loop shares it).
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// `initdb` refuses to run as root: there the tools run as the `postgres` user.
    as_postgres: bool,
}

fn skip(why: &str) -> Option<Cluster> {
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "the fault suite needs PostgreSQL's server binaries under CI=true: {why}"
    );
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: throwaway PostgreSQL cluster: {why}"
    );
    None
}

impl Cluster {
    pub fn start() -> Option<Cluster> {
        let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .collect();
        bins.sort();
        let Some(bin) = bins.pop() else {
            return skip("no initdb/pg_ctl under /usr/lib/postgresql/*/bin");
        };
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if root
            && !Command::new("id")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
        {
            return skip("running as root and there is no postgres user to run initdb as");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        if root {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
                .expect("chmod");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres: root,
        };
        let data = cluster.data();
        assert!(
            cluster.run(
                "initdb",
                &[
                    "-D",
                    &data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            "initdb failed"
        );
        assert!(cluster.pg_ctl("start"), "pg_ctl start failed");
        Some(cluster)
    }

    /// The cluster's folder: data directory and `postgres.log`.
    pub fn dir_path(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output();
        match out {
            Ok(o) if o.status.success() => true,
            Ok(o) => {
                eprintln!(
                    "{tool} {args:?}: {}\n{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                false
            }
            Err(e) => {
                eprintln!("{tool}: {e}");
                false
            }
        }
    }

    /// `pg_ctl start|stop|restart`, waiting (bounded) for it to finish; stop and restart use
    /// fast shutdown, which ends live sessions as a failover or an upgrade would.
    fn pg_ctl(&self, action: &str) -> bool {
        let data = self.data();
        let log = self.dir.path().join("postgres.log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
             -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "30", "-m", "fast", "-o", &options, action,
            ],
        )
    }

    pub async fn ctl(self: &Arc<Self>, action: &'static str) -> bool {
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || me.pg_ctl(action))
            .await
            .unwrap_or(false)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.run(
            "pg_ctl",
            &["-D", &data, "-w", "-t", "10", "-m", "immediate", "stop"],
        );
    }
}

/// What one request ended as.
#[derive(Debug)]
pub enum Outcome {
    Ok,
    Envelope(u16),
    Unclean(String),
}

/// A request's bound: a stalled query resumes when the link heals, so a few seconds of black
/// hole plus the pool's 10 s acquire timeout is the most a request may wait.
const REQUEST_BOUND: Duration = Duration::from_secs(30);

pub async fn classify(r: Result<reqwest::Response, reqwest::Error>, what: &str) -> Outcome {
    let r = match r {
        Ok(r) => r,
        Err(e) => return Outcome::Unclean(format!("{what}: no answer: {e}")),
    };
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        return Outcome::Ok;
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let clean = v["status_code"] == status
        && v["error"].as_str().is_some_and(|s| !s.is_empty())
        && v["type_name"].as_str().is_some_and(|s| !s.is_empty())
        && v["message"].is_string()
        && v["ref"]
            .as_str()
            .is_some_and(patchbay_server::request_id::is_valid);
    if clean {
        Outcome::Envelope(status)
    } else {
        Outcome::Unclean(format!("{what}: {status} {body}"))
    }
}

/// One client: Vault, CRM and proxy calls in turn until `stop`, each bounded.
async fn client_loop(app: Arc<TestApp>, stop: Arc<AtomicBool>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut i = 0usize;
    // Bounded in count as well as by the stop flag.
    while !stop.load(Ordering::SeqCst) && i < 2_000 {
        let (what, req) = match i % 3 {
            0 => (
                "vault",
                app.consumer_api(Method::GET, "/vault/connections", "c"),
            ),
            1 => (
                "crm",
                app.consumer_api(Method::GET, "/crm/contacts?limit=2", "c")
                    .header("x-apideck-service-id", "salesforce"),
            ),
            _ => (
                "proxy",
                proxy(&app, Method::GET, "c").header(
                    "x-apideck-downstream-url",
                    "/services/data/v66.0/query?q=SELECT+Id+FROM+Contact+LIMIT+1",
                ),
            ),
        };
        let started = Instant::now();
        let r = req.timeout(REQUEST_BOUND).send().await;
        let mut o = classify(r, what).await;
        if started.elapsed() > REQUEST_BOUND {
            o = Outcome::Unclean(format!("{what}: took {:?}", started.elapsed()));
        }
        out.push(o);
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out
}

async fn ready_status(client: &reqwest::Client, base: &str) -> u16 {
    match client
        .get(format!("{base}/ready"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str, want: u16, limit: Duration) {
    let started = Instant::now();
    loop {
        let got = ready_status(client, base).await;
        if got == want {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "/ready stayed {got}, wanted {want} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the database faults did, for docs/resilience.md.
#[derive(Debug, Clone, Default)]
pub struct DbFaultFigures {
    pub requests: usize,
    pub ok: usize,
    pub envelopes: std::collections::BTreeMap<u16, usize>,
    /// Per fault: its name and how long `/ready` took to say 200 again once it was lifted.
    pub recoveries: Vec<(&'static str, Duration)>,
    pub pool_connections: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_and_black_hole_under_load_lose_nothing() {
    let _ = scenario().await;
}

/// Runs the database faults and asserts their invariants; `None` when no PostgreSQL server
/// binaries are here (outside CI).
pub async fn scenario() -> Option<DbFaultFigures> {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .expect("start cluster")?;
    let mut recoveries = Vec::new();
    let cluster = Arc::new(cluster);
    let link = FaultProxy::start(format!("127.0.0.1:{}", cluster.port)).await;
    let options = Options {
        db: Db::Postgres,
        postgres_admin_url: Some(format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            link.port
        )),
        ..Options::default()
    };
    let app = Arc::new(spawn_with(options).await.expect("the cluster is up"));
    let walk = app.connect("c").await;
    assert!(walk.location_param("error").is_none(), "{walk:?}");
    let (access_before, refresh_before) = exported(&app, "c").await;
    let client = reqwest::Client::new();
    wait_ready(&client, &app.base_url, 200, Duration::from_secs(10)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| tokio::spawn(client_loop(Arc::clone(&app), Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // 1. The database goes away and comes back (a failover, an upgrade).
    assert!(cluster.ctl("stop").await, "pg_ctl stop");
    wait_ready(&client, &app.base_url, 503, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cluster.ctl("start").await, "pg_ctl start");
    let lifted = Instant::now();
    wait_ready(&client, &app.base_url, 200, Duration::from_secs(30)).await;
    recoveries.push(("stopped, then started", lifted.elapsed()));

    // 2. A plain fast restart mid-load.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(cluster.ctl("restart").await, "pg_ctl restart");
    let lifted = Instant::now();
    wait_ready(&client, &app.base_url, 200, Duration::from_secs(30)).await;
    recoveries.push(("fast restart", lifted.elapsed()));

    // 3. The link black-holed for a few seconds: bytes of live and new connections stall.
    tokio::time::sleep(Duration::from_secs(1)).await;
    link.set(Mode::BlackHole);
    wait_ready(&client, &app.base_url, 503, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    link.set(Mode::Pass);
    let lifted = Instant::now();
    wait_ready(&client, &app.base_url, 200, Duration::from_secs(30)).await;
    recoveries.push(("black hole (2 s)", lifted.elapsed()));

    // 4. Resets on the link: live connections torn down, new ones refused for a moment.
    link.set(Mode::Reset);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    link.set(Mode::Pass);
    let lifted = Instant::now();
    wait_ready(&client, &app.base_url, 200, Duration::from_secs(30)).await;
    recoveries.push(("resets (1.5 s)", lifted.elapsed()));
    tokio::time::sleep(Duration::from_secs(1)).await;

    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for c in clients {
        let finished = tokio::time::timeout(REQUEST_BOUND * 2, c)
            .await
            .expect("every client stops within the bound")
            .expect("client task");
        outcomes.extend(finished);
    }
    let unclean: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Unclean(s) => Some(s),
            _ => None,
        })
        .collect();
    let ok = outcomes.iter().filter(|o| matches!(o, Outcome::Ok)).count();
    let mut envelopes = std::collections::BTreeMap::<u16, usize>::new();
    for o in &outcomes {
        if let Outcome::Envelope(s) = o {
            *envelopes.entry(*s).or_default() += 1;
        }
    }
    eprintln!(
        "db faults: {} requests, {ok} ok, envelopes by status {envelopes:?}, {} unclean",
        outcomes.len(),
        unclean.len()
    );
    assert!(unclean.is_empty(), "unclean answers: {unclean:#?}");
    // An outage is the database's, not a fault in the request: 503 with Retry-After, never an
    // opaque 500.
    let logs = crate::helpers::captured_logs();
    let internal: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("internal error") && l.contains("database"))
        .take(5)
        .collect();
    assert_eq!(
        envelopes.get(&500),
        None,
        "database faults answered 500: {internal:#?}"
    );
    assert!(ok > 0, "some requests got through between the faults");

    // Afterwards: the connection is there, callable, unleased, and its sealed tokens decrypt.
    let conn = app.connection("c").await;
    assert_eq!(conn["state"], "callable", "{conn}");
    let (access_after, refresh_after) = exported(&app, "c").await;
    assert!(!access_after.is_empty());
    assert_eq!(
        refresh_after, refresh_before,
        "no refresh happened, none was lost"
    );
    assert_eq!(access_after, access_before);
    let r = app
        .consumer_api(Method::GET, "/crm/contacts?limit=1", "c")
        .header("x-apideck-service-id", "salesforce")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "a CRM call works after the faults");
    let store = app.db.store().await;
    let leased: (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM connections WHERE lease_owner IS NOT NULL OR lease_until IS NOT NULL",
    )
    .fetch_one(store.pool())
    .await
    .expect("count leases");
    assert_eq!(leased.0, 0, "no connection is left leased");
    assert!(link.accepted() > 1, "the pool reconnected through the link");
    Some(DbFaultFigures {
        requests: outcomes.len(),
        ok,
        envelopes,
        recoveries,
        pool_connections: link.accepted(),
    })
}
