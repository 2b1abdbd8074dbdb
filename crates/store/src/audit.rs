//! The append-only audit log. There is no update or delete API, and triggers in both schemas
//! refuse such statements. Entries must not contain secrets.

use patchbay_core::ApplicationId;
use sqlx::any::AnyRow;

use crate::row::{Placeholders, RowExt, page_limit};
use crate::{Page, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// `None` for installation-wide events (key rotation).
    pub application_id: Option<ApplicationId>,
    /// Who did it, e.g. `api_key:pb_123`, `cli`, `system`.
    pub actor: String,
    /// What happened, e.g. `connection.export`.
    pub action: String,
    /// What it happened to, e.g. a connection id.
    pub target: String,
    pub details_json: String,
    pub now_ms: i64,
}

/// Which entries a listing covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope<'a> {
    /// Every entry: all applications' and the installation-wide ones.
    Everything,
    /// Installation-wide entries only (key rotation), those without an application.
    Installation,
    /// One application's entries.
    Application(&'a ApplicationId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    pub application_id: Option<ApplicationId>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details_json: String,
    pub created_at: i64,
}

impl AuditEntry {
    fn from_row(row: &AnyRow) -> Result<Self> {
        let application_id = match row.opt_text("application_id")? {
            Some(s) => Some(
                ApplicationId::parse(&s).map_err(|_| crate::StoreError::Corrupt {
                    column: "application_id",
                })?,
            ),
            None => None,
        };
        Ok(Self {
            id: row.text("id")?,
            application_id,
            actor: row.text("actor")?,
            action: row.text("action")?,
            target: row.text("target")?,
            details_json: row.text("details")?,
            created_at: row.int("created_at")?,
        })
    }
}

const COLUMNS: &str = "id, application_id, actor, action, target, details, created_at";

impl Store {
    /// Appends an entry and returns it. Ids are UUID v7, so they sort by time.
    pub async fn append_audit(&self, e: &NewAuditEntry) -> Result<AuditEntry> {
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id.as_str())
            .bind(e.application_id.as_ref().map(ApplicationId::as_str))
            .bind(e.actor.as_str())
            .bind(e.action.as_str())
            .bind(e.target.as_str())
            .bind(e.details_json.as_str())
            .bind(e.now_ms)
            .fetch_one(&self.pool)
            .await?;
        AuditEntry::from_row(&row)
    }

    /// Entries oldest first; `app = None` lists installation-wide entries only.
    pub async fn list_audit(
        &self,
        app: Option<&ApplicationId>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>> {
        let scope = match app {
            Some(app) => AuditScope::Application(app),
            None => AuditScope::Installation,
        };
        self.list_audit_in(scope, cursor, limit).await
    }

    /// Entries of `scope`, oldest first. Ids are UUID v7, so `id` order is time order and the
    /// cursor (the last id of a page) works the same for every scope.
    pub async fn list_audit_in(
        &self,
        scope: AuditScope<'_>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<AuditEntry>> {
        let limit = page_limit(limit);
        let mut p = Placeholders::default();
        let mut clauses: Vec<String> = Vec::new();
        match scope {
            AuditScope::Everything => {}
            AuditScope::Installation => clauses.push("application_id IS NULL".to_owned()),
            AuditScope::Application(_) => clauses.push(format!("application_id = {}", p.next())),
        }
        if cursor.is_some() {
            clauses.push(format!("id > {}", p.next()));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log {filter} ORDER BY id LIMIT {}",
            p.next()
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        if let AuditScope::Application(app) = scope {
            q = q.bind(app.as_str());
        }
        if let Some(c) = cursor {
            q = q.bind(c);
        }
        let rows = q.bind(limit + 1).fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(AuditEntry::from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}
