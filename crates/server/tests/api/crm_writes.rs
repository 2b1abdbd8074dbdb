//! Writes ignore what the provider cannot hold, as Apideck's connectors do, and say so in
//! `x-patchbay-ignored-fields`; a field that is not in the spec is still a 400 (issue 11).
//! Written once, run for both providers.

use serde_json::{Value, json};

use crate::crm_support::{Provider, assert_schema, crm_app, crm_app_with_scopes};
use crate::helpers::{Db, assert_error_envelope};

crate::crm_provider_tests!(
    the_spec_example_user_is_created,
    contacts_take_websites_and_report_what_they_dropped,
);

const IGNORED: &str = "x-patchbay-ignored-fields";

/// `POST /crm/users`'s request body as crm.yml's `User` examples make it (read-only
/// properties left out).
fn spec_example_user() -> Value {
    serde_json::from_str(SPEC_EXAMPLE_USER).expect("valid JSON")
}

const SPEC_EXAMPLE_USER: &str = r##"{
        "parent_id": "54321", "username": "masterofcoin", "name": "Acme Inc.",
        "first_name": "Elon", "last_name": "Musk", "title": "CEO", "division": "Europe",
        "department": "R&D", "company_name": "SpaceX", "employee_number": "123456-AB",
        "description": "A description", "image": "https://logo.clearbit.com/spacex.com?s=128",
        "language": "EN", "status": "active", "password": "supersecretpassword",
        "addresses": [{"id": "123", "type": "primary", "string": "25 Spring Street, Blackburn, VIC 3130",
            "name": "HQ US", "line1": "Main street", "line2": "apt #", "line3": "Suite #",
            "line4": "delivery instructions", "line5": "Attention: Finance Dept",
            "street_number": "25", "city": "San Francisco", "state": "CA", "postal_code": "94104",
            "country": "US", "latitude": "40.759211", "longitude": "-73.984638",
            "county": "Santa Clara", "contact_name": "Elon Musk", "salutation": "Mr",
            "phone_number": "111-111-1111", "fax": "122-111-1111", "email": "elon@musk.com",
            "website": "https://elonmusk.com", "notes": "Address notes or delivery instructions.",
            "row_version": "1-12345"}],
        "phone_numbers": [{"id": "12345", "country_code": "1", "area_code": "323",
            "number": "111-111-1111", "extension": "105", "type": "primary"}],
        "emails": [{"id": "123", "email": "elon@musk.com", "type": "primary"}],
        "custom_mappings": {},
        "pass_through": [{"service_id": null, "operation_id": null, "extend_object": {},
            "extend_paths": [{"path": "$.nested.property",
                "value": {"TaxClassificationRef": {"value": "EUC-99990201-V1-00020000"}}}]}]
    }"##;

async fn the_spec_example_user_is_created(provider: Provider, db: Db) {
    // HubSpot provisions users with a scope outside its defaults (docs/hubspot.md §15 "Users").
    let Some(crm) = crm_app_with_scopes(provider, db, 10, &["settings.users.write"]).await else {
        return;
    };
    let c = crm
        .post("/crm/users", spec_example_user())
        .await
        .expect(201);
    assert_schema("CreateUserResponse", &c.body);
    let ignored = c.header(IGNORED).unwrap_or_default().to_owned();
    assert!(ignored.contains("addresses[0]"), "{ignored}");
    let id = c.data()["id"].as_str().expect("id").to_owned();
    let u = crm.get(&format!("/crm/users/{id}")).await.expect(200);
    match provider {
        Provider::Salesforce => assert_eq!(u.data()["username"], "masterofcoin"),
        // A HubSpot user signs in with its email; another username has no place.
        Provider::HubSpot => assert!(ignored.contains("username"), "{ignored}"),
    }
    assert_eq!(u.data()["last_name"], "Musk");
    assert_eq!(u.data()["emails"][0]["email"], "elon@musk.com");
    // A property the spec does not have is still refused, clearly.
    let mut bad = spec_example_user();
    bad["username"] = json!("someone.else");
    bad["favourite_colour"] = json!("blue");
    let r = crm.post("/crm/users", bad).await.expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    assert!(
        r.body.to_string().contains("favourite_colour"),
        "{}",
        r.body
    );
}

async fn contacts_take_websites_and_report_what_they_dropped(provider: Provider, db: Db) {
    let Some(crm) = crm_app(provider, db, 10).await else {
        return;
    };
    let c = crm
        .post(
            "/crm/contacts",
            json!({"first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await
        .expect(201);
    let id = c.data()["id"].as_str().expect("id").to_owned();
    assert!(c.header(IGNORED).is_none(), "nothing was dropped");
    // The issue's case: a spec-valid PATCH with websites.
    let u = crm
        .patch(
            &format!("/crm/contacts/{id}"),
            json!({"websites": [{"url": "https://ada.example", "type": "primary"}], "title": "Countess"}),
        )
        .await
        .expect(200);
    assert_schema("UpdateContactResponse", &u.body);
    let got = crm.get(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_eq!(got.data()["title"], "Countess");
    // More emails than Contact has fields for: the extra one is named, the others are kept.
    let u = crm
        .patch(
            &format!("/crm/contacts/{id}"),
            json!({"emails": [
                {"email": "a@example.com", "type": "primary"},
                {"email": "b@example.com", "type": "primary"},
                {"email": "c@example.com", "type": "primary"},
                {"email": "d@example.com", "type": "primary"}
            ]}),
        )
        .await
        .expect(200);
    let ignored = u.header(IGNORED).unwrap_or_default().to_owned();
    assert!(ignored.contains("emails[3]"), "{ignored}");
    let got = crm.get(&format!("/crm/contacts/{id}")).await.expect(200);
    assert_eq!(got.data()["emails"][0]["email"], "a@example.com");
    if provider == Provider::HubSpot {
        // A HubSpot contact has one email property: the others are named too.
        assert!(ignored.contains("emails[1]"), "{ignored}");
    }
    // Unknown fields are still a clear 400.
    let r = crm
        .patch(&format!("/crm/contacts/{id}"), json!({"webhook": "x"}))
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "RequestValidationError");
    assert!(r.body.to_string().contains("webhook"), "{}", r.body);
}
