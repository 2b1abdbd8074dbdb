//! The search API's body (docs/hubspot.md §9) as typed values.
//!
//! Property names come only from the static tables (`&'static str`); user values travel as JSON
//! strings inside `value`, serialised by serde. Nothing is string-built, so no user value can
//! become an operator, a property or another filter.

use serde::Serialize;
use serde_json::Value;

use patchbay_unified::UnifiedError;

/// Most filter groups HubSpot accepts in one search (the pre-2024 limit, the stricter one).
pub const MAX_GROUPS: usize = 5;
/// Most filters in one group (pre-2024 limit).
pub const MAX_FILTERS_PER_GROUP: usize = 6;
/// Most filters in all (pre-2024 limit).
pub const MAX_FILTERS: usize = 18;
/// Largest page the search API serves.
pub const MAX_SEARCH_LIMIT: u32 = 200;
/// No search returns results at or past this offset (docs/hubspot.md §9).
pub const RESULT_CEILING: u32 = 10_000;

/// A search operator this connector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    /// `EQ` (case-insensitive for text).
    Eq,
    /// `GT`
    Gt,
    /// `GTE`
    Gte,
    /// `LT`
    Lt,
    /// `NOT_HAS_PROPERTY` (no value).
    NotHasProperty,
    /// `IN` (a `values` list).
    In,
}

/// One filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchFilter {
    /// A property name from a table.
    #[serde(rename = "propertyName")]
    pub property: &'static str,
    /// Operator.
    pub operator: Operator,
    /// The value, always a string (HubSpot values are strings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The values of `IN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

impl SearchFilter {
    /// `property operator value`.
    pub fn new(property: &'static str, operator: Operator, value: impl Into<String>) -> Self {
        Self {
            property,
            operator,
            value: Some(value.into()),
            values: None,
        }
    }

    /// `property` is one of `values`.
    pub fn any_of(property: &'static str, values: Vec<String>) -> Self {
        Self {
            property,
            operator: Operator::In,
            value: None,
            values: Some(values),
        }
    }

    /// `property` has no value.
    pub fn missing(property: &'static str) -> Self {
        Self {
            property,
            operator: Operator::NotHasProperty,
            value: None,
            values: None,
        }
    }
}

/// Filters ANDed together.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FilterGroup {
    /// The filters.
    pub filters: Vec<SearchFilter>,
}

/// `ASCENDING` / `DESCENDING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    /// Ascending.
    Ascending,
    /// Descending.
    Descending,
}

/// The one sort HubSpot allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchSort {
    /// A property name from a table.
    #[serde(rename = "propertyName")]
    pub property: &'static str,
    /// Direction.
    pub direction: Direction,
}

/// `POST /crm/v3/objects/{type}/search` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchBody {
    /// Groups, ORed.
    #[serde(rename = "filterGroups")]
    pub filter_groups: Vec<FilterGroup>,
    /// At most one.
    pub sorts: Vec<SearchSort>,
    /// Properties to return.
    pub properties: Vec<String>,
    /// Page size, at most [`MAX_SEARCH_LIMIT`].
    pub limit: u32,
}

impl SearchBody {
    /// Checks HubSpot's documented shape limits, so a query too wide is a clear
    /// `RequestValidationError` rather than HubSpot's 400.
    pub fn check(&self) -> Result<(), UnifiedError> {
        let total: usize = self.filter_groups.iter().map(|g| g.filters.len()).sum();
        let widest = self
            .filter_groups
            .iter()
            .map(|g| g.filters.len())
            .max()
            .unwrap_or(0);
        if self.filter_groups.len() > MAX_GROUPS
            || widest > MAX_FILTERS_PER_GROUP
            || total > MAX_FILTERS
        {
            return Err(UnifiedError::validation(
                "this combination of filters and sort is too wide for HubSpot's search; use fewer filters",
            ));
        }
        if self.limit == 0 || self.limit > MAX_SEARCH_LIMIT {
            return Err(UnifiedError::validation("search page size out of range"));
        }
        Ok(())
    }

    /// The JSON body.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// ANDs `common` into every group of `alternatives` (an OR of ANDs); with no alternatives, one
/// group of `common`. Groups are ORed by HubSpot, so `common AND (a OR b)` becomes
/// `(common AND a) OR (common AND b)`.
pub fn distribute(
    common: &[SearchFilter],
    alternatives: Vec<Vec<SearchFilter>>,
) -> Vec<FilterGroup> {
    if alternatives.is_empty() {
        return if common.is_empty() {
            Vec::new()
        } else {
            vec![FilterGroup {
                filters: common.to_vec(),
            }]
        };
    }
    alternatives
        .into_iter()
        .map(|alt| FilterGroup {
            filters: common.iter().cloned().chain(alt).collect(),
        })
        .collect()
}

/// The cross product of OR-lists of AND-groups: `[[a, b], [c, d]]` (meaning `(a OR b) AND
/// (c OR d)`, each letter a group of filters) becomes the alternatives `a+c, a+d, b+c, b+d`.
pub fn cross(ors: &[Vec<Vec<SearchFilter>>]) -> Vec<Vec<SearchFilter>> {
    let mut out: Vec<Vec<SearchFilter>> = vec![Vec::new()];
    for choices in ors {
        out = out
            .iter()
            .flat_map(|prefix| {
                choices.iter().map(move |c| {
                    let mut next = prefix.clone();
                    next.extend(c.iter().cloned());
                    next
                })
            })
            .collect();
    }
    out
}
