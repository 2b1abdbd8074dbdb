//! Many clients at once: writes are not lost, reads and pages stay consistent.

use std::collections::HashSet;
use std::sync::Arc;

use crate::support::{TestOrg, V};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writes_reads_and_pages() {
    let org = Arc::new(TestOrg::start().await);
    org.seed_contacts(1000, "Steady");
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let org = Arc::clone(&org);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..10 {
                let id = org
                    .create(
                        "Contact",
                        json!({"LastName": format!("Par{worker:02}-{i}")}),
                    )
                    .await;
                let read = org.get(&format!("{V}/sobjects/Contact/{id}")).await;
                assert_eq!(read.status, 200);
                let patched = org
                    .send(
                        Method::PATCH,
                        &format!("{V}/sobjects/Contact/{id}"),
                        Some(r#"{"Title":"Parallel"}"#),
                    )
                    .await;
                assert_eq!(patched.status, 204);
                ids.push(id);
            }
            ids
        }));
    }
    for _ in 0..4 {
        let org = Arc::clone(&org);
        tasks.push(tokio::spawn(async move {
            let first = org
                .call(
                    Method::GET,
                    &format!("{V}/query?q=SELECT+Id+FROM+Contact+WHERE+LastName+LIKE+'Steady%25'"),
                    None,
                    Some(&org.token),
                    &[("sforce-query-options", "batchSize=200")],
                )
                .await
                .json();
            let mut seen: HashSet<String> = HashSet::new();
            let mut page = first;
            loop {
                for r in page["records"].as_array().unwrap() {
                    assert!(seen.insert(r["Id"].as_str().unwrap().to_owned()));
                }
                let Some(next) = page["nextRecordsUrl"].as_str() else {
                    break;
                };
                page = org.get(next).await.json();
            }
            assert_eq!(seen.len(), 1000);
            Vec::new()
        }));
    }
    let mut created = HashSet::new();
    for t in tasks {
        for id in t.await.expect("task") {
            assert!(created.insert(id));
        }
    }
    assert_eq!(created.len(), 160);
    let count = org
        .query(
            "query",
            "SELECT COUNT() FROM Contact WHERE Title = 'Parallel'",
        )
        .await
        .json();
    assert_eq!(count["totalSize"], 160);
}
