//! `query`, `queryAll` and `nextRecordsUrl` paging.

use std::collections::HashSet;

use crate::support::{TestOrg, V};
use reqwest::Method;
use serde_json::{Value, json};

const BATCH_200: (&str, &str) = ("sforce-query-options", "batchSize=200");

async fn get_with(org: &TestOrg, path: &str, headers: &[(&str, &str)]) -> crate::support::Answer {
    org.call(Method::GET, path, None, Some(&org.token), headers)
        .await
}

#[tokio::test]
async fn paging_returns_every_record_exactly_once() {
    let org = TestOrg::start().await;
    org.seed_contacts(5000, "Pager");
    let q = "SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Pager%' ORDER BY LastName";
    let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let mut path = format!("{V}/query?q={encoded}");
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let a = get_with(&org, &path, &[BATCH_200]).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        let body = a.json();
        assert_eq!(body["totalSize"], 5000);
        let records = body["records"].as_array().unwrap();
        pages += 1;
        for r in records {
            assert!(
                seen.insert(r["Id"].as_str().unwrap().to_owned()),
                "duplicate {r}"
            );
            names.push(r["LastName"].as_str().unwrap().to_owned());
            assert_eq!(r["attributes"]["type"], "Contact");
        }
        if body["done"] == true {
            assert!(body.get("nextRecordsUrl").is_none());
            break;
        }
        assert_eq!(records.len(), 200);
        let next = body["nextRecordsUrl"].as_str().unwrap();
        assert!(next.starts_with("/services/data/v66.0/query/01g"), "{next}");
        path = next.to_owned();
    }
    assert_eq!(pages, 25);
    assert_eq!(seen.len(), 5000);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "ORDER BY holds across pages");
}

#[tokio::test]
async fn default_batch_is_2000_and_count_has_no_records() {
    let org = TestOrg::start().await;
    org.seed_contacts(2500, "Batch");
    let a = org
        .query(
            "query",
            "SELECT Id FROM Contact WHERE LastName LIKE 'Batch%'",
        )
        .await;
    let body = a.json();
    assert_eq!(body["records"].as_array().unwrap().len(), 2000);
    assert_eq!(body["done"], false);
    let next = body["nextRecordsUrl"].as_str().unwrap();
    assert!(next.ends_with("-2000"), "{next}");
    let rest = org.get(next).await.json();
    assert_eq!(rest["records"].as_array().unwrap().len(), 500);
    assert_eq!(rest["done"], true);

    let count = org
        .query(
            "query",
            "SELECT COUNT() FROM Contact WHERE LastName LIKE 'Batch%'",
        )
        .await;
    assert_eq!(
        count.json(),
        json!({"totalSize": 2500, "done": true, "records": []})
    );
}

#[tokio::test]
async fn spaces_as_plus_or_percent_20() {
    let org = TestOrg::start().await;
    org.create("Account", json!({"Name": "Plus Space"})).await;
    for sep in ["+", "%20"] {
        let q = [
            "SELECT", "Id,", "Name", "FROM", "Account", "WHERE", "Name", "=", "'Plus", "Space'",
        ]
        .join(sep)
        .replace(',', "%2C")
        .replace('=', "%3D")
        .replace('\'', "%27");
        let a = org.get(&format!("{V}/query/?q={q}")).await;
        assert_eq!(a.status, 200, "{sep}: {}", a.text);
        assert_eq!(a.json()["totalSize"], 1, "{sep}");
    }
}

#[tokio::test]
async fn soft_deletes_show_in_query_all_only() {
    let org = TestOrg::start().await;
    let id = org
        .create("Lead", json!({"LastName": "Gone", "Company": "Bin Inc"}))
        .await;
    let deleted = org
        .send(Method::DELETE, &format!("{V}/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(deleted.status, 204);
    let q = format!("SELECT Id, IsDeleted FROM Lead WHERE Id = '{id}'");
    let live = org.query("query", &q).await.json();
    assert_eq!(live["totalSize"], 0);
    let all = org.query("queryAll", &q).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let all = all.json();
    assert_eq!(all["totalSize"], 1);
    assert_eq!(all["records"][0]["IsDeleted"], true);
    assert_eq!(all["records"][0]["Id"], id.as_str());
}

#[tokio::test]
async fn query_all_pages_under_its_own_resource() {
    let org = TestOrg::start().await;
    org.seed_contacts(450, "AllPages");
    let q: String = url::form_urlencoded::byte_serialize(
        b"SELECT Id FROM Contact WHERE LastName LIKE 'AllPages%'",
    )
    .collect();
    let first = get_with(&org, &format!("{V}/queryAll?q={q}"), &[BATCH_200])
        .await
        .json();
    let next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    assert!(next.starts_with("/services/data/v66.0/queryAll/"), "{next}");
    let second = get_with(&org, &next, &[BATCH_200]).await.json();
    assert_eq!(second["records"].as_array().unwrap().len(), 200);
    let third = get_with(
        &org,
        second["nextRecordsUrl"].as_str().unwrap(),
        &[BATCH_200],
    )
    .await
    .json();
    assert_eq!(third["records"].as_array().unwrap().len(), 50);
    assert_eq!(third["done"], true);
}

#[tokio::test]
async fn bad_soql_gives_the_data_engine_errors() {
    let org = TestOrg::start().await;
    let cases = [
        ("SELEC Id FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact GROUP BY Id", "MALFORMED_QUERY"),
        ("SELECT Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
    ];
    for (soql, code) in cases {
        org.query("query", soql).await.assert_error(400, code);
    }
    let missing = org
        .get(&format!("{V}/query"))
        .await
        .assert_error(400, "MALFORMED_QUERY");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("query string")
    );
    org.get(&format!("{V}/query?q="))
        .await
        .assert_error(400, "MALFORMED_QUERY");
}

#[tokio::test]
async fn locators_expire_and_reject_strangers() {
    let org = TestOrg::start().await;
    org.seed_contacts(300, "Expire");
    let q: String = url::form_urlencoded::byte_serialize(
        b"SELECT Id FROM Contact WHERE LastName LIKE 'Expire%'",
    )
    .collect();
    let first = get_with(&org, &format!("{V}/query?q={q}"), &[BATCH_200])
        .await
        .json();
    let next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    let locator = next
        .rsplit('/')
        .next()
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_owned();

    for bad in [
        format!("{V}/query/{locator}-0"),
        format!("{V}/query/{locator}-300"),
        format!("{V}/query/{locator}"),
        format!("{V}/query/01g5g00000000zzAAA-200"),
        format!("{V}/query/garbage"),
    ] {
        org.get(&bad)
            .await
            .assert_error(400, "INVALID_QUERY_LOCATOR");
    }
    // A page from any valid offset works, and re-reading a page is allowed.
    assert_eq!(
        org.get(&format!("{V}/query/{locator}-250")).await.json()["records"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    assert_eq!(org.get(&next).await.status, 200);

    // Idle for longer than 15 minutes: gone. (Tokens idle 2 h, so the session survives.)
    org.handle.emulator().advance_clock(16 * 60);
    org.get(&next)
        .await
        .assert_error(400, "INVALID_QUERY_LOCATOR");
}

#[tokio::test]
async fn relationship_fields_come_back_nested() {
    let org = TestOrg::start().await;
    let account = org.create("Account", json!({"Name": "Parent Co"})).await;
    org.create(
        "Contact",
        json!({"LastName": "Child", "AccountId": account}),
    )
    .await;
    org.create("Contact", json!({"LastName": "Orphan"})).await;
    let a = org
        .query("query", "SELECT Id, LastName, Account.Name FROM Contact WHERE LastName IN ('Child','Orphan') ORDER BY LastName")
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let body = a.json();
    let records = body["records"].as_array().unwrap();
    assert_eq!(records[0]["Account"]["Name"], "Parent Co");
    assert_eq!(records[0]["Account"]["attributes"]["type"], "Account");
    assert_eq!(records[1]["Account"], Value::Null);
}

#[tokio::test]
async fn the_first_batch_size_carries_over_to_later_pages() {
    let org = TestOrg::start().await;
    org.seed_contacts(700, "Carry");
    let q: String = url::form_urlencoded::byte_serialize(
        b"SELECT Id FROM Contact WHERE LastName LIKE 'Carry%'",
    )
    .collect();
    let first = get_with(&org, &format!("{V}/query?q={q}"), &[BATCH_200])
        .await
        .json();
    assert_eq!(first["records"].as_array().unwrap().len(), 200);
    // No header on the next call: the cursor remembers 200.
    let second = org
        .get(first["nextRecordsUrl"].as_str().unwrap())
        .await
        .json();
    assert_eq!(second["records"].as_array().unwrap().len(), 200);
    // A header on a later call wins.
    let third = get_with(
        &org,
        second["nextRecordsUrl"].as_str().unwrap(),
        &[("sforce-query-options", "batchSize=1000")],
    )
    .await
    .json();
    assert_eq!(third["records"].as_array().unwrap().len(), 300);
    assert_eq!(third["done"], true);
}
