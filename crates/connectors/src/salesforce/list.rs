//! List calls: filters and sorts to SOQL, and keyset paging.
//!
//! Paging never uses OFFSET (capped at 2,000 rows by Salesforce). The cursor carries the last
//! row's sort key and `Id`; the next page asks for rows strictly after that pair in the total
//! order `(sort field, Id)`, with nulls placed explicitly. `LIMIT n+1` tells whether another page
//! exists without an empty last page.

use serde_json::{Value, json};

use patchbay_unified::model::ActivityType;
use patchbay_unified::{
    CursorCodec, CursorScope, FilterField, FilterKind, FilterValue, ListParams, Resource,
    SortDirection, UnifiedError,
};

use super::SERVICE_ID;
use super::ids::is_valid_id;
use super::records::{default_map, is_task_type, read_pipeline, read_record};
use super::request::SalesforceRequest;
use super::soql::{Condition, FieldName, Literal, Op, Order, Select};
use super::tables;
use crate::convert::parse_datetime;
use crate::table::{FilterOp, ObjectMap, SortKind, SortMap};

/// A planned list call: send [`ListPlan::request`], collect `records` (following
/// `nextRecordsUrl` while [`ListPlan::wants_more`]), then call [`ListPlan::finish`].
#[derive(Debug, Clone)]
pub struct ListPlan {
    resource: Resource,
    map: &'static ObjectMap,
    /// The statement, kept as a tree so tests can evaluate it.
    pub select: Select,
    limit: usize,
    sort: Option<(SortMap, SortDirection)>,
    /// The call to make.
    pub request: SalesforceRequest,
}

/// One page of unified records.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// Unified records, at most `limit`.
    pub data: Vec<Value>,
    /// The cursor of the next page, `None` at the end.
    pub next_cursor: Option<String>,
}

/// The SOQL for the stages that make up the single pipeline.
pub(crate) fn stage_query() -> SalesforceRequest {
    SalesforceRequest::query(stage_select().to_soql())
}

fn stage_select() -> Select {
    Select {
        object: name(tables::STAGE.object),
        fields: tables::STAGE.read_fields().into_iter().map(name).collect(),
        condition: None,
        order_by: vec![(name("SortOrder"), Order::Asc), (name("Id"), Order::Asc)],
        limit: None,
    }
}

/// Names from the static tables (checked by a test).
fn name(s: &'static str) -> FieldName {
    FieldName::trusted(s)
}

/// Plans a list call. `custom_fields` are extra `*__c` fields to select (from a describe cache);
/// names that are not custom field names are refused.
pub fn plan_list(
    params: &ListParams,
    codec: &CursorCodec,
    custom_fields: &[String],
) -> Result<ListPlan, UnifiedError> {
    if params.resource == Resource::Pipelines {
        if let Some(cursor) = &params.cursor {
            codec.open(cursor, &scope(params, &fingerprint(params)))?;
        }
        let select = stage_select();
        return Ok(ListPlan {
            resource: params.resource,
            map: &tables::STAGE,
            request: SalesforceRequest::query(select.to_soql()),
            select,
            limit: usize::MAX,
            sort: None,
        });
    }
    let (map, mut conditions) = object_for(params)?;
    let mut unsupported = Vec::new();
    for filter in params
        .filters
        .iter()
        .filter(|f| !is_object_selector(params.resource, f.field))
    {
        match map.filter(filter.field) {
            Some(fm) => conditions.push(filter_condition(fm, filter.field, &filter.value)?),
            None => unsupported.push(filter.field.as_str().to_owned()),
        }
    }
    if !unsupported.is_empty() {
        return Err(UnifiedError::UnsupportedFilters {
            filters: unsupported,
        });
    }
    let sort = match params.sort {
        None => None,
        Some(s) => Some((
            *map.sort(s.by)
                .ok_or_else(|| UnifiedError::UnsupportedSortField {
                    field: s.by.as_str().to_owned(),
                })?,
            s.direction,
        )),
    };
    if let Some(cursor) = &params.cursor {
        let position = codec.open(cursor, &scope(params, &fingerprint(params)))?;
        conditions.push(keyset_condition(sort, &position)?);
    }
    let mut fields: Vec<FieldName> = map.read_fields().into_iter().map(name).collect();
    for custom in custom_fields {
        if !super::ids::is_custom_field(custom) {
            return Err(UnifiedError::validation(
                "custom field names must end in __c",
            ));
        }
        fields.push(
            FieldName::new(custom)
                .map_err(|_| UnifiedError::validation("bad custom field name"))?,
        );
    }
    let id = name("Id");
    let order_by = match sort {
        None => vec![(id, Order::Asc)],
        Some((sm, SortDirection::Asc)) => vec![(name(sm.remote), Order::Asc), (id, Order::Asc)],
        Some((sm, SortDirection::Desc)) => vec![(name(sm.remote), Order::Desc), (id, Order::Desc)],
    };
    let select = Select {
        object: name(map.object),
        fields,
        condition: (!conditions.is_empty()).then_some(Condition::And(conditions)),
        order_by,
        limit: Some(u32::from(params.limit) + 1),
    };
    let mut request = SalesforceRequest::query(select.to_soql());
    for (key, value) in &params.common.pass_through {
        // `q` is the statement itself: it is built here, never taken from the caller.
        if key == "q" {
            return Err(UnifiedError::invalid_field(
                "pass_through",
                "pass_through[q] cannot replace the query; use filter[...] or the proxy API",
            ));
        }
        request.query.push((key.clone(), value.clone()));
    }
    Ok(ListPlan {
        resource: params.resource,
        map,
        request,
        select,
        limit: usize::from(params.limit),
        sort,
    })
}

fn fingerprint(params: &ListParams) -> String {
    params.query_fingerprint()
}

fn scope<'a>(params: &ListParams, query: &'a str) -> CursorScope<'a> {
    CursorScope {
        service: SERVICE_ID,
        resource: params.resource,
        query,
    }
}

fn is_object_selector(resource: Resource, field: FilterField) -> bool {
    resource == Resource::Activities && field == FilterField::Type
}

/// Chooses the object (activities: Event unless `filter[type]` asks for tasks, calls or emails)
/// and any condition that choice implies.
fn object_for(params: &ListParams) -> Result<(&'static ObjectMap, Vec<Condition>), UnifiedError> {
    if params.resource != Resource::Activities {
        return Ok((default_map(params.resource), Vec::new()));
    }
    let Some(filter) = params.filters.iter().find(|f| f.field == FilterField::Type) else {
        return Ok((&tables::EVENT, Vec::new()));
    };
    let FilterValue::Text(value) = &filter.value else {
        return Err(UnifiedError::invalid_field(
            "filter[type]",
            "filter[type] must be text",
        ));
    };
    let kind = ActivityType::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
        UnifiedError::invalid_field(
            "filter[type]",
            "filter[type] must be an activity type, e.g. meeting or task",
        )
    })?;
    let subtype = |s: &str| {
        vec![Condition::cmp(
            &name("TaskSubtype"),
            Op::Eq,
            Literal::Text(s.to_owned()),
        )]
    };
    match kind {
        ActivityType::Meeting => Ok((&tables::EVENT, Vec::new())),
        ActivityType::Task => Ok((&tables::TASK, Vec::new())),
        ActivityType::Call => Ok((&tables::TASK, subtype("Call"))),
        ActivityType::Email => Ok((&tables::TASK, subtype("Email"))),
        other => {
            debug_assert!(!is_task_type(other));
            Err(UnifiedError::UnsupportedFilters {
                filters: vec!["type".to_owned()],
            })
        }
    }
}

fn filter_condition(
    fm: &crate::table::FilterMap,
    field: FilterField,
    value: &FilterValue,
) -> Result<Condition, UnifiedError> {
    let literal = match (field.kind(), value) {
        (FilterKind::Id, FilterValue::Text(id)) => {
            if !is_valid_id(id) {
                return Err(UnifiedError::invalid_field(
                    &format!("filter[{}]", field.as_str()),
                    format!("filter[{}] is not a valid Salesforce id", field.as_str()),
                ));
            }
            Literal::Text(id.clone())
        }
        (_, FilterValue::Text(t)) => Literal::Text(t.clone()),
        (_, FilterValue::Number(n)) => Literal::Number(*n),
        (_, FilterValue::DateTime(d)) => Literal::DateTime(*d),
    };
    let op = match fm.op {
        FilterOp::Eq => Op::Eq,
        FilterOp::Gte => Op::Ge,
    };
    let mut alternatives: Vec<Condition> = fm
        .remote
        .iter()
        .map(|r| Condition::cmp(&name(r), op, literal.clone()))
        .collect();
    Ok(match alternatives.len() {
        1 => alternatives.remove(0),
        _ => Condition::Or(alternatives),
    })
}

/// The "strictly after the last row" predicate for the total order `(sort, Id)`.
/// Ascending puts nulls first, descending puts them last (matching the ORDER BY).
fn keyset_condition(
    sort: Option<(SortMap, SortDirection)>,
    position: &Value,
) -> Result<Condition, UnifiedError> {
    let last_id = position
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_valid_id(id))
        .ok_or(UnifiedError::InvalidCursor)?;
    let id = name("Id");
    let id_after = |op| Condition::cmp(&id, op, Literal::Text(last_id.to_owned()));
    let Some((sm, direction)) = sort else {
        return Ok(id_after(Op::Gt));
    };
    let field = name(sm.remote);
    let key = position.get("k").unwrap_or(&Value::Null);
    let literal = key_literal(sm.kind, key)?;
    let is_null = || Condition::cmp(&field, Op::Eq, Literal::Null);
    Ok(match (direction, literal) {
        (SortDirection::Asc, None) => Condition::Or(vec![
            Condition::And(vec![is_null(), id_after(Op::Gt)]),
            Condition::cmp(&field, Op::Ne, Literal::Null),
        ]),
        (SortDirection::Asc, Some(k)) => Condition::Or(vec![
            Condition::cmp(&field, Op::Gt, k.clone()),
            Condition::And(vec![Condition::cmp(&field, Op::Eq, k), id_after(Op::Gt)]),
        ]),
        (SortDirection::Desc, None) => Condition::And(vec![is_null(), id_after(Op::Lt)]),
        (SortDirection::Desc, Some(k)) => Condition::Or(vec![
            Condition::cmp(&field, Op::Lt, k.clone()),
            Condition::And(vec![Condition::cmp(&field, Op::Eq, k), id_after(Op::Lt)]),
            is_null(),
        ]),
    })
}

/// The sort key as a SOQL literal (`None` for null); anything unexpected means a bad cursor.
fn key_literal(kind: SortKind, key: &Value) -> Result<Option<Literal>, UnifiedError> {
    if key.is_null() {
        return Ok(None);
    }
    let literal = match kind {
        SortKind::Text => key.as_str().map(|s| Literal::Text(s.to_owned())),
        SortKind::Number => key.as_f64().filter(|n| n.is_finite()).map(Literal::Number),
        SortKind::DateTime => key.as_str().and_then(parse_datetime).map(Literal::DateTime),
    };
    literal.map(Some).ok_or(UnifiedError::InvalidCursor)
}

impl ListPlan {
    /// Whether more rows are needed after collecting `collected` (follow `nextRecordsUrl` while
    /// true and the response is not `done`).
    pub fn wants_more(&self, collected: usize) -> bool {
        self.limit != usize::MAX && collected <= self.limit
    }

    /// The resource listed.
    pub fn resource(&self) -> Resource {
        self.resource
    }

    /// Maps the collected `records` to a unified page and seals the next cursor.
    pub fn finish(
        &self,
        params: &ListParams,
        codec: &CursorCodec,
        records: &[Value],
    ) -> Result<ListPage, UnifiedError> {
        if self.resource == Resource::Pipelines {
            return Ok(ListPage {
                data: vec![read_pipeline(records)],
                next_cursor: None,
            });
        }
        let page = &records[..records.len().min(self.limit)];
        let data = page
            .iter()
            .map(|r| read_record(self.resource, r))
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = match (records.len() > self.limit, page.last()) {
            (true, Some(last)) => Some(self.seal(params, codec, last)?),
            _ => None,
        };
        Ok(ListPage { data, next_cursor })
    }

    fn seal(
        &self,
        params: &ListParams,
        codec: &CursorCodec,
        last: &Value,
    ) -> Result<String, UnifiedError> {
        let id = last
            .get("Id")
            .and_then(Value::as_str)
            .filter(|id| is_valid_id(id))
            .ok_or_else(|| UnifiedError::ConnectorExecution {
                status: 502,
                message: format!(
                    "Salesforce returned a {} row without an Id",
                    self.map.object
                ),
                downstream_errors: Vec::new(),
            })?;
        let position = match self.sort {
            None => json!({ "id": id }),
            Some((sm, _)) => {
                let key = last.as_object().map_or(Value::Null, |o| {
                    crate::table::remote_value(o, sm.remote).clone()
                });
                json!({ "id": id, "k": key })
            }
        };
        let fp = fingerprint(params);
        Ok(codec.seal(&scope(params, &fp), &position))
    }
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "list_paging_tests.rs"]
mod paging_tests;
