//! List parameters parsed from a raw query string into validated values.
//!
//! The HTTP edge hands over the decoded `(key, value)` pairs as they came; everything the spec
//! says about `limit`, `cursor`, `filter[...]`, `sort[...]`, `fields`, `pass_through[...]` and
//! `raw` is checked here, so connectors only ever see valid values.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::UnifiedError;
use crate::fields::FieldSelection;
use crate::resource::{FilterField, FilterKind, Resource, SortDirection, SortField};

/// Default page size (spec: `limit` default 20).
pub const DEFAULT_LIMIT: u16 = 20;
/// Largest page size (spec: `limit` maximum 200).
pub const MAX_LIMIT: u16 = 200;
/// Longest filter or pass-through value accepted. Downstream queries travel in URLs capped at
/// 16 KiB (Salesforce), and no CRM text field is longer than this, so longer is a mistake.
pub const MAX_VALUE_LEN: usize = 1_000;

/// A validated filter value.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    /// Free text, or an identifier (see [`FilterField::kind`]).
    Text(String),
    /// A finite number.
    Number(f64),
    /// An instant, normalised to UTC.
    DateTime(OffsetDateTime),
}

/// One `filter[field]=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Which filter.
    pub field: FilterField,
    /// Its value, parsed by the field's kind.
    pub value: FilterValue,
}

/// `sort[by]` and `sort[direction]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The unified field to sort on.
    pub by: SortField,
    /// Ascending unless asked otherwise.
    pub direction: SortDirection,
}

/// Parameters common to every unified CRM call (`raw`, `fields`, `pass_through[...]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommonParams {
    /// `raw=true`: add the downstream payload as `_raw`.
    pub raw: bool,
    /// `fields=...`: sparse fieldset, if given.
    pub fields: Option<FieldSelection>,
    /// `pass_through[key]=value`: forwarded verbatim as downstream query parameters.
    pub pass_through: BTreeMap<String, String>,
}

/// Validated parameters of a list call.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    /// The resource being listed.
    pub resource: Resource,
    /// Page size, 1..=200.
    pub limit: u16,
    /// The opaque cursor as sent; open it with [`crate::cursor::CursorCodec`].
    pub cursor: Option<String>,
    /// Filters, ordered by field so that equal queries compare equal.
    pub filters: Vec<Filter>,
    /// Requested order, if any.
    pub sort: Option<Sort>,
    /// `raw`, `fields`, `pass_through`.
    pub common: CommonParams,
}

impl ListParams {
    /// Parses the query pairs of `GET /crm/{resource}`.
    ///
    /// Unknown top-level keys are ignored (clients add their own, e.g. `_method`), but every key
    /// the spec defines must be well-formed and given at most once.
    pub fn parse(resource: Resource, pairs: &[(String, String)]) -> Result<Self, UnifiedError> {
        reject_duplicates(pairs)?;
        let mut limit = DEFAULT_LIMIT;
        let mut cursor = None;
        let mut filters = Vec::new();
        let mut unsupported = Vec::new();
        let mut sort_by = None;
        let mut direction = None;
        for (key, value) in pairs {
            if key == "limit" {
                limit = parse_limit(value)?;
            } else if key == "cursor" {
                // An empty cursor is what some SDKs send for "first page".
                if !value.is_empty() {
                    cursor = Some(value.clone());
                }
            } else if let Some(name) = bracketed(key, "filter") {
                match FilterField::parse(name).filter(|f| resource.filter_fields().contains(f)) {
                    Some(field) => filters.push(Filter {
                        field,
                        value: parse_filter_value(field, value)?,
                    }),
                    None => unsupported.push(name.to_owned()),
                }
            } else if key == "sort[by]" {
                sort_by = Some(value.as_str());
            } else if key == "sort[direction]" {
                direction = Some(parse_direction(value)?);
            }
        }
        if !unsupported.is_empty() {
            unsupported.sort();
            return Err(UnifiedError::UnsupportedFilters {
                filters: unsupported,
            });
        }
        filters.sort_by_key(|f| f.field);
        // `sort[direction]` alone is ignored: SDKs send the default direction unconditionally.
        let sort = match sort_by {
            None => None,
            Some(by) => Some(Sort {
                by: SortField::parse(by)
                    .filter(|s| resource.sort_fields().contains(s))
                    .ok_or_else(|| UnifiedError::UnsupportedSortField {
                        field: truncate(by).to_owned(),
                    })?,
                direction: direction.unwrap_or_default(),
            }),
        };
        Ok(Self {
            resource,
            limit,
            cursor,
            filters,
            sort,
            common: CommonParams::parse(pairs)?,
        })
    }

    /// A stable text naming the filters and sort, used to bind a cursor to the query that made it.
    pub fn query_fingerprint(&self) -> String {
        let mut out = String::new();
        for filter in &self.filters {
            out.push_str(filter.field.as_str());
            out.push('=');
            match &filter.value {
                FilterValue::Text(t) => {
                    out.push('s');
                    out.push_str(&t.len().to_string());
                    out.push(':');
                    out.push_str(t);
                }
                FilterValue::Number(n) => {
                    out.push('n');
                    out.push_str(&n.to_string());
                }
                FilterValue::DateTime(d) => {
                    out.push('d');
                    out.push_str(&d.unix_timestamp_nanos().to_string());
                }
            }
            out.push(';');
        }
        if let Some(sort) = self.sort {
            out.push_str("sort=");
            out.push_str(sort.by.as_str());
            out.push(' ');
            out.push_str(sort.direction.as_str());
        }
        out
    }
}

impl CommonParams {
    /// Parses `raw`, `fields` and `pass_through[...]` (used by every operation).
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, UnifiedError> {
        let mut params = Self::default();
        for (key, value) in pairs {
            if key == "raw" {
                params.raw = parse_bool("raw", value)?;
            } else if key == "fields" {
                params.fields = FieldSelection::parse(value)?;
            } else if let Some(name) = bracketed(key, "pass_through") {
                if name.is_empty() || name.contains(['[', ']']) {
                    return Err(UnifiedError::invalid_field(
                        "pass_through",
                        "pass_through keys must be simple names, e.g. pass_through[search]=x",
                    ));
                }
                check_len("pass_through", value)?;
                params.pass_through.insert(name.to_owned(), value.clone());
            }
        }
        Ok(params)
    }
}

fn reject_duplicates(pairs: &[(String, String)]) -> Result<(), UnifiedError> {
    let mut seen = std::collections::BTreeSet::new();
    for (key, _) in pairs {
        let spec_key = matches!(
            key.as_str(),
            "limit" | "cursor" | "sort[by]" | "sort[direction]" | "fields" | "raw"
        ) || key.starts_with("filter[")
            || key.starts_with("pass_through[");
        if spec_key && !seen.insert(key.as_str()) {
            return Err(UnifiedError::invalid_field(
                truncate(key),
                format!("query parameter {} is given more than once", truncate(key)),
            ));
        }
    }
    Ok(())
}

fn bracketed<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    key.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')
}

fn parse_limit(value: &str) -> Result<u16, UnifiedError> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=u32::from(MAX_LIMIT)).contains(&n) => {
            u16::try_from(n).map_err(|_| limit_error())
        }
        _ => Err(limit_error()),
    }
}

fn limit_error() -> UnifiedError {
    UnifiedError::invalid_field("limit", "limit must be an integer from 1 to 200")
}

fn parse_direction(value: &str) -> Result<SortDirection, UnifiedError> {
    match value {
        "asc" => Ok(SortDirection::Asc),
        "desc" => Ok(SortDirection::Desc),
        _ => Err(UnifiedError::invalid_field(
            "sort[direction]",
            "sort[direction] must be asc or desc",
        )),
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool, UnifiedError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        _ => Err(UnifiedError::invalid_field(
            name,
            format!("{name} must be true or false"),
        )),
    }
}

fn check_len(name: &str, value: &str) -> Result<(), UnifiedError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(UnifiedError::invalid_field(
            name,
            format!("{name} is longer than {MAX_VALUE_LEN} bytes"),
        ));
    }
    Ok(())
}

fn parse_filter_value(field: FilterField, value: &str) -> Result<FilterValue, UnifiedError> {
    let name = field.as_str();
    check_len(name, value)?;
    let invalid = |what: &str| {
        UnifiedError::invalid_field(&format!("filter[{name}]"), format!("filter[{name}] {what}"))
    };
    match field.kind() {
        FilterKind::Text | FilterKind::Id => {
            if value.is_empty() {
                return Err(invalid("must not be empty"));
            }
            Ok(FilterValue::Text(value.to_owned()))
        }
        FilterKind::Number => match value.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(FilterValue::Number(n)),
            _ => Err(invalid("must be a number")),
        },
        FilterKind::DateTime => OffsetDateTime::parse(value.trim(), &Rfc3339)
            .map(|d| FilterValue::DateTime(d.to_offset(time::UtcOffset::UTC)))
            .map_err(|_| invalid("must be an ISO-8601 date-time, e.g. 2020-09-30T07:43:32.000Z")),
    }
}

/// Keeps echoed input short in error texts.
fn truncate(s: &str) -> &str {
    match s.char_indices().nth(100) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
