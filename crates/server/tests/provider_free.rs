//! The server knows no provider (issue 15): every provider-specific rule lives behind
//! `patchbay_connectors::connector::Connector`, and the server asks the registry. This test reads
//! the server's and the store's sources and fails on any mention of a provider name
//! ("salesforce", "hubspot", any case) — comments included — outside the short exception list
//! below, each with its reason. A new mention either moves into a connector or earns an entry.

use std::path::{Path, PathBuf};

/// Provider names that must not appear.
const NAMES: [&str; 2] = ["salesforce", "hubspot"];

/// Source trees checked, relative to the workspace root.
const TREES: [&str; 2] = ["crates/server/src", "crates/store/src"];

/// `(file relative to the workspace root, text the line contains, why it is allowed)`.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "crates/server/src/service/telemetry.rs",
        "PROVIDERS",
        "metric label values must be a fixed set known before any call (docs/deploy.md lists them); \
         the per-provider slots are sized at compile time",
    ),
    (
        "crates/server/src/service/telemetry.rs",
        "\"salesforce\"",
        "the telemetry unit test records calls under the fixed label values",
    ),
    (
        "crates/server/src/service/telemetry.rs",
        "\"hubspot\"",
        "the telemetry unit test records calls under the fixed label values",
    ),
    (
        "crates/server/src/routes/assets.rs",
        "salesforce-",
        "connector images are compiled into the binary by file name (include_bytes! needs a literal path); \
         the connector's Display names which ones it uses",
    ),
    (
        "crates/server/src/routes/assets.rs",
        "hubspot-",
        "connector images are compiled into the binary by file name (include_bytes! needs a literal path); \
         the connector's Display names which ones it uses",
    ),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `file:line: text` mentioning a provider outside the exceptions.
fn offending_lines(root: &Path) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    for tree in TREES {
        rust_files(&root.join(tree), &mut files);
    }
    files.sort();
    let mut hits = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_ascii_lowercase();
            if !NAMES.iter().any(|name| lower.contains(name)) {
                continue;
            }
            let allowed = EXCEPTIONS
                .iter()
                .any(|(f, needle, _)| *f == rel && line.contains(needle));
            if !allowed {
                hits.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    (hits, files.len())
}

#[test]
fn the_server_and_the_store_name_no_provider() {
    let root = workspace_root();
    let (hits, files) = offending_lines(&root);
    assert!(
        files > 50,
        "only {files} source files found under {root:?}: the walk is broken"
    );
    assert!(
        hits.is_empty(),
        "provider names outside the connector seam (move the rule into a connector, or add a \
         documented exception):\n{}",
        hits.join("\n")
    );
}

#[test]
fn every_exception_is_still_needed_and_explained() {
    let root = workspace_root();
    for (file, needle, why) in EXCEPTIONS {
        assert!(why.len() > 20, "{file}: say why");
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        assert!(
            text.lines()
                .any(|l| l.contains(needle)
                    && NAMES.iter().any(|n| l.to_ascii_lowercase().contains(n))),
            "{file}: the exception for {needle:?} matches nothing any more; remove it"
        );
    }
}

#[test]
fn the_check_can_fail() {
    // A throwaway tree with one mention proves the scan sees lines (so a pass means something).
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let tree = dir.path().join("crates/server/src");
    std::fs::create_dir_all(&tree).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::write(tree.join("x.rs"), "// calls SalesForce here\nfn f() {}\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    let (hits, files) = offending_lines(dir.path());
    assert_eq!(files, 1);
    assert_eq!(
        hits,
        vec!["crates/server/src/x.rs:1: // calls SalesForce here".to_owned()]
    );
}
