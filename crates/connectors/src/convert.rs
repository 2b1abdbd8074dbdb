//! Value conversions between unified and remote representations, one per [`Kind`].

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use patchbay_unified::UnifiedError;

use crate::table::Kind;

/// Converts a remote value to its unified form. Unexpected shapes become `null` rather than an
/// error: one odd record must not fail a whole list.
pub fn to_unified(kind: Kind, remote: &Value) -> Value {
    if let Kind::Const(c) = kind {
        return json!(c);
    }
    if remote.is_null() {
        return Value::Null;
    }
    match kind {
        Kind::Text | Kind::Id => match remote {
            Value::String(_) => remote.clone(),
            Value::Number(n) => json!(n.to_string()),
            Value::Bool(b) => json!(b.to_string()),
            _ => Value::Null,
        },
        Kind::Number => number(remote).map_or(Value::Null, |n| json!(n)),
        Kind::Integer => integer(remote).map_or(Value::Null, |n| json!(n)),
        Kind::NumberAsText => number(remote).map_or(Value::Null, |n| json!(format_number(n))),
        Kind::Bool => remote.as_bool().map_or(Value::Null, |b| json!(b)),
        Kind::NotBool => remote.as_bool().map_or(Value::Null, |b| json!(!b)),
        Kind::TextFromBool {
            when_true,
            when_false,
        } => remote.as_bool().map_or(Value::Null, |b| {
            json!(if b { when_true } else { when_false })
        }),
        Kind::BoolToText { when_true, .. } => remote
            .as_str()
            .map_or(Value::Null, |s| json!(s == when_true)),
        Kind::Date => remote.as_str().map_or(Value::Null, |s| json!(s)),
        Kind::DateTime => remote.as_str().map_or(Value::Null, |s| {
            json!(parse_datetime(s).map_or_else(|| s.to_owned(), format_datetime))
        }),
        Kind::DateAsDateTime => remote.as_str().map_or(Value::Null, |s| {
            match Date::parse(s, format_description!("[year]-[month]-[day]")) {
                Ok(d) => json!(format_datetime(d.midnight().assume_utc())),
                Err(_) => Value::Null,
            }
        }),
        Kind::MinutesAsSeconds => {
            integer(remote).map_or(Value::Null, |m| json!(m.saturating_mul(60)))
        }
        Kind::Enum(pairs) => remote
            .as_str()
            .and_then(|s| pairs.iter().find(|(_, r)| *r == s))
            .map_or(Value::Null, |(u, _)| json!(u)),
        Kind::Const(_) => Value::Null,
    }
}

/// Converts a unified value (already schema-checked) to its remote form; `field` names the
/// unified field in errors. `null` stays `null` (a PATCH clears the field).
pub fn to_remote(kind: Kind, unified: &Value, field: &str) -> Result<Value, UnifiedError> {
    if unified.is_null() {
        return Ok(Value::Null);
    }
    let bad = |what: &str| UnifiedError::invalid_field(field, format!("{field} {what}"));
    match kind {
        Kind::Text | Kind::Id => unified
            .as_str()
            .map(|s| json!(s))
            .ok_or_else(|| bad("must be a string")),
        Kind::Number => number(unified)
            .map(|n| json!(n))
            .ok_or_else(|| bad("must be a number")),
        Kind::Integer => integer(unified)
            .map(|n| json!(n))
            .ok_or_else(|| bad("must be an integer")),
        Kind::NumberAsText => unified
            .as_str()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite())
            .or_else(|| unified.as_f64())
            .map(|n| json!(n))
            .ok_or_else(|| bad("must be a number (as text)")),
        Kind::Bool => unified
            .as_bool()
            .map(|b| json!(b))
            .ok_or_else(|| bad("must be true or false")),
        Kind::NotBool => unified
            .as_bool()
            .map(|b| json!(!b))
            .ok_or_else(|| bad("must be true or false")),
        Kind::TextFromBool {
            when_true,
            when_false,
        } => match unified.as_str() {
            Some(s) if s == when_true => Ok(json!(true)),
            Some(s) if s == when_false => Ok(json!(false)),
            _ => Err(bad(&format!("must be {when_true} or {when_false}"))),
        },
        Kind::BoolToText {
            when_true,
            when_false,
        } => unified
            .as_bool()
            .map(|b| json!(if b { when_true } else { when_false }))
            .ok_or_else(|| bad("must be true or false")),
        Kind::Date => unified
            .as_str()
            .and_then(|s| Date::parse(s, format_description!("[year]-[month]-[day]")).ok())
            .map(|d| json!(format_date(d)))
            .ok_or_else(|| bad("must be a date (YYYY-MM-DD)")),
        Kind::DateTime => unified
            .as_str()
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
            .map(|d| json!(format_datetime(d)))
            .ok_or_else(|| bad("must be an ISO-8601 date-time, e.g. 2021-05-01T12:00:00.000Z")),
        Kind::MinutesAsSeconds => integer(unified)
            .filter(|s| (0..i64::MAX - 59).contains(s))
            .map(|s| json!((s + 59) / 60))
            .ok_or_else(|| bad("must be a non-negative integer")),
        Kind::Enum(pairs) => unified
            .as_str()
            .and_then(|s| pairs.iter().find(|(u, _)| *u == s))
            .map(|(_, r)| json!(r))
            .ok_or_else(|| {
                let allowed: Vec<&str> = pairs.iter().map(|(u, _)| *u).collect();
                bad(&format!("must be one of {}", allowed.join(", ")))
            }),
        Kind::DateAsDateTime | Kind::Const(_) => Err(bad("is read-only")),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

fn integer(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    // Salesforce sends some integer fields as `30.0`.
    number(v)
        .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)
        .map(|n| n as i64)
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Parses an ISO-8601 instant, including Salesforce's `+0000` offsets without a colon.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    if let Ok(d) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(d);
    }
    // `2024-09-27T10:39:01.000+0000` -> `...+00:00`
    let bytes = s.as_bytes();
    let n = bytes.len();
    if n > 5 && matches!(bytes[n - 5], b'+' | b'-') && bytes[n - 4..].iter().all(u8::is_ascii_digit)
    {
        let fixed = format!("{}:{}", &s[..n - 2], &s[n - 2..]);
        return OffsetDateTime::parse(&fixed, &Rfc3339).ok();
    }
    None
}

/// `YYYY-MM-DDThh:mm:ss.sssZ`, the unified output format.
pub fn format_datetime(d: OffsetDateTime) -> String {
    let d = d.to_offset(UtcOffset::UTC);
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    d.format(fmt).unwrap_or_default()
}

/// `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_normalise_to_utc_millis() {
        assert_eq!(
            to_unified(Kind::DateTime, &json!("2024-09-27T10:39:01.000+0000")),
            json!("2024-09-27T10:39:01.000Z")
        );
        assert_eq!(
            to_unified(Kind::DateTime, &json!("2024-09-27T12:39:01+02:00")),
            json!("2024-09-27T10:39:01.000Z")
        );
        assert_eq!(
            to_remote(Kind::DateTime, &json!("2021-05-01T14:00:00+02:00"), "x").unwrap(),
            json!("2021-05-01T12:00:00.000Z")
        );
        assert!(to_remote(Kind::DateTime, &json!("May 1st"), "x").is_err());
        assert_eq!(
            to_unified(Kind::DateAsDateTime, &json!("2024-01-02")),
            json!("2024-01-02T00:00:00.000Z")
        );
    }

    #[test]
    fn numbers_and_texts() {
        assert_eq!(to_unified(Kind::NumberAsText, &json!(500)), json!("500"));
        assert_eq!(
            to_unified(Kind::NumberAsText, &json!(3.5e7)),
            json!("35000000")
        );
        assert_eq!(
            to_remote(Kind::NumberAsText, &json!("1200"), "x").unwrap(),
            json!(1200.0)
        );
        assert!(to_remote(Kind::NumberAsText, &json!("+$35m"), "x").is_err());
        assert_eq!(to_unified(Kind::Integer, &json!(30.0)), json!(30));
        assert_eq!(to_unified(Kind::MinutesAsSeconds, &json!(30)), json!(1800));
        assert_eq!(
            to_remote(Kind::MinutesAsSeconds, &json!(61), "x").unwrap(),
            json!(2)
        );
        assert!(to_remote(Kind::MinutesAsSeconds, &json!(-1), "x").is_err());
        assert_eq!(to_unified(Kind::Text, &json!(12)), json!("12"));
        assert_eq!(to_unified(Kind::Number, &json!({"a": 1})), Value::Null);
    }

    #[test]
    fn booleans_and_enums() {
        let status = Kind::TextFromBool {
            when_true: "active",
            when_false: "inactive",
        };
        assert_eq!(to_unified(status, &json!(false)), json!("inactive"));
        assert_eq!(
            to_remote(status, &json!("active"), "status").unwrap(),
            json!(true)
        );
        assert!(to_remote(status, &json!("gone"), "status").is_err());
        assert_eq!(to_unified(Kind::NotBool, &json!(true)), json!(false));
        let show = Kind::Enum(&[("busy", "Busy"), ("free", "Free")]);
        assert_eq!(to_unified(show, &json!("Busy")), json!("busy"));
        assert_eq!(to_unified(show, &json!("OutOfOffice")), Value::Null);
        assert_eq!(
            to_remote(show, &json!("free"), "show_as").unwrap(),
            json!("Free")
        );
        let err = to_remote(show, &json!("away"), "show_as").unwrap_err();
        assert!(err.to_string().contains("busy, free"));
        assert_eq!(
            to_remote(Kind::Text, &Value::Null, "x").unwrap(),
            Value::Null
        );
        assert!(to_remote(Kind::Const("default"), &json!("x"), "pipeline_id").is_err());
    }
}
