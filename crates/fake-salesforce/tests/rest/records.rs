//! sObject rows (create, read, update, delete), basic info and describe.

use crate::support::{TestOrg, V};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn create_read_update_delete_round_trip() {
    let org = TestOrg::start().await;
    let created = org
        .send(
            Method::POST,
            &format!("{V}/sobjects/Contact"),
            Some(r#"{"FirstName":"Ada","LastName":"Lovelace","Email":"ada@example.com"}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    let body = created.json();
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body, json!({"id": id, "success": true, "errors": []}));
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("003"));

    let url = format!("{V}/sobjects/Contact/{id}");
    let read = org.get(&url).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let rec = read.json();
    assert_eq!(rec["attributes"], json!({"type": "Contact", "url": url}));
    assert_eq!(rec["Id"], id.as_str());
    assert_eq!(rec["LastName"], "Lovelace");
    assert_eq!(rec["Email"], "ada@example.com");
    let created_date = rec["CreatedDate"].as_str().unwrap().to_owned();
    assert_eq!(rec["LastModifiedDate"], created_date.as_str());
    assert_eq!(rec["SystemModstamp"], created_date.as_str());
    assert!(
        created_date.ends_with("+0000") && created_date.len() == 28,
        "{created_date}"
    );

    // The 15-character id reaches the same record.
    let short = org
        .get(&format!("{V}/sobjects/Contact/{}", &id[..15]))
        .await;
    assert_eq!(short.status, 200);
    assert_eq!(short.json()["Id"], id.as_str());

    org.handle.emulator().advance_clock(5);
    let patched = org
        .send(
            Method::PATCH,
            &url,
            Some(r#"{"Title":"Countess","Email":null}"#),
        )
        .await;
    assert_eq!(patched.status, 204, "{}", patched.text);
    assert!(patched.text.is_empty());

    let fields = org
        .get(&format!(
            "{url}?fields=Title,Email,LastName,CreatedDate,LastModifiedDate,SystemModstamp"
        ))
        .await;
    let rec = fields.json();
    assert_eq!(rec["Title"], "Countess");
    assert_eq!(rec["Email"], serde_json::Value::Null);
    assert_eq!(rec["LastName"], "Lovelace");
    assert!(
        rec.get("FirstName").is_none(),
        "only the asked fields: {rec}"
    );
    assert_eq!(rec["CreatedDate"], created_date.as_str());
    let modified = rec["LastModifiedDate"].as_str().unwrap();
    assert!(
        modified > created_date.as_str(),
        "{modified} > {created_date}"
    );
    assert_eq!(rec["SystemModstamp"], modified);

    let deleted = org.send(Method::DELETE, &url, None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    org.get(&url).await.assert_error(404, "NOT_FOUND");
    org.send(Method::DELETE, &url, None)
        .await
        .assert_error(404, "ENTITY_IS_DELETED");
    org.send(Method::PATCH, &url, Some(r#"{"Title":"x"}"#))
        .await
        .assert_error(404, "ENTITY_IS_DELETED");
}

#[tokio::test]
async fn write_errors_are_salesforce_shaped() {
    let org = TestOrg::start().await;
    let contacts = format!("{V}/sobjects/Contact");
    let e = org
        .send(Method::POST, &contacts, Some(r#"{"FirstName":"NoLast"}"#))
        .await
        .assert_error(400, "REQUIRED_FIELD_MISSING");
    assert_eq!(e["fields"], json!(["LastName"]));
    org.send(
        Method::POST,
        &contacts,
        Some(r#"{"LastName":"X","Bogus__c":1}"#),
    )
    .await
    .assert_error(400, "INVALID_FIELD");
    for bad in ["{", "", "[]", "\"x\"", "{\"LastName\":}", "nul"] {
        org.send(Method::POST, &contacts, Some(bad))
            .await
            .assert_error(400, "JSON_PARSER_ERROR");
    }
    org.send(
        Method::POST,
        &format!("{V}/sobjects/Nope"),
        Some(r#"{"Name":"x"}"#),
    )
    .await
    .assert_error(404, "NOT_FOUND");
    org.send(
        Method::POST,
        &format!("{V}/sobjects/OpportunityStage"),
        Some(r#"{"MasterLabel":"x"}"#),
    )
    .await
    .assert_error(403, "INSUFFICIENT_ACCESS_OR_READONLY");
}

#[tokio::test]
async fn opportunity_stages_are_read_only() {
    let org = TestOrg::start().await;
    let stages = org
        .query(
            "query",
            "SELECT Id, MasterLabel FROM OpportunityStage ORDER BY SortOrder",
        )
        .await;
    assert_eq!(stages.status, 200, "{}", stages.text);
    let body = stages.json();
    let first = &body["records"][0];
    assert_eq!(first["MasterLabel"], "Prospecting");
    let url = format!(
        "{V}/sobjects/OpportunityStage/{}",
        first["Id"].as_str().unwrap()
    );
    assert_eq!(org.get(&url).await.status, 200);
    org.send(Method::PATCH, &url, Some(r#"{"MasterLabel":"x"}"#))
        .await
        .assert_error(403, "INSUFFICIENT_ACCESS_OR_READONLY");
    org.send(Method::DELETE, &url, None)
        .await
        .assert_error(403, "INSUFFICIENT_ACCESS_OR_READONLY");
}

#[tokio::test]
async fn ids_that_are_not_ids_or_not_there() {
    let org = TestOrg::start().await;
    let e = org
        .get(&format!("{V}/sobjects/Contact/not-an-id"))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(
        e["message"],
        "Provided external ID field does not exist or is not accessible: not-an-id"
    );
    org.get(&format!("{V}/sobjects/Contact/0035g0000099999AAA"))
        .await
        .assert_error(404, "NOT_FOUND");
    org.get(&format!("{V}/sobjects/Nope/0035g0000099999AAA"))
        .await
        .assert_error(404, "NOT_FOUND");
    let id = org.create("Account", json!({"Name": "Acme"})).await;
    // An Account id on a Contact path.
    let wrong_type = org.get(&format!("{V}/sobjects/Contact/{id}")).await;
    assert!(
        wrong_type.status == 404 || wrong_type.status == 400,
        "{}",
        wrong_type.text
    );
    org.get(&format!("{V}/sobjects/Account/{id}?fields=Name,Nope"))
        .await
        .assert_error(400, "INVALID_FIELD");
}

#[tokio::test]
async fn unsupported_methods_are_not_allowed() {
    let org = TestOrg::start().await;
    let id = org.create("Account", json!({"Name": "Acme"})).await;
    let e = org
        .send(
            Method::PUT,
            &format!("{V}/sobjects/Account/{id}"),
            Some("{}"),
        )
        .await
        .assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(
        e["message"],
        "HTTP Method 'PUT' not allowed. Allowed are GET,PATCH,DELETE,HEAD"
    );
    for (method, path) in [
        (Method::POST, format!("{V}/limits")),
        (Method::DELETE, format!("{V}/sobjects")),
        (Method::PATCH, format!("{V}/sobjects/Account")),
        (Method::POST, format!("{V}/query?q=SELECT+Id+FROM+Account")),
        (Method::PUT, format!("{V}/sobjects/Account/describe")),
    ] {
        org.send(method, &path, Some("{}"))
            .await
            .assert_error(405, "METHOD_NOT_ALLOWED");
    }
    let head = org
        .send(Method::HEAD, &format!("{V}/sobjects/Account/{id}"), None)
        .await;
    assert_eq!(head.status, 200);
}

#[tokio::test]
async fn describe_global_basic_info_and_describe() {
    let org = TestOrg::start().await;
    let global = org.get(&format!("{V}/sobjects/")).await.json();
    assert_eq!(global["encoding"], "UTF-8");
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    for name in [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "OpportunityStage",
        "Task",
        "Event",
        "Note",
        "User",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }

    let info = org.get(&format!("{V}/sobjects/Contact")).await;
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["objectDescribe"]["name"], "Contact");
    assert_eq!(info["objectDescribe"]["keyPrefix"], "003");
    assert!(info["recentItems"].is_array());

    let describe = org
        .get(&format!("{V}/sobjects/Contact/describe"))
        .await
        .json();
    assert_eq!(describe["name"], "Contact");
    let last = describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "LastName")
        .cloned()
        .unwrap();
    assert_eq!(last["type"], "string");
    assert_eq!(last["nillable"], false);
    assert_eq!(
        describe["urls"]["sobject"],
        "/services/data/v66.0/sobjects/Contact"
    );

    org.get(&format!("{V}/sobjects/Nope"))
        .await
        .assert_error(404, "NOT_FOUND");
    org.get(&format!("{V}/sobjects/Nope/describe"))
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let org = TestOrg::start().await;
    let big = format!(r#"{{"LastName":"{}"}}"#, "x".repeat(11 * 1024 * 1024));
    let a = org
        .send(Method::POST, &format!("{V}/sobjects/Contact"), Some(&big))
        .await;
    a.assert_error(413, "EXCEEDED_MAX_SIZE_REQUEST");
}

#[tokio::test]
async fn deleted_and_updated_windows() {
    let org = TestOrg::start().await;
    let emu = org.handle.emulator();
    let fmt = |ms: i64| {
        patchbay_fake_salesforce_data::datetime::format_datetime(ms).replace("+0000", "Z")
    };
    let start = fmt(emu.now_ms() - 60_000);
    let kept = org.create("Account", json!({"Name": "Kept"})).await;
    let gone = org.create("Account", json!({"Name": "Gone"})).await;
    let del = org
        .send(
            Method::DELETE,
            &format!("{V}/sobjects/Account/{gone}"),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    // The window is cut to whole minutes and ends no later than now.
    emu.advance_clock(120);
    let end = fmt(emu.now_ms());

    let a = org
        .get(&format!(
            "{V}/sobjects/Account/deleted/?start={start}&end={end}"
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let body = a.json();
    let deleted = body["deletedRecords"].as_array().unwrap();
    assert_eq!(deleted.len(), 1, "{body}");
    assert_eq!(deleted[0]["id"], gone.as_str());
    assert!(
        deleted[0]["deletedDate"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    assert!(body["earliestDateAvailable"].is_string());
    assert!(body["latestDateCovered"].is_string());

    let a = org
        .get(&format!(
            "{V}/sobjects/Account/updated/?start={start}&end={end}"
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let ids = a.json()["ids"].clone();
    assert!(ids.as_array().unwrap().contains(&json!(kept)), "{ids}");
    assert!(!ids.as_array().unwrap().contains(&json!(gone)), "{ids}");

    // An unencoded `+00:00` offset arrives as a space and is still understood.
    let plus = start.replace('Z', "+00:00");
    let a = org
        .get(&format!(
            "{V}/sobjects/Account/updated?start={plus}&end={end}"
        ))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);

    for query in [
        "",
        "?start=garbage&end=2026-01-01T00:00:00Z",
        "?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z",
    ] {
        org.get(&format!("{V}/sobjects/Account/deleted/{query}"))
            .await
            .assert_error(400, "INVALID_REPLICATION_DATE");
    }
    org.get(&format!(
        "{V}/sobjects/Nope/deleted/?start={start}&end={end}"
    ))
    .await
    .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn if_modified_since_answers_304_for_unchanged_records() {
    let org = TestOrg::start().await;
    let id = org.create("Account", json!({"Name": "Cached"})).await;
    let url = format!("{V}/sobjects/Account/{id}");
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let past = "Mon, 01 Jan 2001 00:00:00 GMT";
    let get = |since: &'static str| {
        let org = &org;
        let url = url.clone();
        async move {
            org.call(
                Method::GET,
                &url,
                None,
                Some(&org.token),
                &[("if-modified-since", since)],
            )
            .await
        }
    };
    let unchanged = get(future).await;
    assert_eq!(unchanged.status, 304);
    assert!(unchanged.text.is_empty());
    assert!(unchanged.limit_info().is_some());
    assert_eq!(get(past).await.status, 200);
    assert_eq!(get("not a date").await.status, 200);
}
