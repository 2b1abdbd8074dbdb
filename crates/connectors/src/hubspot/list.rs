//! List calls: the plain list API when no filter or sort is given, the search API otherwise,
//! with keyset paging that passes the search's 10,000-result ceiling.
//!
//! Search pages are never reached by offset. Each page is a fresh search from offset 0 that asks
//! for records strictly after the last one returned, in the total order (sort key, then
//! `hs_object_id`), so no query ever comes near the ceiling however long the list is
//! (docs/hubspot.md §9, §15). The cursor carries the last record's id and sort key.
//! Plain lists (and owners) page with HubSpot's own `after`, which the cursor carries as is.
//! Activities without `filter[type]` read calls, meetings, tasks and emails together under one
//! cursor that says where each of them is (`merge.rs`).

use serde_json::{Value, json};
use time::OffsetDateTime;

use patchbay_unified::model::ActivityType;
use patchbay_unified::{
    CursorCodec, CursorScope, FilterField, FilterKind, FilterValue, ListParams, Resource,
    SortDirection, UnifiedError,
};

use super::SERVICE_ID;
use super::ids::{Engagement, is_property_name, is_valid_id, parse_activity_id};
use super::records::{
    LEAD_STAGE, PIPELINE_OBJECT, Target, bad_downstream, engagement_map, flatten, links,
    object_map, properties, read_object, read_owner, read_pipeline, read_query,
};
use super::request::{HubSpotRequest, Method, call, with_body};
use super::search::{
    Direction, MAX_SEARCH_LIMIT, Operator, SearchBody, SearchFilter, SearchSort, cross, distribute,
};
use super::tables::{self, Link};
use crate::convert::parse_datetime;
use crate::table::{FilterOp, ObjectMap, SortKind, SortMap};

/// Largest page of the plain list and owners APIs (docs/hubspot.md §8).
pub const MAX_LIST_LIMIT: usize = 100;
/// The property every search sorts and pages by last.
pub const ID_PROPERTY: &str = "hs_object_id";
/// Query keys the connector sets itself; `pass_through` may not replace them.
pub(crate) const RESERVED_KEYS: [&str; 5] =
    ["limit", "after", "properties", "associations", "archived"];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// `GET /crm/v3/objects/{type}` with `after`.
    Plain,
    /// `POST /crm/v3/objects/{type}/search` with a keyset lower bound.
    Search,
    /// `GET /crm/v3/owners` with `after`.
    Owners,
    /// `GET /crm/v3/pipelines/deals`, one page.
    Pipelines,
    /// Calls, meetings and tasks under one cursor (activities without `filter[type]`).
    Merged,
}

/// A planned list call: send [`ListPlan::request`]; while [`ListPlan::next_request`] gives a
/// call, send it too; then hand every answer body, in order, to [`ListPlan::finish`].
#[derive(Debug, Clone)]
pub struct ListPlan {
    target: Target,
    mode: Mode,
    limit: usize,
    sort: Option<(SortMap, SortDirection)>,
    /// The search body, when the list searches (kept typed for tests).
    pub search: Option<SearchBody>,
    /// The first call to make.
    pub request: HubSpotRequest,
    /// The engagement lists behind a merged activities list.
    pub(super) merged: Option<Box<super::merge::Merged>>,
    /// `filter[name]` on contacts or leads, lowercased: a search over several words cannot say
    /// "first name then last name" exactly, so results are checked against it (see
    /// [`name_alternatives`]).
    name_filter: Option<String>,
}

/// One page of unified records.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// Unified records, at most `limit`.
    pub data: Vec<Value>,
    /// The cursor of the next page, `None` at the end.
    pub next_cursor: Option<String>,
    /// For each record in `data` (same order), the HubSpot record it was read from (custom
    /// mappings are evaluated against it); empty for pipelines.
    pub sources: Vec<Value>,
}

pub(super) fn scope<'a>(params: &ListParams, query: &'a str) -> CursorScope<'a> {
    CursorScope {
        service: SERVICE_ID,
        resource: params.resource,
        query,
    }
}

/// Plans a list call.
pub fn plan_list(params: &ListParams, codec: &CursorCodec) -> Result<ListPlan, UnifiedError> {
    plan_list_with(params, codec, &[])
}

/// Plans a list call that also reads `extra` properties (custom-mapping targets); a name that
/// is not a property name is refused.
pub fn plan_list_with(
    params: &ListParams,
    codec: &CursorCodec,
    extra: &[String],
) -> Result<ListPlan, UnifiedError> {
    if let Some(bad) = extra.iter().find(|e| !is_property_name(e)) {
        let shown: String = bad.chars().take(80).collect();
        return Err(UnifiedError::validation(format!(
            "{shown} is not a HubSpot property name"
        )));
    }
    let fingerprint = params.query_fingerprint();
    let position = match &params.cursor {
        Some(c) => Some(codec.open(c, &scope(params, &fingerprint))?),
        None => None,
    };
    let limit = usize::from(params.limit);
    for key in params.common.pass_through.keys() {
        if RESERVED_KEYS.contains(&key.as_str()) {
            return Err(UnifiedError::invalid_field(
                "pass_through",
                format!(
                    "pass_through[{key}] is set by the connector; use limit, cursor or filter[...]"
                ),
            ));
        }
    }
    let pass_through = || {
        params
            .common
            .pass_through
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    match params.resource {
        Resource::Pipelines => {
            let request = call(Method::Get, format!("/crm/v3/pipelines/{PIPELINE_OBJECT}"));
            return Ok(ListPlan {
                target: Target::Pipelines,
                mode: Mode::Pipelines,
                limit,
                sort: None,
                search: None,
                request,
                merged: None,
                name_filter: None,
            });
        }
        Resource::Users => {
            let mut request = call(Method::Get, "/crm/v3/owners".to_owned());
            request
                .query
                .push(("limit".to_owned(), limit.min(MAX_LIST_LIMIT).to_string()));
            for filter in &params.filters {
                match (filter.field, &filter.value) {
                    (FilterField::Email, FilterValue::Text(email)) => {
                        request.query.push(("email".to_owned(), email.clone()));
                    }
                    _ => {
                        return Err(UnifiedError::UnsupportedFilters {
                            filters: vec![filter.field.as_str().to_owned()],
                        });
                    }
                }
            }
            if let Some(p) = &position {
                request.query.push(("after".to_owned(), after_of(p)?));
            }
            request.query.extend(pass_through());
            return Ok(ListPlan {
                target: Target::Owners,
                mode: Mode::Owners,
                limit,
                sort: None,
                search: None,
                request,
                merged: None,
                name_filter: None,
            });
        }
        _ => {}
    }
    if params.resource == Resource::Activities && type_filter(params).is_none() {
        return super::merge::plan_merged(params, position.as_ref(), extra);
    }
    let map = list_map(params)?;
    plan_object(params, map, position.as_ref(), extra, limit)
}

/// Plans a list of one CRM object from `position` (the opened cursor), `limit` records.
pub(super) fn plan_object(
    params: &ListParams,
    map: &'static ObjectMap,
    position: Option<&Value>,
    extra: &[String],
    limit: usize,
) -> Result<ListPlan, UnifiedError> {
    let pass_through = || {
        params
            .common
            .pass_through
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    let filters: Vec<_> = params
        .filters
        .iter()
        .filter(|f| !(params.resource == Resource::Activities && f.field == FilterField::Type))
        .collect();
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
    let searches = !filters.is_empty() || sort.is_some() || params.resource == Resource::Leads;
    if !searches {
        let mut request = call(Method::Get, format!("/crm/v3/objects/{}", map.object));
        request
            .query
            .push(("limit".to_owned(), limit.min(MAX_LIST_LIMIT).to_string()));
        let mut query = read_query(map);
        for (key, value) in &mut query {
            if key == "properties" {
                for e in extra {
                    value.push(',');
                    value.push_str(e);
                }
            }
        }
        request.query.extend(query);
        if let Some(p) = position {
            request.query.push(("after".to_owned(), after_of(p)?));
        }
        request.query.extend(pass_through());
        return Ok(ListPlan {
            target: Target::Object(map),
            mode: Mode::Plain,
            limit,
            sort: None,
            search: None,
            request,
            merged: None,
            name_filter: None,
        });
    }
    // Each unified filter is an OR over its properties; the ORs are multiplied out into groups.
    let mut common = Vec::new();
    let mut ors = Vec::new();
    let mut unsupported = Vec::new();
    if params.resource == Resource::Leads {
        common.push(SearchFilter::new(
            "lifecyclestage",
            Operator::Eq,
            LEAD_STAGE,
        ));
    }
    let mut name_filter = None;
    for filter in filters {
        let Some(fm) = map.filter(filter.field) else {
            unsupported.push(filter.field.as_str().to_owned());
            continue;
        };
        let value = filter_value(filter.field, &filter.value)?;
        let op = match fm.op {
            FilterOp::Eq => Operator::Eq,
            FilterOp::Gte => Operator::Gte,
        };
        let choices: Vec<Vec<SearchFilter>> =
            if filter.field == FilterField::Name && map.object == "contacts" {
                name_filter = Some(normal_name(&value));
                name_alternatives(&value)?
            } else {
                fm.remote
                    .iter()
                    .map(|r| vec![SearchFilter::new(r, op, value.clone())])
                    .collect()
            };
        if choices.len() == 1 {
            common.extend(choices.into_iter().flatten());
        } else {
            ors.push(choices);
        }
    }
    if !unsupported.is_empty() {
        return Err(UnifiedError::UnsupportedFilters {
            filters: unsupported,
        });
    }
    let keyset = match position {
        None => Vec::new(),
        Some(p) => keyset_alternatives(sort, p)?,
    };
    let mut alternatives = Vec::new();
    for user in cross(&ors) {
        if keyset.is_empty() {
            alternatives.push(user);
        } else {
            for k in &keyset {
                alternatives.push(user.iter().cloned().chain(k.iter().cloned()).collect());
            }
        }
    }
    let alternatives = if alternatives.iter().all(Vec::is_empty) {
        Vec::new()
    } else {
        alternatives
    };
    let (property, direction) = match sort {
        None => (ID_PROPERTY, Direction::Ascending),
        Some((sm, SortDirection::Asc)) => (sm.remote, Direction::Ascending),
        Some((sm, SortDirection::Desc)) => (sm.remote, Direction::Descending),
    };
    let mut props: Vec<String> = properties(map).into_iter().map(str::to_owned).collect();
    // The sort property too: the next page's bound is read from the last record.
    let sort_property = sort.map(|(sm, _)| sm.remote);
    for name in [Some(ID_PROPERTY), sort_property]
        .into_iter()
        .flatten()
        .chain(extra.iter().map(String::as_str))
    {
        if !props.iter().any(|p| p == name) {
            props.push(name.to_owned());
        }
    }
    let body = SearchBody {
        filter_groups: distribute(&common, alternatives),
        sorts: vec![SearchSort {
            property,
            direction,
        }],
        properties: props,
        limit: u32::try_from(limit)
            .unwrap_or(MAX_SEARCH_LIMIT)
            .min(MAX_SEARCH_LIMIT),
    };
    body.check()?;
    let mut request = with_body(
        call(
            Method::Post,
            format!("/crm/v3/objects/{}/search", map.object),
        ),
        body.to_json(),
    );
    request.query.extend(pass_through());
    Ok(ListPlan {
        target: Target::Object(map),
        mode: Mode::Search,
        limit,
        sort,
        search: Some(body),
        request,
        merged: None,
        name_filter,
    })
}

fn after_of(position: &Value) -> Result<String, UnifiedError> {
    position
        .get("after")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(UnifiedError::InvalidCursor)
}

/// An activities list's `filter[type]`, if it has one.
fn type_filter(params: &ListParams) -> Option<&patchbay_unified::Filter> {
    params.filters.iter().find(|f| f.field == FilterField::Type)
}

/// The table a list reads: activities by `filter[type]` (a list without one is merged).
fn list_map(params: &ListParams) -> Result<&'static ObjectMap, UnifiedError> {
    if params.resource != Resource::Activities {
        return object_map(params.resource).ok_or(UnifiedError::UnsupportedFilters {
            filters: Vec::new(),
        });
    }
    let Some(filter) = type_filter(params) else {
        // Only a merged list reads every engagement object; this is its per-object planner's
        // caller.
        return Ok(&tables::MEETING);
    };
    let FilterValue::Text(value) = &filter.value else {
        return Err(UnifiedError::invalid_field(
            "filter[type]",
            "filter[type] must be text",
        ));
    };
    match ActivityType::parse(&value.to_ascii_lowercase()) {
        Some(ActivityType::Call) => Ok(engagement_map(Engagement::Call)),
        Some(ActivityType::Meeting) => Ok(engagement_map(Engagement::Meeting)),
        Some(ActivityType::Task) => Ok(engagement_map(Engagement::Task)),
        Some(ActivityType::Email) => Ok(engagement_map(Engagement::Email)),
        Some(_) => Err(UnifiedError::UnsupportedFilters {
            filters: vec!["type".to_owned()],
        }),
        None => Err(UnifiedError::invalid_field(
            "filter[type]",
            "filter[type] must be an activity type, e.g. call, meeting, task or email",
        )),
    }
}

/// A unified filter value as the string HubSpot compares (dates as epoch milliseconds).
fn filter_value(field: FilterField, value: &FilterValue) -> Result<String, UnifiedError> {
    match (field.kind(), value) {
        (FilterKind::Id, FilterValue::Text(id)) if !is_valid_id(id) => {
            Err(UnifiedError::invalid_field(
                &format!("filter[{}]", field.as_str()),
                format!("filter[{}] is not a valid HubSpot id", field.as_str()),
            ))
        }
        (_, FilterValue::Text(t)) => Ok(t.clone()),
        (_, FilterValue::Number(n)) => Ok(number_text(*n)),
        (_, FilterValue::DateTime(d)) => Ok(epoch_millis(*d)),
    }
}

/// Most words `filter[name]` may have: each space is a possible first/last boundary.
const MAX_NAME_WORDS: usize = 16;

/// `filter[name]` on a contact: HubSpot keeps `firstname` and `lastname` apart and the unified
/// name is "first last" (records.rs), so the value is matched as a split at one of its spaces
/// (case-insensitive `EQ`/`IN`, docs/hubspot.md §9). One word: a contact with only that last
/// name or only that first name (two groups). Several words: one group, first name `IN` the
/// value's prefixes and last name `IN` its suffixes, which could pair a prefix with a suffix of
/// another split; [`ListPlan`] drops such records after reading (docs/hubspot.md §15).
fn name_alternatives(value: &str) -> Result<Vec<Vec<SearchFilter>>, UnifiedError> {
    let value = value.trim();
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() > MAX_NAME_WORDS {
        return Err(UnifiedError::invalid_field(
            "filter[name]",
            format!("filter[name] may have at most {MAX_NAME_WORDS} words for HubSpot"),
        ));
    }
    if words.len() <= 1 {
        return Ok(vec![
            vec![
                SearchFilter::new("firstname", Operator::Eq, value),
                SearchFilter::missing("lastname"),
            ],
            vec![
                SearchFilter::new("lastname", Operator::Eq, value),
                SearchFilter::missing("firstname"),
            ],
        ]);
    }
    // Lowercased: `IN` on text compares lowercase values (docs/hubspot.md §9).
    let split = |n: usize| {
        (
            words[..n].join(" ").to_lowercase(),
            words[n..].join(" ").to_lowercase(),
        )
    };
    let (firsts, lasts): (Vec<String>, Vec<String>) = (1..words.len()).map(split).unzip();
    Ok(vec![vec![
        SearchFilter::any_of("firstname", firsts),
        SearchFilter::any_of("lastname", lasts),
    ]])
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn epoch_millis(d: OffsetDateTime) -> String {
    (d.unix_timestamp_nanos() / 1_000_000).to_string()
}

/// "Strictly after the last record" in the order (sort key, `hs_object_id`), as alternatives
/// (ORed groups). Records without the sort property come last in either direction and tie on
/// the id (docs/hubspot.md §15, inferred).
fn keyset_alternatives(
    sort: Option<(SortMap, SortDirection)>,
    position: &Value,
) -> Result<Vec<Vec<SearchFilter>>, UnifiedError> {
    let last_id = position
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_valid_id(id))
        .ok_or(UnifiedError::InvalidCursor)?
        .to_owned();
    let id_after = || SearchFilter::new(ID_PROPERTY, Operator::Gt, last_id.clone());
    let Some((sm, direction)) = sort else {
        return Ok(vec![vec![id_after()]]);
    };
    let key = key_text(sm.kind, position.get("k").unwrap_or(&Value::Null))?;
    let Some(key) = key else {
        return Ok(vec![vec![SearchFilter::missing(sm.remote), id_after()]]);
    };
    let beyond = match direction {
        SortDirection::Asc => Operator::Gt,
        SortDirection::Desc => Operator::Lt,
    };
    Ok(vec![
        vec![SearchFilter::new(sm.remote, beyond, key.clone())],
        vec![SearchFilter::new(sm.remote, Operator::Eq, key), id_after()],
        vec![SearchFilter::missing(sm.remote)],
    ])
}

/// A sort key from a cursor as the string HubSpot compares; anything unexpected is a bad cursor.
fn key_text(kind: SortKind, key: &Value) -> Result<Option<String>, UnifiedError> {
    if key.is_null() {
        return Ok(None);
    }
    let text = key.as_str().ok_or(UnifiedError::InvalidCursor)?;
    let value = match kind {
        SortKind::Text => Some(text.to_owned()),
        SortKind::Number => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|_| text.trim().to_owned()),
        SortKind::DateTime => parse_datetime(text).map(epoch_millis),
    };
    value.map(Some).ok_or(UnifiedError::InvalidCursor)
}

pub(super) fn results(body: &Value) -> Result<&[Value], UnifiedError> {
    body.get("results")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| bad_downstream("HubSpot's list answer has no results array"))
}

pub(super) fn next_after(body: &Value) -> Option<String> {
    let after = body.get("paging")?.get("next")?.get("after")?;
    match after {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl ListPlan {
    /// The next call, given every answer so far (in order): a plain list or owners page larger
    /// than one HubSpot page (100 at a time), or the next engagement object of a merged
    /// activities list. `None` when the page is complete.
    ///
    /// Records read by search carry no associations (docs/hubspot.md §7, §9): once the page's
    /// own calls are done, one v4 batch read per associated object type fills their link
    /// fields (docs/hubspot.md §10), one call per page and type, never one per record.
    pub fn next_request(&self, bodies: &[Value]) -> Option<HubSpotRequest> {
        let main = match self.main_len(bodies) {
            Ok(n) => n,
            Err(next) => return *next,
        };
        let (links, _) = self.link_reads(&bodies[..main]).ok()?;
        links
            .into_iter()
            .nth(bodies.len() - main)
            .map(|read| read.request)
    }

    /// How many of `bodies` answer the page's own calls (the rest answer link reads), or the
    /// page's next own call while there is one.
    /// (Boxed: a request is large, and the count is the common answer.)
    fn main_len(&self, bodies: &[Value]) -> Result<usize, Box<Option<HubSpotRequest>>> {
        for n in 1..=bodies.len() {
            if self.main_next(&bodies[..n]).is_none() {
                return Ok(n);
            }
        }
        Err(Box::new(self.main_next(bodies)))
    }

    /// The page's own next call (list pages, merged objects), link reads aside.
    fn main_next(&self, bodies: &[Value]) -> Option<HubSpotRequest> {
        if let Some(merged) = &self.merged {
            return merged.next_request(bodies);
        }
        let collected = bodies.iter().map(result_count).sum();
        self.next_single(collected, bodies.last()?)
    }

    /// The object a unified record of this list was read from.
    fn object_of(&self, record: &Value) -> Option<&'static str> {
        if self.merged.is_some() {
            let id = record.get("id").and_then(Value::as_str)?;
            return parse_activity_id(id).map(|(e, _)| engagement_map(e).object);
        }
        match self.target {
            Target::Object(map) => Some(map.object),
            _ => None,
        }
    }

    /// The page from the page's own answers, and the batch reads its records without link
    /// fields need: one per (object, associated object), records in page order.
    #[allow(clippy::type_complexity)]
    fn link_reads(
        &self,
        main: &[Value],
    ) -> Result<(Vec<LinkRead>, (Vec<Value>, Vec<Value>, Option<Value>)), UnifiedError> {
        let page = match &self.merged {
            Some(merged) => merged.finish(main)?,
            None => self.finish_single(main)?,
        };
        let mut reads: Vec<LinkRead> = Vec::new();
        for (record, source) in page.0.iter().zip(&page.1) {
            let Some(object) = self.object_of(record) else {
                continue;
            };
            let Some(raw) = source.get("id").and_then(Value::as_str) else {
                continue;
            };
            for link in links(object) {
                if record.get(link.unified).is_some() {
                    continue;
                }
                match reads
                    .iter_mut()
                    .find(|r| r.object == object && r.link.to == link.to)
                {
                    Some(read) => read.ids.push(raw.to_owned()),
                    None => reads.push(LinkRead {
                        object,
                        link: *link,
                        ids: vec![raw.to_owned()],
                        request: call(Method::Post, String::new()),
                    }),
                }
            }
        }
        for read in &mut reads {
            let inputs: Vec<Value> = read.ids.iter().map(|id| json!({ "id": id })).collect();
            read.request = with_body(
                call(
                    Method::Post,
                    format!(
                        "/crm/v4/associations/{}/{}/batch/read",
                        read.object, read.link.to
                    ),
                ),
                json!({ "inputs": inputs }),
            );
        }
        Ok((reads, page))
    }

    /// [`ListPlan::next_request`] for one object: `collected` records so far, `last_body` the
    /// newest answer.
    pub(super) fn next_single(
        &self,
        collected: usize,
        last_body: &Value,
    ) -> Option<HubSpotRequest> {
        if !matches!(self.mode, Mode::Plain | Mode::Owners) || collected >= self.limit {
            return None;
        }
        let after = next_after(last_body)?;
        let mut request = self.request.clone();
        request.query.retain(|(k, _)| k != "after" && k != "limit");
        request.query.push((
            "limit".to_owned(),
            (self.limit - collected).min(MAX_LIST_LIMIT).to_string(),
        ));
        request.query.push(("after".to_owned(), after));
        Some(request)
    }

    /// Maps the answers (in the order they came) to a unified page and seals the next cursor.
    pub fn finish(
        &self,
        params: &ListParams,
        codec: &CursorCodec,
        bodies: &[Value],
    ) -> Result<ListPage, UnifiedError> {
        let main = self.main_len(bodies).unwrap_or(bodies.len());
        let (reads, (mut data, sources, position)) = self.link_reads(&bodies[..main])?;
        for (read, body) in reads.iter().zip(&bodies[main..]) {
            let found = first_associated(body)?;
            for (record, source) in data.iter_mut().zip(&sources) {
                let raw = source.get("id").and_then(Value::as_str);
                if self.object_of(record) != Some(read.object) || raw.is_none() {
                    continue;
                }
                let Some(map) = record.as_object_mut() else {
                    continue;
                };
                if map.contains_key(read.link.unified) {
                    continue;
                }
                let id = raw.and_then(|raw| found.get(raw)).cloned();
                map.insert(read.link.unified.to_owned(), json!(id));
                if read.link.unified == "company_id" && Engagement::of_object(read.object).is_some()
                {
                    map.insert("account_id".to_owned(), json!(id));
                }
            }
        }
        let fingerprint = params.query_fingerprint();
        let next_cursor = position.map(|p| codec.seal(&scope(params, &fingerprint), &p));
        Ok(ListPage {
            data,
            next_cursor,
            sources,
        })
    }

    /// One object's page: the unified records, the records they were read from, and the
    /// position after the last one (`None` when HubSpot has no more).
    #[allow(clippy::type_complexity)]
    pub(super) fn finish_single(
        &self,
        bodies: &[Value],
    ) -> Result<(Vec<Value>, Vec<Value>, Option<Value>), UnifiedError> {
        if self.mode == Mode::Pipelines {
            let data = match bodies.first() {
                Some(body) => results(body)?
                    .iter()
                    .map(read_pipeline)
                    .collect::<Result<Vec<_>, _>>()?,
                None => Vec::new(),
            };
            return Ok((data, Vec::new(), None));
        }
        let mut records: Vec<&Value> = Vec::new();
        for body in bodies {
            records.extend(results(body)?);
        }
        records.truncate(self.limit);
        let data = records
            .iter()
            .map(|r| self.read(r))
            .collect::<Result<Vec<_>, _>>()?;
        let more = bodies.last().and_then(next_after);
        let position = match (self.mode, more, records.last()) {
            (_, None, _) | (_, _, None) => None,
            (Mode::Search, Some(_), Some(last)) => Some(self.position(last)?),
            (_, Some(after), Some(_)) => Some(json!({ "after": after })),
        };
        let mut sources: Vec<Value> = records.into_iter().cloned().collect();
        let mut data = data;
        if let Some(want) = &self.name_filter {
            // The position above is the last record HubSpot returned, kept or not, so a
            // dropped record never makes the next page repeat or skip one.
            let keep: Vec<bool> = data
                .iter()
                .map(|r| {
                    r.get("name").and_then(Value::as_str).map(normal_name) == Some(want.clone())
                })
                .collect();
            let mut k = keep.iter();
            data.retain(|_| k.next().copied().unwrap_or(false));
            let mut k = keep.iter();
            sources.retain(|_| k.next().copied().unwrap_or(false));
        }
        Ok((data, sources, position))
    }

    /// One HubSpot record of this list as a unified record.
    pub(super) fn read(&self, record: &Value) -> Result<Value, UnifiedError> {
        match self.target {
            Target::Object(map) => read_object(map, record, self.mode == Mode::Plain),
            _ => read_owner(record),
        }
    }

    /// This plan's first call as the first call of a merged activities list.
    pub(super) fn into_merged(mut self, merged: super::merge::Merged) -> ListPlan {
        self.mode = Mode::Merged;
        self.merged = Some(Box::new(merged));
        self
    }

    /// The sort this list asks HubSpot for, if any.
    pub(super) fn sort(&self) -> Option<(SortMap, SortDirection)> {
        self.sort
    }

    /// The keyset position of a search result: its id and sort key.
    pub(super) fn position(&self, last: &Value) -> Result<Value, UnifiedError> {
        let fields = flatten(last).unwrap_or_default();
        let id = fields
            .get("id")
            .or_else(|| fields.get(ID_PROPERTY))
            .and_then(Value::as_str)
            .filter(|id| is_valid_id(id))
            .ok_or_else(|| bad_downstream("HubSpot returned a search result without an id"))?;
        Ok(match self.sort {
            None => json!({ "id": id }),
            Some((sm, _)) => {
                let key = fields.get(sm.remote).cloned().unwrap_or(Value::Null);
                let key = match key {
                    Value::String(s) if s.is_empty() => Value::Null,
                    other => other,
                };
                json!({ "id": id, "k": key })
            }
        })
    }
}

/// One v4 batch read of a page's links: the records of `object` whose `link` is unknown.
struct LinkRead {
    object: &'static str,
    link: Link,
    ids: Vec<String>,
    request: HubSpotRequest,
}

/// A batch read's answer as "record id → first associated id". Records without associations
/// are absent (HubSpot lists them under `errors`, with a `207`).
fn first_associated(
    body: &Value,
) -> Result<std::collections::HashMap<String, String>, UnifiedError> {
    let mut out = std::collections::HashMap::new();
    for result in results(body)? {
        let from = result.get("from").and_then(|f| f.get("id"));
        let to = result
            .get("to")
            .and_then(Value::as_array)
            .and_then(|t| t.first())
            .and_then(|t| t.get("toObjectId"));
        if let (Some(from), Some(to)) = (from.and_then(id_text), to.and_then(id_text)) {
            out.insert(from, to);
        }
    }
    Ok(out)
}

/// An id HubSpot writes as a string or a number.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if is_valid_id(s) => Some(s.clone()),
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// A name as `filter[name]` compares it: words separated by one space, lowercased.
fn normal_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// How many records an answer holds.
pub(super) fn result_count(body: &Value) -> usize {
    body.get("results")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

#[cfg(test)]
#[path = "list_tests.rs"]
mod tests;
