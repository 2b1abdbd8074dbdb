//! Property test of the SOQL builder's escaping against an independent parser: the Salesforce
//! emulator's (issue 13's fuzz target "the SOQL builder's escaping"). For any string used as a
//! filter value, the statement the builder renders must parse, and it must select exactly the
//! records whose field holds that value: an escape that let the value out of its literal would
//! either fail to parse or also select the decoys. Bounded by case count (a few seconds).

use patchbay_connectors::salesforce::soql::{Condition, FieldName, Literal, Op, Select};
use patchbay_fake_salesforce_data::{Org, OrgOptions, SfId};
use proptest::prelude::*;
use serde_json::json;

const NOW: i64 = 1_727_433_541_000;
const API: &str = "66.0";
/// Contact.LastName holds at most 80 characters.
const MAX: usize = 80;

/// Fragments that have broken naive escapers, mixed with arbitrary characters.
const FRAGMENTS: &[&str] = &[
    "'",
    "\\",
    "\\'",
    "\"",
    "%",
    "_",
    "\\%",
    "\\_",
    "\n",
    "\r",
    "\t",
    "\u{0}",
    "\u{8}",
    "\u{c}",
    "\u{1b}",
    "\u{85}",
    "\u{2028}",
    "\u{202e}",
    "😀",
    " OR ",
    " AND ",
    "Id != null",
    "(",
    ")",
    "--",
    "\\u0027",
    "\\n",
    "LIMIT 1",
    "' OR LastName != '",
    "ﬁ",
    "ß",
    "İ",
];

fn value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
        any::<char>().prop_map(String::from),
        "[a-zA-Z0-9 ]{1,6}",
    ];
    proptest::collection::vec(piece, 1..12)
        .prop_map(|parts| parts.concat().chars().take(MAX - 1).collect::<String>())
        .prop_filter("LastName is required, so not blank", |s| {
            !s.trim().is_empty()
        })
}

fn name(n: &str) -> FieldName {
    FieldName::new(n).unwrap()
}

/// The ids a `SELECT Id FROM Contact WHERE LastName <op> <literal>` returns.
fn select_ids(org: &Org, op: Op, literal: Literal) -> Result<Vec<String>, String> {
    let soql = Select {
        object: name("Contact"),
        fields: vec![name("Id")],
        condition: Some(Condition::cmp(&name("LastName"), op, literal)),
        order_by: Vec::new(),
        limit: None,
    }
    .to_soql();
    let result = org
        .query(&soql, false, NOW)
        .map_err(|e| format!("{soql:?} did not parse: {e:?}"))?;
    let mut ids: Vec<String> = result
        .all_records(org, API)
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    Ok(ids)
}

struct Fixture {
    org: Org,
    target: SfId,
    longer: SfId,
    decoy: SfId,
}

fn fixture(v: &str) -> Fixture {
    let mut org = Org::new(&OrgOptions::default(), NOW).unwrap();
    let user = org.default_user_id();
    let mut add = |last: &str| {
        org.create("Contact", &json!({ "LastName": last }), user, NOW)
            .unwrap()
    };
    let target = add(v);
    let longer = add(&format!("{v}x"));
    let decoy = add("Decoy");
    Fixture {
        org,
        target,
        longer,
        decoy,
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// `=` with any text selects the record holding it and nothing else.
    #[test]
    fn any_text_literal_selects_exactly_its_record(v in value()) {
        prop_assume!(!v.eq_ignore_ascii_case("decoy"));
        let f = fixture(&v);
        let ids = select_ids(&f.org, Op::Eq, Literal::Text(v.clone())).map_err(TestCaseError::fail)?;
        prop_assert_eq!(ids, vec![f.target.to_string()], "value {:?}", v);
        let ne = select_ids(&f.org, Op::Ne, Literal::Text(v.clone())).map_err(TestCaseError::fail)?;
        prop_assert!(!ne.contains(&f.target.to_string()), "!= {:?} selected its own record", v);
        prop_assert!(ne.contains(&f.decoy.to_string()) && ne.contains(&f.longer.to_string()));
    }

    /// `LIKE` without wildcards: `%` and `_` in the value are matched literally, so only the
    /// record holding the exact text matches; with both wildcards the longer record matches too.
    #[test]
    fn any_like_literal_matches_only_as_text(v in value()) {
        prop_assume!(!"decoy".contains(&v.to_lowercase()));
        let f = fixture(&v);
        let exact = Literal::Like { text: v.clone(), any_prefix: false, any_suffix: false };
        let ids = select_ids(&f.org, Op::Like, exact).map_err(TestCaseError::fail)?;
        prop_assert_eq!(ids, vec![f.target.to_string()], "value {:?}", v);
        let contains = Literal::Like { text: v.clone(), any_prefix: true, any_suffix: true };
        let ids = select_ids(&f.org, Op::Like, contains).map_err(TestCaseError::fail)?;
        let mut want = vec![f.target.to_string(), f.longer.to_string()];
        want.sort();
        prop_assert_eq!(ids, want, "value {:?}", v);
    }
}
