//! `POST /crm/v3/objects/{type}/search` as data (`docs/hubspot.md §9`): filter groups (ORed)
//! of filters (ANDed), one sort, a free-text `query`, offset paging with `after`, and the
//! 10,000-result ceiling. A filter may name the pseudo-property `associations.{object}`
//! (`associations.company`): it holds the ids of the live records of that object the record is
//! associated with, of any type (`docs/hubspot.md §9`, "Filtering on associations").

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;

use crate::account::Account;
use crate::error::DataError;
use crate::record::Record;
use crate::schema::{Kind, ObjectType};
use crate::time::parse_ms;

/// No query pages past this many results (`docs/hubspot.md §9`).
pub const RESULT_CEILING: usize = 10_000;
pub const MAX_LIMIT: i64 = 200;
pub const MAX_GROUPS: usize = 5;
pub const MAX_FILTERS_PER_GROUP: usize = 10;
pub const MAX_FILTERS: usize = 25;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(default)]
    pub filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    pub sorts: Vec<SortInput>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub properties: Vec<String>,
    #[serde(default)]
    pub limit: Option<i64>,
    /// A string in HubSpot's answers; numbers are accepted too.
    #[serde(default)]
    pub after: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct FilterGroup {
    #[serde(default)]
    pub filters: Vec<Filter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub property_name: String,
    pub operator: String,
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub high_value: Option<Value>,
    #[serde(default)]
    pub values: Option<Vec<Value>>,
}

/// `{"propertyName", "direction"}`, or a bare property name (ascending).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SortInput {
    Full {
        #[serde(rename = "propertyName")]
        property_name: String,
        #[serde(default)]
        direction: Option<String>,
    },
    Name(String),
}

/// One page of matches: the records, the number of all matches, and the next offset.
pub struct SearchPage<'a> {
    pub total: usize,
    pub records: Vec<&'a Record>,
    pub next_after: Option<String>,
    /// The properties to render.
    pub properties: Vec<String>,
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn search<'a>(
    account: &'a Account,
    object: ObjectType,
    request: &SearchRequest,
) -> Result<SearchPage<'a>, DataError> {
    let limit = request.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DataError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let offset = match &request.after {
        None => 0,
        Some(v) => scalar(v)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| DataError::validation("after must be a non-negative integer"))?,
    };
    if offset >= RESULT_CEILING {
        return Err(DataError::Validation {
            message: format!(
                "The search endpoint returns at most {RESULT_CEILING} results for a query; \
                 'after' was {offset}. Narrow the query with filters to page further."
            ),
            context: vec![("after".to_owned(), vec![offset.to_string()])],
        });
    }
    check_shape(object, request)?;
    let sort = sort_key(object, request)?;

    let mut matches: Vec<&Record> = account
        .all(object)
        .filter(|r| !r.archived())
        .filter(|r| matches_groups(account, object, r, &request.filter_groups))
        .filter(|r| matches_query(object, r, request.query.as_deref()))
        .collect();
    if let Some((name, descending)) = &sort {
        let kind = object.kind(name);
        matches.sort_by(|a, b| {
            let ord = compare_values(kind, a.value(name).as_deref(), b.value(name).as_deref());
            let ord = if *descending { ord.reverse() } else { ord };
            ord.then(a.id.cmp(&b.id))
        });
    }
    let total = matches.len();
    let end = (offset + limit as usize).min(total);
    let records: Vec<&Record> = matches.get(offset..end).unwrap_or_default().to_vec();
    let next_after = (end < total).then(|| end.to_string());
    let properties = if request.properties.is_empty() {
        object
            .default_properties()
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        request.properties.clone()
    };
    Ok(SearchPage {
        total,
        records,
        next_after,
        properties,
    })
}

fn check_shape(object: ObjectType, request: &SearchRequest) -> Result<(), DataError> {
    let groups = &request.filter_groups;
    let total: usize = groups.iter().map(|g| g.filters.len()).sum();
    if groups.len() > MAX_GROUPS
        || groups
            .iter()
            .any(|g| g.filters.len() > MAX_FILTERS_PER_GROUP)
        || total > MAX_FILTERS
    {
        return Err(DataError::validation(format!(
            "Too many filters: at most {MAX_GROUPS} filter groups, {MAX_FILTERS_PER_GROUP} \
             filters per group and {MAX_FILTERS} filters in all are allowed"
        )));
    }
    for filter in groups.iter().flat_map(|g| &g.filters) {
        if let Some(to) = filter.property_name.strip_prefix(ASSOCIATIONS_PREFIX) {
            check_association_filter(object, to, filter)?;
            continue;
        }
        if !object.knows(&filter.property_name) {
            return Err(DataError::validation(format!(
                "There was a problem with the request: unknown property '{}' for {}",
                filter.property_name,
                object.name()
            )));
        }
        let needs_value = !matches!(
            filter.operator.as_str(),
            "HAS_PROPERTY" | "NOT_HAS_PROPERTY" | "IN" | "NOT_IN"
        );
        let known = [
            "EQ",
            "NEQ",
            "LT",
            "LTE",
            "GT",
            "GTE",
            "BETWEEN",
            "IN",
            "NOT_IN",
            "HAS_PROPERTY",
            "NOT_HAS_PROPERTY",
            "CONTAINS_TOKEN",
            "NOT_CONTAINS_TOKEN",
        ];
        if !known.contains(&filter.operator.as_str()) {
            return Err(DataError::validation(format!(
                "Unknown filter operator '{}'; expected one of {}",
                filter.operator,
                known.join(", ")
            )));
        }
        let has_value = filter.value.as_ref().and_then(scalar).is_some();
        if needs_value && !has_value {
            return Err(DataError::validation(format!(
                "Filter on '{}' with operator {} needs a value",
                filter.property_name, filter.operator
            )));
        }
        if filter.operator == "BETWEEN" && filter.high_value.as_ref().and_then(scalar).is_none() {
            return Err(DataError::validation(format!(
                "Filter on '{}' with operator BETWEEN needs a highValue",
                filter.property_name
            )));
        }
        if matches!(filter.operator.as_str(), "IN" | "NOT_IN") && filter.values.is_none() {
            return Err(DataError::validation(format!(
                "Filter on '{}' with operator {} needs values",
                filter.property_name, filter.operator
            )));
        }
    }
    Ok(())
}

fn sort_key(
    object: ObjectType,
    request: &SearchRequest,
) -> Result<Option<(String, bool)>, DataError> {
    if request.sorts.len() > 1 {
        return Err(DataError::validation("Only one sort is allowed"));
    }
    let Some(sort) = request.sorts.first() else {
        return Ok(None);
    };
    let (name, direction) = match sort {
        SortInput::Full {
            property_name,
            direction,
        } => (property_name.clone(), direction.clone()),
        SortInput::Name(n) => (n.clone(), None),
    };
    if !object.knows(&name) {
        return Err(DataError::validation(format!(
            "There was a problem with the request: unknown sort property '{name}'"
        )));
    }
    let descending = match direction.as_deref() {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(other) => {
            return Err(DataError::validation(format!(
                "Sort direction must be ASCENDING or DESCENDING, got '{other}'"
            )));
        }
    };
    Ok(Some((name, descending)))
}

/// The pseudo-property prefix of association filters.
pub const ASSOCIATIONS_PREFIX: &str = "associations.";

/// The object an `associations.{to}` filter names, if `object` can be associated with it.
fn association_target(object: ObjectType, to: &str) -> Option<ObjectType> {
    ObjectType::parse(to).filter(|t| crate::assoc::default_type(object, *t).is_some())
}

/// An association filter compares record ids: equality operators and presence only.
fn check_association_filter(
    object: ObjectType,
    to: &str,
    filter: &Filter,
) -> Result<(), DataError> {
    if association_target(object, to).is_none() {
        return Err(DataError::validation(format!(
            "There was a problem with the request: unknown property '{}' for {}",
            filter.property_name,
            object.name()
        )));
    }
    let op = filter.operator.as_str();
    if !matches!(
        op,
        "EQ" | "NEQ" | "IN" | "NOT_IN" | "HAS_PROPERTY" | "NOT_HAS_PROPERTY"
    ) {
        return Err(DataError::validation(format!(
            "Operator {op} is not supported on '{}'",
            filter.property_name
        )));
    }
    if matches!(op, "EQ" | "NEQ") && filter.value.as_ref().and_then(scalar).is_none() {
        return Err(DataError::validation(format!(
            "Filter on '{}' with operator {op} needs a value",
            filter.property_name
        )));
    }
    if matches!(op, "IN" | "NOT_IN") && filter.values.is_none() {
        return Err(DataError::validation(format!(
            "Filter on '{}' with operator {op} needs values",
            filter.property_name
        )));
    }
    Ok(())
}

fn matches_groups(
    account: &Account,
    object: ObjectType,
    record: &Record,
    groups: &[FilterGroup],
) -> bool {
    groups.is_empty()
        || groups.iter().any(|g| {
            g.filters.iter().all(
                |f| match f.property_name.strip_prefix(ASSOCIATIONS_PREFIX) {
                    Some(to) => matches_association(account, object, record, to, f),
                    None => matches_filter(object, record, f),
                },
            )
        })
}

/// `associations.{to}` against the ids of the live `to` records `record` is associated with.
fn matches_association(
    account: &Account,
    object: ObjectType,
    record: &Record,
    to: &str,
    filter: &Filter,
) -> bool {
    let Some(to) = association_target(object, to) else {
        return false;
    };
    let linked: Vec<u64> = account
        .associations(object, record.id, to)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let is_linked = |v: &Value| {
        scalar(v)
            .and_then(|s| s.trim().parse::<u64>().ok())
            .is_some_and(|id| linked.contains(&id))
    };
    let value_linked = filter.value.as_ref().is_some_and(is_linked);
    let any_linked = filter.values.iter().flatten().any(is_linked);
    match filter.operator.as_str() {
        "HAS_PROPERTY" => !linked.is_empty(),
        "NOT_HAS_PROPERTY" => linked.is_empty(),
        "EQ" => value_linked,
        "NEQ" => !value_linked,
        "IN" => any_linked,
        "NOT_IN" => !any_linked,
        _ => false,
    }
}

fn matches_filter(object: ObjectType, record: &Record, filter: &Filter) -> bool {
    let kind = object.kind(&filter.property_name);
    let actual = record.value(&filter.property_name);
    let value = filter.value.as_ref().and_then(scalar);
    let cmp = |target: &Option<String>| match (&actual, target) {
        (Some(a), Some(t)) => Some(compare_values(kind, Some(a), Some(t))),
        _ => None,
    };
    match filter.operator.as_str() {
        "HAS_PROPERTY" => actual.is_some(),
        "NOT_HAS_PROPERTY" => actual.is_none(),
        "EQ" => cmp(&value) == Some(Ordering::Equal),
        "NEQ" => cmp(&value) != Some(Ordering::Equal),
        "LT" => cmp(&value) == Some(Ordering::Less),
        "LTE" => matches!(cmp(&value), Some(Ordering::Less | Ordering::Equal)),
        "GT" => cmp(&value) == Some(Ordering::Greater),
        "GTE" => matches!(cmp(&value), Some(Ordering::Greater | Ordering::Equal)),
        "BETWEEN" => {
            let high = filter.high_value.as_ref().and_then(scalar);
            matches!(cmp(&value), Some(Ordering::Greater | Ordering::Equal))
                && matches!(cmp(&high), Some(Ordering::Less | Ordering::Equal))
        }
        "IN" | "NOT_IN" => {
            let hit = filter
                .values
                .iter()
                .flatten()
                .any(|v| cmp(&scalar(v)) == Some(Ordering::Equal));
            hit == (filter.operator == "IN")
        }
        "CONTAINS_TOKEN" => actual
            .as_deref()
            .zip(value.as_deref())
            .is_some_and(|(a, v)| contains_token(a, v)),
        "NOT_CONTAINS_TOKEN" => !actual
            .as_deref()
            .zip(value.as_deref())
            .is_some_and(|(a, v)| contains_token(a, v)),
        _ => false,
    }
}

/// Numbers and dates compare by value; text case-insensitively. A value that does not parse
/// compares as text. Missing values sort last.
pub fn compare_values(kind: Kind, a: Option<&str>, b: Option<&str>) -> Ordering {
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Greater,
        (Some(_), None) => return Ordering::Less,
    };
    let numeric = match kind {
        Kind::Number | Kind::Owner => a
            .trim()
            .parse::<f64>()
            .ok()
            .zip(b.trim().parse::<f64>().ok()),
        Kind::DateTime => parse_ms(a)
            .zip(parse_ms(b))
            .map(|(x, y)| (x as f64, y as f64)),
        _ => None,
    };
    match numeric {
        Some((x, y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        None => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// HubSpot matches a token (a word; `*` is a wildcard) against the words of a value.
fn contains_token(value: &str, pattern: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let value = value.to_lowercase();
    let words = value
        .split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.' && c != '*')
        .chain(value.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty());
    let mut words = words.chain(std::iter::once(value.as_str()));
    words.any(|w| glob(&pattern, w))
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// The free-text `query`: a word prefix of any of the object's main text properties.
fn matches_query(object: ObjectType, record: &Record, query: Option<&str>) -> bool {
    let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
        return true;
    };
    let query = query.to_lowercase();
    let fields: &[&str] = match object {
        ObjectType::Contacts => &["firstname", "lastname", "email", "phone", "company"],
        ObjectType::Companies => &["name", "domain", "website", "phone"],
        ObjectType::Deals => &["dealname"],
        ObjectType::Notes => &["hs_note_body"],
        ObjectType::Calls => &["hs_call_title", "hs_call_body"],
        ObjectType::Meetings => &["hs_meeting_title", "hs_meeting_body"],
        ObjectType::Tasks => &["hs_task_subject", "hs_task_body"],
        ObjectType::Emails => &["hs_email_subject", "hs_email_text"],
    };
    fields.iter().filter_map(|f| record.value(f)).any(|v| {
        let v = v.to_lowercase();
        v.starts_with(&query)
            || v.split(|c: char| !c.is_alphanumeric())
                .any(|w| w.starts_with(&query))
    })
}

#[cfg(test)]
mod tests;
