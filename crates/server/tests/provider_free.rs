//! The server knows no provider (issue 15): every provider-specific rule lives behind
//! `patchbay_connectors::connector::Connector`, and the server, the console, the refresh
//! coordinator and the core ask the registry. This test reads their sources (and the console's
//! templates) and fails on any mention of a provider name ("salesforce", "hubspot", any case) —
//! comments included — outside the short exception list below, each with its reason. A new
//! mention either moves into a connector or earns an entry.

use std::path::{Path, PathBuf};

/// Provider names that must not appear.
const NAMES: [&str; 2] = ["salesforce", "hubspot"];

/// Source trees checked, relative to the workspace root, and whether a file's trailing unit-test
/// module (from a line `#[cfg(test)]` to the end of the file) is exempt.
///
/// The console's unit tests are exempt: they pick real connectors from the registry by service
/// id to prove that each one's own fields and wording reach its page (a provider-free test
/// could not tell Salesforce's page from HubSpot's). Product code above the test module is
/// checked like everywhere else.
const TREES: [(&str, bool); 6] = [
    ("crates/server/src", false),
    ("crates/store/src", false),
    ("crates/console/src", true),
    ("crates/console/templates", false),
    ("crates/refresh/src", false),
    ("crates/core/src", false),
];

/// `(file relative to the workspace root, text the line contains, why it is allowed)`.
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "crates/console/src/markdown.rs",
        "doc!(\"docs/",
        "the documentation served at /docs is compiled in by file name (include_str! needs a \
         literal path), with its title",
    ),
    (
        "crates/console/src/markdown.rs",
        "image!(\"docs/screenshots/admin-salesforce",
        "screenshots referenced by the compiled-in docs are compiled in by file name",
    ),
    (
        "crates/core/src/ids.rs",
        "salesforce",
        "`ServiceId::salesforce()`, a constructor the tests of every crate use (no product code in \
         the trees checked here calls it: they would be caught by name); and the id unit tests",
    ),
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
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push(path);
        }
    }
}

/// Every `file:line: text` mentioning a provider outside the exceptions.
fn offending_lines(root: &Path) -> (Vec<String>, usize) {
    let mut files = Vec::new();
    for (tree, tests_exempt) in TREES {
        let mut found = Vec::new();
        rust_files(&root.join(tree), &mut found);
        files.extend(found.into_iter().map(|f| (f, tests_exempt)));
    }
    files.sort();
    let mut hits = Vec::new();
    for (file, tests_exempt) in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if *tests_exempt && line.trim() == "#[cfg(test)]" {
                break;
            }
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
fn the_server_console_refresh_core_and_store_name_no_provider() {
    let root = workspace_root();
    let (hits, files) = offending_lines(&root);
    assert!(
        files > 120,
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
    // A console template is read too; a console unit-test module is not, but the console's
    // product code above it is.
    let console = dir.path().join("crates/console");
    std::fs::create_dir_all(console.join("src")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::create_dir_all(console.join("templates")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::write(console.join("templates/p.html"), "<h1>HubSpot</h1>\n")
        .unwrap_or_else(|e| panic!("write: {e}"));
    std::fs::write(
        console.join("src/y.rs"),
        "const A: &str = \"hubspot\";\n#[cfg(test)]\nmod tests { const B: &str = \"salesforce\"; }\n",
    )
    .unwrap_or_else(|e| panic!("write: {e}"));
    let (hits, files) = offending_lines(dir.path());
    assert_eq!(files, 3);
    assert_eq!(
        hits,
        vec![
            "crates/console/src/y.rs:1: const A: &str = \"hubspot\";".to_owned(),
            "crates/console/templates/p.html:1: <h1>HubSpot</h1>".to_owned(),
            "crates/server/src/x.rs:1: // calls SalesForce here".to_owned(),
        ]
    );
}
