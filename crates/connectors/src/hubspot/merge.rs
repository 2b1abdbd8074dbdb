//! Activities without `filter[type]`: calls, meetings, tasks and emails, four HubSpot objects,
//! read as one list under one cursor (docs/hubspot.md §15).
//!
//! The cursor holds a place per object: not started, a position inside it (the position that
//! object's own list would put in its cursor: HubSpot's `after`, or a keyset bound), or done.
//! Each page only ever takes a prefix of each object's remaining records and moves that
//! object's place past exactly what it took, so every record comes once across pages however
//! the objects interleave.
//!
//! - **No sort:** the objects follow each other (calls, then meetings, tasks, emails). A page asks
//!   one object for what the page still lacks; when that object runs out, the next one fills
//!   the rest. Without filters each object uses its plain list (and so carries link fields);
//!   with filters, its search.
//! - **A sort** (`created_at`, `updated_at`: the sorts they all share) searches every object
//!   not yet done for a full page after its place, then merges the answers by the sort key and
//!   takes the page's worth. An object none of whose records made the page keeps its place.
//!
//! Filters and sorts are the objects' shared ones (owner, `updated_since`; created and
//! updated time); anything else gets the same error a typed list would.

use std::cmp::Ordering;
use std::ops::Range;

use serde_json::{Value, json};

use patchbay_unified::{ListParams, SortDirection, UnifiedError};

use super::ids::Engagement;
use super::list::{ListPlan, next_after, plan_object, result_count, results};
use super::records::{bad_downstream, engagement_map, flatten};
use super::request::HubSpotRequest;
use crate::convert::parse_datetime;
use crate::table::SortKind;

/// The objects behind unified activities, in the order an unsorted list reads them.
const KINDS: [Engagement; Engagement::ALL.len()] = Engagement::ALL;
/// The cursor's key for the places.
const PLACES_KEY: &str = "kinds";
/// The place of an object that has nothing more.
const DONE: &str = "done";

/// Where one object stands.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    /// Not read yet.
    Start,
    /// Past this position (the object's own list position).
    At(Value),
    /// Read to the end.
    Done,
}

impl Place {
    fn to_json(&self) -> Value {
        match self {
            Place::Start => Value::Null,
            Place::At(p) => p.clone(),
            Place::Done => json!(DONE),
        }
    }

    fn from_json(v: &Value) -> Result<Self, UnifiedError> {
        match v {
            Value::Null => Ok(Place::Start),
            Value::String(s) if s == DONE => Ok(Place::Done),
            Value::Object(_) => Ok(Place::At(v.clone())),
            _ => Err(UnifiedError::InvalidCursor),
        }
    }
}

/// A merged activities list: the query, and each object's place.
#[derive(Debug, Clone)]
pub struct Merged {
    params: ListParams,
    extra: Vec<String>,
    limit: usize,
    places: Vec<Place>,
}

/// The answers that belong to one object's list.
struct Segment {
    kind: usize,
    plan: ListPlan,
    bodies: Range<usize>,
}

/// The answers so far, read back: which object each belongs to, and the call still to make.
struct Replay {
    segments: Vec<Segment>,
    next: Option<HubSpotRequest>,
}

/// Plans a merged list from the opened cursor `position` (`None`: the first page).
pub(super) fn plan_merged(
    params: &ListParams,
    position: Option<&Value>,
    extra: &[String],
) -> Result<ListPlan, UnifiedError> {
    let places = match position {
        None => vec![Place::Start; KINDS.len()],
        Some(p) => {
            let places = p
                .get(PLACES_KEY)
                .and_then(Value::as_array)
                .filter(|a| a.len() == KINDS.len())
                .ok_or(UnifiedError::InvalidCursor)?;
            places
                .iter()
                .map(Place::from_json)
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let merged = Merged {
        params: params.clone(),
        extra: extra.to_vec(),
        limit: usize::from(params.limit),
        places,
    };
    // Every object still to read must plan (filters, sort, its place): checked now, so that
    // bad input never costs a call and the later plans cannot fail.
    let mut first = None;
    for kind in merged.active() {
        let plan = merged.plan(kind, merged.limit)?;
        first.get_or_insert(plan);
    }
    // A sealed cursor is only issued while some object has more.
    let first = first.ok_or(UnifiedError::InvalidCursor)?;
    Ok(first.into_merged(merged))
}

impl Merged {
    /// The objects not yet done, in order.
    fn active(&self) -> Vec<usize> {
        (0..KINDS.len())
            .filter(|k| self.places[*k] != Place::Done)
            .collect()
    }

    fn sorted(&self) -> bool {
        self.params.sort.is_some()
    }

    /// One object's list from its place, `limit` records.
    fn plan(&self, kind: usize, limit: usize) -> Result<ListPlan, UnifiedError> {
        let position = match &self.places[kind] {
            Place::Start => None,
            Place::At(p) => Some(p),
            Place::Done => return Err(UnifiedError::InvalidCursor),
        };
        plan_object(
            &self.params,
            engagement_map(KINDS[kind]),
            position,
            &self.extra,
            limit,
        )
    }

    /// Reads the answers back in the order they were asked for.
    fn replay(&self, bodies: &[Value]) -> Result<Replay, UnifiedError> {
        let mut segments = Vec::new();
        if self.sorted() {
            // One search per object not done, each for a full page.
            for (n, kind) in self.active().into_iter().enumerate() {
                let plan = self.plan(kind, self.limit)?;
                if n >= bodies.len() {
                    return Ok(Replay {
                        segments,
                        next: Some(plan.request),
                    });
                }
                segments.push(Segment {
                    kind,
                    plan,
                    bodies: n..n + 1,
                });
            }
            return Ok(Replay {
                segments,
                next: None,
            });
        }
        // One object after the other, each asked for what the page still lacks.
        let mut at = 0;
        let mut collected = 0;
        for kind in self.active() {
            if collected >= self.limit {
                break;
            }
            let wanted = self.limit - collected;
            let plan = self.plan(kind, wanted)?;
            let start = at;
            if at == bodies.len() {
                return Ok(Replay {
                    segments,
                    next: Some(plan.request),
                });
            }
            let mut got = result_count(&bodies[at]);
            at += 1;
            while let Some(request) = plan.next_single(got, &bodies[at - 1]) {
                if at == bodies.len() {
                    return Ok(Replay {
                        segments,
                        next: Some(request),
                    });
                }
                got += result_count(&bodies[at]);
                at += 1;
            }
            let more = next_after(&bodies[at - 1]).is_some();
            segments.push(Segment {
                kind,
                plan,
                bodies: start..at,
            });
            collected += got.min(wanted);
            if more {
                // This object still has records: the page ends with it.
                break;
            }
        }
        Ok(Replay {
            segments,
            next: None,
        })
    }

    /// The next call, given every answer so far.
    pub(super) fn next_request(&self, bodies: &[Value]) -> Option<HubSpotRequest> {
        self.replay(bodies).ok()?.next
    }

    /// The page: unified records, their HubSpot records, and the position of the next page
    /// (`None` once every object is done).
    #[allow(clippy::type_complexity)]
    pub(super) fn finish(
        &self,
        bodies: &[Value],
    ) -> Result<(Vec<Value>, Vec<Value>, Option<Value>), UnifiedError> {
        let replay = self.replay(bodies)?;
        let mut places = self.places.clone();
        let mut data = Vec::new();
        let mut sources = Vec::new();
        if self.sorted() {
            self.merge(&replay, bodies, &mut places, &mut data, &mut sources)?;
        } else {
            for seg in &replay.segments {
                let (d, s, position) = seg.plan.finish_single(&bodies[seg.bodies.clone()])?;
                data.extend(d);
                sources.extend(s);
                places[seg.kind] = position.map_or(Place::Done, Place::At);
            }
        }
        let position = places
            .iter()
            .any(|p| *p != Place::Done)
            .then(|| json!({ PLACES_KEY: places.iter().map(Place::to_json).collect::<Vec<_>>() }));
        Ok((data, sources, position))
    }

    /// Merges the objects' sorted answers by the sort key and takes a page.
    fn merge(
        &self,
        replay: &Replay,
        bodies: &[Value],
        places: &mut [Place],
        data: &mut Vec<Value>,
        sources: &mut Vec<Value>,
    ) -> Result<(), UnifiedError> {
        struct Lane<'a> {
            seg: &'a Segment,
            records: &'a [Value],
            more: bool,
            taken: usize,
        }
        let mut lanes = Vec::new();
        for seg in &replay.segments {
            let body = bodies
                .get(seg.bodies.start)
                .ok_or_else(|| bad_downstream("a HubSpot answer is missing"))?;
            let records = results(body)?;
            let more = next_after(body).is_some();
            if records.is_empty() && more {
                return Err(bad_downstream(&format!(
                    "HubSpot said it has more {} but returned none",
                    KINDS[seg.kind].object()
                )));
            }
            lanes.push(Lane {
                seg,
                records,
                more,
                taken: 0,
            });
        }
        let sort = lanes.first().and_then(|l| l.seg.plan.sort());
        while data.len() < self.limit {
            // A lane that used up its answer but has more: its next record is unknown and may
            // come first, so the page ends here.
            if lanes.iter().any(|l| l.more && l.taken == l.records.len()) {
                break;
            }
            let pick = lanes
                .iter()
                .enumerate()
                .filter(|(_, l)| l.taken < l.records.len())
                .min_by(|(_, a), (_, b)| compare(sort, &a.records[a.taken], &b.records[b.taken]))
                .map(|(i, _)| i);
            let Some(i) = pick else {
                break;
            };
            let lane = &mut lanes[i];
            let record = &lane.records[lane.taken];
            data.push(lane.seg.plan.read(record)?);
            sources.push(record.clone());
            lane.taken += 1;
        }
        for lane in &lanes {
            places[lane.seg.kind] = if lane.taken == lane.records.len() && !lane.more {
                Place::Done
            } else if lane.taken > 0 {
                Place::At(lane.seg.plan.position(&lane.records[lane.taken - 1])?)
            } else {
                places[lane.seg.kind].clone()
            };
        }
        Ok(())
    }
}

/// A record's sort key, comparable across objects.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Key {
    Number(f64),
    Text(String),
}

fn key(kind: SortKind, property: &str, record: &Value) -> Option<Key> {
    let fields = flatten(record)?;
    let text = fields
        .get(property)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())?;
    match kind {
        SortKind::DateTime => parse_datetime(text)
            .map(|d| (d.unix_timestamp_nanos() / 1_000_000) as f64)
            // HubSpot also writes dates as epoch milliseconds.
            .or_else(|| text.parse::<i64>().ok().map(|ms| ms as f64))
            .map(Key::Number),
        SortKind::Number => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Key::Number),
        SortKind::Text => Some(Key::Text(text.to_lowercase())),
    }
}

/// The order of two heads: by the sort key in its direction, records without a key last in
/// either direction (as HubSpot's search puts them, docs/hubspot.md §15); without a sort, all
/// equal (the lane order decides).
fn compare(sort: Option<(crate::table::SortMap, SortDirection)>, a: &Value, b: &Value) -> Ordering {
    let Some((sm, direction)) = sort else {
        return Ordering::Equal;
    };
    match (key(sm.kind, sm.remote, a), key(sm.kind, sm.remote, b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let order = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            match direction {
                SortDirection::Asc => order,
                SortDirection::Desc => order.reverse(),
            }
        }
    }
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
