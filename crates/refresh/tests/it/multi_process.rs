//! Nodes as real processes: this test binary re-runs itself as `node_process` with the
//! database, keyring and connection in its environment, so each node has its own memory,
//! pool and single-flight state, and can be killed with SIGKILL.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use patchbay_core::{Clock, ConnectionId, Health, ManualClock};
use patchbay_crypto::Keyring;
use patchbay_fake_salesforce::control::faults::FaultKind;
use patchbay_refresh::{RefreshConfig, Refresher, Sealer};
use patchbay_store::Store;
use patchbay_store::testing::TestDatabase;
use tokio::task::JoinSet;

use crate::support::{Env, assert_no_token_presented_twice};

patchbay_store::backend_tests!(
    three_processes_refresh_once,
    a_killed_lease_holder_is_taken_over
);

fn spawn_node(env: &Env, name: &str, id: &ConnectionId, calls: usize, lease_ttl_ms: i64) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    Command::new(exe)
        .args([
            "--exact",
            "multi_process::node_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PB_NODE_DB", env.db.url())
        .env("PB_NODE_KEYRING", &env.keyring_json)
        .env("PB_NODE_CONN", id.as_str())
        .env("PB_NODE_NAME", name)
        .env("PB_NODE_CALLS", calls.to_string())
        .env("PB_NODE_LEASE_TTL_MS", lease_ttl_ms.to_string())
        .env("PB_NODE_CLOCK_MS", env.now().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node process")
}

async fn wait(mut child: Child) -> bool {
    tokio::task::spawn_blocking(move || child.wait().map(|s| s.success()).unwrap_or(false))
        .await
        .unwrap_or(false)
}

async fn three_processes_refresh_once(db: TestDatabase) {
    let env = Env::start(db, |c| c.rotate_refresh_tokens = true).await;
    let (id, _) = env.expired_connection("c1").await;
    // Long enough for all three processes to start and ask while the refresh is in flight.
    env.fault(FaultKind::Latency { ms: 1_500 }, 1);
    let children: Vec<Child> = ["a", "b", "c"]
        .iter()
        .map(|n| spawn_node(&env, n, &id, 70, 60_000))
        .collect();
    for child in children {
        assert!(wait(child).await, "every call in every process got a token");
    }
    let calls = env.refresh_calls();
    assert_eq!(calls.len(), 1, "one refresh across three processes");
    assert_no_token_presented_twice(&calls);
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::Ok);
    assert!(row.lease_owner.is_none());
}

async fn a_killed_lease_holder_is_taken_over(db: TestDatabase) {
    let env = Env::start(db, |_| {}).await;
    let (id, _) = env.expired_connection("c1").await;
    let lease_ttl = 3_000;
    // The child's token call hangs; we kill it while it holds the lease.
    env.fault(FaultKind::Latency { ms: 30_000 }, 1);
    let mut child = spawn_node(&env, "doomed", &id, 1, lease_ttl);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while env.row(&id).await.lease_owner.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child never took the lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Holding the lease is not enough: the child may be killed before its token call leaves,
    // and the hanging fault would then catch the survivor instead. Kill it once the
    // emulator has taken the fault, i.e. the call is in flight.
    while !env.emu.emulator().faults().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child's token call never reached the emulator"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    assert!(
        env.row(&id).await.lease_owner.is_some(),
        "the dead node's lease is left behind"
    );
    let node = env.node("survivor").await;
    let waiting = {
        let (node, id) = (node.clone(), id.clone());
        tokio::spawn(async move { node.access_token_for(&id).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !waiting.is_finished(),
        "the lease is respected until it expires"
    );
    let token = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("not stuck")
        .unwrap()
        .expect("the survivor refreshed");
    assert_eq!(token.token_version, env.row(&id).await.token_version);
    let row = env.row(&id).await;
    assert_eq!(row.health, Health::Ok);
    assert!(row.lease_owner.is_none());
}

/// The child side. Does nothing unless started by [`spawn_node`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs only as a child process of the multi-process tests"]
async fn node_process() {
    let Ok(url) = std::env::var("PB_NODE_DB") else {
        return;
    };
    let var = |k: &str| std::env::var(k).expect(k);
    let keyring = Keyring::from_json(&var("PB_NODE_KEYRING")).expect("keyring");
    let store = Store::connect(&url).await.expect("database");
    let clock = Arc::new(ManualClock::new(var("PB_NODE_CLOCK_MS").parse().unwrap()));
    let node = Refresher::new(
        store,
        Sealer::new(Arc::new(keyring)),
        patchbay_oauth::http_client(patchbay_oauth::HttpOptions {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        })
        .unwrap(),
        clock as Arc<dyn Clock>,
        RefreshConfig {
            node_id: var("PB_NODE_NAME"),
            lease_ttl_ms: var("PB_NODE_LEASE_TTL_MS").parse().unwrap(),
            ..RefreshConfig::default()
        },
    );
    let id = ConnectionId::parse(&var("PB_NODE_CONN")).unwrap();
    let mut set = JoinSet::new();
    for _ in 0..var("PB_NODE_CALLS").parse::<usize>().unwrap() {
        let (node, id) = (node.clone(), id.clone());
        set.spawn(async move { node.access_token_for(&id).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().expect("token");
    }
}
