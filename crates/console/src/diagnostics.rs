//! Test Vault: the server's integration diagnostics, shaped for the integration page.

use patchbay_core::{ApplicationId, ServiceId, UnifiedApi};
use patchbay_server::service::Vault;
use patchbay_server::service::diagnostics::CheckStatus;

use crate::integrations::CheckItem;

/// Runs the checks; returns them in order and whether none failed.
pub async fn run(
    vault: &Vault,
    app: &ApplicationId,
    service: &ServiceId,
) -> patchbay_server::Result<(Vec<CheckItem>, bool)> {
    let report = vault
        .diagnose_integration(app, &UnifiedApi::crm(), service)
        .await?;
    let checks = report
        .checks
        .into_iter()
        .map(|c| CheckItem {
            id: c.id.to_owned(),
            title: c.title.to_owned(),
            passed: c.status == CheckStatus::Passed,
            status: match c.status {
                CheckStatus::Passed => "passed",
                CheckStatus::Failed => "failed",
                CheckStatus::Warning => "warning",
                CheckStatus::Skipped => "skipped",
            }
            .to_owned(),
            detail: c.detail,
            fix: c.fix.unwrap_or_default(),
        })
        .collect();
    Ok((checks, report.ok))
}
