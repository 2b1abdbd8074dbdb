//! The whole list/get/create flow as the HTTP layer will drive it, through the public API only:
//! query pairs in, planned Salesforce calls out, Salesforce JSON in, Apideck envelopes out.

use serde_json::{Value, json};

use patchbay_connectors::salesforce::{
    self, CallKind, Failure, Method, map_error, parse_limit_info, plan_create, plan_get, plan_list,
    read_record,
};
use patchbay_unified::{CommonParams, CursorCodec, Envelope, ListParams, Page, Resource};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn contact(i: usize) -> Value {
    json!({
        "attributes": {"type": "Contact", "url": format!("/services/data/v66.0/sobjects/Contact/003{i:012}AAA")},
        "Id": format!("003{i:012}AAA"), "Name": format!("Person {i}"), "FirstName": "Person",
        "LastName": i.to_string(), "Email": format!("p{i}@example.com"),
        "Account": null, "MailingCity": "Ghent",
        "CreatedDate": "2024-09-27T10:39:01.000+0000", "LastModifiedDate": "2024-09-27T10:39:01.000+0000"
    })
}

#[test]
fn list_two_pages_with_fields_and_raw() {
    let codec = CursorCodec::new(b"an example cursor secret of 32+ bytes").unwrap();
    let base_url = "https://patchbay.example/crm/contacts";
    let envelope = Envelope {
        service: salesforce::SERVICE_ID,
        resource: Resource::Contacts,
    };
    let all: Vec<Value> = (1..=3).map(contact).collect();

    // Page 1
    let query = pairs(&[
        ("limit", "2"),
        ("fields", "id,emails.email,addresses.city"),
        ("raw", "true"),
    ]);
    let params = ListParams::parse(Resource::Contacts, &query).unwrap();
    let plan = plan_list(&params, &codec, &[]).unwrap();
    assert_eq!(plan.request.method, Method::Get);
    assert!(
        plan.request.query[0]
            .1
            .ends_with("ORDER BY Id ASC NULLS FIRST LIMIT 3")
    );
    // the emulator would answer with the first limit+1 rows
    let response = json!({"totalSize": 3, "done": true, "records": all});
    let records = response["records"].as_array().unwrap();
    assert!(!plan.wants_more(records.len()));
    let page = plan.finish(&params, &codec, records).unwrap();
    let next = page.next_cursor.clone().unwrap();
    let data = params
        .common
        .fields
        .as_ref()
        .unwrap()
        .apply_to_data(&Value::Array(page.data));
    let Value::Array(data) = data else { panic!() };
    let body = envelope
        .list(
            data,
            &Page {
                base_url,
                query: &query,
                current: params.cursor.as_deref(),
                next: Some(&next),
            },
            params.common.raw.then(|| response.clone()),
        )
        .body;
    assert_eq!(
        body["data"][0],
        json!({"id": "003000000000001AAA", "emails": [{"email": "p1@example.com"}],
                                       "addresses": [{"city": "Ghent"}]})
    );
    assert_eq!(body["meta"]["items_on_page"], 2);
    assert_eq!(body["_raw"]["totalSize"], 3);
    let next_link = body["links"]["next"].as_str().unwrap();
    assert!(
        next_link
            .starts_with("https://patchbay.example/crm/contacts?limit=2&fields=id%2Cemails.email")
    );
    assert!(next_link.ends_with(&format!("&cursor={next}")));

    // Page 2 (as a client following links.next would ask for it)
    let query = pairs(&[("limit", "2"), ("cursor", &next)]);
    let params = ListParams::parse(Resource::Contacts, &query).unwrap();
    let plan = plan_list(&params, &codec, &[]).unwrap();
    let soql = &plan.request.query[0].1;
    assert!(
        soql.contains("WHERE Id > '003000000000002AAA' ORDER BY Id"),
        "{soql}"
    );
    let page = plan.finish(&params, &codec, &all[2..]).unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.next_cursor, None);
    let body = envelope
        .list(
            page.data,
            &Page {
                base_url,
                query: &query,
                current: params.cursor.as_deref(),
                next: None,
            },
            None,
        )
        .body;
    assert_eq!(body["meta"]["cursors"]["current"], next.as_str());
    assert_eq!(body["links"]["next"], Value::Null);
    assert_eq!(body["data"][0]["company_name"], Value::Null);
}

#[test]
fn get_create_and_errors() {
    let envelope = Envelope {
        service: salesforce::SERVICE_ID,
        resource: Resource::Contacts,
    };
    let get = plan_get(
        Resource::Contacts,
        "003000000000001AAA",
        &CommonParams::default(),
    )
    .unwrap();
    assert_eq!(get.path, "sobjects/Contact/003000000000001AAA");
    let one = envelope.one(read_record(Resource::Contacts, &contact(1)).unwrap(), None);
    assert_eq!(one.body["data"]["emails"][0]["type"], "primary");

    let create = plan_create(
        Resource::Contacts,
        json!({"first_name": "Ada", "last_name": "Lovelace"}),
    )
    .unwrap();
    assert_eq!(
        (create.method, create.path.as_str()),
        (Method::Post, "sobjects/Contact")
    );
    let id =
        salesforce::created_id(&json!({"id": "003000000000009AAA", "success": true, "errors": []}))
            .unwrap();
    let added = envelope.added(&id, None);
    assert_eq!(added.status_code, 201);
    assert_eq!(added.body["data"], json!({"id": "003000000000009AAA"}));

    let missing = br#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]"#;
    let Failure::Error(e) = map_error(400, missing, CallKind::Create) else {
        panic!()
    };
    assert_eq!(
        (e.type_name(), e.status_code()),
        ("ConnectorExecutionError", 400)
    );
    let usage = parse_limit_info("api-usage=18/15000").unwrap();
    assert_eq!((usage.limit(), usage.remaining()), (15000, 14982));
}
