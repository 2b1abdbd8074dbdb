//! Resolves a parsed query against the schema: field paths become positions (through lookups
//! for relationship paths), literals are type-checked against their field and converted to the
//! stored representation.

use super::dates;
use super::error::{no_such_column, positioned, syntax_error};
use super::lexer::StrChar;
use super::parser::{Cond, Literal, Op, Path, Query, SelectItem, Value as PValue};
use crate::datetime::MS_PER_DAY;
use crate::error::SfError;
use crate::ids::SfId;
use crate::schema::{FieldDef, FieldType, Schema};

/// Where a selected or filtered value comes from.
#[derive(Debug, Clone)]
pub(crate) enum FieldRef {
    /// A field of the row itself.
    Direct(usize),
    /// The row's object name: `Type` of a polymorphic relationship (`Who.Type`, `What.Type`).
    ObjectType,
    /// Through the lookup at `lookup` into one of several parent objects.
    Via {
        lookup: usize,
        targets: Vec<(usize, FieldRef)>,
    },
}

/// A literal converted for comparison with stored values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CVal {
    Null,
    Bool(bool),
    Num(f64),
    /// Lower-cased; text comparison in SOQL ignores case.
    Text(String),
    Id(SfId),
    Day(i64),
    Ms(i64),
    DayRange(i64, i64),
    MsRange(i64, i64),
}

/// One element of a LIKE pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LikeTok {
    Char(char),
    AnyOne,
    AnyMany,
}

#[derive(Debug, Clone)]
pub(crate) enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cmp(FieldRef, Op, CVal),
    In(FieldRef, bool, Vec<CVal>),
    Like(FieldRef, Vec<LikeTok>),
}

#[derive(Debug, Clone)]
pub(crate) struct SortKey {
    pub(crate) field: FieldRef,
    pub(crate) descending: bool,
    pub(crate) nulls_last: bool,
}

/// A child relationship subquery: the child rows whose `lookup` points at the parent row.
#[derive(Debug, Clone)]
pub(crate) struct ChildPlan {
    /// Canonical relationship name (`Contacts`), the key in the parent record.
    pub(crate) name: String,
    pub(crate) lookup: usize,
    pub(crate) plan: Plan,
}

#[derive(Debug, Clone)]
pub(crate) enum Column {
    Field(FieldRef),
    Child(Box<ChildPlan>),
}

/// An executable query.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) object: usize,
    /// `None` for `COUNT()`.
    pub(crate) columns: Option<Vec<Column>>,
    pub(crate) filter: Option<Filter>,
    pub(crate) order: Vec<SortKey>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: u64,
}

pub(crate) const MAX_OFFSET: u64 = 2000;

struct Planner<'a> {
    schema: &'a Schema,
    src: &'a str,
    today: i64,
}

impl Planner<'_> {
    /// Resolves `parts` from object `obj`; returns the reference and the final field.
    fn resolve(
        &self,
        obj: usize,
        parts: &[String],
        pos: usize,
    ) -> Result<(FieldRef, &FieldDef), SfError> {
        let def = self.schema.object_at(obj);
        let [first, rest @ ..] = parts else {
            return Err(syntax_error(self.src, pos, "<EOF>"));
        };
        if rest.is_empty() {
            let i = def
                .field_index(first)
                .ok_or_else(|| no_such_column(self.src, pos, first, &def.name))?;
            return Ok((FieldRef::Direct(i), &def.fields[i]));
        }
        let lookup = def.relationship_index(first).ok_or_else(|| {
            positioned(
                "INVALID_FIELD",
                self.src,
                pos,
                &format!(
                    "Didn't understand relationship '{first}' in field path. If you are attempting \
                     to use a custom relationship, be sure to append the '__r' after the custom \
                     relationship name. Please reference your WSDL or the describe call for the \
                     appropriate names."
                ),
            )
        })?;
        let lookup_def = &def.fields[lookup];
        if lookup_def.reference_to.len() > 1
            && rest.len() == 1
            && rest[0].eq_ignore_ascii_case("Type")
        {
            let targets = (lookup_def.reference_to.iter())
                .filter_map(|t| self.schema.object_index(t))
                .map(|t| (t, FieldRef::ObjectType))
                .collect();
            return Ok((FieldRef::Via { lookup, targets }, self.schema.type_field()));
        }
        let mut targets = Vec::new();
        let mut found: Option<&FieldDef> = None;
        let mut first_error = None;
        for target in &def.fields[lookup].reference_to {
            let Some(t) = self.schema.object_index(target) else {
                continue;
            };
            match self.resolve(t, rest, pos) {
                Ok((r, f)) => {
                    found.get_or_insert(f);
                    targets.push((t, r));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match found {
            Some(f) => Ok((FieldRef::Via { lookup, targets }, f)),
            None => Err(first_error
                .unwrap_or_else(|| no_such_column(self.src, pos, &rest.join("."), &def.name))),
        }
    }

    fn filterable(&self, path: &Path, f: &FieldDef, verb: &str) -> Result<(), SfError> {
        if f.filterable() {
            return Ok(());
        }
        Err(positioned(
            "INVALID_FIELD",
            self.src,
            path.pos,
            &format!("field '{}' can not be {verb} in a query call", f.name),
        ))
    }

    fn plain_text(&self, v: &PValue, chars: &[StrChar]) -> Result<String, SfError> {
        chars
            .iter()
            .map(|c| match c {
                StrChar::Lit(c) => Ok(*c),
                StrChar::EscUnderscore | StrChar::EscPercent => Err(positioned(
                    "MALFORMED_QUERY",
                    self.src,
                    v.pos,
                    "Invalid string literal: the escapes \\_ and \\% are only allowed in LIKE",
                )),
            })
            .collect()
    }

    /// Converts a literal for comparison with field `f`.
    fn literal(&self, f: &FieldDef, v: &PValue) -> Result<CVal, SfError> {
        let mismatch = |kind: &str, quoted: bool| {
            let quotes = if quoted {
                "should be enclosed in quotes"
            } else {
                "should not be enclosed in quotes"
            };
            positioned(
                "INVALID_QUERY_FILTER_OPERATOR",
                self.src,
                v.pos,
                &format!(
                    "value of filter criterion for field '{}' must be of type {kind} and {quotes}",
                    f.name
                ),
            )
        };
        let t = f.field_type;
        Ok(match (&v.lit, t) {
            (Literal::Null, _) => CVal::Null,
            (Literal::Str(s), FieldType::Id | FieldType::Reference) => {
                let s = self.plain_text(v, s)?;
                let id = SfId::parse(&s).map_err(|_| {
                    positioned(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        self.src,
                        v.pos,
                        &format!("invalid ID field: {s}"),
                    )
                })?;
                CVal::Id(id)
            }
            (Literal::Str(s), t) if t.is_text() => {
                CVal::Text(self.plain_text(v, s)?.to_lowercase())
            }
            (_, FieldType::Id | FieldType::Reference) => return Err(mismatch("id", true)),
            (_, t) if t.is_text() => return Err(mismatch("string", true)),
            (Literal::Bool(b), FieldType::Boolean) => CVal::Bool(*b),
            (_, FieldType::Boolean) => return Err(mismatch("boolean", false)),
            (Literal::Number(n), t) if t.is_number() => CVal::Num(
                n.parse::<f64>()
                    .map_err(|_| syntax_error(self.src, v.pos, n))?,
            ),
            (_, t) if t.is_number() => return Err(mismatch("double", false)),
            (Literal::Date(d), FieldType::Date) => CVal::Day(*d),
            (Literal::DateTime(ms), FieldType::DateTime) => CVal::Ms(*ms),
            (Literal::Relative(name, n), FieldType::Date | FieldType::DateTime) => {
                let (start, end) = dates::range(name, *n, self.today)
                    .ok_or_else(|| syntax_error(self.src, v.pos, name))?;
                if t == FieldType::Date {
                    CVal::DayRange(start, end)
                } else {
                    CVal::MsRange(start * MS_PER_DAY, end * MS_PER_DAY)
                }
            }
            (_, FieldType::Date) => return Err(mismatch("date", false)),
            (_, FieldType::DateTime) => return Err(mismatch("dateTime", false)),
            _ => return Err(mismatch(t.api_name(), false)),
        })
    }

    fn like_pattern(&self, v: &PValue) -> Result<Vec<LikeTok>, SfError> {
        let Literal::Str(chars) = &v.lit else {
            return Err(positioned(
                "INVALID_QUERY_FILTER_OPERATOR",
                self.src,
                v.pos,
                "LIKE requires a quoted string value",
            ));
        };
        Ok(chars
            .iter()
            .flat_map(|c| match c {
                StrChar::Lit('%') => vec![LikeTok::AnyMany],
                StrChar::Lit('_') => vec![LikeTok::AnyOne],
                StrChar::Lit(c) => c.to_lowercase().map(LikeTok::Char).collect(),
                StrChar::EscUnderscore => vec![LikeTok::Char('_')],
                StrChar::EscPercent => vec![LikeTok::Char('%')],
            })
            .collect())
    }

    fn filter(&self, obj: usize, c: &Cond) -> Result<Filter, SfError> {
        Ok(match c {
            Cond::And(parts) => Filter::And(
                parts
                    .iter()
                    .map(|p| self.filter(obj, p))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(parts) => Filter::Or(
                parts
                    .iter()
                    .map(|p| self.filter(obj, p))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Not(inner) => Filter::Not(Box::new(self.filter(obj, inner)?)),
            Cond::Cmp(path, op, v) => {
                let (r, f) = self.resolve(obj, &path.parts, path.pos)?;
                self.filterable(path, f, "filtered")?;
                Filter::Cmp(r, *op, self.literal(f, v)?)
            }
            Cond::In(path, negated, values) => {
                let (r, f) = self.resolve(obj, &path.parts, path.pos)?;
                self.filterable(path, f, "filtered")?;
                let values = values
                    .iter()
                    .map(|v| self.literal(f, v))
                    .collect::<Result<_, _>>()?;
                Filter::In(r, *negated, values)
            }
            Cond::Like(path, v) => {
                let (r, f) = self.resolve(obj, &path.parts, path.pos)?;
                self.filterable(path, f, "filtered")?;
                if !f.field_type.is_text() {
                    return Err(positioned(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        self.src,
                        path.pos,
                        &format!(
                            "invalid operator on {} field: {}",
                            f.field_type.api_name(),
                            f.name
                        ),
                    ));
                }
                Filter::Like(r, self.like_pattern(v)?)
            }
        })
    }
}

/// Builds the plan of a parsed query. `today` is the day number relative literals start from.
pub(crate) fn plan(schema: &Schema, src: &str, q: &Query, today: i64) -> Result<Plan, SfError> {
    let p = Planner { schema, src, today };
    let object = schema.object_index(&q.object).ok_or_else(|| {
        positioned(
            "INVALID_TYPE",
            src,
            q.object_pos,
            &SfError::invalid_type(&q.object).message,
        )
    })?;
    plan_for(&p, q, object)
}

impl Planner<'_> {
    /// The child object and lookup field behind a child relationship name of `parent`.
    fn child_relationship(
        &self,
        parent: usize,
        name: &str,
        pos: usize,
    ) -> Result<(usize, usize, String), SfError> {
        let parent_name = &self.schema.object_at(parent).name;
        for (ci, child) in self.schema.objects().iter().enumerate() {
            for (fi, f) in child.fields.iter().enumerate() {
                let named = f
                    .child_relationship
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(name));
                if named && f.reference_to.iter().any(|t| t == parent_name) {
                    return Ok((ci, fi, f.child_relationship.clone().unwrap_or_default()));
                }
            }
        }
        Err(positioned(
            "INVALID_TYPE",
            self.src,
            pos,
            &format!(
                "Didn't understand relationship '{name}' in FROM part of query call. If you are \
                 attempting to use a custom relationship, be sure to append the '__r' after the \
                 custom relationship name. Please reference your WSDL or the describe call for \
                 the appropriate names."
            ),
        ))
    }
}

fn plan_for(p: &Planner<'_>, q: &Query, object: usize) -> Result<Plan, SfError> {
    let columns = match &q.fields {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .map(|item| match item {
                    SelectItem::Field(path) => p
                        .resolve(object, &path.parts, path.pos)
                        .map(|(r, _)| Column::Field(r)),
                    SelectItem::Child(sub) => {
                        let (child, lookup, name) =
                            p.child_relationship(object, &sub.object, sub.object_pos)?;
                        let plan = plan_for(p, sub, child)?;
                        Ok(Column::Child(Box::new(ChildPlan { name, lookup, plan })))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let filter = q.filter.as_ref().map(|c| p.filter(object, c)).transpose()?;
    let mut order = Vec::new();
    for item in &q.order {
        let (field, f) = p.resolve(object, &item.path.parts, item.path.pos)?;
        p.filterable(&item.path, f, "sorted")?;
        order.push(SortKey {
            field,
            descending: item.descending,
            nulls_last: item.nulls_last,
        });
    }
    let offset = match q.offset {
        Some((n, _)) if n > MAX_OFFSET => {
            return Err(SfError::new(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                "Maximum SOQL offset allowed is 2000",
            ));
        }
        Some((n, _)) => n,
        None => 0,
    };
    Ok(Plan {
        object,
        columns,
        filter,
        order,
        limit: q.limit,
        offset,
    })
}
