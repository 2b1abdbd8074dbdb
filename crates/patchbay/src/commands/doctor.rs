//! `patchbay doctor --app APP crm/salesforce`: the "Test Vault" report. Exits non-zero when a
//! check failed, so CI can gate on it.

use patchbay_server::service::diagnostics::{CheckStatus, DiagnosticsReport};

use super::Outcome;
use super::context::{app_id, connector, open, print_json};
use crate::cli::DoctorArgs;

pub async fn run(args: DoctorArgs) -> anyhow::Result<Outcome> {
    let app = app_id(&args.app)?;
    let (api, service) = connector(&args.connector)?;
    let vault = open(&args.store).await?;
    let report = vault.diagnose_integration(&app, &api, &service).await?;
    if args.json {
        print_json(&report)?;
    } else {
        print!("{}", render(&report));
    }
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

pub fn render(r: &DiagnosticsReport) -> String {
    let mut out = format!(
        "Diagnostics for {}/{} of application {}\n  login URL:    {}\n  callback URL: {}\n",
        r.unified_api, r.service_id, r.application_id, r.login_url, r.callback_url
    );
    if let Some(c) = &r.connection_id {
        out.push_str(&format!("  connection:   {c}\n"));
    }
    out.push('\n');
    for c in &r.checks {
        let mark = match c.status {
            CheckStatus::Passed => "PASS",
            CheckStatus::Failed => "FAIL",
            CheckStatus::Warning => "WARN",
            CheckStatus::Skipped => "SKIP",
        };
        out.push_str(&format!("[{mark}] {}\n       {}\n", c.title, c.detail));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("       Fix: {fix}\n"));
        }
    }
    let failed = r
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .count();
    out.push('\n');
    if failed == 0 {
        out.push_str("All checks passed.\n");
    } else {
        out.push_str(&format!("{failed} check(s) failed.\n"));
    }
    out
}
