use serde_json::{Value, json};
use time::macros::datetime;

use patchbay_unified::Resource;

use super::*;
use crate::hubspot::tables::{ALL, OWNER_MAP};

const NOW: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

fn contact() -> Value {
    json!({
        "id": "51",
        "properties": {
            "hs_object_id": "51", "firstname": "Ada", "lastname": "Lovelace",
            "email": "ada@example.com", "phone": "+44 20 1234", "mobilephone": null,
            "jobtitle": "Analyst", "company": "Engines Ltd", "address": "12 St James's Sq\nFloor 2",
            "city": "London", "zip": "SW1", "country": "UK", "hubspot_owner_id": "41629779",
            "lifecyclestage": "lead", "hs_lead_status": "NEW", "website": ""
        },
        "createdAt": "2024-01-02T03:04:05.678Z",
        "updatedAt": "2024-02-02T03:04:05Z",
        "archived": false,
        "associations": {"companies": {"results": [{"id": "9001", "type": "contact_to_company"}]}}
    })
}

#[test]
fn every_table_names_plain_properties() {
    for map in ALL.iter().copied().chain([&OWNER_MAP]) {
        for f in map.read_fields() {
            assert!(
                f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "{} {f}",
                map.object
            );
        }
        for s in map.sorts {
            assert!(
                map.read_fields().contains(&s.remote) || s.remote.contains("date"),
                "{}",
                s.remote
            );
        }
        // CRM objects surface custom properties; owners have none, unified notes no field.
        assert_eq!(
            map.custom_fields,
            !["owners", "notes"].contains(&map.object),
            "{}",
            map.object
        );
        let ids: Vec<u32> = tables::links(map.object)
            .iter()
            .map(|l| l.type_id)
            .collect();
        assert!(ids.iter().all(|i| *i > 0));
    }
    assert!(
        properties(&tables::CONTACT)
            .iter()
            .all(|p| !RECORD_KEYS.contains(p))
    );
}

#[test]
fn contacts_read_with_name_slots_and_company() {
    let plan = plan_get(Resource::Contacts, "51").expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/objects/contacts/51");
    assert!(
        plan.request
            .query
            .contains(&("associations".to_owned(), "companies".to_owned()))
    );
    let props = &plan.request.query[0].1;
    assert!(props.split(',').any(|p| p == "email") && !props.contains("createdAt"));
    let out = plan.read(&contact()).expect("read");
    assert_eq!(out["id"], "51");
    assert_eq!(out["name"], "Ada Lovelace");
    assert_eq!(out["company_id"], "9001");
    assert_eq!(out["owner_id"], "41629779");
    assert_eq!(out["title"], "Analyst");
    assert_eq!(out["created_at"], "2024-01-02T03:04:05.678Z");
    assert_eq!(out["updated_at"], "2024-02-02T03:04:05.000Z");
    assert_eq!(
        out["emails"],
        json!([{"email": "ada@example.com", "type": "primary"}])
    );
    assert_eq!(
        out["phone_numbers"],
        json!([{"number": "+44 20 1234", "type": "primary"}])
    );
    assert_eq!(out["websites"], json!([]));
    assert_eq!(out["addresses"][0]["line2"], "Floor 2");
    assert_eq!(out["addresses"][0]["postal_code"], "SW1");
}

#[test]
fn a_lead_is_a_contact_in_the_lead_stage() {
    let plan = plan_get(Resource::Leads, "51").expect("plan");
    let out = plan.read(&contact()).expect("a lead");
    assert_eq!(out["name"], "Ada Lovelace");
    assert_eq!(out["company_name"], "Engines Ltd");
    assert!(out.get("lifecycle_stage").is_none());
    assert_eq!(out["company_id"], "9001");
    let mut customer = contact();
    customer["properties"]["lifecyclestage"] = json!("customer");
    let err = plan.read(&customer).unwrap_err();
    assert_eq!(err.type_name(), "EntityNotFoundError");

    let create = plan_create(
        Resource::Leads,
        json!({"name": "Grace Brewster Hopper", "company_name": "Navy"}),
        NOW,
    )
    .expect("plan");
    let props = &create.request.body.as_ref().expect("body")["properties"];
    assert_eq!(props["lifecyclestage"], "lead");
    assert_eq!(props["firstname"], "Grace Brewster");
    assert_eq!(props["lastname"], "Hopper");
    assert_eq!(props["company"], "Navy");
}

#[test]
fn writes_are_strings_and_null_clears() {
    let plan = plan_create(
        Resource::Companies,
        json!({"name": "Acme", "number_of_employees": "250", "annual_revenue": "1.5",
               "phone_numbers": [{"number": "555", "type": "primary"}],
               "websites": [{"url": "https://a.example"}, {"url": "https://b.example"}]}),
        NOW,
    )
    .expect("plan");
    assert_eq!(plan.request.method, Method::Post);
    assert_eq!(plan.request.path, "/crm/v3/objects/companies");
    let body = plan.request.body.as_ref().expect("body");
    let props = body["properties"].as_object().expect("properties");
    assert!(props.values().all(Value::is_string), "{props:?}");
    assert_eq!(props["numberofemployees"], "250");
    assert_eq!(props["annualrevenue"], "1.5");
    assert_eq!(props["website"], "https://a.example");
    assert_eq!(plan.request.ignored, vec!["websites[1]".to_owned()]);

    let update =
        plan_update(Resource::Companies, "77", json!({"description": null})).expect("plan");
    assert_eq!(update.request.method, Method::Patch);
    assert_eq!(update.request.path, "/crm/v3/objects/companies/77");
    assert_eq!(
        update.request.body.as_ref().expect("body")["properties"]["description"],
        ""
    );
}

#[test]
fn links_become_associations() {
    let plan = plan_create(
        Resource::Contacts,
        json!({"first_name": "A", "last_name": "B", "company_id": "9001"}),
        NOW,
    )
    .expect("plan");
    assert_eq!(
        plan.request.body.as_ref().expect("body")["associations"],
        json!([{"to": {"id": "9001"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}])
    );
    let update = plan_update(
        Resource::Opportunities,
        "5",
        json!({"company_id": "9001", "primary_contact_id": "51"}),
    )
    .expect("plan");
    let paths: Vec<(&Method, &str)> = update
        .then
        .iter()
        .map(|r| (&r.method, r.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        vec![
            (
                &Method::Put,
                "/crm/v4/objects/deals/5/associations/default/companies/9001"
            ),
            (
                &Method::Put,
                "/crm/v4/objects/deals/5/associations/default/contacts/51"
            ),
        ]
    );
    for bad in ["../1", "9 9", "x"] {
        let err = plan_create(
            Resource::Contacts,
            json!({"last_name": "B", "company_id": bad}),
            NOW,
        )
        .unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError", "{bad}");
    }
}

#[test]
fn deals_dates_and_amounts() {
    let deal = json!({"id": "5", "properties": {"dealname": "Big", "amount": "1200.50",
        "closedate": "2025-03-04T17:00:00Z", "dealstage": "qualifiedtobuy", "pipeline": "default",
        "hs_deal_stage_probability": "0.4"}, "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-01T00:00:00Z", "archived": false,
        "associations": {"contacts": {"results": [{"id": "51"}]}}});
    let out = plan_get(Resource::Opportunities, "5")
        .expect("plan")
        .read(&deal)
        .expect("read");
    assert_eq!(out["title"], "Big");
    assert_eq!(out["monetary_amount"], json!(1200.5));
    assert_eq!(out["close_date"], "2025-03-04");
    assert_eq!(out["pipeline_stage_id"], "qualifiedtobuy");
    assert_eq!(out["win_probability"], json!(40.0));
    assert_eq!(out["primary_contact_id"], "51");
    assert_eq!(out["company_id"], Value::Null);
    let plan = plan_create(
        Resource::Opportunities,
        json!({"title": "New", "monetary_amount": 99, "close_date": "2025-01-31", "pipeline_stage_id": "closedwon"}),
        NOW,
    )
    .expect("plan");
    let props = &plan.request.body.as_ref().expect("body")["properties"];
    assert_eq!(props["amount"], "99");
    assert_eq!(props["closedate"], "2025-01-31T00:00:00.000Z");
    assert_eq!(props["dealstage"], "closedwon");
}

#[test]
fn activities_carry_their_object_in_the_id() {
    let call = json!({"id": "42", "properties": {"hs_call_title": "Intro", "hs_call_duration": "90500",
        "hs_timestamp": "2024-05-01T10:00:00Z"}, "createdAt": "2024-05-01T10:00:00Z",
        "updatedAt": "2024-05-01T10:00:00Z", "archived": false,
        "associations": {"contacts": {"results": [{"id": "51"}]}}});
    let plan = plan_get(Resource::Activities, "call-42").expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/objects/calls/42");
    let out = plan.read(&call).expect("read");
    assert_eq!(out["id"], "call-42");
    assert_eq!(out["type"], "call");
    assert_eq!(out["title"], "Intro");
    assert_eq!(out["duration_seconds"], 91);
    assert_eq!(out["contact_id"], "51");
    assert_eq!(out["activity_datetime"], "2024-05-01T10:00:00.000Z");
    for bad in ["42", "emails-1", "call-x", "meeting-", "note-1"] {
        assert_eq!(
            plan_get(Resource::Activities, bad).unwrap_err().type_name(),
            "EntityNotFoundError",
            "{bad}"
        );
    }
    let create = plan_create(
        Resource::Activities,
        json!({"type": "task", "title": "Follow up", "done": true}),
        NOW,
    )
    .expect("plan");
    assert_eq!(create.request.path, "/crm/v3/objects/tasks");
    let props = &create.request.body.as_ref().expect("body")["properties"];
    assert_eq!(props["hs_task_status"], "COMPLETED");
    assert_eq!(props["hs_timestamp"], "2026-12-06T12:00:00.000Z");
    assert_eq!(
        create.created_id(&json!({"id": "7"})).expect("id"),
        "task-7"
    );
    let err = plan_create(Resource::Activities, json!({"type": "deadline"}), NOW).unwrap_err();
    assert_eq!(err.type_name(), "ConnectorOperationUnsupportedError");
    let call = plan_create(
        Resource::Activities,
        json!({"type": "call", "duration_seconds": 30}),
        NOW,
    )
    .expect("plan");
    assert_eq!(
        call.request.body.as_ref().expect("body")["properties"]["hs_call_duration"],
        "30000"
    );
}

#[test]
fn notes_get_a_timestamp() {
    let plan = plan_create(
        Resource::Notes,
        json!({"content": "Hello", "opportunity_id": "5"}),
        NOW,
    )
    .expect("plan");
    let body = plan.request.body.as_ref().expect("body");
    assert_eq!(body["properties"]["hs_note_body"], "Hello");
    assert_eq!(
        body["properties"]["hs_timestamp"],
        "2026-12-06T12:00:00.000Z"
    );
    assert_eq!(
        body["associations"][0]["types"][0]["associationTypeId"],
        214
    );
}

#[test]
fn owners_are_read_only_and_pipelines_read() {
    let owner = json!({"id": "41629779", "email": "o@example.com", "type": "PERSON", "firstName": "Olive",
        "lastName": "Owner", "userId": 9586504, "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-01T00:00:00Z", "archived": false});
    let plan = plan_get(Resource::Users, "41629779").expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/owners/41629779");
    let out = plan.read(&owner).expect("read");
    assert_eq!(out["name"], "Olive Owner");
    assert_eq!(
        out["emails"],
        json!([{"email": "o@example.com", "type": "primary"}])
    );
    assert_eq!(out["status"], "active");
    let pipeline = json!({"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": false,
        "stages": [{"id": "closedwon", "label": "Closed won", "displayOrder": 5,
                    "metadata": {"isClosed": "true", "probability": "1.0"}}]});
    let plan = plan_get(Resource::Pipelines, "default").expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/pipelines/deals/default");
    let out = plan.read(&pipeline).expect("read");
    assert_eq!(out["name"], "Sales Pipeline");
    assert_eq!(out["stages"][0]["win_probability"], 100);
    assert_eq!(out["stages"][0]["value"], "closedwon");
    assert!(plan_get(Resource::Pipelines, "de/fault").is_err());
    let unsupported = [
        plan_delete(Resource::Users, "1").unwrap_err(),
        plan_create(Resource::Users, json!({"name": "x"}), NOW).unwrap_err(),
        plan_update(Resource::Users, "1", json!({"name": "x"})).unwrap_err(),
    ];
    for err in unsupported {
        assert_eq!(err.type_name(), "ConnectorOperationUnsupportedError");
    }
}

#[test]
fn a_pipeline_create_sends_label_order_and_stage_probabilities() {
    let body = json!({"name": " Partners ", "display_order": 4, "stages": [
        {"name": "Open", "win_probability": 30},
        {"name": "Won", "value": "WON", "win_probability": 100, "display_order": 9},
    ]});
    let plan = plan_create(Resource::Pipelines, body, NOW).expect("plan");
    assert_eq!(
        (plan.request.method, plan.request.path.as_str()),
        (Method::Post, "/crm/v3/pipelines/deals")
    );
    assert_eq!(
        plan.request.body,
        Some(json!({"label": "Partners", "displayOrder": 4, "stages": [
            {"label": "Open", "displayOrder": 0, "metadata": {"probability": 0.3}},
            {"label": "Won", "displayOrder": 9, "metadata": {"probability": 1.0}},
        ]}))
    );
    // HubSpot makes stage ids itself.
    assert_eq!(plan.request.ignored, ["stages[1].value"]);
    // The answer is a pipeline: its id is the record id, and it reads as one.
    let answer = json!({"id": "7001", "label": "Partners", "displayOrder": 4, "archived": false,
        "stages": [{"id": "7004", "label": "Open", "displayOrder": 0,
                    "metadata": {"isClosed": "false", "probability": "0.3"}}]});
    assert_eq!(plan.created_id(&answer).expect("id"), "7001");
    let out = plan.read(&answer).expect("read");
    assert_eq!(out["name"], "Partners");
    assert_eq!(out["stages"][0]["win_probability"], 30);
    // No display order: the first; currency has no place in HubSpot.
    let plan = plan_create(
        Resource::Pipelines,
        json!({"name": "P", "currency": "EUR", "stages": [{"name": "S", "win_probability": 0}]}),
        NOW,
    )
    .expect("plan");
    assert_eq!(plan.request.body.as_ref().expect("body")["displayOrder"], 0);
    assert_eq!(plan.request.ignored, ["currency"]);
}

#[test]
fn a_pipeline_create_without_what_hubspot_requires_is_refused() {
    let field = |body: Value| {
        let err = plan_create(Resource::Pipelines, body, NOW).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError", "{err:?}");
        match err {
            UnifiedError::RequestValidation { detail, .. } => detail.expect("detail")["field"]
                .as_str()
                .expect("field")
                .to_owned(),
            other => panic!("{other:?}"),
        }
    };
    let stage = json!({"name": "S", "win_probability": 10});
    assert_eq!(field(json!({"stages": [stage]})), "name");
    assert_eq!(field(json!({"name": "  ", "stages": [stage]})), "name");
    assert_eq!(field(json!({"name": "P"})), "stages");
    assert_eq!(field(json!({"name": "P", "stages": []})), "stages");
    assert_eq!(
        field(json!({"name": "P", "stages": [{"win_probability": 10}]})),
        "stages[0].name"
    );
    assert_eq!(
        field(json!({"name": "P", "stages": [stage, {"name": "T"}]})),
        "stages[1].win_probability"
    );
    assert_eq!(
        field(json!({"name": "P", "stages": [{"name": "T", "win_probability": 101}]})),
        "stages[0].win_probability"
    );
    assert_eq!(
        field(json!({"name": "P", "display_order": 4_294_967_296_i64, "stages": [stage]})),
        "display_order"
    );
}

#[test]
fn a_pipeline_update_patches_label_order_and_archived_and_a_delete_deletes() {
    let plan = plan_update(
        Resource::Pipelines,
        "7001",
        json!({"name": "Channel", "display_order": 2, "stages": null}),
    )
    .expect("plan");
    assert_eq!(
        (plan.request.method, plan.request.path.as_str()),
        (Method::Patch, "/crm/v3/pipelines/deals/7001")
    );
    assert_eq!(
        plan.request.body,
        Some(json!({"label": "Channel", "displayOrder": 2}))
    );
    // Stages change through the two-call plan (hubspot::pipelines), not this PATCH.
    assert!(plan.request.ignored.is_empty());
    assert!(plan.then.is_empty());
    let plan = plan_update(Resource::Pipelines, "default", json!({"active": false})).expect("plan");
    assert_eq!(plan.request.body, Some(json!({"archived": true})));
    let err = plan_update(
        Resource::Pipelines,
        "default",
        json!({"active": false, "archived": false}),
    )
    .unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
    let err = plan_update(Resource::Pipelines, "default", json!({"name": null})).unwrap_err();
    assert_eq!(err.type_name(), "RequestValidationError");
    assert!(plan_update(Resource::Pipelines, "de/fault", json!({"name": "x"})).is_err());

    let plan = plan_delete(Resource::Pipelines, "7001").expect("plan");
    assert_eq!(
        (plan.request.method, plan.request.path.as_str()),
        (Method::Delete, "/crm/v3/pipelines/deals/7001")
    );
    assert_eq!(
        plan_delete(Resource::Pipelines, "../x")
            .unwrap_err()
            .type_name(),
        "EntityNotFoundError"
    );
}

#[test]
fn delete_archives_by_path() {
    let plan = plan_delete(Resource::Activities, "meeting-3").expect("plan");
    assert_eq!(
        (plan.request.method, plan.request.path.as_str()),
        (Method::Delete, "/crm/v3/objects/meetings/3")
    );
    assert!(plan_delete(Resource::Contacts, "1/../2").is_err());
}

#[test]
fn emails_are_activities_of_type_email() {
    let email = json!({"id": "77", "properties": {"hs_email_subject": "Quote", "hs_email_text": "See attached.",
        "hs_email_html": "<p>See attached.</p>", "hs_email_direction": "EMAIL",
        "hs_timestamp": "2024-06-01T09:30:00Z", "hubspot_owner_id": "41"},
        "createdAt": "2024-06-01T09:30:00Z", "updatedAt": "2024-06-02T09:30:00Z", "archived": false,
        "associations": {"contacts": {"results": [{"id": "51", "type": "email_to_contact"}]},
                         "companies": {"results": [{"id": "9", "type": "email_to_company"}]},
                         "deals": {"results": [{"id": "3", "type": "email_to_deal"}]}}});
    let plan = plan_get(Resource::Activities, "email-77").expect("plan");
    assert_eq!(plan.request.path, "/crm/v3/objects/emails/77");
    let asked = &plan
        .request
        .query
        .iter()
        .find(|(k, _)| k == "properties")
        .expect("properties")
        .1;
    for p in [
        "hs_email_subject",
        "hs_email_text",
        "hs_email_html",
        "hs_timestamp",
    ] {
        assert!(asked.split(',').any(|a| a == p), "{p} in {asked}");
    }
    let out = plan.read(&email).expect("read");
    assert_eq!(out["id"], "email-77");
    assert_eq!(out["downstream_id"], "77");
    assert_eq!(out["type"], "email");
    assert_eq!(out["title"], "Quote");
    assert_eq!(out["description"], "See attached.");
    assert_eq!(out["activity_datetime"], "2024-06-01T09:30:00.000Z");
    assert_eq!(out["owner_id"], "41");
    assert_eq!(out["contact_id"], "51");
    assert_eq!(out["company_id"], "9");
    assert_eq!(out["account_id"], "9");
    assert_eq!(out["opportunity_id"], "3");
    // An email holding its body only as HTML describes itself with that HTML.
    let html_only =
        json!({"id": "78", "properties": {"hs_email_html": "<p>Hi</p>", "hs_email_text": ""}});
    let out = plan_get(Resource::Activities, "email-78")
        .expect("plan")
        .read(&html_only)
        .expect("read");
    assert_eq!(out["description"], "<p>Hi</p>");

    let create = plan_create(
        Resource::Activities,
        json!({"type": "email", "title": "Hello", "description": "Body", "contact_id": "51",
               "company_id": "9", "opportunity_id": "3", "owner_id": "41"}),
        NOW,
    )
    .expect("plan");
    assert_eq!(create.request.path, "/crm/v3/objects/emails");
    let body = create.request.body.as_ref().expect("body");
    assert_eq!(
        body["properties"],
        json!({"hs_email_subject": "Hello", "hs_email_text": "Body", "hubspot_owner_id": "41",
               "hs_timestamp": "2026-12-06T12:00:00.000Z"})
    );
    let types: Vec<u64> = body["associations"]
        .as_array()
        .expect("associations")
        .iter()
        .map(|a| {
            a["types"][0]["associationTypeId"]
                .as_u64()
                .expect("type id")
        })
        .collect();
    assert_eq!(types, [198, 186, 210]);
    assert_eq!(
        create.created_id(&json!({"id": "80"})).expect("id"),
        "email-80"
    );

    let update = plan_update(
        Resource::Activities,
        "email-80",
        json!({"title": "Hello again", "contact_id": "52"}),
    )
    .expect("plan");
    assert_eq!(update.request.method, Method::Patch);
    assert_eq!(update.request.path, "/crm/v3/objects/emails/80");
    assert_eq!(
        update.request.body.as_ref().expect("body")["properties"],
        json!({"hs_email_subject": "Hello again"})
    );
    assert_eq!(
        update
            .then
            .iter()
            .map(|r| r.path.as_str())
            .collect::<Vec<_>>(),
        ["/crm/v4/objects/emails/80/associations/default/contacts/52"]
    );
    let delete = plan_delete(Resource::Activities, "email-80").expect("plan");
    assert_eq!(delete.request.method, Method::Delete);
    assert_eq!(delete.request.path, "/crm/v3/objects/emails/80");
}
