//! Where `Store::connect` spends its time on an existing, migrated database: the pool's first
//! connection, the migration check, the first query. For the start-up profile in
//! bench/results.md.
//!
//! ```text
//! cargo run --release -p patchbay-store --example connect_time -- postgres://…/DB [runs]
//! ```

use std::time::Instant;

use patchbay_store::Store;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("a database URL")?;
    let runs: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    // The first connect creates and migrates the database if needed; not measured.
    Store::connect(&url).await?.close().await;
    for run in 1..=runs {
        let started = Instant::now();
        let store = Store::connect(&url).await?;
        let connected = started.elapsed();
        store.get_meta("canary").await?;
        let first_query = started.elapsed();
        store.pending_migrations().await?;
        let ready_check = started.elapsed();
        println!(
            "run {run}: connect + migration check {:.1} ms, + first query {:.1} ms, + pending-migrations query {:.1} ms",
            connected.as_secs_f64() * 1e3,
            first_query.as_secs_f64() * 1e3,
            ready_check.as_secs_f64() * 1e3,
        );
        store.close().await;
    }
    Ok(())
}
