use serde_json::{Value, json};

use patchbay_unified::model;

use super::*;

const CONTACT_ID: &str = "003000000000001AAA";
const ACCOUNT_ID: &str = "001000000000001AAA";
const LEAD_ID: &str = "00Q000000000001AAA";
const OPP_ID: &str = "006000000000001AAA";
const USER_ID: &str = "005000000000001AAA";
const EVENT_ID: &str = "00U000000000001AAA";
const TASK_ID: &str = "00T000000000001AAA";
const NOTE_ID: &str = "002000000000001AAA";

fn attrs(kind: &str, id: &str) -> Value {
    json!({"type": kind, "url": format!("/services/data/v66.0/sobjects/{kind}/{id}")})
}

/// The mapped output must fit the spec's schema (unknown fields refused, types checked).
fn conforms<T: serde::de::DeserializeOwned>(v: &Value) {
    if let Err(e) = serde_json::from_value::<T>(v.clone()) {
        panic!("does not fit the schema: {e}\n{v:#}");
    }
}

#[test]
fn contact_reads_with_arrays_custom_fields_and_utc_times() {
    let record = json!({
        "attributes": attrs("Contact", CONTACT_ID),
        "Id": CONTACT_ID, "Name": "Elon Musk", "FirstName": "Elon", "MiddleName": null,
        "LastName": "Musk", "Salutation": "Mr.", "OwnerId": USER_ID, "AccountId": ACCOUNT_ID,
        "Account": {"attributes": attrs("Account", ACCOUNT_ID), "Name": "SpaceX"},
        "Title": "CEO", "Department": null, "Birthdate": "1971-06-28", "LeadSource": "Web",
        "Description": null, "LastActivityDate": "2024-01-02",
        "Email": "elon@spacex.com", "Phone": "+1 310 363 6000", "MobilePhone": null, "HomePhone": "  ",
        "MailingStreet": "1 Rocket Road\nBuilding 2", "MailingCity": "Hawthorne", "MailingState": "CA",
        "MailingPostalCode": "90250", "MailingCountry": "US",
        "CreatedDate": "2024-09-27T10:39:01.000+0000", "LastModifiedDate": "2024-09-28T00:00:00.000+0000",
        "Level__c": "Gold", "Score__c": 7
    });
    let unified = read_record(Resource::Contacts, &record).unwrap();
    assert_eq!(
        unified,
        json!({
            "id": CONTACT_ID, "name": "Elon Musk", "owner_id": USER_ID, "company_id": ACCOUNT_ID,
            "company_name": "SpaceX", "first_name": "Elon", "middle_name": null, "last_name": "Musk",
            "prefix": "Mr.", "title": "CEO", "department": null, "birthday": "1971-06-28",
            "lead_source": "Web", "description": null,
            "last_activity_at": "2024-01-02T00:00:00.000Z",
            "created_at": "2024-09-27T10:39:01.000Z", "updated_at": "2024-09-28T00:00:00.000Z",
            "emails": [{"email": "elon@spacex.com", "type": "primary"}],
            "phone_numbers": [{"number": "+1 310 363 6000", "type": "primary"}],
            "addresses": [{"type": "primary", "line1": "1 Rocket Road", "line2": "Building 2",
                           "line3": null, "city": "Hawthorne", "state": "CA",
                           "postal_code": "90250", "country": "US"}],
            "custom_fields": [
                {"id": "Level__c", "name": "Level__c", "value": "Gold"},
                {"id": "Score__c", "name": "Score__c", "value": 7}
            ]
        })
    );
    conforms::<model::Contact>(&unified);
}

#[test]
fn every_resource_reads_into_its_schema() {
    let stamps = json!({"CreatedDate": "2024-01-01T00:00:00.000+0000", "LastModifiedDate": "2024-01-02T00:00:00.000+0000"});
    let with = |mut v: Value| {
        v.as_object_mut()
            .unwrap()
            .extend(stamps.as_object().unwrap().clone());
        v
    };
    let account = with(
        json!({"attributes": attrs("Account", ACCOUNT_ID), "Id": ACCOUNT_ID, "Name": "SpaceX",
        "NumberOfEmployees": 9000, "AnnualRevenue": 3.5e9, "Website": "https://spacex.com", "Phone": "1",
        "BillingStreet": "1 Rocket Rd", "BillingCity": "Hawthorne", "ShippingCity": null, "ShippingStreet": null,
        "ParentId": null, "Fax": null, "Industry": "Aerospace"}),
    );
    let company = read_record(Resource::Companies, &account).unwrap();
    assert_eq!(company["number_of_employees"], "9000");
    assert_eq!(company["annual_revenue"], "3500000000");
    assert_eq!(
        company["websites"],
        json!([{"url": "https://spacex.com", "type": "primary"}])
    );
    assert_eq!(company["addresses"].as_array().unwrap().len(), 1);
    assert_eq!(company["addresses"][0]["type"], "billing");
    conforms::<model::Company>(&company);

    let lead = with(
        json!({"attributes": attrs("Lead", LEAD_ID), "Id": LEAD_ID, "Name": "Ada Lovelace",
        "Company": "Analytical", "Status": "Open - Not Contacted", "Email": "ada@example.com",
        "ConvertedAccountId": null, "ConvertedContactId": null, "City": "London",
        "Owner": {"attributes": attrs("Group", "00G000000000001AAA"), "Name": "Inbound queue"}}),
    );
    let lead = read_record(Resource::Leads, &lead).unwrap();
    assert_eq!(lead["company_name"], "Analytical");
    assert_eq!(lead["owner_name"], "Inbound queue");
    assert_eq!(lead["addresses"][0]["city"], "London");
    conforms::<model::Lead>(&lead);

    let opp = with(
        json!({"attributes": attrs("Opportunity", OPP_ID), "Id": OPP_ID, "Name": "Big deal",
        "StageName": "Prospecting", "CloseDate": "2025-01-31", "Amount": 75000.0, "Probability": 10,
        "AccountId": ACCOUNT_ID, "Account": null, "ContactId": CONTACT_ID}),
    );
    let opp = read_record(Resource::Opportunities, &opp).unwrap();
    assert_eq!(opp["title"], "Big deal");
    assert_eq!(opp["pipeline_id"], "default");
    assert_eq!(opp["pipeline_stage_id"], "Prospecting");
    assert_eq!(opp["status"], "Prospecting");
    assert_eq!(opp["company_name"], Value::Null);
    assert_eq!(opp["primary_contact_id"], CONTACT_ID);
    conforms::<model::Opportunity>(&opp);

    let event = with(
        json!({"attributes": attrs("Event", EVENT_ID), "Id": EVENT_ID, "Subject": "Kickoff",
        "ActivityDateTime": "2024-05-01T12:00:00.000+0000", "DurationInMinutes": 30, "ShowAs": "Busy",
        "IsAllDayEvent": false, "Type": "Call", "WhoId": LEAD_ID, "WhatId": OPP_ID}),
    );
    let event = read_record(Resource::Activities, &event).unwrap();
    assert_eq!(event["type"], "call");
    assert_eq!(event["duration_seconds"], 1800);
    assert_eq!(event["duration_minutes"], 30);
    assert_eq!(event["show_as"], "busy");
    assert_eq!(event["lead_id"], LEAD_ID);
    assert_eq!(event["contact_id"], Value::Null);
    assert_eq!(event["opportunity_id"], OPP_ID);
    assert_eq!(event["activity_datetime"], "2024-05-01T12:00:00.000Z");
    conforms::<model::Activity>(&event);

    let task = with(
        json!({"attributes": attrs("Task", TASK_ID), "Id": TASK_ID, "Subject": "Call back",
        "TaskSubtype": "Call", "IsClosed": true, "Status": "Completed", "ActivityDate": "2024-05-02",
        "WhoId": CONTACT_ID, "WhatId": ACCOUNT_ID, "CallDurationInSeconds": 95}),
    );
    let task = read_record(Resource::Activities, &task).unwrap();
    assert_eq!(task["type"], "call");
    assert_eq!(task["done"], true);
    assert_eq!(task["duration_seconds"], 95);
    assert_eq!(task["contact_id"], CONTACT_ID);
    assert_eq!(task["company_id"], ACCOUNT_ID);
    assert_eq!(task["account_id"], ACCOUNT_ID);
    conforms::<model::Activity>(&task);
    // Without attributes, the id prefix decides.
    let bare = json!({"Id": TASK_ID, "TaskSubtype": null});
    assert_eq!(
        read_record(Resource::Activities, &bare).unwrap()["type"],
        "task"
    );

    let note = with(
        json!({"attributes": attrs("Note", NOTE_ID), "Id": NOTE_ID, "Title": "Minutes",
        "Body": "We met.", "OwnerId": USER_ID, "ParentId": OPP_ID, "CreatedById": USER_ID, "LastModifiedById": USER_ID}),
    );
    let note = read_record(Resource::Notes, &note).unwrap();
    assert_eq!(note["content"], "We met.");
    assert_eq!(note["opportunity_id"], OPP_ID);
    assert_eq!(note["contact_id"], Value::Null);
    conforms::<model::Note>(&note);

    let user = with(
        json!({"attributes": attrs("User", USER_ID), "Id": USER_ID, "Username": "ada@org",
        "Name": "Ada L", "IsActive": false, "Email": "ada@example.com", "MobilePhone": "2"}),
    );
    let user = read_record(Resource::Users, &user).unwrap();
    assert_eq!(user["status"], "inactive");
    assert_eq!(
        user["phone_numbers"],
        json!([{"number": "2", "type": "mobile"}])
    );
    conforms::<model::User>(&user);

    let stages = [
        json!({"attributes": attrs("OpportunityStage", "01J000000000001AAA"), "Id": "01J000000000001AAA",
               "MasterLabel": "Prospecting", "ApiName": "Prospecting", "IsActive": true,
               "DefaultProbability": 10.0, "SortOrder": 1}),
        json!({"Id": "01J000000000002AAA", "MasterLabel": "Closed Lost", "ApiName": "Closed Lost",
               "IsActive": false, "DefaultProbability": 0, "SortOrder": 2}),
    ];
    let pipeline = read_pipeline(&stages);
    assert_eq!(pipeline["id"], "default");
    assert_eq!(pipeline["stages"][0]["id"], "Prospecting");
    assert_eq!(pipeline["stages"][0]["win_probability"], 10);
    assert_eq!(pipeline["stages"][1]["archived"], true);
    conforms::<model::Pipeline>(&pipeline);

    assert!(read_record(Resource::Contacts, &json!([1])).is_err());
}

/// A record answer with every field the resource's tables read, filled by kind, plus fields
/// no table reads (a compound address, system fields), a relationship object and custom fields.
fn full_answer(resource: Resource, kind: &str, id: &str) -> Value {
    use crate::table::Kind;
    let maps: &[&ObjectMap] = match resource {
        Resource::Activities => &[&tables::EVENT, &tables::TASK],
        _ => &[default_map(resource)],
    };
    let mut record = json!({
        "attributes": attrs(kind, id), "Id": id,
        "BillingAddress": {"street": "1 Main", "city": "X", "geocodeAccuracy": null},
        "SystemModstamp": "2024-09-28T00:00:00.000+0000", "IsDeleted": false,
        "CreatedById": USER_ID, "Skipped": [1, {"nested": [true, null]}],
        "Tier__c": "Gold", "Score__c": 7,
        "WhoId": CONTACT_ID, "WhatId": ACCOUNT_ID, "ParentId": OPP_ID,
        "TaskSubtype": "Call", "Type": "Meeting",
    });
    for map in maps {
        for f in map.fields {
            let value = match f.kind {
                Kind::Const(_) => continue,
                Kind::Number | Kind::Integer | Kind::NumberAsText | Kind::MinutesAsSeconds => {
                    json!(42)
                }
                Kind::Bool | Kind::NotBool | Kind::TextFromBool { .. } => json!(true),
                Kind::BoolToText { when_true, .. } => json!(when_true),
                Kind::Date | Kind::DateAsDateTime => json!("2024-01-02"),
                Kind::DateTime => json!("2024-09-27T10:39:01.000+0000"),
                Kind::Enum(pairs) => json!(pairs.first().map_or("", |p| p.1)),
                Kind::Text | Kind::Id => json!(format!("v-{}", f.remote)),
            };
            match f.remote.split_once('.') {
                Some((parent, child)) => {
                    record[parent] = json!({"attributes": {"type": parent}, child: value});
                }
                None if record.get(f.remote).is_none() => record[f.remote] = value,
                None => {}
            }
        }
        for remote in map.read_fields() {
            if record.get(remote).is_none() && !remote.contains('.') {
                record[remote] = json!(format!("line 1\nline 2 of {remote}"));
            }
        }
    }
    record
}

#[test]
fn a_get_parsed_down_to_its_keys_reads_the_same_as_the_whole_answer() {
    let cases = [
        (Resource::Contacts, "Contact", CONTACT_ID),
        (Resource::Companies, "Account", ACCOUNT_ID),
        (Resource::Leads, "Lead", LEAD_ID),
        (Resource::Opportunities, "Opportunity", OPP_ID),
        (Resource::Activities, "Event", EVENT_ID),
        (Resource::Activities, "Task", TASK_ID),
        (Resource::Notes, "Note", NOTE_ID),
        (Resource::Users, "User", USER_ID),
    ];
    for (resource, kind, id) in cases {
        let answer = full_answer(resource, kind, id);
        let bytes = serde_json::to_vec(&answer).unwrap();
        let keys = record_keys(resource).unwrap();
        let parsed = keys.parse(&bytes).unwrap();
        assert!(
            parsed.as_object().unwrap().len() < answer.as_object().unwrap().len(),
            "{kind}: fields no read uses are left out"
        );
        assert!(parsed.get("BillingAddress").is_none() && parsed.get("Skipped").is_none());
        assert_eq!(
            read_record(resource, &parsed).unwrap(),
            read_record(resource, &answer).unwrap(),
            "{kind}"
        );
    }
    assert!(record_keys(Resource::Pipelines).is_none());
}
