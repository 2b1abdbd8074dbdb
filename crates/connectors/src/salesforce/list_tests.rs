use std::cmp::Ordering;

use serde_json::{Value, json};

use patchbay_unified::{FilterKind, SortField};

use super::*;
use crate::salesforce::soql_tokens::{PAYLOADS, literals, shape, tokenize};

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

fn soql(resource: Resource, list: &[(&str, &str)]) -> Result<String, UnifiedError> {
    let p = params(resource, list)?;
    let plan = plan_list(&p, &codec(), &[])?;
    assert_eq!(plan.request.path, "query");
    Ok(plan.request.query[0].1.clone())
}

const ACCOUNT_ID: &str = "001000000000001AAA";

fn sample(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Text => "sample",
        FilterKind::Id => ACCOUNT_ID,
        FilterKind::Number => "42.5",
        FilterKind::DateTime => "2020-09-30T07:43:32.000Z",
    }
}

#[test]
fn default_list_is_id_ordered_with_one_extra_row() {
    let q = soql(Resource::Contacts, &[]).unwrap();
    assert_eq!(
        q,
        "SELECT Id, CreatedDate, LastModifiedDate, Name, OwnerId, AccountId, Account.Name, FirstName, \
         MiddleName, LastName, Salutation, Title, Department, Birthdate, LeadSource, Description, \
         LastActivityDate, Email, Phone, MobilePhone, HomePhone, MailingStreet, MailingCity, MailingState, \
         MailingPostalCode, MailingCountry FROM Contact ORDER BY Id ASC NULLS FIRST LIMIT 21"
    );
    let q = soql(Resource::Leads, &[("limit", "200")]).unwrap();
    assert!(
        q.ends_with("FROM Lead ORDER BY Id ASC NULLS FIRST LIMIT 201"),
        "{q}"
    );
}

#[test]
fn every_spec_filter_and_sort_is_supported_and_mapped() {
    for resource in Resource::ALL
        .into_iter()
        .filter(|r| *r != Resource::Pipelines)
    {
        for field in resource.filter_fields() {
            let key = format!("filter[{}]", field.as_str());
            let value = if *field == FilterField::Type {
                "meeting"
            } else {
                sample(field.kind())
            };
            let q = soql(resource, &[(&key, value)])
                .unwrap_or_else(|e| panic!("{resource:?} {key}: {e}"));
            if *field != FilterField::Type {
                assert!(q.contains(" WHERE "), "{resource:?} {key}: {q}");
            }
        }
        for by in resource.sort_fields() {
            for dir in ["asc", "desc"] {
                let q = soql(
                    resource,
                    &[("sort[by]", by.as_str()), ("sort[direction]", dir)],
                )
                .unwrap();
                let order = if dir == "asc" {
                    "ASC NULLS FIRST"
                } else {
                    "DESC NULLS LAST"
                };
                let remote = default_map(resource).sort(*by).unwrap().remote;
                assert!(
                    q.ends_with(&format!(" ORDER BY {remote} {order}, Id {order} LIMIT 21")),
                    "{q}"
                );
            }
        }
    }
}

#[test]
fn filters_render_as_expected() {
    let q = soql(
        Resource::Contacts,
        &[
            ("filter[phone_number]", "555"),
            ("filter[updated_since]", "2020-09-30T09:43:32.123+02:00"),
            ("filter[company_id]", ACCOUNT_ID),
        ],
    )
    .unwrap();
    assert!(
        q.contains(" WHERE (Phone = '555' OR MobilePhone = '555' OR HomePhone = '555') AND AccountId = '001000000000001AAA' AND LastModifiedDate >= 2020-09-30T07:43:32Z ORDER BY"),
        "{q}"
    );
    let q = soql(
        Resource::Opportunities,
        &[
            ("filter[monetary_amount]", "75000"),
            ("sort[by]", "monetary_amount"),
            ("sort[direction]", "desc"),
        ],
    )
    .unwrap();
    assert!(
        q.contains("WHERE Amount = 75000 ORDER BY Amount DESC NULLS LAST, Id DESC NULLS LAST"),
        "{q}"
    );
    let err = soql(Resource::Contacts, &[("filter[owner_id]", "me")]).unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
}

#[test]
fn activity_type_filter_picks_the_object() {
    assert!(
        soql(Resource::Activities, &[])
            .unwrap()
            .contains(" FROM Event ")
    );
    assert!(
        soql(Resource::Activities, &[("filter[type]", "meeting")])
            .unwrap()
            .contains(" FROM Event ")
    );
    let task = soql(
        Resource::Activities,
        &[("filter[type]", "task"), ("filter[owner_id]", ACCOUNT_ID)],
    )
    .unwrap();
    assert!(task.contains(" FROM Task WHERE OwnerId = "), "{task}");
    assert!(!task.contains("TaskSubtype ="));
    let call = soql(Resource::Activities, &[("filter[type]", "Call")]).unwrap();
    assert!(
        call.contains(" FROM Task WHERE TaskSubtype = 'Call' "),
        "{call}"
    );
    assert_eq!(
        soql(Resource::Activities, &[("filter[type]", "deadline")])
            .unwrap_err()
            .type_name(),
        "UnsupportedFiltersError"
    );
    assert_eq!(
        soql(Resource::Activities, &[("filter[type]", "party")])
            .unwrap_err()
            .type_name(),
        "RequestValidationError"
    );
}

#[test]
fn custom_fields_are_selected_only_when_well_formed() {
    let p = params(Resource::Contacts, &[]).unwrap();
    let plan = plan_list(&p, &codec(), &["Level__c".to_owned()]).unwrap();
    assert!(plan.request.query[0].1.contains(", Level__c FROM Contact"));
    for bad in ["Name", "Level__c FROM User --", "a'__c"] {
        assert!(plan_list(&p, &codec(), &[bad.to_owned()]).is_err(), "{bad}");
    }
}

/// Every payload through every filter of every resource: the query keeps the structure of the
/// query built from a harmless value, and each literal decodes back to exactly what was sent.
#[test]
fn injection_attempts_never_change_a_query() {
    let mut checked = 0;
    for resource in Resource::ALL {
        for field in resource.filter_fields() {
            let key = format!("filter[{}]", field.as_str());
            let benign_value = if *field == FilterField::Type {
                "task"
            } else {
                sample(field.kind())
            };
            let benign = tokenize(&soql(resource, &[(&key, benign_value)]).unwrap()).unwrap();
            for payload in PAYLOADS
                .iter()
                .copied()
                .chain([format!("{ACCOUNT_ID}' OR Id != '").as_str()])
            {
                match soql(resource, &[(&key, payload)]) {
                    Ok(q) => {
                        let tokens =
                            tokenize(&q).unwrap_or_else(|e| panic!("{key}={payload:?}: {e}\n{q}"));
                        assert_eq!(shape(&tokens), shape(&benign), "{key}={payload:?}\n{q}");
                        let lits = literals(&tokens);
                        assert!(
                            lits.iter().all(|l| l == payload),
                            "{key}={payload:?}: {lits:?}"
                        );
                        assert!(!lits.is_empty(), "{key}");
                        checked += 1;
                    }
                    // Ids, numbers, dates and activity types refuse such values before any SOQL.
                    Err(e) => assert!(
                        matches!(
                            e.type_name(),
                            "RequestValidationError" | "UnsupportedFiltersError"
                        ) && field.kind() != FilterKind::Text
                            || *field == FilterField::Type,
                        "{key}={payload:?}: {e}"
                    ),
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} queries checked");
}

#[test]
fn injection_through_a_sort_key_in_a_cursor_is_inert() {
    // A cursor is sealed, but even a sealed key must not be able to change the query.
    for (by, kind_ok) in [("name", true), ("email", true)] {
        let p = params(Resource::Contacts, &[("sort[by]", by)]).unwrap();
        let fp = p.query_fingerprint();
        let scope = CursorScope {
            service: "salesforce",
            resource: Resource::Contacts,
            query: &fp,
        };
        let build = |k: &str| {
            let cursor = codec().seal(&scope, &json!({"id": "003000000000001AAA", "k": k}));
            let p = params(Resource::Contacts, &[("sort[by]", by), ("cursor", &cursor)]).unwrap();
            plan_list(&p, &codec(), &[]).map(|plan| plan.request.query[0].1.clone())
        };
        let benign = tokenize(&build("Smith").unwrap()).unwrap();
        for payload in PAYLOADS {
            let q = build(payload).unwrap();
            let tokens = tokenize(&q).unwrap();
            assert_eq!(shape(&tokens), shape(&benign), "{payload:?}");
            assert!(literals(&tokens).contains(&(*payload).to_owned()));
        }
        assert!(kind_ok);
    }
}

#[test]
fn bad_cursors_are_refused() {
    let p = params(Resource::Contacts, &[("filter[name]", "a")]).unwrap();
    let fp = p.query_fingerprint();
    let scope = CursorScope {
        service: "salesforce",
        resource: Resource::Contacts,
        query: &fp,
    };
    let sealed = |pos: Value| codec().seal(&scope, &pos);
    let other_query = {
        let q = params(Resource::Contacts, &[("filter[name]", "b")])
            .unwrap()
            .query_fingerprint();
        codec().seal(
            &CursorScope { query: &q, ..scope },
            &json!({"id": "003000000000001AAA"}),
        )
    };
    let other_service = codec().seal(
        &CursorScope {
            service: "hubspot",
            ..scope
        },
        &json!({"id": "003000000000001AAA"}),
    );
    for cursor in [
        other_query,
        other_service,
        sealed(json!({"id": "1' OR Id != '"})),
        sealed(json!({"k": "x"})),
        sealed(json!(null)),
        "em9oby1jcm06OnBhZ2U6OjM=".to_owned(),
    ] {
        let p = params(
            Resource::Contacts,
            &[("filter[name]", "a"), ("cursor", &cursor)],
        )
        .unwrap();
        assert_eq!(
            plan_list(&p, &codec(), &[]).unwrap_err(),
            UnifiedError::InvalidCursor
        );
    }
    // a key of the wrong type for the sort field
    let p = params(Resource::Opportunities, &[("sort[by]", "monetary_amount")]).unwrap();
    let fp = p.query_fingerprint();
    let cursor = codec().seal(
        &CursorScope {
            service: "salesforce",
            resource: Resource::Opportunities,
            query: &fp,
        },
        &json!({"id": "006000000000001AAA", "k": "lots"}),
    );
    let p = params(
        Resource::Opportunities,
        &[("sort[by]", "monetary_amount"), ("cursor", &cursor)],
    )
    .unwrap();
    assert_eq!(
        plan_list(&p, &codec(), &[]).unwrap_err(),
        UnifiedError::InvalidCursor
    );
}

#[test]
fn keyset_predicates() {
    let render = |resource: Resource, list: &[(&str, &str)], position: Value| {
        let p = params(resource, list).unwrap();
        let fp = p.query_fingerprint();
        let cursor = codec().seal(
            &CursorScope {
                service: "salesforce",
                resource,
                query: &fp,
            },
            &position,
        );
        let mut list = list.to_vec();
        list.push(("cursor", &cursor));
        let p = params(resource, &list).unwrap();
        let q = plan_list(&p, &codec(), &[]).unwrap().request.query[0]
            .1
            .clone();
        q[q.find(" WHERE ").unwrap() + 7..q.find(" ORDER BY").unwrap()].to_owned()
    };
    let id = "003000000000009AAA";
    assert_eq!(
        render(Resource::Contacts, &[], json!({"id": id})),
        format!("Id > '{id}'")
    );
    assert_eq!(
        render(
            Resource::Contacts,
            &[("sort[by]", "name")],
            json!({"id": id, "k": "Smith"})
        ),
        format!("(Name > 'Smith' OR (Name = 'Smith' AND Id > '{id}'))")
    );
    assert_eq!(
        render(
            Resource::Contacts,
            &[("sort[by]", "name")],
            json!({"id": id, "k": null})
        ),
        format!("((Name = null AND Id > '{id}') OR Name != null)")
    );
    assert_eq!(
        render(
            Resource::Contacts,
            &[("sort[by]", "created_at"), ("sort[direction]", "desc")],
            json!({"id": id, "k": "2024-09-27T10:39:01.000+0000"})
        ),
        format!(
            "(CreatedDate < 2024-09-27T10:39:01Z OR (CreatedDate = 2024-09-27T10:39:01Z AND Id < '{id}') OR CreatedDate = null)"
        )
    );
    assert_eq!(
        render(
            Resource::Contacts,
            &[("sort[by]", "email"), ("sort[direction]", "desc")],
            json!({"id": id, "k": null})
        ),
        format!("(Email = null AND Id < '{id}')")
    );
    assert_eq!(
        render(
            Resource::Contacts,
            &[("filter[first_name]", "Al"), ("sort[by]", "name")],
            json!({"id": id, "k": "B"})
        ),
        format!("FirstName = 'Al' AND (Name > 'B' OR (Name = 'B' AND Id > '{id}'))")
    );
}

// ---- Paging simulation: evaluate the planned SOQL tree over an in-memory table ----

fn field_value<'a>(record: &'a Value, field: &FieldName) -> &'a Value {
    record.get(field.as_str()).unwrap_or(&Value::Null)
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        (Value::String(x), Value::String(y)) => {
            match (parse_datetime(x), parse_datetime(y)) {
                (Some(dx), Some(dy)) => dx.cmp(&dy),
                // SOQL text comparison and ordering are case-insensitive.
                _ => x.to_lowercase().cmp(&y.to_lowercase()),
            }
        }
        _ => panic!("incomparable {a} {b}"),
    }
}

fn literal_value(l: &Literal) -> Value {
    match l {
        Literal::Text(s) => json!(s),
        Literal::Number(n) => json!(n),
        Literal::DateTime(d) => json!(crate::convert::format_datetime(*d)),
        other => panic!("unexpected literal {other:?}"),
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
            let ord = compare_values(v, &literal_value(lit));
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
    for limit in [200, 37] {
        page_through(&data, limit, None);
        page_through(&data, limit, Some(("title", "asc")));
        page_through(&data, limit, Some(("monetary_amount", "desc")));
    }
    page_through(&data, 200, Some(("created_at", "desc")));
    page_through(&data, 200, Some(("status", "desc")));
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

#[test]
fn pipelines_list_is_one_pipeline() {
    let p = params(Resource::Pipelines, &[]).unwrap();
    let plan = plan_list(&p, &codec(), &[]).unwrap();
    assert!(plan.request.query[0].1.contains("FROM OpportunityStage"));
    assert!(!plan.wants_more(100_000));
    let page = plan
        .finish(
            &p,
            &codec(),
            &[json!({"MasterLabel": "Prospecting", "IsActive": true})],
        )
        .unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0]["stages"][0]["name"], "Prospecting");
    assert_eq!(page.next_cursor, None);
    let p = params(Resource::Pipelines, &[("cursor", "v1.x.y")]).unwrap();
    assert_eq!(
        plan_list(&p, &codec(), &[]).unwrap_err(),
        UnifiedError::InvalidCursor
    );
}

#[test]
fn wants_more_until_one_extra_row() {
    let p = params(Resource::Contacts, &[("limit", "5")]).unwrap();
    let plan = plan_list(&p, &codec(), &[]).unwrap();
    assert!(plan.wants_more(5));
    assert!(!plan.wants_more(6));
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"Id": format!("003{i:012}AAA")}))
        .collect();
    let page = plan.finish(&p, &codec(), &rows).unwrap();
    assert_eq!(page.data.len(), 5);
    assert!(page.next_cursor.is_some());
    let page = plan.finish(&p, &codec(), &rows[..5]).unwrap();
    assert_eq!(page.next_cursor, None);
    let bad = plan.finish(
        &p,
        &codec(),
        &[
            json!({}),
            json!({}),
            json!({}),
            json!({}),
            json!({}),
            json!({}),
        ],
    );
    assert_eq!(bad.unwrap_err().type_name(), "ConnectorExecutionError");
}
