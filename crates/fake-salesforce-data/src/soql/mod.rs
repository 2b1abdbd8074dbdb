//! SOQL: a lexer, a recursive-descent parser, a planner that resolves names and types against
//! the schema, and an executor over the org's tables.
//!
//! Supported: `SELECT` fields (with relationship paths such as `Account.Name`, `Owner.Name`,
//! `Who.Name`) or `COUNT()`, `FROM` one object, `WHERE` with `= != <> < > <= >= LIKE IN NOT IN`,
//! `AND`/`OR`/`NOT` and parentheses, `ORDER BY` with `ASC`/`DESC` and `NULLS FIRST`/`LAST`,
//! `LIMIT` and `OFFSET` (at most 2000). Not supported: child subqueries, aggregates other than
//! `COUNT()`, `GROUP BY`, `WITH`, `FOR`, `TYPEOF`, semi-joins; these are `MALFORMED_QUERY`.

mod dates;
mod error;
mod exec;
mod lexer;
mod parser;
mod plan;

use crate::datetime::day_of_ms;
use crate::error::SfError;
use crate::org::{Org, RowRef, attributes};
use serde_json::{Map, Value as Json};
use std::ops::Range;

/// The matches of a query. Rows are held as positions and rendered on demand, so the HTTP
/// layer can page through a large result (`nextRecordsUrl`) without building every record.
#[derive(Debug, Clone)]
pub struct QueryResult {
    rows: Vec<RowRef>,
    plan: plan::Plan,
    total_size: usize,
}

impl QueryResult {
    /// `totalSize`: the number of matched rows (after LIMIT and OFFSET), also for `COUNT()`.
    pub fn total_size(&self) -> usize {
        self.total_size
    }

    /// True for `SELECT COUNT()`, whose response has no records.
    pub fn is_count(&self) -> bool {
        self.plan.columns.is_none()
    }

    /// The records in `range` (clamped to the result), each with `attributes` and the selected
    /// fields; relationship paths are nested objects with their own `attributes`, or `null`.
    /// Records render their current values: a record updated between pages shows the update.
    pub fn records(&self, org: &Org, range: Range<usize>, api_version: &str) -> Vec<Json> {
        let Some(columns) = &self.plan.columns else {
            return Vec::new();
        };
        let end = range.end.min(self.rows.len());
        let start = range.start.min(end);
        let obj = self.plan.object;
        let name = &org.schema().object_at(obj).name;
        self.rows[start..end]
            .iter()
            .filter_map(|r| {
                let row = org.row(*r)?;
                let mut m = Map::new();
                m.insert(
                    "attributes".to_owned(),
                    attributes(name, row.id(), api_version),
                );
                for c in columns {
                    org.put_column(&mut m, obj, row, c, api_version);
                }
                Some(Json::Object(m))
            })
            .collect()
    }

    /// Every record of the result.
    pub fn all_records(&self, org: &Org, api_version: &str) -> Vec<Json> {
        self.records(org, 0..self.rows.len(), api_version)
    }
}

impl Org {
    /// Runs a SOQL query. `include_deleted` is `queryAll` (Recycle Bin rows too). `now_ms` anchors
    /// relative date literals (`TODAY`, `LAST_N_DAYS:n`) in UTC.
    pub fn query(
        &self,
        soql: &str,
        include_deleted: bool,
        now_ms: i64,
    ) -> Result<QueryResult, SfError> {
        let tokens = lexer::tokenize(soql)?;
        let parsed = parser::parse(soql, &tokens)?;
        let plan = plan::plan(self.schema(), soql, &parsed, day_of_ms(now_ms))?;
        let rows = self.run(&plan, include_deleted);
        let total_size = rows.len();
        let rows = if plan.columns.is_none() {
            Vec::new()
        } else {
            rows
        };
        Ok(QueryResult {
            rows,
            plan,
            total_size,
        })
    }
}

#[cfg(test)]
mod tests;
