//! `patchbay demo`: starts with no set-up, prints a connect link that works in a browser and
//! commands that work as printed once connected; rerunning reuses the data dir; `--smoke`
//! does all of that by itself.

use std::collections::HashMap;

use serde_json::Value;

use crate::support::{Running, http, patchbay, stdout};

/// What the demo printed.
struct Printed {
    base: String,
    app: String,
    session_uri: String,
    authorize_url: String,
    /// (url, headers) of each curl command, in order.
    curls: Vec<(String, Vec<(String, String)>)>,
    /// Each curl command exactly as printed (with its line continuations), for a shell.
    curl_lines: Vec<String>,
    /// The doctor line exactly as printed, to run through a shell.
    doctor: String,
    text: String,
}

fn field(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
        .unwrap_or_else(|| panic!("no {label} in:\n{text}"))
}

fn read_demo(demo: &mut Running) -> Printed {
    let mut text = String::new();
    loop {
        let line = demo.line();
        text.push_str(&line);
        text.push('\n');
        if line.contains(" doctor --data-dir ") {
            break;
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut curls = Vec::new();
    let mut curl_lines = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(rest) = lines[i].strip_prefix("curl -s ") {
            let url = rest.trim_end_matches('\\').trim().to_owned();
            let mut headers = Vec::new();
            let start = i;
            i += 1;
            while let Some(h) = lines.get(i).and_then(|l| l.trim().strip_prefix("-H '")) {
                let h = h.trim_end_matches('\\').trim().trim_end_matches('\'');
                let (k, v) = h.split_once(": ").expect("header");
                headers.push((k.to_owned(), v.to_owned()));
                i += 1;
            }
            curls.push((url, headers));
            curl_lines.push(lines[start..i].join("\n"));
        } else {
            i += 1;
        }
    }
    let after = |marker: &str| {
        lines
            .iter()
            .skip_while(|l| !l.contains(marker))
            .find(|l| l.trim_start().starts_with("http"))
            .map(|l| l.trim().to_owned())
            .unwrap_or_else(|| panic!("no link after {marker}:\n{text}"))
    };
    Printed {
        base: field(&text, "Patchbay  "),
        app: field(&text, "Application  "),
        session_uri: after("1. "),
        authorize_url: after("Or go straight"),
        doctor: lines
            .iter()
            .find(|l| l.contains(" doctor --data-dir "))
            .map(|l| l.trim().to_owned())
            .unwrap_or_default(),
        curls,
        curl_lines,
        text,
    }
}

/// The demo as a reader starts an installed binary (not through `cargo run`, which the test
/// harness's own environment would otherwise suggest to it).
fn demo_command() -> std::process::Command {
    let mut cmd = patchbay();
    cmd.env_remove("CARGO").env_remove("CARGO_PKG_NAME");
    cmd
}

/// Starts the demo on a free Patchbay port and the given emulator address: a rerun keeps its
/// connection only while the emulator answers where the connection's org lives, as with the
/// default fixed port.
fn start_demo(dir: &std::path::Path, emulator: &str) -> Running {
    let mut cmd = demo_command();
    cmd.args([
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--emulator-listen",
        emulator,
        "--data-dir",
    ])
    .arg(dir);
    Running::start(cmd)
}

/// Runs a printed command through `sh`, as a reader pasting it would, and parses what it
/// prints as JSON (the curl commands print the API's JSON answer).
async fn printed_json(command: &str) -> Value {
    let command = command.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .output()
            .expect("sh runs (and curl is installed)")
    })
    .await
    .expect("join");
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// A loopback address with a port that was free a moment ago.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// `name="NAME" value="..."` and the form action from an emulator page.
fn form(html: &str) -> (String, HashMap<&'static str, String>) {
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("form action")
        .replace("&amp;", "&");
    let tx = html
        .split("name=\"tx\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("tx")
        .to_owned();
    let mut fields = HashMap::from([("tx", tx)]);
    if html.contains("name=\"password\"") {
        fields.insert("username", "admin@emulator.test".to_owned());
        fields.insert("password", "password123".to_owned());
    } else {
        fields.insert("decision", "allow".to_owned());
    }
    (action, fields)
}

/// Follows the link like a browser (with cookies) whose user clicks Connect, logs in and
/// clicks Allow; returns the last page's URL and body.
/// The hosted page's Salesforce card form: its action, CSRF token and checked login host.
fn host_form(body: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = body.find("id=\"host-form-crm-salesforce\"")?;
    let open = body[..start].rfind("<form")?;
    let end = open + body[open..].find("</form>")?;
    let form = &body[open..end];
    let attr = |tag: &str, name: &str| {
        tag.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(str::to_owned)
    };
    let action = attr(form, "action")?;
    let mut fields = Vec::new();
    for input in form.split("<input").skip(1) {
        let tag = input.split('>').next().unwrap_or_default();
        let (Some(name), Some(value)) = (attr(tag, "name"), attr(tag, "value")) else {
            continue;
        };
        let radio = tag.contains("type=\"radio\"");
        if !radio || tag.contains(" checked") {
            fields.push((name, value));
        }
    }
    Some((action, fields))
}

async fn browse(start: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    let join = |base: &str, u: &str| {
        url::Url::parse(base)
            .and_then(|b| b.join(&u.replace("&amp;", "&")))
            .expect("url")
            .to_string()
    };
    let mut url = start.to_owned();
    let mut response = client.get(&url).send().await.expect("get");
    let mut clicked = false;
    for _ in 0..16 {
        if response.status().is_redirection() {
            url = join(
                &url,
                response.headers()["location"].to_str().expect("location"),
            );
            response = client.get(&url).send().await.expect("get");
            continue;
        }
        let body = response.text().await.expect("body");
        // The hosted connect page: Salesforce's card form (the login host it offers checked,
        // the page's CSRF token), submitted once with Connect.
        let connect = if clicked { None } else { host_form(&body) };
        if let Some((action, fields)) = connect {
            clicked = true;
            url = join(&url, &action);
            response = client.post(&url).form(&fields).send().await.expect("post");
            continue;
        }
        if !body.contains("name=\"tx\"") {
            return (url, body);
        }
        let (action, fields) = form(&body);
        url = join(&url, &action);
        response = client.post(&url).form(&fields).send().await.expect("post");
    }
    panic!("too many steps, at {url}");
}

#[tokio::test]
async fn demo_prints_a_working_connect_link_and_curl_commands() {
    let dir = tempfile::tempdir().expect("tmp");
    let emulator = free_address();
    let mut demo = start_demo(dir.path(), &emulator);
    let p = read_demo(&mut demo);
    assert!(
        p.session_uri.starts_with(&format!("{}/session/", p.base)),
        "{}",
        p.text
    );
    assert!(
        p.text
            .contains(&format!("{}/admin  (user admin, password ", p.base))
    );
    assert!(p.text.contains("admin@emulator.test") && p.text.contains("password123"));
    assert_eq!(p.curls.len(), 2, "{}", p.text);
    assert!(p.curls[1].0.ends_with("/crm/contacts"));

    // The hosted connect page (the link a customer gets), through Salesforce's login, and
    // back to the hosted page, which says so.
    let (landed, page) = browse(&p.session_uri).await;
    assert!(landed.starts_with(&p.session_uri), "{landed}\n{page}");
    assert!(page.contains("id=\"notice-title\">Connected"), "{page}");

    // The first curl command, run as printed by a shell.
    let v = printed_json(&p.curl_lines[0]).await;
    let sf = v["data"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["service_id"] == "salesforce"))
        .expect("salesforce connection");
    assert_eq!(sf["state"], "callable", "{v}");

    // The first CRM call, as printed: contacts from the emulator's seeded org.
    let v = printed_json(&p.curl_lines[1]).await;
    assert_eq!(v["status_code"], 200, "{v}");
    assert!(v["data"].as_array().is_some_and(|a| !a.is_empty()), "{v}");

    // The printed doctor command, run as printed by a shell, passes every check now that a
    // customer is connected.
    let line = p.doctor.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("PATCHBAY_LOG", "warn")
            .output()
            .expect("sh")
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}\n{}", p.doctor, stdout(&out));
    assert!(
        stdout(&out).contains("All checks passed."),
        "{}",
        stdout(&out)
    );
    // Ctrl-C, as a reader ends the demo.
    assert!(demo.interrupt().success());

    // A second run reuses the application and issues a new key; the old one stops working.
    let mut again = start_demo(dir.path(), &emulator);
    let q = read_demo(&mut again);
    assert_eq!(q.app, p.app);
    let old_key = &p.curls[0].1[0].1;
    let new_key = &q.curls[0].1[0].1;
    assert_ne!(old_key, new_key);
    let client = http();
    let status = |headers: Vec<(String, String)>| {
        let client = client.clone();
        let url = q.curls[0].0.clone();
        async move {
            let mut req = client.get(url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.expect("send").status()
        }
    };
    assert_eq!(status(q.curls[0].1.clone()).await, 200);
    // The connection survived the restart (the emulator kept its grant): the printed CRM call
    // works before anyone connects again, with the tokens stored before the restart.
    assert!(
        q.text.contains("still connected from the last run"),
        "{}",
        q.text
    );
    let v = printed_json(&q.curl_lines[1]).await;
    assert_eq!(v["status_code"], 200, "{v}");
    assert!(v["data"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
    // The direct authorize link works too, and lands on the styled completion page.
    let (landed, page) = browse(&q.authorize_url).await;
    assert!(
        landed.starts_with(&format!("{}/connect/done", q.base)),
        "{landed}\n{page}"
    );
    assert!(page.contains("id=\"done-title\">Connected"), "{page}");
    assert!(page.contains("/console/assets/console.css"), "{page}");
    let mut stale = q.curls[0].1.clone();
    stale[0].1 = old_key.clone();
    assert_eq!(status(stale).await, 401);
}

#[test]
fn demo_smoke_does_every_printed_step_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = demo_command()
        .args(["demo", "--smoke", "--data-dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("demo --smoke");
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        crate::support::stderr(&out)
    );
    for step in [
        "smoke: landing page ... ok",
        "smoke: connect through the Salesforce login ... ok",
        "smoke: Vault call (printed step 2) ... ok",
        "smoke: CRM call (printed step 3) ... ok",
        "smoke: doctor (printed step 4) ... ok",
        "smoke: every printed step works",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
}
