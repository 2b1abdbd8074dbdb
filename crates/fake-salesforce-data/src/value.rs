//! Stored field values, and their conversion from request JSON and to response JSON.

use crate::datetime;
use crate::error::SfError;
use crate::ids::SfId;
use crate::schema::{FieldDef, FieldType};
use serde_json::Value as Json;

/// One stored field value. Dates are days since the epoch and datetimes Unix milliseconds, so
/// comparisons in SOQL are integer comparisons.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Text(Box<str>),
    Date(i64),
    DateTime(i64),
    Id(SfId),
}

impl Value {
    pub(crate) fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_id(&self) -> Option<SfId> {
        match self {
            Value::Id(id) => Some(*id),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> bool {
        matches!(self, Value::Bool(true))
    }

    /// The response JSON of this value.
    pub(crate) fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Num(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
            Value::Text(s) => Json::String(s.to_string()),
            Value::Date(d) => Json::String(datetime::format_date(*d)),
            Value::DateTime(ms) => Json::String(datetime::format_datetime(*ms)),
            Value::Id(id) => Json::String(id.to_18()),
        }
    }
}

fn render_input(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Salesforce rejects a value its JSON reader cannot turn into the field's type with
/// `JSON_PARSER_ERROR` before any field-level validation; the emulator does the same.
fn parser_error(field: &FieldDef, v: &Json) -> SfError {
    let token = match v {
        Json::String(_) => "VALUE_STRING",
        Json::Number(_) => "VALUE_NUMBER",
        Json::Bool(true) => "VALUE_TRUE",
        Json::Bool(false) => "VALUE_FALSE",
        Json::Array(_) => "START_ARRAY",
        Json::Object(_) => "START_OBJECT",
        Json::Null => "VALUE_NULL",
    };
    let target = match field.field_type {
        FieldType::Boolean => "boolean",
        FieldType::Int => "int",
        FieldType::Date => "date",
        FieldType::DateTime => "datetime",
        t if t.is_number() => "double",
        _ => "string",
    };
    SfError::new(
        400,
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {target} from {token} value {} or request may be \
             missing a required field",
            render_input(v)
        ),
    )
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
        && !domain.contains('@')
}

/// Converts one request value for `field`. Type mismatches give JSON_PARSER_ERROR; text longer
/// than the field gives STRING_TOO_LONG; malformed emails give INVALID_EMAIL_ADDRESS; malformed
/// ids give MALFORMED_ID.
pub(crate) fn from_json(field: &FieldDef, v: &Json) -> Result<Value, SfError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let t = field.field_type;
    let str_val = v.as_str();
    match t {
        _ if t.is_text() => {
            let s = match v {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                _ => return Err(parser_error(field, v)),
            };
            let len = s.chars().count();
            if len > field.length as usize && field.length > 0 {
                return Err(SfError::new(
                    400,
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {s} (max length={})",
                        field.label, field.length
                    ),
                )
                .with_fields(vec![field.name.clone()]));
            }
            if t == FieldType::Email && !looks_like_email(&s) {
                return Err(SfError::new(
                    400,
                    "INVALID_EMAIL_ADDRESS",
                    format!("{}: invalid email address: {s}", field.label),
                )
                .with_fields(vec![field.name.clone()]));
            }
            Ok(Value::Text(s.into()))
        }
        FieldType::Boolean => match (v, str_val) {
            (Json::Bool(b), _) => Ok(Value::Bool(*b)),
            (_, Some(s)) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            (_, Some(s)) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(parser_error(field, v)),
        },
        FieldType::Int => {
            let n = match (v, str_val) {
                (Json::Number(n), _) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                }),
                (_, Some(s)) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            n.map(Value::Int).ok_or_else(|| parser_error(field, v))
        }
        _ if t.is_number() => {
            let n = match (v, str_val) {
                (Json::Number(n), _) => n.as_f64(),
                (_, Some(s)) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                _ => None,
            };
            n.map(Value::Num).ok_or_else(|| parser_error(field, v))
        }
        FieldType::Date => str_val
            .and_then(datetime::parse_date_input)
            .map(Value::Date)
            .ok_or_else(|| parser_error(field, v)),
        FieldType::DateTime => str_val
            .and_then(datetime::parse_datetime_input)
            .map(Value::DateTime)
            .ok_or_else(|| parser_error(field, v)),
        FieldType::Id | FieldType::Reference => {
            let s = str_val.ok_or_else(|| parser_error(field, v))?;
            SfId::parse(s)
                .map(Value::Id)
                .map_err(|_| malformed_id(field, s))
        }
        _ => Err(parser_error(field, v)),
    }
}

/// `MALFORMED_ID` for a lookup value that is not an id of a type the lookup accepts.
pub(crate) fn malformed_id(field: &FieldDef, raw: &str) -> SfError {
    SfError::new(
        400,
        "MALFORMED_ID",
        format!("{}: id value of incorrect type: {raw}", field.label),
    )
    .with_fields(vec![field.name.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{CustomFieldSpec, Schema};
    use serde_json::json;

    fn field(object: &str, name: &str) -> FieldDef {
        let s = Schema::new(&CustomFieldSpec::defaults()).unwrap();
        s.object(object).unwrap().field(name).unwrap().clone()
    }

    #[test]
    fn converts_each_type() {
        assert_eq!(
            from_json(&field("Account", "Name"), &json!("Acme")).unwrap(),
            Value::text("Acme")
        );
        assert_eq!(
            from_json(&field("Account", "Name"), &json!(12)).unwrap(),
            Value::text("12")
        );
        assert_eq!(
            from_json(&field("Account", "NumberOfEmployees"), &json!(12)).unwrap(),
            Value::Int(12)
        );
        assert_eq!(
            from_json(&field("Account", "NumberOfEmployees"), &json!("12")).unwrap(),
            Value::Int(12)
        );
        assert_eq!(
            from_json(&field("Account", "NumberOfEmployees"), &json!(12.0)).unwrap(),
            Value::Int(12)
        );
        assert_eq!(
            from_json(&field("Account", "AnnualRevenue"), &json!(1.5)).unwrap(),
            Value::Num(1.5)
        );
        assert_eq!(
            from_json(&field("Event", "IsPrivate"), &json!(true)).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            from_json(&field("Event", "IsPrivate"), &json!("false")).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            from_json(&field("Opportunity", "CloseDate"), &json!("2024-09-27")).unwrap(),
            Value::Date(datetime::days_from_civil(2024, 9, 27))
        );
        assert!(matches!(
            from_json(
                &field("Event", "StartDateTime"),
                &json!("2024-09-27T10:00:00+02:00")
            )
            .unwrap(),
            Value::DateTime(_)
        ));
        assert_eq!(
            from_json(&field("Contact", "Email"), &Json::Null).unwrap(),
            Value::Null
        );
    }

    #[test]
    fn rejects_mismatched_types_with_parser_errors() {
        for (obj, name, v) in [
            ("Account", "NumberOfEmployees", json!("lots")),
            ("Account", "NumberOfEmployees", json!(1.5)),
            ("Account", "AnnualRevenue", json!(true)),
            ("Event", "IsPrivate", json!(1)),
            ("Opportunity", "CloseDate", json!("27/09/2024")),
            ("Event", "StartDateTime", json!(12)),
            ("Account", "Name", json!({"a": 1})),
            ("Account", "Name", json!([1])),
        ] {
            let e = from_json(&field(obj, name), &v).unwrap_err();
            assert_eq!(e.error_code, "JSON_PARSER_ERROR", "{name} {v}");
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn validates_text_length_email_and_ids() {
        let e = from_json(&field("Contact", "FirstName"), &json!("x".repeat(41))).unwrap_err();
        assert_eq!(e.error_code, "STRING_TOO_LONG");
        assert!(e.message.contains("max length=40"), "{}", e.message);
        assert!(from_json(&field("Contact", "FirstName"), &json!("é".repeat(40))).is_ok());
        let e = from_json(&field("Contact", "Email"), &json!("not-an-email")).unwrap_err();
        assert_eq!(e.error_code, "INVALID_EMAIL_ADDRESS");
        assert_eq!(e.fields, Some(vec!["Email".to_owned()]));
        let e = from_json(&field("Contact", "AccountId"), &json!("garbage")).unwrap_err();
        assert_eq!(e.error_code, "MALFORMED_ID");
        assert_eq!(e.message, "Account ID: id value of incorrect type: garbage");
    }

    #[test]
    fn renders_response_json() {
        assert_eq!(
            Value::DateTime(0).to_json(),
            json!("1970-01-01T00:00:00.000+0000")
        );
        assert_eq!(Value::Date(0).to_json(), json!("1970-01-01"));
        assert_eq!(Value::Num(1000.0).to_json(), json!(1000.0));
        assert_eq!(Value::Num(f64::NAN).to_json(), Json::Null);
        let id = SfId::parse("001D000000IqhSL").unwrap();
        assert_eq!(Value::Id(id).to_json(), json!("001D000000IqhSLIAZ"));
    }
}
