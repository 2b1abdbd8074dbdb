use super::*;
use serde_json::json;

const NOW: i64 = 1_727_433_541_000; // 2024-09-27T10:39:01Z
const V: &str = "66.0";

fn org() -> Org {
    Org::new(&OrgOptions::default(), NOW).unwrap()
}

fn create_ok(org: &mut Org, object: &str, body: serde_json::Value) -> SfId {
    let user = org.default_user_id();
    org.create(object, &body, user, NOW)
        .unwrap_or_else(|e| panic!("{object}: {e:?}"))
}

fn create_err(org: &mut Org, object: &str, body: serde_json::Value) -> Vec<SfError> {
    let user = org.default_user_id();
    org.create(object, &body, user, NOW).unwrap_err()
}

fn get(org: &Org, object: &str, id: SfId) -> serde_json::Value {
    org.get(object, &id.to_string(), None, V).unwrap()
}

#[test]
fn new_org_has_default_user_and_stages() {
    let org = org();
    let users = org.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].username, "admin@example.com");
    assert!(users[0].active);
    assert_eq!(org.default_user_id(), users[0].id);
    assert_eq!(org.count("OpportunityStage"), Some(10));
    assert_eq!(org.org_id().key_prefix(), "00D");
    let u = get(&org, "User", users[0].id);
    assert_eq!(
        u["CreatedById"],
        users[0].id.to_string(),
        "the first user creates itself"
    );
}

#[test]
fn create_and_get_a_contact() {
    let mut org = org();
    let acc = create_ok(
        &mut org,
        "Account",
        json!({"Name": "Acme", "BillingCity": "Paris", "Tier__c": "Gold"}),
    );
    let id = create_ok(
        &mut org,
        "contact",
        json!({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@acme.test", "AccountId": acc.to_string()}),
    );
    assert_eq!(id.key_prefix(), "003");
    let c = get(&org, "Contact", id);
    assert_eq!(
        c["attributes"],
        json!({"type": "Contact", "url": format!("/services/data/v66.0/sobjects/Contact/{id}")})
    );
    assert_eq!(c["Id"], id.to_string());
    assert_eq!(c["Name"], "Ada Lovelace");
    assert_eq!(c["AccountId"], acc.to_string());
    assert_eq!(c["IsDeleted"], false);
    assert_eq!(c["CreatedDate"], "2024-09-27T10:39:01.000+0000");
    assert_eq!(c["SystemModstamp"], "2024-09-27T10:39:01.000+0000");
    assert_eq!(c["OwnerId"], org.default_user_id().to_string());
    assert_eq!(c["MailingAddress"], serde_json::Value::Null);
    assert_eq!(c["Tier__c"], serde_json::Value::Null);
    let a = get(&org, "Account", acc);
    assert_eq!(a["BillingAddress"]["city"], "Paris");
    assert_eq!(a["BillingAddress"]["street"], serde_json::Value::Null);
    assert_eq!(a["Tier__c"], "Gold");

    let some = org
        .get(
            "Contact",
            &id.to_string(),
            Some(&["name".to_owned(), "Email".to_owned()]),
            V,
        )
        .unwrap();
    assert_eq!(
        some,
        json!({"attributes": c["attributes"], "Name": "Ada Lovelace", "Email": "ada@acme.test"})
    );
    let e = org
        .get("Contact", &id.to_string(), Some(&["Foo".to_owned()]), V)
        .unwrap_err();
    assert_eq!(e.error_code, "INVALID_FIELD");
    assert!(
        e.message
            .starts_with("No such column 'Foo' on entity 'Contact'.")
    );
    // 15-character and lower-cased 18-character ids find the same record.
    assert!(org.get("Contact", id.as_str15(), None, V).is_ok());
    assert!(
        org.get("Contact", &id.to_string().to_lowercase(), None, V)
            .is_ok()
    );
}

#[test]
fn get_unknown_things_is_not_found() {
    let mut org = org();
    let acc = create_ok(&mut org, "Account", json!({"Name": "Acme"}));
    let e = org.get("Contact", &acc.to_string(), None, V).unwrap_err();
    assert_eq!((e.status, e.error_code.as_str()), (404, "NOT_FOUND"));
    let e = org.get("Contact", "0035g0000000zzz", None, V).unwrap_err();
    assert_eq!(e.message, "The requested resource does not exist");
    let e = org.get("Contact", "nope", None, V).unwrap_err();
    assert_eq!(
        e.message,
        "Provided external ID field does not exist or is not accessible: nope"
    );
    let e = org.get("Widget", &acc.to_string(), None, V).unwrap_err();
    assert_eq!(e.status, 404);
}

#[test]
fn create_validation_errors() {
    let mut org = org();
    let e = create_err(&mut org, "Contact", json!({"FirstName": "A"}));
    assert_eq!(e[0].error_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(e[0].message, "Required fields are missing: [LastName]");
    assert_eq!(e[0].fields, Some(vec!["LastName".to_owned()]));
    let e = create_err(&mut org, "Lead", json!({"LastName": null}));
    assert_eq!(
        e[0].message,
        "Required fields are missing: [LastName, Company]"
    );

    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "Foo": 1, "Bar__c": 2}),
    );
    // One error per unknown field, in the body's key order: which order that is depends on
    // whether serde_json's `preserve_order` is unified into the build, so compare as a set.
    assert_eq!(e.len(), 2);
    assert!(e.iter().all(|x| x.error_code == "INVALID_FIELD"));
    let mut messages: Vec<&str> = e.iter().map(|x| x.message.as_str()).collect();
    messages.sort_unstable();
    assert_eq!(
        messages,
        [
            "No such column 'Bar__c' on sobject of type Contact",
            "No such column 'Foo' on sobject of type Contact"
        ]
    );

    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "Id": "003000000000001"}),
    );
    assert_eq!(
        e[0].message,
        "The Id field should not be specified in the sobject data."
    );

    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "Name": "Y", "IsDeleted": true}),
    );
    assert_eq!(e[0].error_code, "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert!(
        e[0].message
            .starts_with("Unable to create/update fields: IsDeleted, Name. Please check"),
        "{}",
        e[0].message
    );

    let e = create_err(
        &mut org,
        "Account",
        json!({"Name": "X", "NumberOfEmployees": "many"}),
    );
    assert_eq!(e[0].error_code, "JSON_PARSER_ERROR");

    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "AccountId": "bad"}),
    );
    assert_eq!(e[0].error_code, "MALFORMED_ID");
    let user = org.default_user_id().to_string();
    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "AccountId": user}),
    );
    assert_eq!(
        e[0].error_code, "MALFORMED_ID",
        "a user id is the wrong type for AccountId"
    );
    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "AccountId": "0015g0000000zzz"}),
    );
    assert_eq!(e[0].error_code, "INVALID_CROSS_REFERENCE_KEY");
    assert_eq!(e[0].fields, Some(vec!["AccountId".to_owned()]));

    let e = create_err(
        &mut org,
        "Opportunity",
        json!({"Name": "X", "StageName": "Maybe", "CloseDate": "2024-10-01"}),
    );
    assert_eq!(e[0].error_code, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    assert_eq!(
        e[0].message,
        "Stage Name: bad value for restricted picklist field: Maybe"
    );
    let e = create_err(&mut org, "Opportunity", json!({"Name": "X"}));
    assert_eq!(
        e[0].message,
        "Required fields are missing: [StageName, CloseDate]"
    );
    // Unrestricted picklists take any value.
    create_ok(
        &mut org,
        "Account",
        json!({"Name": "X", "Industry": "Space Mining"}),
    );

    let e = create_err(&mut org, "Note", json!({"Body": "x"}));
    assert_eq!(
        e[0].message,
        "Required fields are missing: [Title, ParentId]"
    );
    let e = create_err(&mut org, "Widget", json!({}));
    assert_eq!(e[0].status, 404);
    let e = create_err(&mut org, "Account", json!([1, 2]));
    assert_eq!(e[0].error_code, "JSON_PARSER_ERROR");
    assert_eq!(
        org.count("Contact"),
        Some(0),
        "failed creates store nothing"
    );
}

#[test]
fn defaults_and_derived_fields() {
    let mut org = org();
    let lead = create_ok(
        &mut org,
        "Lead",
        json!({"LastName": "Doe", "Company": "Acme"}),
    );
    let l = get(&org, "Lead", lead);
    assert_eq!(l["Status"], "Open - Not Contacted");
    assert_eq!(l["Name"], "Doe");
    assert_eq!(l["IsConverted"], false);

    let acc = create_ok(&mut org, "Account", json!({"Name": "Acme"}));
    let opp = create_ok(
        &mut org,
        "Opportunity",
        json!({"Name": "Deal", "StageName": "Closed Won", "CloseDate": "2024-10-01", "Amount": 5000, "AccountId": acc.to_string()}),
    );
    let o = get(&org, "Opportunity", opp);
    assert_eq!(
        (o["IsClosed"].clone(), o["IsWon"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(o["Probability"], 100.0);
    assert_eq!(o["ForecastCategory"], "Closed");
    assert_eq!(o["ForecastCategoryName"], "Closed");
    assert_eq!(o["Amount"], 5000.0);
    assert_eq!(o["CloseDate"], "2024-10-01");

    let user = org.default_user_id();
    org.update(
        "Opportunity",
        &opp.to_string(),
        &json!({"StageName": "Negotiation/Review"}),
        user,
        NOW + 1,
    )
    .unwrap();
    let o = get(&org, "Opportunity", opp);
    assert_eq!(o["IsClosed"], false);
    assert_eq!(o["Probability"], 90.0);
    assert_eq!(o["ForecastCategory"], "Pipeline");
    org.update(
        "Opportunity",
        &opp.to_string(),
        &json!({"StageName": "Prospecting", "Probability": 33}),
        user,
        NOW + 2,
    )
    .unwrap();
    assert_eq!(get(&org, "Opportunity", opp)["Probability"], 33.0);

    let task = create_ok(
        &mut org,
        "Task",
        json!({"Subject": "Call", "WhatId": opp.to_string()}),
    );
    let t = get(&org, "Task", task);
    assert_eq!(
        (t["Status"].clone(), t["Priority"].clone()),
        (json!("Not Started"), json!("Normal"))
    );
    assert_eq!(t["IsClosed"], false);
    assert_eq!(t["AccountId"], acc.to_string(), "the opportunity's account");
    org.update(
        "Task",
        &task.to_string(),
        &json!({"Status": "Completed", "Priority": "High"}),
        user,
        NOW + 5,
    )
    .unwrap();
    let t = get(&org, "Task", task);
    assert_eq!(
        (t["IsClosed"].clone(), t["IsHighPriority"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(t["CompletedDateTime"], "2024-09-27T10:39:01.005+0000");
    let e = org
        .update(
            "Task",
            &task.to_string(),
            &json!({"Status": null}),
            user,
            NOW,
        )
        .unwrap_err();
    assert_eq!(e[0].error_code, "REQUIRED_FIELD_MISSING");
}

#[test]
fn event_time_rules() {
    let mut org = org();
    let e = create_err(&mut org, "Event", json!({"Subject": "Meet"}));
    assert_eq!(
        e[0].message,
        "Required fields are missing: [ActivityDateTime]"
    );
    let e = create_err(
        &mut org,
        "Event",
        json!({"StartDateTime": "2024-10-01T09:00:00Z"}),
    );
    assert_eq!(
        e[0].message,
        "Required fields are missing: [DurationInMinutes]"
    );
    let ev = create_ok(
        &mut org,
        "Event",
        json!({"StartDateTime": "2024-10-01T09:00:00Z", "DurationInMinutes": 30}),
    );
    let v = get(&org, "Event", ev);
    assert_eq!(v["EndDateTime"], "2024-10-01T09:30:00.000+0000");
    assert_eq!(v["ActivityDateTime"], "2024-10-01T09:00:00.000+0000");
    assert_eq!(v["ActivityDate"], "2024-10-01");
    let ev2 = create_ok(
        &mut org,
        "Event",
        json!({"ActivityDateTime": "2024-10-01T11:00:00+02:00", "EndDateTime": "2024-10-01T10:00:00Z"}),
    );
    assert_eq!(get(&org, "Event", ev2)["DurationInMinutes"], 60);
    let e = create_err(
        &mut org,
        "Event",
        json!({"StartDateTime": "2024-10-01T10:00:00Z", "EndDateTime": "2024-10-01T09:00:00Z"}),
    );
    assert_eq!(e[0].error_code, "FIELD_INTEGRITY_EXCEPTION");
    let e = create_err(
        &mut org,
        "Event",
        json!({"StartDateTime": "2024-10-01T10:00:00Z", "DurationInMinutes": i64::MAX}),
    );
    assert_eq!(e[0].error_code, "NUMBER_OUTSIDE_VALID_RANGE");
    let e = create_err(&mut org, "Event", json!({"IsAllDayEvent": true}));
    assert_eq!(e[0].message, "Required fields are missing: [ActivityDate]");
    let all = create_ok(
        &mut org,
        "Event",
        json!({"IsAllDayEvent": true, "ActivityDate": "2024-10-02"}),
    );
    let v = get(&org, "Event", all);
    assert_eq!(v["DurationInMinutes"], 1440);
    assert_eq!(v["StartDateTime"], "2024-10-02T00:00:00.000+0000");
    // Moving the start keeps the duration.
    let user = org.default_user_id();
    org.update(
        "Event",
        &ev.to_string(),
        &json!({"StartDateTime": "2024-10-01T12:00:00Z"}),
        user,
        NOW,
    )
    .unwrap();
    assert_eq!(
        get(&org, "Event", ev)["EndDateTime"],
        "2024-10-01T12:30:00.000+0000"
    );
}

#[test]
fn update_and_delete() {
    let mut org = org();
    let user = org.default_user_id();
    let id = create_ok(
        &mut org,
        "Contact",
        json!({"LastName": "Doe", "Email": "d@x.test", "Phone": "1"}),
    );
    let sid = id.to_string();
    org.update(
        "Contact",
        &sid,
        &json!({"FirstName": "Jane", "Phone": null}),
        user,
        NOW + 60_000,
    )
    .unwrap();
    let c = get(&org, "Contact", id);
    assert_eq!(c["Name"], "Jane Doe");
    assert_eq!(c["Phone"], serde_json::Value::Null);
    assert_eq!(c["Email"], "d@x.test", "fields not sent are left alone");
    assert_eq!(c["LastModifiedDate"], "2024-09-27T10:40:01.000+0000");
    assert_eq!(c["SystemModstamp"], "2024-09-27T10:40:01.000+0000");
    assert_eq!(c["CreatedDate"], "2024-09-27T10:39:01.000+0000");

    let e = org
        .update("Contact", &sid, &json!({"LastName": null}), user, NOW)
        .unwrap_err();
    assert_eq!(e[0].error_code, "REQUIRED_FIELD_MISSING");
    let e = org
        .update("Contact", &sid, &json!({"Name": "x"}), user, NOW)
        .unwrap_err();
    assert_eq!(e[0].error_code, "INVALID_FIELD_FOR_INSERT_UPDATE");
    let e = org
        .update("Contact", "0035g0000000zzz", &json!({}), user, NOW)
        .unwrap_err();
    assert_eq!(e[0].error_code, "NOT_FOUND");

    org.delete("Contact", &sid, user, NOW + 120_000).unwrap();
    assert_eq!(org.count("Contact"), Some(0));
    let e = org.get("Contact", &sid, None, V).unwrap_err();
    assert_eq!(e.error_code, "NOT_FOUND");
    let e = org.delete("Contact", &sid, user, NOW).unwrap_err();
    assert_eq!(
        (e.status, e.error_code.as_str(), e.message.as_str()),
        (404, "ENTITY_IS_DELETED", "entity is deleted")
    );
    let e = org
        .update("Contact", &sid, &json!({"FirstName": "x"}), user, NOW)
        .unwrap_err();
    assert_eq!(e[0].error_code, "ENTITY_IS_DELETED");
    // A deleted parent can no longer be referenced.
    let acc = create_ok(&mut org, "Account", json!({"Name": "A"}));
    org.delete("Account", &acc.to_string(), user, NOW).unwrap();
    let e = create_err(
        &mut org,
        "Contact",
        json!({"LastName": "X", "AccountId": acc.to_string()}),
    );
    assert_eq!(e[0].error_code, "INVALID_CROSS_REFERENCE_KEY");
}

#[test]
fn opportunity_stage_is_read_only() {
    let mut org = org();
    let user = org.default_user_id();
    let e = create_err(&mut org, "OpportunityStage", json!({"MasterLabel": "X"}));
    assert_eq!(
        (e[0].status, e[0].error_code.as_str()),
        (403, "INSUFFICIENT_ACCESS_OR_READONLY")
    );
    let stage = org.tables[org.schema.object_index("OpportunityStage").unwrap()][0]
        .id()
        .unwrap();
    let e = org
        .update(
            "OpportunityStage",
            &stage.to_string(),
            &json!({"IsActive": false}),
            user,
            NOW,
        )
        .unwrap_err();
    assert_eq!(e[0].error_code, "INSUFFICIENT_ACCESS_OR_READONLY");
    let e = org
        .delete("OpportunityStage", &stage.to_string(), user, NOW)
        .unwrap_err();
    assert_eq!(e.error_code, "INSUFFICIENT_ACCESS_OR_READONLY");
    let s = get(&org, "OpportunityStage", stage);
    assert_eq!(s["MasterLabel"], "Prospecting");
    assert_eq!(s["DefaultProbability"], 10.0);
    assert_eq!(s["SortOrder"], 1);
    let e = org
        .delete("User", &user.to_string(), user, NOW)
        .unwrap_err();
    assert_eq!(e.error_code, "INSUFFICIENT_ACCESS_OR_READONLY");
}

#[test]
fn users_can_be_created_and_found() {
    let mut org = org();
    let new = NewUser {
        username: "jane.doe@acme.test".into(),
        email: "jane@acme.test".into(),
        first_name: Some("Jane".into()),
        last_name: "Doe".into(),
    };
    let id = org.create_user(&new, NOW).unwrap();
    let u = org.find_user_by_username("JANE.DOE@acme.test").unwrap();
    assert_eq!(u.id, id);
    assert_eq!(u.name, "Jane Doe");
    assert_eq!(u.email, "jane@acme.test");
    assert!(u.active);
    assert_eq!(org.user(id), Some(u));
    assert_eq!(get(&org, "User", id)["Alias"], "JDoe");
    let e = org.create_user(&new, NOW).unwrap_err();
    assert_eq!(e[0].error_code, "DUPLICATE_USERNAME");
    let bad = NewUser {
        email: "nope".into(),
        username: "x@y.test".into(),
        ..new
    };
    assert_eq!(
        org.create_user(&bad, NOW).unwrap_err()[0].error_code,
        "INVALID_EMAIL_ADDRESS"
    );
    assert!(org.find_user_by_username("nobody@x.test").is_none());
    assert_eq!(org.users().len(), 2);
    // Deactivating through the REST shape.
    let admin = org.default_user_id();
    org.update(
        "User",
        &id.to_string(),
        &json!({"IsActive": false}),
        admin,
        NOW,
    )
    .unwrap();
    assert!(!org.user(id).unwrap().active);
}

#[test]
fn org_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Org>();
}
