use serde_json::json;

use super::*;
use crate::registry;

fn codec() -> CursorCodec {
    CursorCodec::new(&[7u8; 32]).unwrap()
}

fn params(query: &[(&str, &str)]) -> ListParams {
    let pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ListParams::parse(Resource::Contacts, &pairs).unwrap()
}

fn contact(n: usize) -> Value {
    json!({"attributes": {"type": "Contact"}, "Id": format!("003{n:012}AAA"), "LastName": format!("L{n}")})
}

#[test]
fn the_registry_serves_salesforce_by_its_id() {
    let c = registry::connector("salesforce").unwrap();
    assert_eq!(c.display().name, "Salesforce");
    assert!(REST_BASE.ends_with(super::super::API_VERSION));
    assert!(registry::is_provider_host("acme.my.salesforce.com"));
    assert!(registry::is_provider_host("acme.lightning.force.com"));
    assert!(!registry::is_provider_host("salesforce.com.evil.com"));
}

#[test]
fn only_a_401_naming_the_session_means_token_invalid() {
    let s = Salesforce;
    let body = br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
    assert!(s.token_invalid(401, body));
    assert!(!s.token_invalid(403, body));
    assert!(!s.token_invalid(401, br#"[{"errorCode":"INSUFFICIENT_ACCESS"}]"#));
}

#[test]
fn usage_comes_from_sforce_limit_info() {
    let s = Salesforce;
    let headers =
        |name: &str| (name == "sforce-limit-info").then(|| "api-usage=25/15000".to_owned());
    assert_eq!(
        s.rate_limit(&headers),
        Some(ApiUsage {
            used: 25,
            max: 15000,
            recheck_after_ms: 15 * 60 * 1000,
        })
    );
    assert_eq!(s.rate_limit(&|_: &str| None), None);
}

#[test]
fn api_base_is_the_checked_instance_url() {
    let s = Salesforce;
    assert_eq!(
        s.api_base(
            "https://login.salesforce.com",
            Some("https://acme.my.salesforce.com/")
        )
        .as_deref(),
        Ok("https://acme.my.salesforce.com")
    );
    assert!(
        s.api_base("https://login.salesforce.com", Some("https://evil.example"))
            .is_err()
    );
    assert!(s.api_base("https://login.salesforce.com", None).is_err());
}

#[test]
fn a_list_walks_next_records_url_until_the_page_is_full() {
    let s = Salesforce;
    let codec = codec();
    let p = params(&[("limit", "3")]);
    let mut run = s.plan_list(&p, &codec, &[]).unwrap();
    let first = run.start();
    assert_eq!(first.path, "/services/data/v66.0/query");
    let step = run
        .feed(
            json!({"done": false, "nextRecordsUrl": "/services/data/v66.0/query/01g-2",
                     "totalSize": 5, "records": [contact(1), contact(2)]}),
        )
        .unwrap();
    assert_eq!(
        step,
        Step::Send(Request::get("/services/data/v66.0/query/01g-2"))
    );
    let step = run
        .feed(
            json!({"done": false, "nextRecordsUrl": "/services/data/v66.0/query/01g-4",
                     "records": [contact(3), contact(4)]}),
        )
        .unwrap();
    assert_eq!(step, Step::Done, "four rows cover a page of three plus one");
    let out = run.finish().unwrap();
    assert_eq!(out.data.len(), 3);
    assert_eq!(out.sources.len(), 3);
    assert_eq!(out.sources[2]["Id"], contact(3)["Id"]);
    assert!(out.next_cursor.is_some());
    assert_eq!(out.raw["records"].as_array().map(Vec::len), Some(4));
    assert_eq!(out.raw["totalSize"], 5);
}

#[test]
fn next_records_urls_stay_on_the_rest_api() {
    assert!(is_safe_next_path(
        "/services/data/v66.0/query/01gRO0000016PIAYA2-2000"
    ));
    for bad in [
        "https://evil.example/services/data/v66.0/query/x",
        "//evil.example/services/data/",
        "/services/data/../../oauth2/token",
        "/services/data/v66.0/query/x?y=1",
        "/services/data/v66.0/query/x@evil",
        "/services/data/v66.0/query/x%2f..",
        "/services/apexrest/x",
        "/services/data/v66.0/query/\r\nHost: evil",
    ] {
        assert!(!is_safe_next_path(bad), "{bad}");
    }
}

#[test]
fn only_unfinished_answers_have_a_next_page() {
    let done = json!({"done": true, "nextRecordsUrl": "/services/data/v66.0/query/a-1"});
    assert_eq!(next_records_url(&done).ok().flatten(), None);
    let more = json!({"done": false, "nextRecordsUrl": "/services/data/v66.0/query/a-1"});
    assert_eq!(
        next_records_url(&more).ok().flatten().as_deref(),
        Some("/services/data/v66.0/query/a-1")
    );
    let evil = json!({"done": false, "nextRecordsUrl": "https://evil.example/x"});
    assert!(next_records_url(&evil).is_err());
    let codec = codec();
    let mut run = Salesforce.plan_list(&params(&[]), &codec, &[]).unwrap();
    run.start();
    assert!(run.feed(evil).is_err(), "the walk refuses it too");
}

#[test]
fn describe_gives_custom_fields_only() {
    let s = Salesforce;
    let describe = json!({"fields": [{"name": "Id"}, {"name": "Level__c"}, {"name": "Email"}]});
    assert_eq!(
        s.read_custom_fields(Resource::Contacts, &describe),
        vec!["Level__c"]
    );
    assert_eq!(
        s.plan_custom_fields(Resource::Contacts).map(|r| r.path),
        Some("/services/data/v66.0/sobjects/Contact/describe".to_owned())
    );
    assert!(s.plan_custom_fields(Resource::Pipelines).is_none());
}

#[test]
fn login_choices_add_the_integration_host_once_and_check_consumer_choices() {
    let s = Salesforce;
    let prod = login_host_options("https://login.salesforce.com");
    assert_eq!(prod.len(), 2);
    assert_eq!(prod[0].1, "https://login.salesforce.com");
    let emu = login_host_options("http://127.0.0.1:8787");
    assert_eq!(emu.len(), 3);
    assert_eq!(emu[0].1, "http://127.0.0.1:8787");
    let emu_url = "http://127.0.0.1:8787";
    assert_eq!(
        s.check_login_choice(" https://test.salesforce.com/ ", emu_url)
            .as_deref(),
        Ok("https://test.salesforce.com")
    );
    assert!(s.check_login_choice(emu_url, emu_url).is_ok());
    assert!(
        s.check_login_choice("http://127.0.0.1:9999", emu_url)
            .is_err()
    );
}

#[test]
fn writes_and_changes_are_absolute_rest_paths() {
    let s = Salesforce;
    let create = s
        .plan_create(Resource::Contacts, json!({"last_name": "X"}))
        .unwrap();
    assert_eq!(create.path, "/services/data/v66.0/sobjects/Contact");
    let changes = s.plan_changes("Contact", 0).unwrap();
    assert_eq!(changes.path, "/services/data/v66.0/queryAll");
    assert!(s.plan_newest("User").is_err());
}
