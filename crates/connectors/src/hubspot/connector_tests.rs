use serde_json::json;

use patchbay_oauth::Endpoint;
use patchbay_unified::CommonParams;

use super::*;

#[test]
fn origins_and_tokens() {
    let c = HubSpot;
    assert_eq!(c.service_id(), "hubspot");
    assert_eq!(
        c.api_base(c.default_login_url(), None).as_deref(),
        Ok("https://api.hubapi.com")
    );
    assert_eq!(
        c.api_base("http://127.0.0.1:4010/", None).as_deref(),
        Ok("http://127.0.0.1:4010")
    );
    assert!(c.api_base("ftp://x", None).is_err());
    assert!(c.api_base("https://user@evil.example/path", None).is_err());
    assert_eq!(
        c.oauth_endpoint_origin(Endpoint::Token, c.default_login_url()),
        Some("https://api.hubapi.com")
    );
    assert_eq!(
        c.oauth_endpoint_origin(Endpoint::Authorize, c.default_login_url()),
        None
    );
    assert_eq!(
        c.oauth_endpoint_origin(Endpoint::Token, "http://127.0.0.1:4010"),
        None
    );
    let config = c.oauth_provider();
    assert_eq!(config.paths.token, "oauth/v1/token");
    assert!(config.default_scopes.contains(&"oauth"));
    for s in oauth::default_scopes() {
        assert!(config.default_scopes.contains(&s), "{s}");
    }
    let profile = c.oauth_profile();
    assert!(profile.refresh_needs_secret && !profile.per_connection_instance);
    assert!(c.token_invalid(401, b"{\"category\":\"EXPIRED_AUTHENTICATION\"}"));
    assert!(!c.token_invalid(403, b"{\"category\":\"MISSING_SCOPES\"}"));
    let lookup = |name: &str| match name {
        "x-hubspot-ratelimit-max" => Some("190".to_owned()),
        "x-hubspot-ratelimit-remaining" => Some("180".to_owned()),
        _ => None,
    };
    let usage = c.rate_limit(&lookup).expect("usage");
    assert_eq!((usage.limit(), usage.remaining()), (190, 180));
    assert!(c.provider_domains().iter().all(|d| d.starts_with('.')));
    assert!(c.is_mappable_field("$.favorite_color") && !c.is_mappable_field("Bad Name"));
}

#[test]
fn activity_ids_from_create_answers() {
    let c = HubSpot;
    // HubSpot echoes only the properties that were set: an activity with no title or body
    // still learns its object, from where the create was sent.
    let bare = json!({"id": "9", "properties": {"hs_timestamp": "2024-01-01T00:00:00Z"}});
    for (t, want) in [
        ("call", "call-9"),
        ("meeting", "meeting-9"),
        ("task", "task-9"),
        ("email", "email-9"),
    ] {
        let sent = c
            .plan_create(Resource::Activities, json!({"type": t}))
            .expect("plan");
        assert_eq!(
            c.created_id(Resource::Activities, &sent, &bare).as_deref(),
            Ok(want),
            "{t}"
        );
    }
    let contact = c
        .plan_create(Resource::Contacts, json!({"last_name": "X"}))
        .expect("plan");
    assert_eq!(
        c.created_id(Resource::Contacts, &contact, &bare).as_deref(),
        Ok("9")
    );
    // A create sent anywhere but an engagement object cannot be an activity.
    assert!(c.created_id(Resource::Activities, &contact, &bare).is_err());
    assert!(
        c.created_id(Resource::Contacts, &contact, &json!({"id": "../9"}))
            .is_err()
    );
}

#[test]
fn updates_name_the_links_they_cannot_change() {
    let c = HubSpot;
    let r = c
        .plan_update(
            Resource::Contacts,
            "5",
            json!({"title": "x", "company_id": "77"}),
        )
        .expect("plan");
    assert_eq!(r.path, "/crm/v3/objects/contacts/5");
    assert_eq!(r.ignored, vec!["company_id".to_owned()]);
    let r = c
        .plan_update(
            Resource::Activities,
            "call-3",
            json!({"contact_id": "51", "opportunity_id": "6"}),
        )
        .expect("plan");
    assert_eq!(r.path, "/crm/v3/objects/calls/3");
    assert_eq!(
        r.ignored,
        vec!["contact_id".to_owned(), "opportunity_id".to_owned()]
    );
}

#[test]
fn runs_walk_pages_and_reads() {
    let c = HubSpot;
    let codec = CursorCodec::new(&[9u8; 32]).expect("codec");
    let params = ListParams::parse(
        Resource::Contacts,
        &[("limit".to_owned(), "150".to_owned())],
    )
    .expect("params");
    let mut run = c
        .plan_list(&params, &codec, &["favorite_color".to_owned()])
        .expect("run");
    let first = run.start();
    assert!(
        first
            .query
            .iter()
            .any(|(k, v)| k == "properties" && v.ends_with(",favorite_color"))
    );
    let page = |from: usize, n: usize, more: bool| {
        let results: Vec<Value> = (from..from + n)
            .map(|i| json!({"id": i.to_string(), "properties": {"firstname": "A"}}))
            .collect();
        let mut body = json!({ "results": results });
        if more {
            body["paging"] = json!({"next": {"after": (from + n).to_string()}});
        }
        body
    };
    let Step::Send(next) = run.feed(page(1, 100, true)).expect("feed") else {
        panic!("a second call for 150")
    };
    assert!(next.query.contains(&("after".to_owned(), "101".to_owned())));
    assert_eq!(run.feed(page(101, 50, true)).expect("feed"), Step::Done);
    let out = run.finish().expect("outcome");
    assert_eq!((out.data.len(), out.sources.len()), (150, 150));
    assert!(out.next_cursor.is_some());
    assert!(
        c.plan_list(&params, &codec, &["Bad Name".to_owned()])
            .is_err()
    );

    let mut get = c
        .plan_get(Resource::Leads, "5", &CommonParams::default())
        .expect("run");
    assert_eq!(get.start().path, "/crm/v3/properties/contacts");
    let Step::Send(read) = get.feed(json!({"results": []})).expect("feed") else {
        panic!("the record read follows");
    };
    assert_eq!(read.path, "/crm/v3/objects/contacts/5");
    get.feed(json!({"id": "5", "properties": {"lifecyclestage": "customer"}}))
        .expect("feed");
    assert_eq!(get.finish().unwrap_err().type_name(), "EntityNotFoundError");
}

#[test]
fn custom_properties_come_from_the_properties_api() {
    let c = HubSpot;
    let answer = json!({"results": [
        {"name": "firstname", "hubspotDefined": true},
        {"name": "hs_object_id", "hubspotDefined": true},
        {"name": "preferred_language", "type": "enumeration"},
        {"name": "old_flag", "archived": true},
        {"name": "hs_sneaky"},
        {"name": "city"},
        {"name": "Bad Name"},
        {"label": "no name"}]});
    assert_eq!(
        c.read_custom_fields(Resource::Contacts, &answer),
        vec!["preferred_language".to_owned()]
    );
    assert_eq!(
        c.plan_custom_fields(Resource::Leads).map(|r| r.path),
        Some("/crm/v3/properties/contacts".to_owned())
    );
    assert_eq!(
        c.plan_custom_fields(Resource::Opportunities)
            .map(|r| r.path),
        Some("/crm/v3/properties/deals".to_owned())
    );
    let mut note = c
        .plan_get(Resource::Notes, "3", &CommonParams::default())
        .expect("plan");
    assert_eq!(
        note.start().path,
        "/crm/v3/objects/notes/3",
        "notes have no custom_fields"
    );
    for r in [
        Resource::Activities,
        Resource::Users,
        Resource::Pipelines,
        Resource::Notes,
    ] {
        assert!(c.plan_custom_fields(r).is_none(), "{r:?}");
    }
}

#[test]
fn a_get_asks_for_the_custom_properties_by_name_and_surfaces_them() {
    let c = HubSpot;
    let mut run = c
        .plan_get(Resource::Contacts, "51", &CommonParams::default())
        .expect("plan");
    let first = run.start();
    assert_eq!(first.path, "/crm/v3/properties/contacts");
    let props = json!({"results": [{"name": "firstname", "hubspotDefined": true},
                                   {"name": "preferred_language"}]});
    let Step::Send(read) = run.feed(props).expect("feed") else {
        panic!("the record read follows");
    };
    assert_eq!(read.path, "/crm/v3/objects/contacts/51");
    let list = read
        .query
        .iter()
        .find(|(k, _)| k == "properties")
        .map(|(_, v)| v.clone())
        .expect("properties");
    assert!(list.ends_with(",preferred_language"), "{list}");
    let record = json!({"id": "51", "properties": {"firstname": "Ada",
        "preferred_language": "fr", "hs_object_id": "51", "lastmodifieddate": null},
        "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"});
    assert_eq!(run.feed(record).expect("feed"), Step::Done);
    let out = run.finish().expect("outcome");
    assert_eq!(
        out.data["custom_fields"],
        json!([{"id": "preferred_language", "name": "preferred_language", "value": "fr"}])
    );
    assert_eq!(out.source()["preferred_language"], "fr");
    // Owners and pipelines have no properties API call.
    let mut run = c
        .plan_get(Resource::Users, "7", &CommonParams::default())
        .expect("plan");
    assert_eq!(run.start().path, "/crm/v3/owners/7");
    // An activity's object comes from its id.
    let mut run = c
        .plan_get(Resource::Activities, "task-9", &CommonParams::default())
        .expect("plan");
    assert_eq!(run.start().path, "/crm/v3/properties/tasks");
}

#[test]
fn custom_fields_are_written_as_properties() {
    let c = HubSpot;
    let r = c
        .plan_create(
            Resource::Contacts,
            json!({"last_name": "B", "custom_fields": [{"id": "preferred_language", "value": "de"}]}),
        )
        .expect("plan");
    assert!(r.ignored.is_empty(), "{:?}", r.ignored);
    let body = r.body.expect("body");
    assert_eq!(body["properties"]["preferred_language"], "de");
    // A HubSpot-defined or mapped name is not a custom field.
    for name in ["firstname", "hs_lead_status", "lifecyclestage"] {
        let e = c
            .plan_create(
                Resource::Contacts,
                json!({"last_name": "B", "custom_fields": [{"id": name, "value": "x"}]}),
            )
            .expect_err(name);
        assert_eq!(e.type_name(), "RequestValidationError", "{name}");
    }
}
