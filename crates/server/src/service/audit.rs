//! The append-only audit log: connection create/delete/revoke/export, credential changes, key
//! events. Entries carry ids and facts, never secrets; a secret may only be correlated through
//! its keyed fingerprint ([`patchbay_crypto::Keyring::audit_fingerprint`]).

use patchbay_core::ApplicationId;
use patchbay_store::{AuditEntry, AuditScope, NewAuditEntry, Page};
use serde_json::Value;

use super::Vault;
use crate::error::Result;

/// Who performed an audited action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    ApiKey(String),
    Session {
        consumer_id: String,
    },
    /// The CLI or admin console, acting with database access.
    Admin,
    /// Patchbay itself (refresh, cleanup).
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::ApiKey(id) => format!("api_key:{id}"),
            Actor::Session { consumer_id } => format!("session:{consumer_id}"),
            Actor::Admin => "admin".to_owned(),
            Actor::System => "system".to_owned(),
        }
    }
}

impl Vault {
    pub(crate) async fn audit(
        &self,
        app: Option<&ApplicationId>,
        actor: &Actor,
        action: &str,
        target: &str,
        details: Value,
    ) -> Result<AuditEntry> {
        let entry = NewAuditEntry {
            application_id: app.cloned(),
            actor: actor.label(),
            action: action.to_owned(),
            target: target.to_owned(),
            details_json: details.to_string(),
            now_ms: self.now_ms(),
        };
        Ok(self.store().append_audit(&entry).await?)
    }

    pub(crate) async fn audit_admin(
        &self,
        app: &ApplicationId,
        action: &str,
        target: &str,
        details: Value,
    ) -> Result<()> {
        self.audit(Some(app), &Actor::Admin, action, target, details)
            .await
            .map(|_| ())
    }

    /// Records an installation-wide event such as a key rotation (for the CLI).
    #[tracing::instrument(skip_all)]
    pub async fn audit_system_event(
        &self,
        action: &str,
        target: &str,
        details: Value,
    ) -> Result<()> {
        self.audit(None, &Actor::Admin, action, target, details)
            .await
            .map(|_| ())
    }

    /// Lists an application's audit entries (`None`: the installation-wide ones), oldest first.
    #[tracing::instrument(skip_all, fields(app = ?app))]
    pub async fn list_audit(
        &self,
        app: Option<&ApplicationId>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>> {
        Ok(self.store().list_audit(app, cursor, limit).await?)
    }

    /// Lists the audit entries of `scope` (every application's, one application's, or the
    /// installation-wide ones), oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_audit_in(
        &self,
        scope: AuditScope<'_>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>> {
        Ok(self.store().list_audit_in(scope, cursor, limit).await?)
    }
}
