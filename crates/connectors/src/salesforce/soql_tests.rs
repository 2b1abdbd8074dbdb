use time::macros::{date, datetime};

use super::*;
use crate::salesforce::soql_tokens::{LIKE_ESCAPED, PAYLOADS, literals, shape, tokenize};

fn f(name: &str) -> FieldName {
    FieldName::new(name).unwrap()
}

#[test]
fn renders_a_full_statement() {
    let q = Select {
        object: f("Contact"),
        fields: vec![f("Id"), f("Name"), f("Account.Name"), f("id")],
        condition: Some(Condition::And(vec![
            Condition::cmp(&f("Email"), Op::Eq, Literal::Text("a@b.c".into())),
            Condition::Or(vec![
                Condition::cmp(&f("Phone"), Op::Eq, Literal::Text("1".into())),
                Condition::cmp(&f("MobilePhone"), Op::Eq, Literal::Text("1".into())),
            ]),
            Condition::cmp(
                &f("LastModifiedDate"),
                Op::Ge,
                Literal::DateTime(datetime!(2020-09-30 09:43:32.5 +02:00)),
            ),
            Condition::cmp(
                &f("Birthdate"),
                Op::Lt,
                Literal::Date(date!(2000 - 08 - 12)),
            ),
            Condition::cmp(&f("Amount"), Op::Gt, Literal::Number(1e21)),
            Condition::cmp(&f("IsDeleted"), Op::Eq, Literal::Bool(false)),
        ])),
        order_by: vec![(f("Name"), Order::Asc), (f("Id"), Order::Desc)],
        limit: Some(21),
    };
    assert_eq!(
        q.to_soql(),
        "SELECT Id, Name, Account.Name FROM Contact WHERE Email = 'a@b.c' AND (Phone = '1' OR MobilePhone = '1') \
         AND LastModifiedDate >= 2020-09-30T07:43:32Z AND Birthdate < 2000-08-12 \
         AND Amount > 1000000000000000000000 AND IsDeleted = false \
         ORDER BY Name ASC NULLS FIRST, Id DESC NULLS LAST LIMIT 21"
    );
}

#[test]
fn escapes_per_the_docs() {
    assert_eq!(
        escape("\\ ' \" \n \r \t \u{8} \u{c}", false),
        "\\\\ \\' \\\" \\n \\r \\t \\b \\f"
    );
    assert_eq!(escape("50% of a_b", false), "50% of a_b");
    assert_eq!(escape("50% of a_b", true), "50\\% of a\\_b");
    assert_eq!(escape("\u{0}\u{1b}\u{85}", false), "\\u0000\\u001b\\u0085");
    assert_eq!(escape("Zoë 😀", false), "Zoë 😀");
}

#[test]
fn non_finite_numbers_never_render_as_text() {
    let mut out = String::new();
    render_literal(&Literal::Number(f64::NAN), &mut out);
    render_literal(&Literal::Number(-0.5), &mut out);
    assert_eq!(out, "null-0.5");
}

#[test]
fn identifiers_are_checked() {
    for ok in ["Name", "Account.Name", "Level__c", "a1_b"] {
        assert!(FieldName::new(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "1a",
        "Name,Id",
        "Name FROM",
        "a..b",
        "a.",
        "Na'me",
        "(Id)",
        "_x",
    ] {
        assert!(FieldName::new(bad).is_err(), "{bad}");
    }
}

#[test]
fn empty_groups_are_constant() {
    let q = Select {
        object: f("Lead"),
        fields: vec![f("Id")],
        condition: Some(Condition::And(vec![
            Condition::Or(vec![]),
            Condition::And(vec![]),
        ])),
        order_by: vec![],
        limit: None,
    };
    assert_eq!(
        q.to_soql(),
        "SELECT Id FROM Lead WHERE Id = null AND Id != null"
    );
}

#[test]
fn payloads_stay_inside_their_literals() {
    let build = |v: &str| {
        Select {
            object: f("Contact"),
            fields: vec![f("Id")],
            condition: Some(Condition::And(vec![
                Condition::cmp(&f("Name"), Op::Eq, Literal::Text(v.to_owned())),
                Condition::cmp(
                    &f("Email"),
                    Op::Like,
                    Literal::Like {
                        text: v.to_owned(),
                        any_prefix: true,
                        any_suffix: true,
                    },
                ),
            ])),
            order_by: vec![(f("Id"), Order::Asc)],
            limit: Some(5),
        }
        .to_soql()
    };
    let benign = tokenize(&build("benign")).unwrap();
    for payload in PAYLOADS {
        let tokens = tokenize(&build(payload)).unwrap_or_else(|e| panic!("{payload:?}: {e}"));
        assert_eq!(shape(&tokens), shape(&benign), "{payload:?}");
        let lits = literals(&tokens);
        assert_eq!(lits.len(), 2);
        assert_eq!(lits[0], *payload);
        // the only unescaped wildcards are the two the builder added
        let inner = lits[1]
            .strip_prefix('%')
            .and_then(|s| s.strip_suffix('%'))
            .unwrap_or_else(|| panic!("{payload:?}: wildcards missing"));
        let like_decoded = inner.replace(LIKE_ESCAPED, "");
        let bare_wildcards = inner
            .char_indices()
            .filter(|(i, c)| (*c == '%' || *c == '_') && !inner[..*i].ends_with(LIKE_ESCAPED))
            .count();
        assert_eq!(bare_wildcards, 0, "{payload:?}");
        assert_eq!(like_decoded, *payload);
    }
}
