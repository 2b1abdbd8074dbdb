//! The README's webhook signature checks, in Python and Node, are run as printed against a
//! real signed delivery: both accept it and both reject it with one byte of the body changed.
//! A missing interpreter skips its half with a notice (under `CI=true` it fails instead).

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{json_with, spawn_app};
use crate::webhooks_support::Receiver;

/// The body of the first fenced block of `lang` in the README's "## Webhooks" section.
fn readme_block(lang: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let section = readme
        .split("\n## Webhooks\n")
        .nth(1)
        .expect("a Webhooks section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let fence = format!("```{lang}\n");
    let start = section.find(&fence).expect("a code block") + fence.len();
    let len = section[start..].find("```").expect("closed block");
    section[start..start + len].to_owned()
}

fn interpreter(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let msg = format!("README {name} snippet not run: {name} is not installed");
        // CI has both interpreters: a missing one there is a broken image, not a skip.
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "{msg}");
        eprintln!("SKIPPED: {msg}");
    }
    found
}

const PYTHON_HARNESS: &str = r#"
import os, sys
raw = open(sys.argv[1], "rb").read()
headers = {"x-apideck-signature": os.environ["SIG_APIDECK"], "x-patchbay-signature": os.environ["SIG_PATCHBAY"]}
key, secret = os.environ["API_KEY"], os.environ["SIGNING_SECRET"]
tampered = raw.replace(b"webhook", b"Webhook", 1)
print("good=%s tampered=%s" % (verify(raw, headers, key, secret), verify(tampered, headers, key, secret)))
"#;

const NODE_HARNESS: &str = r#"
const fs = require("fs");
const raw = fs.readFileSync(process.argv[2]);
const headers = {"x-apideck-signature": process.env.SIG_APIDECK, "x-patchbay-signature": process.env.SIG_PATCHBAY};
const tampered = Buffer.from(raw.toString("utf8").replace("webhook", "Webhook"));
const run = (body) => verify(body, headers, process.env.API_KEY, process.env.SIGNING_SECRET);
console.log(`good=${run(raw) ? "True" : "False"} tampered=${run(tampered) ? "True" : "False"}`);
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_python_and_node_verifiers_accept_a_real_delivery_and_reject_a_tampered_one() {
    let t = spawn_app().await;
    let rx = Receiver::start().await;
    let r = t
        .api(Method::POST, "/webhook/webhooks")
        .json(&json!({"unified_api": "vault", "status": "enabled",
            "delivery_url": rx.url, "events": ["*"]}))
        .send()
        .await
        .unwrap();
    let created = json_with(r, StatusCode::CREATED).await;
    let secret = created["data"]["signing_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = rx.deliveries().pop().expect("the validation event");
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, &d.raw).unwrap();

    for (interp, lang, harness, file) in [
        ("python3", "python", PYTHON_HARNESS, "verify.py"),
        ("node", "js", NODE_HARNESS, "verify.js"),
    ] {
        if !interpreter(interp) {
            continue;
        }
        let script = dir.path().join(file);
        std::fs::write(&script, format!("{}\n{harness}", readme_block(lang))).unwrap();
        let out = Command::new(interp)
            .arg(&script)
            .arg(&body)
            .env("SIG_APIDECK", &d.apideck_signature)
            .env("SIG_PATCHBAY", &d.patchbay_signature)
            .env("API_KEY", &t.api_key)
            .env("SIGNING_SECRET", &secret)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{interp}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.trim(), "good=True tampered=False", "{interp}");
    }
}
