//! `patchbay demo --smoke`: what a reader of the demo's instructions would do, done by the
//! demo itself against its own running server, then exit. CI runs it through the README's own
//! first command to prove that command works on a fresh clone.
//!
//! Each step prints one line; the first failure ends the run with an error naming the step.

use std::time::Duration;

use anyhow::{Context as _, bail};
use patchbay_core::{ApplicationId, ConnectionState, ServiceId, UnifiedApi};
use patchbay_server::service::Vault;
use serde::Deserialize as _;
use serde_json::Value;

use super::steps::{Call, NextSteps, SERVICES};

/// No step may hang: the whole smoke run is bounded.
pub const TIME_LIMIT: Duration = Duration::from_secs(90);

pub async fn run(steps: &NextSteps, vault: &Vault) -> anyhow::Result<()> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .context("building an HTTP client")?;

    step("landing page", async {
        let page = get_ok(&browser, &format!("{}/", steps.base)).await?;
        expect(
            page.contains("Patchbay"),
            "the landing page does not name Patchbay",
        )
    })
    .await?;
    step("hosted connect page offers both CRMs", async {
        let page = get_ok(&browser, &steps.session_uri).await?;
        for (service, name) in SERVICES {
            expect(
                page.contains(&format!("/connect/crm/{service}")),
                &format!("the connect page offers no {name} connect link"),
            )?;
        }
        Ok(())
    })
    .await?;
    for (service, name) in SERVICES {
        let page = match service {
            "salesforce" => "login",
            _ => "install page",
        };
        step(&format!("connect through the {name} {page}"), async {
            let landed = follow(
                &browser,
                &format!("{}/connect/crm/{service}", steps.session_uri),
            )
            .await?;
            expect(
                landed.contains("id=\"notice-title\">Connected"),
                &format!("the customer did not come back from {name} to a \"Connected\" page"),
            )
        })
        .await?;
    }
    let calls = steps.calls();
    for (i, c) in calls.iter().enumerate() {
        let name = match (c.service, c.url.ends_with("/proxy")) {
            (None, _) => "Vault call".to_owned(),
            (Some(s), false) => format!("CRM call on {s}"),
            (Some(s), true) => format!("proxy call on {s}"),
        };
        step(&format!("{name} (printed step {})", i + 2), async {
            let v = call(c).await?;
            check(c, &v)
        })
        .await?;
    }
    let app = ApplicationId::parse(&steps.app).map_err(|e| anyhow::anyhow!("{e}"))?;
    for (service, _) in SERVICES {
        let name = format!("doctor crm/{service} (printed step {})", calls.len() + 2);
        step(&name, async {
            let id = ServiceId::parse(service).map_err(|e| anyhow::anyhow!("{e}"))?;
            let report = vault
                .diagnose_integration(&app, &UnifiedApi::crm(), &id)
                .await?;
            if !report.ok {
                bail!("{}", crate::commands::doctor::render(&report));
            }
            Ok(())
        })
        .await?;
    }
    println!("smoke: every printed step works");
    Ok(())
}

/// What a printed call must answer: every connection callable (the Vault call), records from
/// the CRM (a unified call), or the CRM's own list answer (a proxy call: Salesforce's
/// `records`, HubSpot's `results`).
fn check(c: &Call, v: &Value) -> anyhow::Result<()> {
    let non_empty = |key: &str| v[key].as_array().is_some_and(|a| !a.is_empty());
    match c.service {
        None => {
            for (service, name) in SERVICES {
                let state = v["data"]
                    .as_array()
                    .and_then(|a| a.iter().find(|c| c["service_id"] == service))
                    .and_then(|c| ConnectionState::deserialize(&c["state"]).ok());
                expect(
                    state == Some(ConnectionState::Callable),
                    &format!("the {name} connection is {state:?}, not callable"),
                )?;
            }
            Ok(())
        }
        Some(service) if c.url.ends_with("/proxy") => expect(
            non_empty("records") || non_empty("results"),
            &format!("the proxied {service} call listed nothing: {v}"),
        ),
        Some(service) => expect(
            non_empty("data"),
            &format!("the CRM call on {service} returned no contacts: {v}"),
        ),
    }
}

async fn step(name: &str, work: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    work.await
        .with_context(|| format!("smoke step \"{name}\""))?;
    println!("smoke: {name} ... ok");
    Ok(())
}

fn expect(ok: bool, what: &str) -> anyhow::Result<()> {
    if ok { Ok(()) } else { bail!("{what}") }
}

async fn get_ok(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let r = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = r.status();
    let body = r.text().await?;
    expect(status.is_success(), &format!("GET {url} answered {status}"))?;
    Ok(body)
}

/// Follows redirects like a browser (cookies kept) and returns the last page. With the
/// emulators' auto-approve on, Salesforce's login and consent pages and HubSpot's install page
/// are skipped.
async fn follow(client: &reqwest::Client, start: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(start)?;
    for _ in 0..12 {
        let r = client.get(url.clone()).send().await?;
        if r.status().is_redirection() {
            let location = r
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .context("a redirect without a Location")?;
            url = url.join(location)?;
            continue;
        }
        let status = r.status();
        let body = r.text().await?;
        expect(status.is_success(), &format!("{url} answered {status}"))?;
        return Ok(body);
    }
    bail!("more than 12 redirects from {start}")
}

/// One printed curl command, made as printed.
async fn call(c: &Call) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()?;
    let mut req = client.get(&c.url);
    for (name, value) in &c.headers {
        req = req.header(*name, value);
    }
    let r = req.send().await.with_context(|| format!("GET {}", c.url))?;
    let status = r.status();
    let body: Value = r.json().await.context("the answer is not JSON")?;
    expect(
        status.is_success(),
        &format!("{} answered {status}: {body}", c.url),
    )?;
    Ok(body)
}
