//! Runs a plan over an org: filter by scanning the object's table (a tight scan of 100k rows
//! takes a few milliseconds, so no secondary indexes), sort, slice, and render rows as JSON.

use super::parser::Op;
use super::plan::{CVal, ChildPlan, FieldRef, Filter, LikeTok, Plan, SortKey};
use crate::ids::SfId;
use crate::org::{Org, Row, RowRef, attributes, field_value};
use crate::value::Value;
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

static NULL: Value = Value::Null;

impl Org {
    /// The live parent a lookup points to, if it is of one of the allowed objects.
    fn parent(
        &self,
        row: &Row,
        lookup: usize,
        targets: &[(usize, FieldRef)],
    ) -> Option<(usize, &Row, usize)> {
        let id = row.get(lookup).as_id()?;
        let r = self.index.get(&id)?;
        let slot = targets
            .iter()
            .position(|(t, _)| *t == usize::from(r.object))?;
        let parent = self.row(*r)?;
        (!parent.is_deleted()).then_some((usize::from(r.object), parent, slot))
    }

    pub(crate) fn eval<'a>(&'a self, row: &'a Row, r: &FieldRef) -> &'a Value {
        match r {
            FieldRef::Direct(i) => row.get(*i),
            FieldRef::ObjectType => (row.id())
                .and_then(|id| self.index.get(&id))
                .and_then(|r| self.type_names.get(usize::from(r.object)))
                .unwrap_or(&NULL),
            FieldRef::Via { lookup, targets } => match self.parent(row, *lookup, targets) {
                Some((_, parent, slot)) => self.eval(parent, &targets[slot].1),
                None => &NULL,
            },
        }
    }

    pub(crate) fn matches(&self, row: &Row, f: &Filter) -> bool {
        match f {
            Filter::And(parts) => parts.iter().all(|p| self.matches(row, p)),
            Filter::Or(parts) => parts.iter().any(|p| self.matches(row, p)),
            Filter::Not(inner) => !self.matches(row, inner),
            Filter::Cmp(r, op, c) => compare(self.eval(row, r), *op, c),
            Filter::In(r, negated, values) => {
                let v = self.eval(row, r);
                let hit = values.iter().any(|c| compare(v, Op::Eq, c));
                hit != *negated
            }
            Filter::Like(r, pattern) => match self.eval(row, r) {
                Value::Text(s) => like(s, pattern),
                _ => false,
            },
        }
    }

    /// Adds one selected column of `row` (an object of type `obj`) to `out`, nesting
    /// relationship paths under their relationship name.
    pub(crate) fn put_column(
        &self,
        out: &mut Map<String, Json>,
        obj: usize,
        row: &Row,
        r: &FieldRef,
        version: &str,
    ) {
        let def = self.schema.object_at(obj);
        match r {
            FieldRef::Direct(i) => {
                if let Some(f) = def.fields.get(*i) {
                    out.insert(f.name.clone(), field_value(def, row, *i));
                }
            }
            FieldRef::ObjectType => {
                out.insert("Type".to_owned(), Json::String(def.name.clone()));
            }
            FieldRef::Via { lookup, targets } => {
                let Some(rel) = def
                    .fields
                    .get(*lookup)
                    .and_then(|f| f.relationship_name.clone())
                else {
                    return;
                };
                let Some((pobj, parent, slot)) = self.parent(row, *lookup, targets) else {
                    out.entry(rel).or_insert(Json::Null);
                    return;
                };
                let entry = out.entry(rel).or_insert(Json::Null);
                if !entry.is_object() {
                    let mut m = Map::new();
                    let name = &self.schema.object_at(pobj).name;
                    m.insert(
                        "attributes".to_owned(),
                        attributes(name, parent.id(), version),
                    );
                    *entry = Json::Object(m);
                }
                if let Json::Object(m) = entry {
                    self.put_column(m, pobj, parent, &targets[slot].1, version);
                }
            }
        }
    }

    /// Row positions matching the plan, sorted and sliced.
    pub(crate) fn run(&self, plan: &Plan, include_deleted: bool) -> Vec<RowRef> {
        let rows = self.matching(plan, include_deleted, |_| true);
        self.finish(plan, rows)
    }

    /// Rows of the plan's object that pass its filter and `extra`, in storage order.
    fn matching(
        &self,
        plan: &Plan,
        include_deleted: bool,
        extra: impl Fn(&Row) -> bool,
    ) -> Vec<RowRef> {
        let Some(table) = self.tables.get(plan.object) else {
            return Vec::new();
        };
        (table.iter().enumerate())
            .filter(|(_, row)| include_deleted || !row.is_deleted())
            .filter(|(_, row)| extra(row))
            .filter(|(_, row)| plan.filter.as_ref().is_none_or(|f| self.matches(row, f)))
            .map(|(i, _)| RowRef {
                object: plan.object as u16,
                row: i as u32,
            })
            .collect()
    }

    /// ORDER BY, OFFSET and LIMIT.
    fn finish(&self, plan: &Plan, mut rows: Vec<RowRef>) -> Vec<RowRef> {
        if !plan.order.is_empty() {
            self.sort(&mut rows, &plan.order);
        }
        let start = usize::try_from(plan.offset)
            .unwrap_or(usize::MAX)
            .min(rows.len());
        rows.drain(..start);
        if let Some(limit) = plan.limit {
            rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        }
        rows
    }

    /// The rows of a child subquery for each of `parents`, with one scan of the child table.
    pub(crate) fn children(
        &self,
        child: &ChildPlan,
        parents: &HashSet<SfId>,
        include_deleted: bool,
    ) -> HashMap<SfId, Vec<RowRef>> {
        let parent_of = |row: &Row| {
            row.get(child.lookup)
                .as_id()
                .filter(|id| parents.contains(id))
        };
        let rows = self.matching(&child.plan, include_deleted, |row| parent_of(row).is_some());
        let mut groups: HashMap<SfId, Vec<RowRef>> = HashMap::new();
        for r in rows {
            if let Some(parent) = self.row(r).and_then(parent_of) {
                groups.entry(parent).or_default().push(r);
            }
        }
        groups
            .into_iter()
            .map(|(k, v)| (k, self.finish(&child.plan, v)))
            .collect()
    }

    fn sort(&self, rows: &mut Vec<RowRef>, order: &[SortKey]) {
        let mut keyed: Vec<(Vec<Value>, RowRef)> = (rows.iter())
            .map(|r| {
                let keys = match self.row(*r) {
                    Some(row) => order
                        .iter()
                        .map(|k| sort_value(self.eval(row, &k.field)))
                        .collect(),
                    None => Vec::new(),
                };
                (keys, *r)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            for (k, (x, y)) in order.iter().zip(a.iter().zip(b)) {
                let ord = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if k.nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, true) => {
                        if k.nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, false) => {
                        let o = value_order(x, y);
                        if k.descending { o.reverse() } else { o }
                    }
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
        *rows = keyed.into_iter().map(|(_, r)| r).collect();
    }
}

/// A sort key: text is lower-cased once so the comparator does not allocate.
fn sort_value(v: &Value) -> Value {
    match v {
        Value::Text(s) => Value::Text(s.to_lowercase().into()),
        other => other.clone(),
    }
}

fn value_order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Num(x), Value::Num(y)) => x.total_cmp(y),
        (Value::Int(x), Value::Num(y)) => (*x as f64).total_cmp(y),
        (Value::Num(x), Value::Int(y)) => x.total_cmp(&(*y as f64)),
        (Value::Date(x), Value::Date(y)) | (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Id(x), Value::Id(y)) => x.as_str15().cmp(y.as_str15()),
        _ => Ordering::Equal,
    }
}

/// Compares stored text with a lower-cased literal, ignoring case.
fn text_order(s: &str, lower: &str) -> Ordering {
    if s.is_ascii() {
        s.bytes().map(|b| b.to_ascii_lowercase()).cmp(lower.bytes())
    } else {
        s.chars().flat_map(char::to_lowercase).cmp(lower.chars())
    }
}

fn literal_order(v: &Value, c: &CVal) -> Option<Ordering> {
    Some(match (v, c) {
        (Value::Text(s), CVal::Text(t)) => text_order(s, t),
        (Value::Id(a), CVal::Id(b)) => {
            if a == b {
                Ordering::Equal
            } else {
                a.as_str15().cmp(b.as_str15())
            }
        }
        (Value::Bool(a), CVal::Bool(b)) => a.cmp(b),
        (Value::Int(i), CVal::Num(n)) => (*i as f64).partial_cmp(n)?,
        (Value::Num(x), CVal::Num(n)) => x.partial_cmp(n)?,
        (Value::Date(d), CVal::Day(e)) => d.cmp(e),
        (Value::DateTime(a), CVal::Ms(b)) => a.cmp(b),
        _ => return None,
    })
}

/// SOQL comparison. A null field is unequal to every non-null literal (so `!=` matches it) and
/// fails every ordering comparison. Relative date ranges compare against the whole range.
fn compare(v: &Value, op: Op, c: &CVal) -> bool {
    if let CVal::Null = c {
        return match op {
            Op::Eq => v.is_null(),
            Op::Ne => !v.is_null(),
            _ => false,
        };
    }
    if v.is_null() {
        return op == Op::Ne;
    }
    let range = match (v, c) {
        (Value::Date(d), CVal::DayRange(s, e)) => Some((*d, *s, *e)),
        (Value::DateTime(ms), CVal::MsRange(s, e)) => Some((*ms, *s, *e)),
        _ => None,
    };
    if let Some((x, start, end)) = range {
        return match op {
            Op::Eq => start <= x && x < end,
            Op::Ne => !(start <= x && x < end),
            Op::Lt => x < start,
            Op::Le => x < end,
            Op::Gt => x >= end,
            Op::Ge => x >= start,
        };
    }
    let Some(ord) = literal_order(v, c) else {
        return op == Op::Ne;
    };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Lt => ord == Ordering::Less,
        Op::Gt => ord == Ordering::Greater,
        Op::Le => ord != Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
    }
}

/// LIKE with `%` and `_` wildcards, ignoring case (the pattern is already lower-cased).
fn like(s: &str, pattern: &[LikeTok]) -> bool {
    let text: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
    let (mut t, mut p) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikeTok::AnyMany) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(LikeTok::AnyOne) => {
                t += 1;
                p += 1;
            }
            Some(LikeTok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    backtrack = Some((bp, bt + 1));
                    p = bp + 1;
                    t = bt + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|x| *x == LikeTok::AnyMany)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Vec<LikeTok> {
        s.chars()
            .map(|c| match c {
                '%' => LikeTok::AnyMany,
                '_' => LikeTok::AnyOne,
                c => LikeTok::Char(c),
            })
            .collect()
    }

    #[test]
    fn like_wildcards() {
        assert!(like("Acme Corp", &pat("acme%")));
        assert!(like("Acme Corp", &pat("%CORP".to_lowercase().as_str())));
        assert!(like("Acme Corp", &pat("%e c%")));
        assert!(like("abc", &pat("a_c")));
        assert!(!like("abbc", &pat("a_c")));
        assert!(like("", &pat("%")));
        assert!(!like("", &pat("_")));
        assert!(like("aXbXc", &pat("a%b%c")));
        assert!(!like("ab", &pat("a%b%c")));
        assert!(like("ÉCOLE", &pat("éco%")));
        assert!(like(
            "50%",
            &[LikeTok::Char('5'), LikeTok::Char('0'), LikeTok::Char('%')]
        ));
        assert!(!like(
            "500",
            &[LikeTok::Char('5'), LikeTok::Char('0'), LikeTok::Char('%')]
        ));
    }

    #[test]
    fn null_semantics() {
        assert!(compare(&Value::Null, Op::Eq, &CVal::Null));
        assert!(!compare(&Value::Null, Op::Ne, &CVal::Null));
        assert!(compare(&Value::Null, Op::Ne, &CVal::Text("x".into())));
        assert!(!compare(&Value::Null, Op::Lt, &CVal::Num(1.0)));
        assert!(compare(&Value::text("A"), Op::Ne, &CVal::Null));
    }

    #[test]
    fn text_is_case_insensitive() {
        assert!(compare(
            &Value::text("Ada@Example.COM"),
            Op::Eq,
            &CVal::Text("ada@example.com".into())
        ));
        assert!(compare(&Value::text("b"), Op::Gt, &CVal::Text("a".into())));
        assert!(compare(
            &Value::text("Émile"),
            Op::Eq,
            &CVal::Text("émile".into())
        ));
    }

    #[test]
    fn date_ranges() {
        let r = CVal::DayRange(10, 11);
        assert!(compare(&Value::Date(10), Op::Eq, &r));
        assert!(!compare(&Value::Date(11), Op::Eq, &r));
        assert!(compare(&Value::Date(9), Op::Lt, &r));
        assert!(compare(&Value::Date(11), Op::Gt, &r));
        assert!(compare(&Value::Date(10), Op::Ge, &r));
        assert!(compare(&Value::Date(10), Op::Le, &r));
        assert!(!compare(&Value::Date(10), Op::Gt, &r));
    }
}
