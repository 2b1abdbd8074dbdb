//! `compose.yaml` and the `Dockerfile` name only flags and `PATCHBAY_*` variables that
//! `patchbay serve` knows (docker is not needed: the files are read as text, and the binary's
//! own `--help` is the reference). `docker compose config` is the stronger check where docker
//! exists.

use std::collections::BTreeSet;

use crate::support::patchbay;

/// Variables read outside clap: the master key (never a flag, docs/security.md) and the log
/// filter (tracing's env filter).
const READ_DIRECTLY: [&str; 2] = ["PATCHBAY_MASTER_KEY", "PATCHBAY_LOG"];

fn repo_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn serve_help() -> String {
    let out = patchbay()
        .args(["serve", "--help"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every `PATCHBAY_…` name in `text`.
fn env_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("PATCHBAY_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        // `PATCHBAY_*` in prose is no name.
        if name.len() > "PATCHBAY_".len() {
            names.insert(name);
        }
    }
    names
}

/// Every `--flag` in `text` (a long option: two dashes, then lower-case words).
fn flags(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("\"--") {
        let name: String = text[i + 1..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if name.len() > 2 {
            out.insert(name);
        }
    }
    out
}

#[test]
fn compose_and_dockerfile_name_only_what_the_binary_knows() {
    let help = serve_help();
    let known_env: BTreeSet<String> = env_names(&help)
        .into_iter()
        .chain(READ_DIRECTLY.iter().map(|s| (*s).to_owned()))
        .collect();
    // The new listener settings are among them (the help is the reference, so check it is).
    for name in [
        "PATCHBAY_HEADER_READ_TIMEOUT",
        "PATCHBAY_BODY_READ_TIMEOUT",
        "PATCHBAY_IDLE_TIMEOUT",
        "PATCHBAY_RESPONSE_WRITE_TIMEOUT",
        "PATCHBAY_MAX_CONNECTIONS",
        "PATCHBAY_TRUSTED_PROXIES",
        "PATCHBAY_DATABASE_URL",
    ] {
        assert!(known_env.contains(name), "serve --help lacks {name}");
    }
    let compose = repo_file("compose.yaml");
    let dockerfile = repo_file("Dockerfile");
    let used: BTreeSet<String> = env_names(&compose)
        .into_iter()
        .chain(env_names(&dockerfile))
        .collect();
    assert!(
        used.len() >= 8,
        "compose.yaml configures the nodes: {used:?}"
    );
    let unknown: Vec<_> = used.difference(&known_env).collect();
    assert!(unknown.is_empty(), "unknown variables: {unknown:?}");

    let compose_flags = flags(&compose);
    assert!(
        compose_flags.contains("--trusted-proxy"),
        "{compose_flags:?}"
    );
    for flag in &compose_flags {
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "serve --help lacks {flag}"
        );
    }
    // Two Patchbay nodes on one PostgreSQL, behind a proxy.
    for service in ["  db:", "  node1:", "  node2:", "  proxy:"] {
        assert!(compose.contains(service), "compose.yaml lacks {service}");
    }
    assert!(compose.contains("command: [\"serve\""));
    // The image runs as a non-root user.
    assert!(
        dockerfile
            .lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root"))
    );
    assert!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2
    );
}

#[test]
fn the_listener_flags_parse_durations_and_refuse_nonsense() {
    let out = patchbay()
        .args(["serve", "--header-read-timeout", "soon"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a duration"), "{err}");
    let out = patchbay()
        .args(["serve", "--response-write-timeout", "0"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("longer than zero"), "{err}");
    let out = patchbay()
        .args(["serve", "--trusted-proxy", "10.0.0.0/99"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("prefix length"));
}
