//! Paging simulation: the planned SOQL tree is evaluated over an in-memory table with SOQL's
//! null and ordering rules, page after page, to prove every row comes back exactly once.

use std::cmp::Ordering;

use serde_json::{Value, json};

use patchbay_unified::SortField;

use super::*;

fn codec() -> CursorCodec {
    CursorCodec::new(&[42u8; 32]).unwrap()
}

fn params(resource: Resource, list: &[(&str, &str)]) -> Result<ListParams, UnifiedError> {
    let pairs: Vec<(String, String)> = list
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ListParams::parse(resource, &pairs)
}

fn field_value<'a>(record: &'a Value, field: &FieldName) -> &'a Value {
    record.get(field.as_str()).unwrap_or(&Value::Null)
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        (Value::String(x), Value::String(y)) => {
            let looks_dated =
                |s: &str| s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T';
            let dates = if looks_dated(x) && looks_dated(y) {
                (parse_datetime(x), parse_datetime(y))
            } else {
                (None, None)
            };
            match dates {
                (Some(dx), Some(dy)) => dx.cmp(&dy),
                // SOQL text comparison and ordering are case-insensitive.
                _ => text_cmp(x, y),
            }
        }
        _ => panic!("incomparable {a} {b}"),
    }
}

fn text_cmp(x: &str, y: &str) -> Ordering {
    // SOQL text comparison and ordering are case-insensitive. The ASCII path uses std's
    // optimised routines: this runs millions of times in an unoptimised test build.
    if x.is_ascii() && y.is_ascii() {
        return x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
    }
    x.to_lowercase().cmp(&y.to_lowercase())
}

/// Compares a record value with a literal without converting either (this runs millions of times).
fn cmp_literal(v: &Value, lit: &Literal) -> Ordering {
    match (v, lit) {
        (Value::String(x), Literal::Text(y)) => text_cmp(x, y),
        (Value::Number(x), Literal::Number(y)) => x.as_f64().unwrap().total_cmp(y),
        (Value::String(x), Literal::DateTime(y)) => parse_datetime(x).unwrap().cmp(y),
        other => panic!("incomparable {other:?}"),
    }
}

fn eval(c: &Condition, record: &Value) -> bool {
    match c {
        Condition::And(items) => items.iter().all(|i| eval(i, record)),
        Condition::Or(items) => items.iter().any(|i| eval(i, record)),
        Condition::Compare(field, op, Literal::Null) => {
            let null = field_value(record, field).is_null();
            match op {
                Op::Eq => null,
                Op::Ne => !null,
                _ => panic!("null with {op:?}"),
            }
        }
        Condition::Compare(field, op, lit) => {
            let v = field_value(record, field);
            if v.is_null() {
                return false;
            }
            let ord = cmp_literal(v, lit);
            match op {
                Op::Eq => ord == Ordering::Equal,
                Op::Ne => ord != Ordering::Equal,
                Op::Lt => ord == Ordering::Less,
                Op::Le => ord != Ordering::Greater,
                Op::Gt => ord == Ordering::Greater,
                Op::Ge => ord != Ordering::Less,
                Op::Like => panic!("LIKE is not used in lists"),
            }
        }
    }
}

fn order(select: &Select, a: &Value, b: &Value) -> Ordering {
    for (field, dir) in &select.order_by {
        let (x, y) = (field_value(a, field), field_value(b, field));
        let ord = match (x.is_null(), y.is_null(), dir) {
            (true, true, _) => Ordering::Equal,
            (true, false, Order::Asc) | (false, true, Order::Desc) => Ordering::Less,
            (false, true, Order::Asc) | (true, false, Order::Desc) => Ordering::Greater,
            (false, false, Order::Asc) => compare_values(x, y),
            (false, false, Order::Desc) => compare_values(y, x),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Runs a planned statement over rows already in the statement's order (the order never changes
/// between pages): filter, then keep the first LIMIT rows.
fn run(select: &Select, sorted: &[Value]) -> Vec<Value> {
    sorted
        .iter()
        .filter(|r| select.condition.as_ref().is_none_or(|c| eval(c, r)))
        .take(select.limit.map_or(usize::MAX, |l| l as usize))
        .cloned()
        .collect()
}

/// Deterministic records with many duplicate and null sort keys, in shuffled id order.
fn table(n: usize) -> Vec<Value> {
    let names = [
        Some("Smith"),
        Some("smith"),
        Some("Jones"),
        None,
        Some("Ó'Brien"),
        Some("a_b%c"),
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    (0..n)
        .map(|i| {
            let id = format!("006{:012}AAA", (i * 7919) % 1_000_000_007);
            let r = next();
            json!({
                "attributes": {"type": "Opportunity"},
                "Id": id,
                "Name": names[r % names.len()],
                "StageName": names[(r / 7) % names.len()],
                "Amount": if r % 5 == 0 { Value::Null } else { json!((r % 13) as f64 * 100.0) },
                "CreatedDate": format!("2024-01-{:02}T00:00:{:02}.000+0000", 1 + r % 3, (r / 3) % 2),
                "LastModifiedDate": "2024-02-01T00:00:00.000+0000",
            })
        })
        .collect()
}

fn page_through(table: &[Value], limit: u16, sort: Option<(&str, &str)>) {
    let limit_s = limit.to_string();
    let mut base = vec![("limit", limit_s.as_str())];
    if let Some((by, dir)) = sort {
        base.push(("sort[by]", by));
        base.push(("sort[direction]", dir));
    }
    let codec = codec();
    let first = plan_list(
        &params(Resource::Opportunities, &base).unwrap(),
        &codec,
        &[],
    )
    .unwrap();
    let mut sorted = table.to_vec();
    sorted.sort_by(|a, b| order(&first.select, a, b));
    let mut cursor: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();
    loop {
        let mut list = base.clone();
        if let Some(c) = &cursor {
            list.push(("cursor", c));
        }
        let p = params(Resource::Opportunities, &list).unwrap();
        let plan = plan_list(&p, &codec, &[]).unwrap();
        assert_eq!(plan.select.order_by, first.select.order_by);
        let rows = run(&plan.select, &sorted);
        assert!(rows.len() <= usize::from(limit) + 1);
        let page = plan.finish(&p, &codec, &rows).unwrap();
        assert!(page.data.len() <= usize::from(limit));
        seen.extend(
            page.data
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_owned()),
        );
        match page.next_cursor {
            Some(next) => {
                assert_eq!(
                    page.data.len(),
                    usize::from(limit),
                    "only full pages have a next page"
                );
                cursor = Some(next);
            }
            None => break,
        }
        assert!(seen.len() <= table.len(), "paging does not terminate");
    }
    // Exactly once each, in the order one unpaged query would give.
    let expected: Vec<String> = sorted
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen.len(), table.len(), "limit {limit} sort {sort:?}");
    assert_eq!(seen, expected, "limit {limit} sort {sort:?}");
}

#[test]
fn ten_thousand_records_page_exactly_once_at_large_limits() {
    let data = table(10_000);
    for limit in [200, 97] {
        page_through(&data, limit, None);
        page_through(&data, limit, Some(("title", "asc")));
        page_through(&data, limit, Some(("monetary_amount", "desc")));
    }
    page_through(&table(2_000), 200, Some(("created_at", "desc")));
    page_through(&data, 200, Some(("title", "desc")));
}

#[test]
fn small_limits_page_exactly_once() {
    let data = table(400);
    for limit in [1, 2, 7] {
        for sort in [
            None,
            Some(("title", "asc")),
            Some(("title", "desc")),
            Some(("monetary_amount", "asc")),
            Some(("created_at", "asc")),
            Some(("win_probability", "desc")),
        ] {
            page_through(&data, limit, sort);
        }
    }
    assert!(SortField::parse("win_probability").is_some());
}
