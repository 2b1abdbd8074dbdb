//! `patchbay demo`: starts with no set-up, prints a connect link that offers both CRMs and
//! works in a browser for each, and commands that work as printed once connected; rerunning
//! reuses the data dir; `--smoke` does all of that by itself.

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
    /// The doctor lines exactly as printed (Salesforce's, then HubSpot's), to run through a
    /// shell.
    doctors: Vec<String>,
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
        if line.contains(" doctor --data-dir ") && line.ends_with("crm/hubspot") {
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
        doctors: lines
            .iter()
            .filter(|l| l.contains(" doctor --data-dir "))
            .map(|l| l.trim().to_owned())
            .collect(),
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

/// Starts the demo on a free Patchbay port and the given emulator addresses (Salesforce's,
/// HubSpot's): a rerun keeps its Salesforce connection only while the emulator answers where
/// the connection's org lives, as with the default fixed ports.
fn start_demo(dir: &std::path::Path, emulators: &(String, String)) -> Running {
    let mut cmd = demo_command();
    cmd.args([
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--emulator-listen",
        &emulators.0,
        "--hubspot-emulator-listen",
        &emulators.1,
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

/// The hosted page's HubSpot card (a plain Connect link), then the HubSpot emulator's install
/// page signed in and approved, and back to the hosted page; returns its URL and body.
async fn browse_hubspot(session_uri: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    let page = client.get(session_uri).send().await.expect("get");
    let page = page.text().await.expect("body");
    let link = format!(
        "{}/connect/crm/hubspot",
        url::Url::parse(session_uri).expect("url").path()
    );
    assert!(page.contains(&format!("href=\"{link}\"")), "{page}");
    let mut url = format!("{session_uri}/connect/crm/hubspot");
    let mut response = client.get(&url).send().await.expect("get");
    let mut approved = false;
    for _ in 0..12 {
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().expect("location");
            url = url::Url::parse(&url)
                .and_then(|b| b.join(location))
                .expect("url")
                .to_string();
            response = client.get(&url).send().await.expect("get");
            continue;
        }
        let body = response.text().await.expect("body");
        if approved || !body.contains("name=\"email\"") {
            return (url, body);
        }
        // The install page: its hidden fields, the account's user, and "Connect app".
        let mut fields: Vec<(String, String)> = body
            .split("<input type=\"hidden\" ")
            .skip(1)
            .filter_map(|tag| {
                let attr = |name: &str| {
                    tag.split(&format!("{name}=\""))
                        .nth(1)
                        .and_then(|s| s.split('"').next())
                        .map(|v| v.replace("&amp;", "&"))
                };
                Some((attr("name")?, attr("value")?))
            })
            .collect();
        fields.push(("email".into(), "admin@emulator.test".into()));
        fields.push(("password".into(), "password123".into()));
        fields.push(("decision".into(), "approve".into()));
        approved = true;
        response = client.post(&url).form(&fields).send().await.expect("post");
    }
    panic!("too many steps, at {url}");
}

/// A printed doctor line, run as printed by a shell: exit 0 and every check passed.
async fn doctor_passes(line: &str) {
    let command = line.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .env("PATCHBAY_LOG", "warn")
            .output()
            .expect("sh")
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{line}\n{}", stdout(&out));
    assert!(
        stdout(&out).contains("All checks passed."),
        "{line}\n{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn demo_prints_a_working_connect_link_and_curl_commands() {
    let dir = tempfile::tempdir().expect("tmp");
    let emulator = (free_address(), free_address());
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
    assert!(
        p.text.contains("HubSpot emulator     http://"),
        "{}",
        p.text
    );
    assert_eq!(p.curls.len(), 5, "{}", p.text);
    assert_eq!(p.doctors.len(), 2, "{}", p.text);
    assert!(p.curls[1].0.ends_with("/crm/contacts"));
    assert!(p.curls[2].0.ends_with("/crm/contacts"));
    let service = |i: usize| {
        p.curls[i]
            .1
            .iter()
            .find(|(k, _)| k == "x-apideck-service-id")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(service(1).as_deref(), Some("salesforce"));
    assert_eq!(service(2).as_deref(), Some("hubspot"));
    assert!(p.curls[3].0.ends_with("/proxy") && p.curls[4].0.ends_with("/proxy"));
    assert_eq!(service(3).as_deref(), Some("salesforce"));
    assert_eq!(service(4).as_deref(), Some("hubspot"));

    // The hosted connect page (the link a customer gets), through Salesforce's login, and
    // back to the hosted page, which says so.
    let (landed, page) = browse(&p.session_uri).await;
    assert!(landed.starts_with(&p.session_uri), "{landed}\n{page}");
    assert!(page.contains("id=\"notice-title\">Connected"), "{page}");
    // The same page's HubSpot card, through the HubSpot emulator's install page.
    let (landed, page) = browse_hubspot(&p.session_uri).await;
    assert!(landed.starts_with(&p.session_uri), "{landed}\n{page}");
    assert!(page.contains("id=\"notice-title\">Connected"), "{page}");

    // The first curl command, run as printed by a shell: both connections are callable.
    let v = printed_json(&p.curl_lines[0]).await;
    for service in ["salesforce", "hubspot"] {
        let c = v["data"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["service_id"] == service))
            .unwrap_or_else(|| panic!("no {service} connection: {v}"));
        assert_eq!(c["state"], "callable", "{v}");
    }

    // The CRM calls, as printed: contacts from each emulator's seeded data, told apart by
    // the service id alone.
    let sf = printed_json(&p.curl_lines[1]).await;
    let hs = printed_json(&p.curl_lines[2]).await;
    for (v, service) in [(&sf, "salesforce"), (&hs, "hubspot")] {
        assert_eq!(v["status_code"], 200, "{v}");
        assert_eq!(v["service"], service, "{v}");
        assert!(v["data"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
    }
    assert_ne!(sf["data"][0]["id"], hs["data"][0]["id"]);
    // The proxy calls, as printed: each CRM's own answer.
    let v = printed_json(&p.curl_lines[3]).await;
    assert!(
        v["records"].as_array().is_some_and(|a| !a.is_empty()),
        "{v}"
    );
    let v = printed_json(&p.curl_lines[4]).await;
    assert!(
        v["results"].as_array().is_some_and(|a| !a.is_empty()),
        "{v}"
    );

    // The printed doctor commands, run as printed by a shell, pass every check now that the
    // customer is connected.
    for line in &p.doctors {
        doctor_passes(line).await;
    }
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
        q.text
            .contains("Salesforce org and HubSpot account are still connected from the last run"),
        "{}",
        q.text
    );
    for line in &q.curl_lines[1..] {
        let v = printed_json(line).await;
        let listed = ["data", "records", "results"]
            .iter()
            .any(|k| v[*k].as_array().is_some_and(|a| !a.is_empty()));
        assert!(listed, "{line}\n{v}");
    }
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
        "smoke: hosted connect page offers both CRMs ... ok",
        "smoke: connect through the Salesforce login ... ok",
        "smoke: connect through the HubSpot install page ... ok",
        "smoke: Vault call (printed step 2) ... ok",
        "smoke: CRM call on salesforce (printed step 3) ... ok",
        "smoke: CRM call on hubspot (printed step 4) ... ok",
        "smoke: proxy call on salesforce (printed step 5) ... ok",
        "smoke: proxy call on hubspot (printed step 6) ... ok",
        "smoke: doctor crm/salesforce (printed step 7) ... ok",
        "smoke: doctor crm/hubspot (printed step 7) ... ok",
        "smoke: every printed step works",
    ] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
}
