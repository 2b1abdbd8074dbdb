use serde_json::{Value, json};

use patchbay_unified::CommonParams;

use super::super::records::*;
use super::super::request::{Method, SalesforceRequest};
use super::*;

const CONTACT_ID: &str = "003000000000001AAA";
const ACCOUNT_ID: &str = "001000000000001AAA";
const LEAD_ID: &str = "00Q000000000001AAA";
const OPP_ID: &str = "006000000000001AAA";
const USER_ID: &str = "005000000000001AAA";
const EVENT_ID: &str = "00U000000000001AAA";
const TASK_ID: &str = "00T000000000001AAA";
const NOTE_ID: &str = "002000000000001AAA";

fn body(request: &SalesforceRequest) -> &serde_json::Map<String, Value> {
    request
        .body
        .as_ref()
        .and_then(Value::as_object)
        .expect("a JSON object body")
}

fn err_field(e: &UnifiedError) -> Option<String> {
    match e {
        UnifiedError::RequestValidation {
            detail: Some(d), ..
        } => d["field"].as_str().map(str::to_owned),
        _ => None,
    }
}

#[test]
fn contact_create_and_update() {
    let create = plan_create(
        Resource::Contacts,
        json!({
            "id": "ignored", "created_at": "2020-01-01T00:00:00Z", "gender": "female",
            "first_name": "Elon", "last_name": "Musk", "company_id": ACCOUNT_ID, "birthday": "1971-06-28",
            "emails": [{"email": "work@x.com", "type": "work"}],
            "phone_numbers": [{"number": "555", "type": "mobile"}, {"number": "556", "type": "primary"}],
            "addresses": [{"type": "primary", "line1": "1 Rocket Rd", "line2": "Unit 2", "city": "Hawthorne"}],
            "custom_fields": [{"id": "Level__c", "value": "Gold"}, {"name": "Score__c", "value": 3}]
        }),
    )
    .unwrap();
    assert_eq!(create.method, Method::Post);
    assert_eq!(create.path, "sobjects/Contact");
    assert_eq!(
        Value::Object(body(&create).clone()),
        json!({
            "FirstName": "Elon", "LastName": "Musk", "AccountId": ACCOUNT_ID, "Birthdate": "1971-06-28",
            "Email": "work@x.com", "MobilePhone": "555", "Phone": "556",
            "MailingStreet": "1 Rocket Rd\nUnit 2", "MailingCity": "Hawthorne", "MailingState": null,
            "MailingPostalCode": null, "MailingCountry": null,
            "Level__c": "Gold", "Score__c": 3
        })
    );

    let update = plan_update(
        Resource::Contacts,
        CONTACT_ID,
        json!({"title": null, "phone_numbers": [{"number": "777"}]}),
    )
    .unwrap();
    assert_eq!(update.method, Method::Patch);
    assert_eq!(update.path, format!("sobjects/Contact/{CONTACT_ID}"));
    // arrays replace: the untyped number takes the first free slot, the others are cleared
    assert_eq!(
        Value::Object(body(&update).clone()),
        json!({"Title": null, "Phone": "777", "MobilePhone": null, "HomePhone": null})
    );
}

#[test]
fn write_errors_are_validation_errors() {
    // More items than the object has fields for are left out and named, not refused.
    let extra = plan_update(
        Resource::Contacts,
        CONTACT_ID,
        json!({"emails": [{"email": "a@x"}, {"email": "b@x"}]}),
    )
    .unwrap();
    assert_eq!(extra.ignored, vec!["emails[1]".to_owned()]);
    let cases = [
        (
            Resource::Contacts,
            json!({"emails": [{"type": "work"}]}),
            "emails",
        ),
        (
            Resource::Contacts,
            json!({"company_id": "001' OR Id != '"}),
            "company_id",
        ),
        (
            Resource::Contacts,
            json!({"birthday": "28/06/1971"}),
            "birthday",
        ),
        (
            Resource::Contacts,
            json!({"custom_fields": [{"id": "Email", "value": "x"}]}),
            "custom_fields",
        ),
        (
            Resource::Contacts,
            json!({"custom_fields": [{"id": "A__c", "value": {"x": 1}}]}),
            "custom_fields",
        ),
        (
            Resource::Companies,
            json!({"number_of_employees": "lots"}),
            "number_of_employees",
        ),
        (Resource::Users, json!({"status": "sleeping"}), "status"),
        (Resource::Activities, json!({"show_as": "away"}), "show_as"),
    ];
    for (resource, b, field) in cases {
        let id = match resource {
            Resource::Companies => ACCOUNT_ID,
            Resource::Users => USER_ID,
            Resource::Activities => EVENT_ID,
            _ => CONTACT_ID,
        };
        let err = plan_update(resource, id, b.clone()).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError", "{b}");
        assert_eq!(err_field(&err).as_deref(), Some(field), "{b}: {err}");
    }
    for (resource, id) in [
        (Resource::Contacts, "not-an-id"),
        (Resource::Contacts, LEAD_ID),
        (Resource::Activities, NOTE_ID),
        (Resource::Notes, "a0B000000000001AAA"),
    ] {
        let err = plan_update(resource, id, json!({})).unwrap_err();
        assert_eq!(err.type_name(), "EntityNotFoundError", "{resource:?} {id}");
        assert!(plan_get(resource, id, &CommonParams::default()).is_err());
        assert!(plan_delete(resource, id).is_err());
    }
}

#[test]
fn company_and_lead_writes() {
    let create = plan_create(
        Resource::Companies,
        json!({"name": "SpaceX", "number_of_employees": "9000", "websites": [{"url": "https://spacex.com"}],
               "addresses": [{"type": "shipping", "city": "Boca Chica"}, {"city": "Hawthorne"}]}),
    )
    .unwrap();
    let b = body(&create);
    assert_eq!(b["Name"], "SpaceX");
    assert_eq!(b["NumberOfEmployees"], 9000.0);
    assert_eq!(b["Website"], "https://spacex.com");
    assert_eq!(b["ShippingCity"], "Boca Chica");
    assert_eq!(b["BillingCity"], "Hawthorne");

    let lead = plan_create(
        Resource::Leads,
        json!({"name": "Ada King Lovelace", "company_name": "Analytical"}),
    )
    .unwrap();
    let b = body(&lead);
    assert_eq!(b["LastName"], "Lovelace");
    assert_eq!(b["FirstName"], "Ada King");
    assert_eq!(b["Company"], "Analytical");
    assert!(!b.contains_key("Name"), "Name is read-only in Salesforce");
    let lead = plan_create(Resource::Leads, json!({"name": "Cher", "first_name": null})).unwrap();
    assert_eq!(body(&lead)["LastName"], "Cher");
    assert_eq!(body(&lead)["FirstName"], Value::Null);
    // lead `name` is required by the spec
    assert!(plan_create(Resource::Leads, json!({"last_name": "X"})).is_err());
}

#[test]
fn opportunity_create_needs_close_date_and_stage() {
    let err = plan_create(
        Resource::Opportunities,
        json!({"title": "Deal", "pipeline_stage_id": "Prospecting"}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("close_date"));
    let err = plan_create(
        Resource::Opportunities,
        json!({"title": "Deal", "close_date": "2025-01-31"}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("pipeline_stage_id"));
    let ok = plan_create(
        Resource::Opportunities,
        json!({"title": "Deal", "close_date": "2025-01-31", "pipeline_stage_id": "Prospecting",
               "monetary_amount": 1000, "status": "ignored (read-only)", "pipeline_id": "default"}),
    )
    .unwrap();
    assert_eq!(
        Value::Object(body(&ok).clone()),
        json!({"Name": "Deal", "CloseDate": "2025-01-31", "StageName": "Prospecting", "Amount": 1000.0})
    );
    // an update needs neither
    assert!(plan_update(Resource::Opportunities, OPP_ID, json!({"title": "x"})).is_ok());
}

#[test]
fn activities_pick_event_or_task_and_enforce_event_timing() {
    let err = plan_create(
        Resource::Activities,
        json!({"type": "meeting", "title": "x"}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("activity_datetime"));
    let err = plan_create(
        Resource::Activities,
        json!({"type": "meeting", "activity_datetime": "2024-05-01T12:00:00Z"}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("duration_seconds"));
    let err = plan_create(
        Resource::Activities,
        json!({"type": "meeting", "all_day_event": true}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("activity_date"));

    let event = plan_create(
        Resource::Activities,
        json!({"type": "meeting", "title": "Kickoff", "activity_datetime": "2024-05-01T14:00:00+02:00",
               "duration_seconds": 1800, "contact_id": CONTACT_ID, "opportunity_id": OPP_ID}),
    )
    .unwrap();
    assert_eq!(event.path, "sobjects/Event");
    assert_eq!(
        Value::Object(body(&event).clone()),
        json!({"Subject": "Kickoff", "ActivityDateTime": "2024-05-01T12:00:00.000Z",
               "DurationInMinutes": 30, "WhoId": CONTACT_ID, "WhatId": OPP_ID})
    );
    let all_day = plan_create(
        Resource::Activities,
        json!({"type": "other", "all_day_event": true, "activity_date": "2024-05-01"}),
    )
    .unwrap();
    assert_eq!(body(&all_day)["ActivityDate"], "2024-05-01");
    let with_end = plan_create(
        Resource::Activities,
        json!({"type": "meeting", "start_datetime": "2024-05-01T12:00:00Z", "end_datetime": "2024-05-01T13:00:00Z"}),
    );
    assert!(with_end.is_ok());

    for (t, subtype) in [("task", "Task"), ("call", "Call"), ("email", "Email")] {
        let task = plan_create(
            Resource::Activities,
            json!({"type": t, "title": "Follow up", "done": true, "lead_id": LEAD_ID}),
        )
        .unwrap();
        assert_eq!(task.path, "sobjects/Task");
        let b = body(&task);
        assert_eq!(b["TaskSubtype"], subtype);
        assert_eq!(b["Status"], "Completed");
        assert_eq!(b["WhoId"], LEAD_ID);
    }

    let err = plan_create(
        Resource::Activities,
        json!({"type": "task", "contact_id": CONTACT_ID, "lead_id": LEAD_ID}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("lead_id"));
    let err = plan_update(Resource::Activities, EVENT_ID, json!({"type": "task"})).unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("type"));
    let update = plan_update(
        Resource::Activities,
        TASK_ID,
        json!({"title": "x", "contact_id": null}),
    )
    .unwrap();
    assert_eq!(update.path, format!("sobjects/Task/{TASK_ID}"));
    assert_eq!(
        Value::Object(body(&update).clone()),
        json!({"Subject": "x", "WhoId": null})
    );
    assert_eq!(
        plan_delete(Resource::Activities, TASK_ID).unwrap().path,
        format!("sobjects/Task/{TASK_ID}")
    );
    assert_eq!(
        plan_delete(Resource::Activities, EVENT_ID).unwrap().path,
        format!("sobjects/Event/{EVENT_ID}")
    );
}

#[test]
fn notes_have_one_parent() {
    let note = plan_create(
        Resource::Notes,
        json!({"title": "Minutes", "content": "Hi", "opportunity_id": OPP_ID, "lead_id": LEAD_ID, "company_id": null}),
    )
    .unwrap();
    assert_eq!(
        Value::Object(body(&note).clone()),
        json!({"Title": "Minutes", "Body": "Hi", "ParentId": OPP_ID})
    );
    let first = plan_create(
        Resource::Notes,
        json!({"title": "t", "lead_id": LEAD_ID, "contact_id": CONTACT_ID}),
    )
    .unwrap();
    assert_eq!(body(&first)["ParentId"], CONTACT_ID, "contact comes first");
    let err = plan_create(Resource::Notes, json!({"title": "t"})).unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
    let err = plan_create(
        Resource::Notes,
        json!({"content": "x", "contact_id": CONTACT_ID}),
    )
    .unwrap_err();
    assert_eq!(err_field(&err).as_deref(), Some("title"));
    let err = plan_update(Resource::Notes, NOTE_ID, json!({"lead_id": LEAD_ID})).unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
    assert!(plan_update(Resource::Notes, NOTE_ID, json!({"content": "new"})).is_ok());
}

#[test]
fn gets_deletes_and_read_only_resources() {
    let common = CommonParams {
        pass_through: [("fields".to_owned(), "Name,Email".to_owned())].into(),
        ..CommonParams::default()
    };
    let get = plan_get(Resource::Contacts, CONTACT_ID, &common).unwrap();
    assert_eq!(
        (get.method, get.path.as_str()),
        (Method::Get, "sobjects/Contact/003000000000001AAA")
    );
    assert_eq!(get.query, [("fields".to_owned(), "Name,Email".to_owned())]);
    for bad in ["../../limits", "003000000000001AAA/x", "x", ""] {
        assert_eq!(
            plan_get(Resource::Contacts, bad, &common)
                .unwrap_err()
                .type_name(),
            "EntityNotFoundError"
        );
        assert!(plan_delete(Resource::Contacts, bad).is_err());
    }
    let pipeline = plan_get(Resource::Pipelines, "default", &common).unwrap();
    assert_eq!(pipeline.path, "query");
    assert!(pipeline.query[0].1.starts_with("SELECT "));
    assert!(
        pipeline.query[0]
            .1
            .contains("FROM OpportunityStage ORDER BY SortOrder")
    );
    assert_eq!(
        plan_get(Resource::Pipelines, "other", &common)
            .unwrap_err()
            .type_name(),
        "EntityNotFoundError"
    );
    for result in [
        plan_create(Resource::Pipelines, json!({"name": "x"})).map(|_| ()),
        plan_update(Resource::Pipelines, "default", json!({})).map(|_| ()),
        plan_delete(Resource::Pipelines, "default").map(|_| ()),
        plan_delete(Resource::Users, USER_ID).map(|_| ()),
    ] {
        assert_eq!(
            result.unwrap_err().type_name(),
            "ConnectorOperationUnsupportedError"
        );
    }
    assert_eq!(
        plan_delete(Resource::Companies, ACCOUNT_ID).unwrap().method,
        Method::Delete
    );
    assert_eq!(
        created_id(&json!({"id": CONTACT_ID, "success": true, "errors": []})).unwrap(),
        CONTACT_ID
    );
    assert!(created_id(&json!({"success": true})).is_err());
}

#[test]
fn body_pass_through_extends_the_record() {
    let create = plan_create(
        Resource::Contacts,
        json!({"last_name": "X", "pass_through": [
            {"service_id": "salesforce", "extend_object": {"ReportsToId": CONTACT_ID, "LastName": "Y"}},
            {"service_id": "hubspot", "extend_object": {"Ignored": true}}
        ]}),
    )
    .unwrap();
    let b = body(&create);
    assert_eq!(b["ReportsToId"], CONTACT_ID);
    assert_eq!(b["LastName"], "Y");
    assert!(!b.contains_key("Ignored"));
    let bad = plan_create(
        Resource::Contacts,
        json!({"pass_through": [{"service_id": "salesforce", "extend_object": {"Bad Key": 1}}]}),
    );
    assert!(bad.is_err());
    let paths = plan_create(
        Resource::Contacts,
        json!({"pass_through": [{"service_id": "salesforce", "extend_paths": [{"path": "$.a", "value": 1}]}]}),
    );
    assert!(paths.is_err());
}

#[test]
fn writes_read_back_the_same() {
    let unified = json!({
        "first_name": "Grace", "last_name": "Hopper", "title": "RADM", "owner_id": USER_ID,
        "emails": [{"email": "grace@navy.mil", "type": "primary"}],
        "phone_numbers": [{"number": "1", "type": "primary"}, {"number": "2", "type": "mobile"}],
        "addresses": [{"type": "primary", "line1": "a", "line2": "b", "line3": null, "city": "c",
                       "state": "d", "postal_code": "e", "country": "US"}],
        "custom_fields": [{"id": "Rank__c", "name": "Rank__c", "value": "Admiral"}]
    });
    let create = plan_create(Resource::Contacts, unified.clone()).unwrap();
    let mut record = body(&create).clone();
    record.insert("Id".to_owned(), json!(CONTACT_ID));
    let back = read_record(Resource::Contacts, &Value::Object(record)).unwrap();
    for key in unified.as_object().unwrap().keys() {
        assert_eq!(back[key], unified[key], "{key}");
    }
}

/// For every writable resource: a body written to Salesforce fields and read back as a record
/// gives the same values for every field sent (read-only and create-only quirks aside).
#[test]
fn every_resource_round_trips() {
    let cases = [
        (
            Resource::Companies,
            ACCOUNT_ID,
            json!({"name": "SpaceX", "description": "Rockets", "industry": "Aerospace",
                   "number_of_employees": "9000", "owner_id": USER_ID, "fax": "1",
                   "websites": [{"url": "https://spacex.com", "type": "primary"}],
                   "phone_numbers": [{"number": "2", "type": "primary"}],
                   "addresses": [{"type": "billing", "line1": "1 Rocket Rd", "line2": null, "line3": null,
                                  "city": "Hawthorne", "state": "CA", "postal_code": "90250", "country": "US"}],
                   "custom_fields": [{"id": "Tier__c", "name": "Tier__c", "value": 1}]}),
        ),
        (
            Resource::Leads,
            LEAD_ID,
            json!({"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace", "company_name": "Analytical",
                   "status": "Working - Contacted", "title": "Countess", "lead_source": "Web",
                   "emails": [{"email": "ada@example.com", "type": "primary"}],
                   "websites": [{"url": "https://ada.example", "type": "primary"}]}),
        ),
        (
            Resource::Opportunities,
            OPP_ID,
            json!({"title": "Deal", "close_date": "2025-01-31", "pipeline_stage_id": "Prospecting",
                   "monetary_amount": 1000.5, "win_probability": 10.0, "company_id": ACCOUNT_ID,
                   "primary_contact_id": CONTACT_ID, "type": "New Business"}),
        ),
        (
            Resource::Activities,
            EVENT_ID,
            json!({"type": "meeting", "title": "Kickoff", "location": "HQ",
                   "activity_datetime": "2024-05-01T12:00:00.000Z", "duration_seconds": 1800,
                   "show_as": "busy", "private": false, "contact_id": CONTACT_ID, "company_id": ACCOUNT_ID}),
        ),
        (
            Resource::Activities,
            TASK_ID,
            json!({"type": "call", "title": "Call back", "activity_date": "2024-05-02",
                   "duration_seconds": 95, "lead_id": LEAD_ID, "opportunity_id": OPP_ID}),
        ),
        (
            Resource::Notes,
            NOTE_ID,
            json!({"title": "Minutes", "content": "We met.", "owner_id": USER_ID, "lead_id": LEAD_ID}),
        ),
        (
            Resource::Users,
            USER_ID,
            json!({"username": "ada@org", "first_name": "Ada", "last_name": "L", "title": "Eng",
                   "department": "R&D", "company_name": "Analytical", "status": "active",
                   "emails": [{"email": "ada@example.com", "type": "primary"}]}),
        ),
    ];
    for (resource, id, unified) in cases {
        let create =
            plan_create(resource, unified.clone()).unwrap_or_else(|e| panic!("{resource:?}: {e}"));
        let mut record = body(&create).clone();
        record.insert("Id".to_owned(), json!(id));
        if create.path == "sobjects/Task" {
            // Salesforce derives IsClosed from Status; the subtype is what we wrote.
            record.insert("attributes".to_owned(), json!({"type": "Task"}));
        }
        let back = read_record(resource, &Value::Object(record)).unwrap();
        // `name` of a lead is Salesforce's read-only compound of first and last name.
        for key in unified.as_object().unwrap().keys().filter(|k| *k != "name") {
            assert_eq!(back[key], unified[key], "{resource:?}.{key}");
        }
    }
}
