//! SOQL: a lexer, a recursive-descent parser, a planner that resolves names and types against
//! the schema, and an executor over the org's tables.
//!
//! Supported: `SELECT` fields (with relationship paths such as `Account.Name`, `Owner.Name`,
//! `Who.Name`, `Who.Type`), one level of child subqueries (`(SELECT LastName FROM Contacts)`), or
//! `COUNT()`; `FROM` one object; `WHERE` with `= != <> < > <= >= LIKE IN NOT IN`, `AND`/`OR`/`NOT`
//! and parentheses; `ORDER BY` with `ASC`/`DESC` and `NULLS FIRST`/`LAST`; `LIMIT`; `OFFSET` (at
//! most 2000). Not supported: aggregates other than `COUNT()`, `GROUP BY`, `WITH`, `FOR`,
//! `TYPEOF`, semi-joins, field-to-field comparisons; these are `MALFORMED_QUERY`.

mod dates;
mod error;
mod exec;
mod lexer;
mod parser;
mod plan;

use crate::datetime::day_of_ms;
use crate::error::SfError;
use crate::ids::SfId;
use crate::org::{Org, RowRef, attributes};
use plan::Column;
use serde_json::{Map, Value as Json, json};
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// The matches of a query. Rows are held as positions and rendered on demand, so the HTTP
/// layer can page through a large result (`nextRecordsUrl`) without building every record.
#[derive(Debug, Clone)]
pub struct QueryResult {
    rows: Vec<RowRef>,
    plan: plan::Plan,
    total_size: usize,
    /// queryAll also returns deleted child rows.
    include_deleted: bool,
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
    /// fields; relationship paths are nested objects with their own `attributes`, or `null`;
    /// child subqueries are `{"totalSize","done","records"}`, or `null` when empty.
    /// Records render their current values: a record updated between pages shows the update.
    pub fn records(&self, org: &Org, range: Range<usize>, api_version: &str) -> Vec<Json> {
        let Some(columns) = &self.plan.columns else {
            return Vec::new();
        };
        let end = range.end.min(self.rows.len());
        let start = range.start.min(end);
        let page = &self.rows[start..end];
        let has_children = columns.iter().any(|c| matches!(c, Column::Child(_)));
        let parents: HashSet<SfId> = if has_children {
            page.iter().filter_map(|r| org.row(*r)?.id()).collect()
        } else {
            HashSet::new()
        };
        let groups: Vec<HashMap<SfId, Vec<RowRef>>> = (columns.iter())
            .map(|c| match c {
                Column::Child(child) => org.children(child, &parents, self.include_deleted),
                Column::Field(_) => HashMap::new(),
            })
            .collect();
        (page.iter())
            .filter_map(|r| render_row(org, &self.plan, *r, &groups, api_version))
            .collect()
    }

    /// Every record of the result.
    pub fn all_records(&self, org: &Org, api_version: &str) -> Vec<Json> {
        self.records(org, 0..self.rows.len(), api_version)
    }
}

/// One record of a result: `attributes`, then each column; child subqueries come from `groups`
/// (one map per column, empty for plain fields).
fn render_row(
    org: &Org,
    plan: &plan::Plan,
    r: RowRef,
    groups: &[HashMap<SfId, Vec<RowRef>>],
    api_version: &str,
) -> Option<Json> {
    let row = org.row(r)?;
    let obj = plan.object;
    let name = &org.schema().object_at(obj).name;
    let mut m = Map::new();
    m.insert(
        "attributes".to_owned(),
        attributes(name, row.id(), api_version),
    );
    for (i, c) in plan.columns.iter().flatten().enumerate() {
        match c {
            Column::Field(f) => org.put_column(&mut m, obj, row, f, api_version),
            Column::Child(child) => {
                let rows = (row.id())
                    .and_then(|id| groups.get(i)?.get(&id))
                    .filter(|rows| !rows.is_empty());
                let value = match rows {
                    None => Json::Null,
                    Some(rows) => {
                        let records: Vec<Json> = (rows.iter())
                            .filter_map(|cr| render_row(org, &child.plan, *cr, &[], api_version))
                            .collect();
                        json!({"totalSize": records.len(), "done": true, "records": records})
                    }
                };
                m.insert(child.name.clone(), value);
            }
        }
    }
    Some(Json::Object(m))
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
            include_deleted,
        })
    }
}

#[cfg(test)]
mod tests;
