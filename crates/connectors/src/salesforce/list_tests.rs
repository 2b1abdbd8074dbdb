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
            if resource == Resource::Opportunities && *by == SortField::Status {
                let err = soql(resource, &[("sort[by]", "status")]).unwrap_err();
                assert_eq!(
                    err,
                    UnifiedError::UnsupportedSortField {
                        field: "status".to_owned()
                    }
                );
                continue;
            }
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

#[test]
fn pass_through_is_forwarded_but_cannot_replace_the_query() {
    let p = params(Resource::Contacts, &[("pass_through[batchSize]", "200")]).unwrap();
    let plan = plan_list(&p, &codec(), &[]).unwrap();
    assert_eq!(
        plan.request.query[1],
        ("batchSize".to_owned(), "200".to_owned())
    );
    assert!(plan.request.query[0].1.starts_with("SELECT Id"));
    let p = params(
        Resource::Contacts,
        &[("pass_through[q]", "SELECT Id FROM User")],
    )
    .unwrap();
    assert_eq!(
        plan_list(&p, &codec(), &[]).unwrap_err().type_name(),
        "RequestValidationError"
    );
}
