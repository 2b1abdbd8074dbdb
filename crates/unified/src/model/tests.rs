use serde_json::json;

use super::*;

#[test]
fn contact_round_trips_exactly() {
    let body = json!({
        "first_name": "Elon", "last_name": null,
        "emails": [{"email": "elon@musk.com", "type": "primary"}],
        "phone_numbers": [{"number": "111", "type": "direct-dial-in"}],
        "custom_fields": [{"id": "Level__c", "value": 3}],
    });
    let map = validate_body(Resource::Contacts, Write::Create, body.clone()).unwrap();
    assert_eq!(Value::Object(map), body);
}

#[test]
fn unknown_fields_and_bad_types_are_refused() {
    for (resource, body) in [
        (Resource::Contacts, json!({"shoe_size": 44})),
        (
            Resource::Contacts,
            json!({"emails": [{"email": "a", "type": "pager"}]}),
        ),
        (Resource::Contacts, json!({"first_name": 12})),
        (Resource::Activities, json!({"type": "party"})),
        (Resource::Notes, json!([])),
    ] {
        let err = validate_body(resource, Write::Update, body).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError");
    }
}

#[test]
fn required_fields_apply_to_create_only() {
    for resource in Resource::ALL {
        for field in required_on_create(resource) {
            let err = validate_body(resource, Write::Create, json!({})).unwrap_err();
            assert_eq!(err.type_name(), "RequestValidationError", "{resource:?}");
            let null = json!({ *field: null });
            assert!(validate_body(resource, Write::Create, null).is_err());
        }
        assert!(validate_body(resource, Write::Update, json!({})).is_ok());
    }
    assert!(
        validate_body(
            Resource::Opportunities,
            Write::Create,
            json!({"title": "x"})
        )
        .is_ok()
    );
}

#[test]
fn every_activity_type_parses() {
    for t in ActivityType::ALL {
        assert_eq!(ActivityType::parse(t.as_str()), Some(t));
        let body = json!({ "type": t.as_str() });
        assert!(validate_body(Resource::Activities, Write::Create, body).is_ok());
    }
}
