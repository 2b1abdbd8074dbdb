//! Error answers and robustness: unknown names, type mismatches, case handling, fuzzing.

use super::{NOW, err, fixture, q};

#[test]
fn unknown_names_give_salesforce_errors() {
    let f = fixture();
    let o = &f.org;
    let e = err(o, "SELECT Id, Foo FROM Contact");
    assert_eq!(e.error_code, "INVALID_FIELD");
    assert_eq!(
        e.message,
        "\nSELECT Id, Foo FROM Contact\n           ^\nERROR at Row:1:Column:12\nNo such column 'Foo' on entity 'Contact'. \
         If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. \
         Please reference your WSDL or the describe call for the appropriate names."
    );
    let e = err(o, "SELECT Id FROM Foo");
    assert_eq!(e.error_code, "INVALID_TYPE");
    assert!(e.message.ends_with("sObject type 'Foo' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."), "{}", e.message);
    let e = err(o, "SELECT Nope.Name FROM Contact");
    assert!(
        e.message.contains("Didn't understand relationship 'Nope'"),
        "{}",
        e.message
    );
    let e = err(o, "SELECT Account.Nope FROM Contact");
    assert!(
        e.message
            .contains("No such column 'Nope' on entity 'Account'"),
        "{}",
        e.message
    );
    let e = err(o, "SELECT Id FROM Contact WHERE Nope = 1");
    assert_eq!(e.error_code, "INVALID_FIELD");
    let e = err(o, "SELECT Id FROM Contact ORDER BY Nope");
    assert_eq!(e.error_code, "INVALID_FIELD");
    let e = err(o, "SELECT Id FROM Contact WHERE Description = 'x'");
    assert!(
        e.message
            .ends_with("field 'Description' can not be filtered in a query call"),
        "{}",
        e.message
    );
    let e = err(o, "SELECT Id FROM Contact WHERE Id = 'abc'");
    assert!(
        e.message.ends_with("invalid ID field: abc"),
        "{}",
        e.message
    );
    let e = err(o, "SELECT Id FROM Contact WHERE LastName = 5");
    assert!(
        e.message
            .ends_with("must be of type string and should be enclosed in quotes"),
        "{}",
        e.message
    );
    let e = err(o, r"SELECT Id FROM Contact WHERE LastName = 'a\_b'");
    assert_eq!(e.error_code, "MALFORMED_QUERY");
    let e = err(
        o,
        "SELECT Id FROM Account WHERE NumberOfEmployees LIKE '5%'",
    );
    assert_eq!(e.error_code, "INVALID_QUERY_FILTER_OPERATOR");
    let e = err(o, "SELECT Id FROM Contact WHERE IsDeleted = 'false'");
    assert!(
        e.message.contains("must be of type boolean"),
        "{}",
        e.message
    );
}

#[test]
fn keywords_and_names_are_case_insensitive() {
    let f = fixture();
    let a = q(
        &f.org,
        "SeLeCt LASTNAME, account.NAME FrOm CONTACT wHeRe lastname = 'ZED' oRdEr By lastNAME LiMiT 5",
    );
    assert_eq!(a.len(), 1);
    assert!(a[0].get("LastName").is_some());
    assert!(a[0].get("Account").is_some());
}

/// Garbage must never panic: only Ok or a Salesforce error.
#[test]
fn fuzzed_queries_never_panic() {
    let f = fixture();
    let pieces = [
        "SELECT",
        "Id",
        "Name",
        ",",
        "FROM",
        "Contact",
        "Account.Name",
        "WHERE",
        "=",
        "!=",
        "<",
        ">=",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "IN",
        "LIKE",
        "'x'",
        "'\\'",
        "'\\u00",
        "null",
        "true",
        "12",
        "-3.5",
        "2024-01-01",
        "2024-01-01T00:00:00Z",
        "TODAY",
        "LAST_N_DAYS",
        ":",
        "ORDER",
        "BY",
        "DESC",
        "NULLS",
        "LAST",
        "LIMIT",
        "OFFSET",
        "COUNT()",
        "é",
        "\n",
        "..",
        "Who.Name",
        "'%_'",
        "\\",
        "9999999999999999999999",
        "Owner.",
        "(SELECT Id FROM Contacts)",
        "Contacts",
        "Who.Type",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for _ in 0..20_000 {
        let n = (next() % 14) as usize;
        let mut soql = String::new();
        if next() % 3 != 0 {
            soql.push_str("SELECT Id FROM Contact ");
        }
        for _ in 0..n {
            soql.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            if next() % 4 != 0 {
                soql.push(' ');
            }
        }
        if let Err(e) = f.org.query(&soql, next() % 2 == 0, NOW) {
            assert_eq!(e.status, 400, "{soql}");
            assert!(!e.error_code.is_empty());
        }
    }
    for i in 0..3000u64 {
        let bytes: Vec<u8> = (0..(i % 40)).map(|_| (next() % 128) as u8).collect();
        let soql = String::from_utf8_lossy(&bytes);
        let _ = f.org.query(&soql, false, NOW);
    }
}
