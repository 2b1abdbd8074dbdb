use super::*;
use std::time::Instant;

const NOW: i64 = 1_727_433_541_000;
const V: &str = "66.0";

fn options(seed: u64, records: usize) -> SeedOptions {
    SeedOptions {
        seed,
        records,
        default_username: "owner@acme.test".into(),
        ..SeedOptions::default()
    }
}

fn dump(org: &Org) -> String {
    let mut out = String::new();
    for name in crate::object_names() {
        let fields: Vec<String> = org
            .schema()
            .object(name)
            .unwrap()
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect();
        let r = org
            .query(
                &format!("SELECT {} FROM {name} ORDER BY Id", fields.join(", ")),
                true,
                NOW,
            )
            .unwrap();
        out.push_str(&serde_json::to_string(&r.all_records(org, V)).unwrap());
    }
    out
}

#[test]
fn same_seed_gives_identical_data() {
    let a = Org::seeded(&options(7, 300), NOW).unwrap();
    let b = Org::seeded(&options(7, 300), NOW).unwrap();
    assert_eq!(dump(&a), dump(&b));
    let c = Org::seeded(&options(8, 300), NOW).unwrap();
    assert_ne!(dump(&a), dump(&c));
}

#[test]
fn seeded_org_is_realistic() {
    let org = Org::seeded(&options(1, 1000), NOW).unwrap();
    let users = org.users();
    assert!(users.len() >= 3);
    assert_eq!(users[0].username, "owner@acme.test");
    assert_eq!(
        org.find_user_by_username("owner@acme.test").unwrap().id,
        org.default_user_id()
    );
    assert!(users[1].username.ends_with("@acme.test"));
    let count = |o: &str| org.count(o).unwrap();
    let total: usize = [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "Task",
        "Event",
        "Note",
    ]
    .iter()
    .map(|o| count(o))
    .sum();
    assert!((1000..=1010).contains(&total), "{total}");
    assert_eq!(count("Account"), 100);
    assert_eq!(count("Contact"), 300);
    assert_eq!(count("OpportunityStage"), 10);
    let size = |soql: &str| org.query(soql, false, NOW).unwrap().total_size();
    for status in [
        "Open - Not Contacted",
        "Working - Contacted",
        "Closed - Converted",
        "Closed - Not Converted",
    ] {
        assert!(
            size(&format!(
                "SELECT COUNT() FROM Lead WHERE Status = '{status}'"
            )) > 0,
            "{status}"
        );
    }
    assert!(size("SELECT COUNT() FROM Opportunity WHERE IsWon = true") > 0);
    assert!(
        size("SELECT COUNT() FROM Opportunity WHERE IsClosed = false AND CloseDate >= TODAY") > 0
    );
    assert_eq!(
        size("SELECT COUNT() FROM Opportunity WHERE Amount = null"),
        0
    );
    assert!(size("SELECT COUNT() FROM Contact WHERE AccountId != null") > 200);
    assert!(size("SELECT COUNT() FROM Contact WHERE Tier__c != null") > 0);
    assert!(size("SELECT COUNT() FROM Task WHERE IsClosed = true") > 0);
    assert!(size("SELECT COUNT() FROM Event WHERE EndDateTime != null") == count("Event"));
    assert!(size("SELECT COUNT() FROM Note WHERE ParentId != null") == count("Note"));
    // SOQL compares fields with literals only.
    let e = org
        .query(
            "SELECT Id FROM Contact WHERE LastModifiedDate > CreatedDate",
            false,
            NOW,
        )
        .unwrap_err();
    assert_eq!(e.error_code, "MALFORMED_QUERY");
    let times = org
        .query(
            "SELECT CreatedDate, LastModifiedDate FROM Contact",
            false,
            NOW,
        )
        .unwrap()
        .all_records(&org, V);
    let edited = times
        .iter()
        .filter(|r| r["LastModifiedDate"].as_str() > r["CreatedDate"].as_str())
        .count();
    assert!(edited > 50 && edited < 200, "{edited}");
    assert!(
        times
            .iter()
            .all(|r| r["LastModifiedDate"].as_str() >= r["CreatedDate"].as_str())
    );
    let owners = org
        .query("SELECT Owner.Username FROM Contact", false, NOW)
        .unwrap()
        .all_records(&org, V);
    let distinct: std::collections::BTreeSet<String> = owners
        .iter()
        .map(|r| r["Owner"]["Username"].to_string())
        .collect();
    assert!(distinct.len() >= 3, "records spread over users");
    // Seeded emails are unique, so equality lookups find exactly one contact.
    let first = org
        .query("SELECT Email FROM Contact LIMIT 1", false, NOW)
        .unwrap()
        .all_records(&org, V);
    let email = first[0]["Email"].as_str().unwrap();
    assert_eq!(
        size(&format!(
            "SELECT COUNT() FROM Contact WHERE Email = '{email}'"
        )),
        1
    );
    // Seeded records respect the schema: updating one through the API with its own values works.
    let c = org
        .query(
            "SELECT Id, Salutation, LeadSource, Tier__c FROM Contact LIMIT 20",
            false,
            NOW,
        )
        .unwrap()
        .all_records(&org, V);
    let mut org = org;
    let user = org.default_user_id();
    for r in c {
        let body = serde_json::json!({"Salutation": r["Salutation"], "LeadSource": r["LeadSource"], "Tier__c": r["Tier__c"]});
        org.update("Contact", r["Id"].as_str().unwrap(), &body, user, NOW)
            .unwrap();
    }
}

#[test]
fn tiny_and_empty_orgs() {
    let org = Org::seeded(&options(3, 0), NOW).unwrap();
    assert_eq!(org.count("Account"), Some(0));
    assert_eq!(org.users().len(), 3);
    let org = Org::seeded(&options(3, 5), NOW).unwrap();
    assert!(org.count("Account").unwrap() >= 1);
}

/// Run with `cargo test --release -p patchbay-fake-salesforce-data -- --ignored --nocapture`.
#[test]
#[ignore = "performance measurement; run in release"]
fn perf_100k() {
    let t = Instant::now();
    let org = Org::seeded(&options(42, 100_000), NOW).unwrap();
    let seeded = t.elapsed();
    let email = org
        .query("SELECT Email FROM Contact OFFSET 2000", false, NOW)
        .unwrap()
        .records(&org, 500..501, V)[0]["Email"]
        .as_str()
        .unwrap()
        .to_owned();
    let soql = format!("SELECT Id, Name FROM Contact WHERE Email = '{email}'");
    let runs = 20;
    let t = Instant::now();
    for _ in 0..runs {
        let r = org.query(&soql, false, NOW).unwrap();
        assert_eq!(r.total_size(), 1);
        assert_eq!(r.all_records(&org, V).len(), 1);
    }
    let per_query = t.elapsed() / runs;
    let t = Instant::now();
    let all = org
        .query(
            "SELECT Id, Name, Account.Name FROM Contact ORDER BY LastName, Id",
            false,
            NOW,
        )
        .unwrap();
    let page = all.records(&org, 0..2000, V);
    let sorted = t.elapsed();
    println!(
        "seed 100k: {seeded:?}; equality query: {per_query:?}; full sort + first 2000 of {}: {sorted:?}",
        all.total_size()
    );
    assert_eq!(page.len(), 2000);
    assert!(per_query.as_millis() < 50);
}
