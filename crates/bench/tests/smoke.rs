//! The bench's smoke run under `cargo test`: `patchbay-bench --smoke` starts every component,
//! runs each row for a fraction of a second and prints its tables. No figure is checked
//! (a test machine's speed says nothing), except the one that is a correctness property:
//! every call Patchbay answered has its request-log entry.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `logged/sent` cell of the row whose name starts with `row`.
fn logged_and_sent(out: &str, row: &str) -> (u64, u64) {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("| {row}")))
        .unwrap_or_else(|| panic!("no {row} row in:\n{out}"));
    let cell = line
        .split('|')
        .map(str::trim)
        .find(|c| c.contains('/') && c.split('/').all(|n| n.parse::<u64>().is_ok()))
        .unwrap_or_else(|| panic!("no logged/sent cell in {line}"));
    let (logged, sent) = cell.split_once('/').expect("a slash");
    (logged.parse().expect("logged"), sent.parse().expect("sent"))
}

#[test]
fn the_smoke_run_prints_every_row() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_patchbay-bench"))
        .arg("--smoke")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the bench");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the smoke run took over 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert!(
        status.success(),
        "exit {status}\nstdout:\n{out}\nstderr:\n{err}"
    );
    for row in [
        "direct GET",
        "proxy GET /proxy",
        "bare forwarder",
        "unified GET /crm/companies",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("| {row}"))),
            "no {row} row:\n{out}"
        );
    }
    assert!(
        out.contains("nginx proxy_pass") || err.contains("nginx row is skipped"),
        "the nginx row runs or says why not:\n{out}\n{err}"
    );
    assert!(out.contains("refresh coalescing:"), "{out}");
    assert!(out.contains("saturated proxy / "), "{out}");
    for row in ["proxy GET /proxy", "unified GET /crm/companies"] {
        let (logged, sent) = logged_and_sent(&out, row);
        assert!(sent > 0, "{row}: nothing sent\n{out}");
        assert_eq!(logged, sent, "{row}: every call has its log entry\n{out}");
    }
    // The storm is a correctness property as well: every due connection refreshed, once.
    let storm = out
        .lines()
        .find(|l| l.starts_with("- refresh storm:"))
        .unwrap_or_else(|| panic!("no refresh storm line:\n{out}"));
    assert!(
        storm.contains("50 connections due at once")
            && storm.contains("→ 50 refreshed, 0 failed, 50 token calls"),
        "{storm}"
    );
    // The footprint runs whenever the `patchbay` binary sits beside the bench (a workspace
    // build puts it there), and says why not otherwise.
    let beside = Path::new(env!("CARGO_BIN_EXE_patchbay-bench")).with_file_name("patchbay");
    if beside.is_file() {
        // One row per backend and stored count; the smoke run uses SQLite only.
        for stored in ["| SQLite | 1 |", "| SQLite | 20 |"] {
            assert!(
                out.lines().any(|l| l.starts_with(stored)),
                "no footprint row {stored}:\n{out}"
            );
        }
    } else {
        assert!(out.contains("- footprint: skipped"), "{out}");
    }
}
