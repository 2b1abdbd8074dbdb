//! Fields Salesforce computes from other fields, and rules that span fields: compound names,
//! opportunity stage facts, task closure, event times, a task's or event's account, unique
//! usernames.

use super::Org;
use crate::datetime::{MS_PER_DAY, day_of_ms};
use crate::error::SfError;
use crate::schema::{DEFAULT_STAGES, ObjectDef, sys};
use crate::value::Value;

/// Reads and writes a value row by field name.
struct Fields<'a> {
    def: &'a ObjectDef,
    values: &'a mut [Value],
    given: &'a [usize],
}

impl Fields<'_> {
    fn pos(&self, name: &str) -> Option<usize> {
        self.def.field_index(name)
    }
    fn get(&self, name: &str) -> Value {
        self.pos(name)
            .and_then(|i| self.values.get(i))
            .cloned()
            .unwrap_or(Value::Null)
    }
    fn set(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.pos(name).and_then(|i| self.values.get_mut(i)) {
            *slot = v;
        }
    }
    fn given(&self, name: &str) -> bool {
        self.pos(name).is_some_and(|i| self.given.contains(&i))
    }
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).as_text().map(str::to_owned)
    }
}

/// Salesforce caps events at 14 days; the cap also keeps end-time arithmetic in range.
const MAX_DURATION_MINUTES: i64 = 14 * 24 * 60;

fn missing(field: &str) -> SfError {
    SfError::new(
        400,
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{field}]"),
    )
    .with_fields(vec![field.to_owned()])
}

/// Computes derived fields in place, or reports a rule violation. `given` lists the fields the
/// write set; `is_create` distinguishes defaults on insert from recomputation on update.
pub(crate) fn derive(
    org: &Org,
    obj: usize,
    values: &mut [Value],
    given: &[usize],
    is_create: bool,
    now_ms: i64,
) -> Result<(), SfError> {
    let def = org.schema.object_at(obj);
    let mut f = Fields { def, values, given };
    match def.name.as_str() {
        "Contact" | "Lead" | "User" => {
            let parts: Vec<String> = ["FirstName", "LastName"]
                .iter()
                .filter_map(|n| f.text(n))
                .collect();
            let name = parts.join(" ");
            f.set(
                "Name",
                if name.is_empty() {
                    Value::Null
                } else {
                    Value::Text(name.into())
                },
            );
            if def.name == "User" {
                unique_username(org, &f)?;
            }
        }
        "Opportunity" => opportunity(&mut f, is_create),
        "Task" => {
            let closed = f.text("Status").as_deref() == Some("Completed");
            f.set("IsClosed", Value::Bool(closed));
            f.set(
                "IsHighPriority",
                Value::Bool(f.text("Priority").as_deref() == Some("High")),
            );
            if !closed {
                f.set("CompletedDateTime", Value::Null);
            } else if f.get("CompletedDateTime").is_null() {
                f.set("CompletedDateTime", Value::DateTime(now_ms));
            }
            let account = account_of(org, &f);
            f.set("AccountId", account);
        }
        "Event" => {
            event_times(&mut f)?;
            let account = account_of(org, &f);
            f.set("AccountId", account);
        }
        _ => {}
    }
    Ok(())
}

fn unique_username(org: &Org, f: &Fields<'_>) -> Result<(), SfError> {
    let Some(username) = f.text("Username") else {
        return Ok(());
    };
    let me = f.values.get(sys::ID).and_then(Value::as_id);
    let taken = (org.users().into_iter())
        .any(|u| u.username.eq_ignore_ascii_case(&username) && Some(u.id) != me);
    if taken {
        return Err(SfError::new(
            400,
            "DUPLICATE_USERNAME",
            "Duplicate Username.<br>The username already exists in this or another Salesforce \
             organization. Usernames must be unique across all Salesforce organizations. To \
             resolve, use a different username (it doesn't need to match the user's email \
             address).",
        )
        .with_fields(vec!["Username".to_owned()]));
    }
    Ok(())
}

fn opportunity(f: &mut Fields<'_>, is_create: bool) {
    let Some(stage) = f
        .text("StageName")
        .and_then(|s| DEFAULT_STAGES.iter().find(|d| d.label == s))
    else {
        return;
    };
    f.set("IsClosed", Value::Bool(stage.is_closed));
    f.set("IsWon", Value::Bool(stage.is_won));
    let stage_changed = !is_create && f.given("StageName");
    let probability_set = if is_create {
        !f.get("Probability").is_null()
    } else {
        f.given("Probability")
    };
    if (is_create || stage_changed) && !probability_set {
        f.set("Probability", Value::Num(stage.default_probability));
    }
    let category_set = if is_create {
        !f.get("ForecastCategoryName").is_null()
    } else {
        f.given("ForecastCategoryName")
    };
    if (is_create || stage_changed) && !category_set {
        f.set(
            "ForecastCategoryName",
            Value::text(stage.forecast_category_name),
        );
    }
    let category = match f.text("ForecastCategoryName").as_deref() {
        Some("Best Case") => Value::text("BestCase"),
        Some("Commit") => Value::text("Forecast"),
        Some(other) => Value::text(other),
        None => Value::Null,
    };
    f.set("ForecastCategory", category);
}

/// Event start, end and duration: all-day events need a date; others need a start and either a
/// duration or an end. Whichever of end and duration the write set wins; the other is computed.
fn event_times(f: &mut Fields<'_>) -> Result<(), SfError> {
    let start = match (f.get("StartDateTime"), f.get("ActivityDateTime")) {
        (Value::DateTime(s), _) if f.given("StartDateTime") || !f.given("ActivityDateTime") => {
            Some(s)
        }
        (_, Value::DateTime(a)) => Some(a),
        (Value::DateTime(s), _) => Some(s),
        _ => None,
    };
    if f.get("IsAllDayEvent").as_bool() {
        let day = match (f.get("ActivityDate"), start) {
            (Value::Date(d), _) if f.given("ActivityDate") || start.is_none() => d,
            (_, Some(s)) => day_of_ms(s),
            (Value::Date(d), None) => d,
            _ => return Err(missing("ActivityDate")),
        };
        let duration = match f.get("DurationInMinutes") {
            Value::Int(d) if (1..=MAX_DURATION_MINUTES).contains(&d) => d,
            _ => 1440,
        };
        let start = day * MS_PER_DAY;
        f.set("ActivityDate", Value::Date(day));
        f.set("StartDateTime", Value::DateTime(start));
        f.set("ActivityDateTime", Value::DateTime(start));
        f.set("DurationInMinutes", Value::Int(duration));
        f.set("EndDateTime", Value::DateTime(start + duration * 60_000));
        return Ok(());
    }
    let start = start.ok_or_else(|| missing("ActivityDateTime"))?;
    if let Value::Int(d) = f.get("DurationInMinutes")
        && !(0..=MAX_DURATION_MINUTES).contains(&d)
    {
        return Err(SfError::new(
            400,
            "NUMBER_OUTSIDE_VALID_RANGE",
            format!("Duration: value outside of valid range on numeric field: {d}"),
        )
        .with_fields(vec!["DurationInMinutes".to_owned()]));
    }
    let end_wins = f.given("EndDateTime") && !f.given("DurationInMinutes");
    let (end, duration) = match (f.get("EndDateTime"), f.get("DurationInMinutes")) {
        (Value::DateTime(e), _) if end_wins => (e, (e - start) / 60_000),
        (_, Value::Int(d)) => (start + d * 60_000, d),
        (Value::DateTime(e), _) => (e, (e - start) / 60_000),
        _ => return Err(missing("DurationInMinutes")),
    };
    if end < start {
        return Err(SfError::new(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "End Date Time: End Date Time cannot be earlier than Start Date Time",
        )
        .with_fields(vec!["EndDateTime".to_owned()]));
    }
    f.set("StartDateTime", Value::DateTime(start));
    f.set("ActivityDateTime", Value::DateTime(start));
    f.set("EndDateTime", Value::DateTime(end));
    f.set("DurationInMinutes", Value::Int(duration));
    f.set("ActivityDate", Value::Date(day_of_ms(start)));
    Ok(())
}

/// The account an activity belongs to: its What when that is an account, the What
/// opportunity's account, or its Who contact's account.
fn account_of(org: &Org, f: &Fields<'_>) -> Value {
    let parent_account = |id: Option<crate::SfId>, object: &str| -> Option<Value> {
        let r = org.index.get(&id?)?;
        let def = org.schema.object_at(usize::from(r.object));
        if def.name == "Account" {
            return Some(Value::Id(id?));
        }
        if def.name != object {
            return None;
        }
        let v = org.row(*r)?.get(def.field_index("AccountId")?).clone();
        (!v.is_null()).then_some(v)
    };
    parent_account(f.get("WhatId").as_id(), "Opportunity")
        .or_else(|| parent_account(f.get("WhoId").as_id(), "Contact"))
        .unwrap_or(Value::Null)
}
