use crate::ids::SfId;
use crate::{Org, OrgOptions, SfError};
use serde_json::{Value, json};

const NOW: i64 = 1_727_433_541_000; // 2024-09-27T10:39:01Z, a Friday
const DAY: i64 = 86_400_000;
const V: &str = "66.0";

struct Fixture {
    org: Org,
    acme: SfId,
    ada: SfId,
    bob: SfId,
    lead: SfId,
}

fn fixture() -> Fixture {
    let mut org = Org::new(&OrgOptions::default(), NOW - 30 * DAY).unwrap();
    let u = org.default_user_id();
    let mk = |org: &mut Org, object: &str, body: Value, at: i64| {
        org.create(object, &body, u, at).unwrap()
    };
    let acme = mk(
        &mut org,
        "Account",
        json!({"Name": "Acme", "Industry": "Energy", "NumberOfEmployees": 50}),
        NOW - 10 * DAY,
    );
    let ada = mk(
        &mut org,
        "Contact",
        json!({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@acme.test", "AccountId": acme.to_string(), "Birthdate": "1815-12-10"}),
        NOW - 2 * DAY,
    );
    let bob = mk(
        &mut org,
        "Contact",
        json!({"FirstName": "Bob", "LastName": "O'Brien", "Email": "BOB@x.test"}),
        NOW - DAY,
    );
    mk(&mut org, "Contact", json!({"LastName": "Zed"}), NOW);
    let lead = mk(
        &mut org,
        "Lead",
        json!({"LastName": "Lee", "Company": "50% Off_Co"}),
        NOW,
    );
    mk(
        &mut org,
        "Task",
        json!({"Subject": "Call Ada", "WhoId": ada.to_string()}),
        NOW,
    );
    mk(
        &mut org,
        "Task",
        json!({"Subject": "Call Lee", "WhoId": lead.to_string()}),
        NOW,
    );
    mk(&mut org, "Task", json!({"Subject": "Nobody"}), NOW);
    Fixture {
        org,
        acme,
        ada,
        bob,
        lead,
    }
}

fn q(org: &Org, soql: &str) -> Vec<Value> {
    let r = org
        .query(soql, false, NOW)
        .unwrap_or_else(|e| panic!("{soql}: {e:?}"));
    assert_eq!(r.total_size(), r.all_records(org, V).len());
    r.all_records(org, V)
}

fn names(records: &[Value], field: &str) -> Vec<String> {
    records
        .iter()
        .map(|r| r[field].as_str().unwrap_or("null").to_owned())
        .collect()
}

fn err(org: &Org, soql: &str) -> SfError {
    org.query(soql, false, NOW).unwrap_err()
}

mod errors;

#[test]
fn selects_fields_with_canonical_names() {
    let f = fixture();
    let r = q(
        &f.org,
        "select id, NAME, email from contact where email = 'ADA@acme.test'",
    );
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0],
        json!({
            "attributes": {"type": "Contact", "url": format!("/services/data/v66.0/sobjects/Contact/{}", f.ada)},
            "Id": f.ada.to_string(), "Name": "Ada Lovelace", "Email": "ada@acme.test"
        })
    );
}

#[test]
fn relationship_fields_nest_with_attributes() {
    let f = fixture();
    let r = q(
        &f.org,
        "SELECT Name, Account.Name, Account.Industry, Owner.Name FROM Contact ORDER BY LastName",
    );
    assert_eq!(r[0]["Account"]["attributes"]["type"], "Account");
    assert_eq!(
        r[0]["Account"]["attributes"]["url"],
        format!("/services/data/v66.0/sobjects/Account/{}", f.acme)
    );
    assert_eq!(r[0]["Account"]["Name"], "Acme");
    assert_eq!(r[0]["Account"]["Industry"], "Energy");
    assert_eq!(r[0]["Owner"]["Name"], "Admin User");
    assert_eq!(r[1]["Account"], Value::Null, "no parent gives null");
    let tasks = q(
        &f.org,
        "SELECT Subject, Who.Name, Who.Email FROM Task ORDER BY Subject",
    );
    assert_eq!(tasks[0]["Who"]["Name"], "Ada Lovelace");
    assert_eq!(tasks[0]["Who"]["attributes"]["type"], "Contact");
    assert_eq!(tasks[1]["Who"]["attributes"]["type"], "Lead");
    assert_eq!(tasks[1]["Who"]["Name"], "Lee");
    assert_eq!(tasks[2]["Who"], Value::Null);
    let types = q(
        &f.org,
        "SELECT Who.Type, Who.Name FROM Task WHERE Who.Type = 'lead'",
    );
    assert_eq!(types.len(), 1);
    assert_eq!(types[0]["Who"]["Type"], "Lead");
    assert_eq!(types[0]["Who"]["Name"], "Lee");
    assert_eq!(
        q(
            &f.org,
            "SELECT Id FROM Task WHERE Who.Type IN ('Contact', 'Lead')"
        )
        .len(),
        2
    );
    let by_parent = q(&f.org, "SELECT Id FROM Contact WHERE Account.Name = 'acme'");
    assert_eq!(by_parent.len(), 1);
    let deep = q(
        &f.org,
        &format!(
            "SELECT Account.Owner.Username FROM Contact WHERE Id = '{}'",
            f.ada.as_str15()
        ),
    )
    .remove(0);
    assert_eq!(deep["Account"]["Owner"]["Username"], "admin@example.com");
}

#[test]
fn where_operators() {
    let f = fixture();
    let o = &f.org;
    assert_eq!(
        names(
            &q(
                o,
                "SELECT LastName FROM Contact WHERE Email != null ORDER BY LastName"
            ),
            "LastName"
        ),
        ["Lovelace", "O'Brien"]
    );
    assert_eq!(
        names(
            &q(o, "SELECT LastName FROM Contact WHERE Email = null"),
            "LastName"
        ),
        ["Zed"]
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE Email <> 'bob@x.test'").len(),
        2,
        "null != 'x' is true"
    );
    assert_eq!(
        names(
            &q(
                o,
                r"SELECT LastName FROM Contact WHERE LastName = 'O\'Brien'"
            ),
            "LastName"
        ),
        ["O'Brien"]
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE LastName LIKE 'l%'").len(),
        1
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE LastName LIKE '_ed'").len(),
        1
    );
    assert_eq!(
        q(o, r"SELECT Id FROM Lead WHERE Company LIKE '50\% Off\_%'").len(),
        1
    );
    assert_eq!(
        q(o, r"SELECT Id FROM Lead WHERE Company LIKE '50\%x%'").len(),
        0
    );
    assert_eq!(
        q(
            o,
            "SELECT Id FROM Contact WHERE LastName IN ('zed', 'lovelace')"
        )
        .len(),
        2
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE LastName NOT IN ('zed')").len(),
        2
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE NOT LastName = 'zed'").len(),
        2
    );
    assert_eq!(
        q(
            o,
            "SELECT Id FROM Contact WHERE LastName = 'Zed' OR (FirstName = 'Ada' AND Email != null)"
        )
        .len(),
        2
    );
    assert_eq!(q(o, "SELECT Id FROM Contact WHERE LastName > 'M'").len(), 2);
    assert_eq!(
        q(o, "SELECT Id FROM Account WHERE NumberOfEmployees >= 50").len(),
        1
    );
    assert_eq!(
        q(o, "SELECT Id FROM Account WHERE NumberOfEmployees < 50.5").len(),
        1
    );
    assert_eq!(
        q(o, "SELECT Id FROM Account WHERE NumberOfEmployees > 50").len(),
        0
    );
    assert_eq!(q(o, "SELECT Id FROM Task WHERE IsClosed = false").len(), 3);
    let id15 = q(
        o,
        &format!("SELECT Id FROM Contact WHERE Id = '{}'", f.bob.as_str15()),
    );
    let id18 = q(
        o,
        &format!(
            "SELECT Id FROM Contact WHERE Id IN ('{}')",
            f.bob.to_string().to_lowercase()
        ),
    );
    assert_eq!(id15, id18);
    assert_eq!(id15.len(), 1);
    assert_eq!(
        q(
            o,
            &format!("SELECT Id FROM Task WHERE WhoId = '{}'", f.lead)
        )
        .len(),
        1
    );
}

#[test]
fn date_and_datetime_literals() {
    let f = fixture();
    let o = &f.org;
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE Birthdate = 1815-12-10").len(),
        1
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE Birthdate < 1900-01-01").len(),
        1
    );
    assert_eq!(
        q(
            o,
            "SELECT Id FROM Contact WHERE CreatedDate >= 2024-09-26T00:00:00Z"
        )
        .len(),
        2
    );
    assert_eq!(
        q(
            o,
            "SELECT Id FROM Contact WHERE CreatedDate >= 2024-09-26T02:00:00+02:00"
        )
        .len(),
        2
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE CreatedDate = TODAY").len(),
        1
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE CreatedDate = YESTERDAY").len(),
        1
    );
    assert_eq!(
        q(
            o,
            "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:1"
        )
        .len(),
        2
    );
    assert_eq!(
        q(
            o,
            "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:7"
        )
        .len(),
        3
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE CreatedDate < TODAY").len(),
        2
    );
    assert_eq!(
        q(o, "SELECT Id FROM Account WHERE CreatedDate = THIS_MONTH").len(),
        1
    );
    assert_eq!(
        q(o, "SELECT Id FROM Contact WHERE Birthdate = LAST_YEAR").len(),
        0
    );

    let e = err(o, "SELECT Id FROM Contact WHERE CreatedDate > 2024-01-01");
    assert_eq!(e.error_code, "INVALID_QUERY_FILTER_OPERATOR");
    assert!(e.message.ends_with("value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes"), "{}", e.message);
    let e = err(
        o,
        "SELECT Id FROM Contact WHERE Birthdate > 2024-01-01T00:00:00Z",
    );
    assert!(e.message.contains("must be of type date"), "{}", e.message);
    let e = err(
        o,
        "SELECT Id FROM Contact WHERE CreatedDate > '2024-01-01T00:00:00Z'",
    );
    assert_eq!(e.error_code, "INVALID_QUERY_FILTER_OPERATOR");
}

#[test]
fn order_by_nulls_and_direction() {
    let f = fixture();
    let o = &f.org;
    assert_eq!(
        names(
            &q(o, "SELECT FirstName FROM Contact ORDER BY FirstName"),
            "FirstName"
        ),
        ["null", "Ada", "Bob"]
    );
    assert_eq!(
        names(
            &q(o, "SELECT FirstName FROM Contact ORDER BY FirstName DESC"),
            "FirstName"
        ),
        ["Bob", "Ada", "null"]
    );
    assert_eq!(
        names(
            &q(
                o,
                "SELECT FirstName FROM Contact ORDER BY FirstName ASC NULLS LAST"
            ),
            "FirstName"
        ),
        ["Ada", "Bob", "null"]
    );
    assert_eq!(
        names(
            &q(
                o,
                "SELECT FirstName FROM Contact ORDER BY FirstName DESC NULLS FIRST"
            ),
            "FirstName"
        ),
        ["null", "Bob", "Ada"]
    );
    assert_eq!(
        names(
            &q(
                o,
                "SELECT LastName FROM Contact ORDER BY Email DESC, LastName"
            ),
            "LastName"
        ),
        ["O'Brien", "Lovelace", "Zed"]
    );
    assert_eq!(
        names(
            &q(
                o,
                "SELECT LastName FROM Contact ORDER BY CreatedDate DESC LIMIT 2"
            ),
            "LastName"
        ),
        ["Zed", "O'Brien"]
    );
    assert_eq!(
        names(
            &q(
                o,
                "SELECT LastName FROM Contact ORDER BY Id LIMIT 1 OFFSET 1"
            ),
            "LastName"
        ),
        ["O'Brien"]
    );
    assert_eq!(q(o, "SELECT Id FROM Contact OFFSET 5").len(), 0);
    let e = err(o, "SELECT Id FROM Contact OFFSET 2001");
    assert_eq!(
        (e.error_code.as_str(), e.message.as_str()),
        (
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000"
        )
    );
    assert!(
        o.query("SELECT Id FROM Contact OFFSET 2000", false, NOW)
            .is_ok()
    );
}

#[test]
fn count_and_query_all() {
    let mut f = fixture();
    let r = f
        .org
        .query("SELECT COUNT() FROM Contact", false, NOW)
        .unwrap();
    assert!(r.is_count());
    assert_eq!(r.total_size(), 3);
    assert!(r.all_records(&f.org, V).is_empty());
    let u = f.org.default_user_id();
    f.org.delete("Contact", &f.bob.to_string(), u, NOW).unwrap();
    assert_eq!(
        f.org
            .query("SELECT COUNT() FROM Contact", false, NOW)
            .unwrap()
            .total_size(),
        2
    );
    let all = f
        .org
        .query(
            "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true",
            true,
            NOW,
        )
        .unwrap();
    assert_eq!(all.total_size(), 1);
    assert_eq!(all.all_records(&f.org, V)[0]["IsDeleted"], true);
}

#[test]
fn paging_renders_slices() {
    let f = fixture();
    let r = f
        .org
        .query("SELECT LastName FROM Contact ORDER BY LastName", false, NOW)
        .unwrap();
    assert_eq!(
        names(&r.records(&f.org, 0..2, V), "LastName"),
        ["Lovelace", "O'Brien"]
    );
    assert_eq!(names(&r.records(&f.org, 2..4, V), "LastName"), ["Zed"]);
    assert!(r.records(&f.org, 9..20, V).is_empty());
}

/// The watermark pattern of docs/salesforce.md §12.3: updates and deletes move SystemModstamp.
#[test]
fn incremental_sync_by_system_modstamp() {
    let mut f = fixture();
    let u = f.org.default_user_id();
    let later = NOW + DAY;
    f.org
        .update(
            "Contact",
            &f.ada.to_string(),
            &json!({"Title": "Countess"}),
            u,
            later,
        )
        .unwrap();
    f.org
        .delete("Contact", &f.bob.to_string(), u, later)
        .unwrap();
    let since = "2024-09-28T00:00:00Z";
    let changed = q(
        &f.org,
        &format!(
            "SELECT Id, Title FROM Contact WHERE SystemModstamp >= {since} ORDER BY SystemModstamp, Id"
        ),
    );
    assert_eq!(names(&changed, "Title"), ["Countess"]);
    let r = f
        .org
        .query(
            &format!("SELECT Id FROM Contact WHERE IsDeleted = true AND SystemModstamp >= {since}"),
            true,
            NOW,
        )
        .unwrap();
    assert_eq!(r.all_records(&f.org, V)[0]["Id"], f.bob.to_string());
}

/// Change polling as docs/salesforce.md §11.2 and §12.3 describe it, for every object that has
/// change events: an update moves `SystemModstamp` and `LastModifiedDate` but not
/// `CreatedDate`; a delete moves `SystemModstamp` and keeps the row, `IsDeleted = true`, for
/// `queryAll` only; `>=` on a datetime includes its own second and `>` excludes it; one
/// `queryAll` without an `IsDeleted` condition returns live and deleted rows together.
#[test]
fn change_polling_by_system_modstamp_and_query_all() {
    let mut org = Org::new(&OrgOptions::default(), NOW - 30 * DAY).unwrap();
    let u = org.default_user_id();
    let later = NOW + 5_000; // 2024-09-27T10:39:06Z
    let parent = org
        .create("Account", &json!({"Name": "Parent"}), u, NOW - DAY)
        .unwrap()
        .to_string();
    let described = json!({"Description": "changed"});
    let bodies = [
        ("Account", json!({"Name": "Acme"}), described.clone()),
        (
            "Contact",
            json!({"LastName": "Kept"}),
            json!({"Title": "changed"}),
        ),
        (
            "Lead",
            json!({"LastName": "Lee", "Company": "Co"}),
            json!({"Title": "changed"}),
        ),
        (
            "Opportunity",
            json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2024-12-31"}),
            described.clone(),
        ),
        (
            "Event",
            json!({"Subject": "Meet", "StartDateTime": "2024-10-01T10:00:00Z", "EndDateTime": "2024-10-01T11:00:00Z"}),
            described.clone(),
        ),
        ("Task", json!({"Subject": "Call"}), described),
        (
            "Note",
            json!({"Title": "Note", "ParentId": parent}),
            json!({"Body": "changed"}),
        ),
    ];
    for (object, body, patch) in bodies {
        let kept = org.create(object, &body, u, NOW).unwrap().to_string();
        let gone = org.create(object, &body, u, NOW).unwrap().to_string();
        let untouched = org.create(object, &body, u, NOW).unwrap().to_string();
        org.update(object, &kept, &patch, u, later).unwrap();
        org.delete(object, &gone, u, later).unwrap();

        let select = format!(
            "SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM {object}"
        );
        let ge = format!(
            "{select} WHERE SystemModstamp >= 2024-09-27T10:39:06Z ORDER BY SystemModstamp ASC NULLS FIRST, Id ASC NULLS FIRST LIMIT 2000"
        );
        let all = org.query(&ge, true, later).unwrap().all_records(&org, V);
        let ids: Vec<&str> = all.iter().filter_map(|r| r["Id"].as_str()).collect();
        let mut want = vec![kept.as_str(), gone.as_str()];
        want.sort_unstable();
        assert_eq!(
            ids, want,
            "{object}: queryAll returns the live and the deleted change"
        );
        for r in &all {
            assert_eq!(
                r["SystemModstamp"], "2024-09-27T10:39:06.000+0000",
                "{object}"
            );
            assert_eq!(r["CreatedDate"], "2024-09-27T10:39:01.000+0000", "{object}");
            assert_eq!(r["IsDeleted"], r["Id"] == gone.as_str(), "{object}");
        }
        let live = org.query(&ge, false, later).unwrap().all_records(&org, V);
        assert_eq!(live.len(), 1, "{object}: query leaves the deleted row out");
        assert_eq!(live[0]["LastModifiedDate"], "2024-09-27T10:39:06.000+0000");
        let gt = format!("{select} WHERE SystemModstamp > 2024-09-27T10:39:06Z");
        assert!(
            org.query(&gt, true, later)
                .unwrap()
                .all_records(&org, V)
                .is_empty(),
            "{object}: > excludes the boundary second"
        );
        let before = format!("{select} WHERE SystemModstamp >= 2024-09-27T10:39:01Z");
        let every = org
            .query(&before, true, later)
            .unwrap()
            .all_records(&org, V);
        assert!(
            every.iter().any(|r| r["Id"] == untouched.as_str()),
            "{object}: the untouched row keeps its creation stamp"
        );
        let newest =
            format!("{select} ORDER BY SystemModstamp DESC NULLS LAST, Id DESC NULLS LAST LIMIT 1");
        let top = org
            .query(&newest, true, later)
            .unwrap()
            .all_records(&org, V);
        assert_eq!(
            top[0]["SystemModstamp"], "2024-09-27T10:39:06.000+0000",
            "{object}"
        );
    }
}

#[test]
fn opportunity_stages_are_queryable_metadata() {
    let f = fixture();
    let stages = q(
        &f.org,
        "SELECT MasterLabel, IsClosed, IsWon, DefaultProbability, ForecastCategoryName FROM OpportunityStage WHERE IsActive = true ORDER BY SortOrder",
    );
    assert_eq!(stages.len(), 10);
    assert_eq!(stages[0]["MasterLabel"], "Prospecting");
    assert_eq!(
        stages[8],
        json!({
            "attributes": stages[8]["attributes"],
            "MasterLabel": "Closed Won", "IsClosed": true, "IsWon": true, "DefaultProbability": 100.0,
            "ForecastCategoryName": "Closed"
        })
    );
    assert_eq!(stages[9]["IsWon"], false);
    assert_eq!(
        q(
            &f.org,
            "SELECT Id FROM OpportunityStage WHERE IsClosed = true"
        )
        .len(),
        2
    );
}

#[test]
fn child_subqueries_nest_related_lists() {
    let mut f = fixture();
    let u = f.org.default_user_id();
    let other = f
        .org
        .create("Account", &json!({"Name": "Empty Co"}), u, NOW)
        .unwrap();
    f.org
        .create(
            "Contact",
            &json!({"LastName": "Babbage", "AccountId": f.acme.to_string()}),
            u,
            NOW,
        )
        .unwrap();
    let r = q(
        &f.org,
        "SELECT Name, (SELECT LastName, Account.Name FROM contacts WHERE LastName != 'x' ORDER BY LastName DESC LIMIT 5), \
         (SELECT Subject FROM Tasks) FROM Account ORDER BY Name",
    );
    assert_eq!(r.len(), 2);
    let contacts = &r[0]["Contacts"];
    assert_eq!(contacts["totalSize"], 2);
    assert_eq!(contacts["done"], true);
    assert_eq!(
        names(contacts["records"].as_array().unwrap(), "LastName"),
        ["Lovelace", "Babbage"]
    );
    assert_eq!(contacts["records"][0]["attributes"]["type"], "Contact");
    assert_eq!(contacts["records"][0]["Account"]["Name"], "Acme");
    assert_eq!(
        r[0]["Tasks"],
        Value::Null,
        "no task points at Acme through WhatId"
    );
    assert_eq!(r[1]["Name"], "Empty Co");
    assert_eq!(r[1]["Contacts"], Value::Null);
    assert_eq!(
        r[1]["attributes"]["url"],
        format!("/services/data/v66.0/sobjects/Account/{other}")
    );

    let by_contact = q(
        &f.org,
        &format!(
            "SELECT (SELECT Subject FROM Tasks) FROM Contact WHERE Id = '{}'",
            f.ada
        ),
    );
    assert_eq!(by_contact[0]["Tasks"]["records"][0]["Subject"], "Call Ada");

    let e = err(&f.org, "SELECT Id, (SELECT Id FROM Widgets) FROM Account");
    assert_eq!(e.error_code, "INVALID_TYPE");
    assert!(
        e.message
            .contains("Didn't understand relationship 'Widgets' in FROM part of query call"),
        "{}",
        e.message
    );
    let e = err(
        &f.org,
        "SELECT Id, (SELECT Id, (SELECT Id FROM Tasks) FROM Contacts) FROM Account",
    );
    assert_eq!(e.error_code, "MALFORMED_QUERY");
    let e = err(
        &f.org,
        "SELECT Id, (SELECT Nope FROM Contacts) FROM Account",
    );
    assert!(
        e.message
            .contains("No such column 'Nope' on entity 'Contact'"),
        "{}",
        e.message
    );
}
