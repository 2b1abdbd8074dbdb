//! `patchbay demo --smoke`: what a reader of the demo's instructions would do, done by the
//! demo itself against its own running server, then exit. CI runs it through the README's own
//! first command to prove that command works on a fresh clone.
//!
//! Each step prints one line; the first failure ends the run with an error naming the step.

use std::time::Duration;

use anyhow::{Context as _, bail};
use patchbay_core::{ApplicationId, ServiceId, UnifiedApi};
use patchbay_server::service::Vault;
use serde_json::Value;

use super::steps::{Call, NextSteps};

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
    step("hosted connect page", async {
        let page = get_ok(&browser, &steps.session_uri).await?;
        expect(
            page.contains("/connect/crm/salesforce"),
            "the connect page offers no Salesforce connect link",
        )
    })
    .await?;
    step("connect through the Salesforce login", async {
        let landed = follow(
            &browser,
            &format!("{}/connect/crm/salesforce", steps.session_uri),
        )
        .await?;
        expect(
            landed.contains("id=\"notice-title\">Connected"),
            "the customer did not come back to a \"Connected\" page",
        )
    })
    .await?;
    let calls = steps.calls();
    step("Vault call (printed step 2)", async {
        let v = call(&calls[0]).await?;
        let state = v["data"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["service_id"] == "salesforce"))
            .map(|c| c["state"].clone());
        expect(
            state == Some(Value::from("callable")),
            &format!("the Salesforce connection is {state:?}, not callable"),
        )
    })
    .await?;
    step("CRM call (printed step 3)", async {
        let v = call(&calls[1]).await?;
        expect(
            v["data"].as_array().is_some_and(|a| !a.is_empty()),
            "the CRM call returned no contacts",
        )
    })
    .await?;
    step("doctor (printed step 4)", async {
        let app = ApplicationId::parse(&steps.app).map_err(|e| anyhow::anyhow!("{e}"))?;
        let report = vault
            .diagnose_integration(&app, &UnifiedApi::crm(), &ServiceId::salesforce())
            .await?;
        if !report.ok {
            bail!("{}", crate::commands::doctor::render(&report));
        }
        Ok(())
    })
    .await?;
    println!("smoke: every printed step works");
    Ok(())
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
/// emulator's auto-approve on, Salesforce's login and consent pages are skipped.
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
