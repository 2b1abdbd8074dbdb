//! The HubSpot connector's plans, executed over HTTP against the HubSpot emulator, as the server
//! will execute them: list with paging (plain and search, filters, sorts), get, create, update
//! and delete per resource, owners, pipelines, errors and rate-limit headers.

use std::collections::BTreeSet;

use patchbay_connectors::hubspot::{
    self, CallKind, Failure, HubSpotRequest, Method, map_error, oauth, parse_rate_limit,
};
use patchbay_fake_hubspot::{EmulatorConfig, EmulatorHandle, spawn};
use patchbay_unified::{CursorCodec, ListParams, Resource};
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use time::OffsetDateTime;

const REDIRECT: &str = "http://localhost:8080/oauth/callback";

struct Hub {
    _handle: EmulatorHandle,
    base: String,
    http: reqwest::Client,
    token: String,
    codec: CursorCodec,
}

struct Answer {
    status: u16,
    body: Value,
    raw: Vec<u8>,
    headers: reqwest::header::HeaderMap,
}

async fn start(records: usize) -> Hub {
    let config = EmulatorConfig {
        auto_approve: true,
        records,
        rate_limit_per_10s: 100_000,
        search_rate_limit_per_sec: 100_000,
        ..Default::default()
    };
    let handle = spawn(config.clone()).await.expect("emulator starts");
    let base = handle.base_url();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    // The install flow with the connector's own OAuth facts: authorize, then the form exchange.
    let authorize = oauth::AUTHORIZE_URL.replace("https://app.hubspot.com", &base);
    let scope = oauth::default_scopes().join(oauth::SCOPE_SEPARATOR);
    let redirect = http
        .get(&authorize)
        .query(&[
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", &scope),
            ("state", "s"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(redirect.status(), 302, "{:?}", redirect.text().await);
    let location = redirect.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .expect("code")
        .to_owned();
    let token: Value = http
        .post(format!("{base}{}", oauth::TOKEN_PATH))
        .form(&oauth::code_form(
            &code,
            REDIRECT,
            &config.client_id,
            &config.client_secret,
        ))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(token["expires_in"], oauth::ACCESS_TOKEN_SECONDS);
    Hub {
        _handle: handle,
        base,
        http,
        token: token["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
        codec: CursorCodec::new(&[3u8; 32]).expect("codec"),
    }
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Hub {
    async fn send_with(&self, r: &HubSpotRequest, token: &str) -> Answer {
        let method = match r.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base, r.path))
            .bearer_auth(token)
            .query(&r.query);
        if let Some(body) = &r.body {
            request = request.json(body);
        }
        let response = request.send().await.expect("send");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            raw,
            headers,
        }
    }

    async fn send(&self, r: &HubSpotRequest) -> Answer {
        self.send_with(r, &self.token).await
    }

    async fn ok(&self, r: &HubSpotRequest) -> Value {
        let a = self.send(r).await;
        assert!(
            (200..300).contains(&a.status),
            "{} {}: {} {}",
            r.path,
            a.status,
            a.body,
            json!(r.body)
        );
        a.body
    }

    /// One unified page: the plan's calls, then `finish`.
    async fn page(&self, resource: Resource, query: &[(&str, &str)]) -> hubspot::ListPage {
        let params = ListParams::parse(resource, &pairs(query)).expect("params");
        let plan = hubspot::plan_list(&params, &self.codec).expect("plan");
        let mut bodies = vec![self.ok(&plan.request).await];
        while let Some(next) = plan.next_request(&bodies) {
            let body = self.ok(&next).await;
            bodies.push(body);
        }
        plan.finish(&params, &self.codec, &bodies).expect("page")
    }

    /// Every record of a list, following cursors.
    async fn drain(&self, resource: Resource, query: &[(&str, &str)]) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor = None::<String>;
        for _ in 0..500 {
            let mut q = query.to_vec();
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let page = self.page(resource, &q).await;
            out.extend(page.data);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return out,
            }
        }
        panic!("paging did not end");
    }

    async fn get(&self, resource: Resource, id: &str) -> Result<Value, Failure> {
        let plan = hubspot::plan_get(resource, id).expect("plan");
        let a = self.send(&plan.request).await;
        if a.status != 200 {
            return Err(map_error(a.status, &a.raw, CallKind::OneRecord));
        }
        plan.read(&a.body).map_err(Failure::Error)
    }

    async fn create(&self, resource: Resource, body: Value) -> String {
        let plan = hubspot::plan_create(resource, body, OffsetDateTime::now_utc()).expect("plan");
        let answer = self.send(&plan.request).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        plan.created_id(&answer.body).expect("id")
    }

    async fn update(&self, resource: Resource, id: &str, body: Value) {
        let plan = hubspot::plan_update(resource, id, body).expect("plan");
        self.ok(&plan.request).await;
        for then in &plan.then {
            self.ok(then).await;
        }
    }

    async fn delete(&self, resource: Resource, id: &str) {
        let plan = hubspot::plan_delete(resource, id).expect("plan");
        assert_eq!(self.send(&plan.request).await.status, 204);
        match self.get(resource, id).await {
            Err(Failure::Error(e)) => assert_eq!(e.type_name(), "EntityNotFoundError"),
            other => panic!("deleted {id} still reads: {other:?}"),
        }
    }
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn lists_page_plainly_and_by_search() {
    let hub = start(60).await;
    let small = hub.drain(Resource::Contacts, &[("limit", "7")]).await;
    let big = hub.drain(Resource::Contacts, &[("limit", "150")]).await;
    assert!(small.len() > 7, "seeded contacts: {}", small.len());
    assert_eq!(ids(&small), ids(&big));
    assert_eq!(
        ids(&small).iter().collect::<BTreeSet<_>>().len(),
        small.len()
    );
    assert!(
        small.iter().any(|c| c["company_id"].is_string()),
        "links read with the list"
    );

    // A filter goes through search, paged by keyset; it finds exactly the matching records.
    let owner = small
        .iter()
        .find_map(|c| c["owner_id"].as_str())
        .expect("an owned contact")
        .to_owned();
    let want: Vec<String> = ids(&small
        .iter()
        .filter(|c| c["owner_id"] == owner.as_str())
        .cloned()
        .collect::<Vec<_>>());
    let found = hub
        .drain(
            Resource::Contacts,
            &[("filter[owner_id]", owner.as_str()), ("limit", "3")],
        )
        .await;
    assert_eq!(ids(&found), want);

    // A sort: every record once, in order, missing names last.
    for direction in ["asc", "desc"] {
        let sorted = hub
            .drain(
                Resource::Contacts,
                &[
                    ("sort[by]", "last_name"),
                    ("sort[direction]", direction),
                    ("limit", "4"),
                ],
            )
            .await;
        let got = ids(&sorted);
        assert_eq!(
            got.iter().collect::<BTreeSet<_>>().len(),
            small.len(),
            "{direction}"
        );
        let names: Vec<Option<String>> = sorted
            .iter()
            .map(|c| {
                c["last_name"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_lowercase)
            })
            .collect();
        let present: Vec<&String> = names.iter().flatten().collect();
        let mut ordered = present.clone();
        ordered.sort();
        if direction == "desc" {
            ordered.reverse();
        }
        assert_eq!(present, ordered, "{direction}");
        let first_missing = names
            .iter()
            .position(Option::is_none)
            .unwrap_or(names.len());
        assert!(names[first_missing..].iter().all(Option::is_none));
    }

    // An email filter finds that one contact.
    let email = small
        .iter()
        .find_map(|c| c["emails"][0]["email"].as_str())
        .expect("an email")
        .to_owned();
    let one = hub
        .drain(Resource::Contacts, &[("filter[email]", email.as_str())])
        .await;
    assert!(
        !one.is_empty()
            && one
                .iter()
                .all(|c| c["emails"][0]["email"] == email.as_str())
    );

    let companies = hub
        .drain(Resource::Companies, &[("sort[by]", "name"), ("limit", "5")])
        .await;
    assert!(!companies.is_empty());
    let deals = hub.drain(Resource::Opportunities, &[("limit", "50")]).await;
    assert!(deals.iter().all(|d| d["pipeline_id"].is_string()));
    for t in ["call", "meeting", "task"] {
        let acts = hub
            .drain(
                Resource::Activities,
                &[("filter[type]", t), ("limit", "50")],
            )
            .await;
        assert!(
            acts.iter()
                .all(|a| a["type"] == t && a["id"].as_str().is_some_and(|id| id.starts_with(t)))
        );
    }
}

/// Association filters and the link fields of search pages, against the emulator: a filter
/// on a link finds exactly the records a plain list says carry it, and a searched page reports
/// the same links as the plain list (one batch read per page and associated type).
#[tokio::test]
async fn link_filters_and_links_on_searched_pages() {
    let hub = start(60).await;
    let plain = hub.drain(Resource::Contacts, &[("limit", "100")]).await;
    let company = plain
        .iter()
        .find_map(|c| c["company_id"].as_str())
        .expect("a contact with a company")
        .to_owned();
    let want: Vec<String> = ids(&plain
        .iter()
        .filter(|c| c["company_id"] == company.as_str())
        .cloned()
        .collect::<Vec<_>>());
    let found = hub
        .drain(
            Resource::Contacts,
            &[("filter[company_id]", company.as_str()), ("limit", "2")],
        )
        .await;
    assert_eq!(ids(&found), want);
    assert!(found.iter().all(|c| c["company_id"] == company.as_str()));

    // A sorted (searched) list carries the same links as the plain one.
    let sorted = hub
        .drain(Resource::Contacts, &[("sort[by]", "email"), ("limit", "7")])
        .await;
    assert_eq!(sorted.len(), plain.len());
    for c in &sorted {
        let same = plain.iter().find(|p| p["id"] == c["id"]).expect("listed");
        assert_eq!(c["company_id"], same["company_id"], "{c}");
    }
    let params = ListParams::parse(
        Resource::Contacts,
        &pairs(&[("sort[by]", "email"), ("limit", "7")]),
    )
    .expect("params");
    let plan = hubspot::plan_list(&params, &hub.codec).expect("plan");
    let mut calls = vec![plan.request.clone()];
    let mut bodies = vec![hub.ok(&plan.request).await];
    while let Some(next) = plan.next_request(&bodies) {
        bodies.push(hub.ok(&next).await);
        calls.push(next);
    }
    let paths: Vec<&str> = calls.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/crm/v3/objects/contacts/search",
            "/crm/v4/associations/contacts/companies/batch/read"
        ],
        "one search and one batch read for the page"
    );
    let page = plan.finish(&params, &hub.codec, &bodies).expect("page");
    assert_eq!(page.data.len(), 7);

    // Deals by company and by contact; activities by contact across the four objects.
    let deals = hub
        .drain(Resource::Opportunities, &[("limit", "100")])
        .await;
    let deal_company = deals
        .iter()
        .find_map(|d| d["company_id"].as_str())
        .expect("a deal with a company")
        .to_owned();
    let by_company = hub
        .drain(
            Resource::Opportunities,
            &[("filter[company_id]", deal_company.as_str())],
        )
        .await;
    assert!(!by_company.is_empty() && by_company.len() < deals.len());
    assert!(
        by_company
            .iter()
            .all(|d| d["company_id"] == deal_company.as_str())
    );
    let acts = hub.drain(Resource::Activities, &[("limit", "100")]).await;
    let contact = acts
        .iter()
        .find_map(|a| a["contact_id"].as_str())
        .expect("an activity with a contact")
        .to_owned();
    let want: BTreeSet<String> = acts
        .iter()
        .filter(|a| a["contact_id"] == contact.as_str())
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    let by_contact = hub
        .drain(
            Resource::Activities,
            &[("filter[contact_id]", contact.as_str()), ("limit", "3")],
        )
        .await;
    let got: BTreeSet<String> = by_contact
        .iter()
        .map(|a| a["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(got, want);
    assert!(
        by_contact
            .iter()
            .all(|a| a["contact_id"] == contact.as_str())
    );

    // filter[name]: the full name as the unified record says it.
    let named = plain
        .iter()
        .find_map(|c| c["name"].as_str())
        .expect("a named contact")
        .to_owned();
    let by_name = hub
        .drain(
            Resource::Contacts,
            &[("filter[name]", named.to_uppercase().as_str())],
        )
        .await;
    assert!(!by_name.is_empty());
    assert!(
        by_name
            .iter()
            .all(|c| c["name"].as_str().map(str::to_lowercase) == Some(named.to_lowercase()))
    );
}

#[tokio::test]
async fn records_round_trip() {
    let hub = start(5).await;
    let company = hub
        .create(
            Resource::Companies,
            json!({"name": "Patchbay Test Co", "number_of_employees": "42"}),
        )
        .await;
    let contact = hub
        .create(Resource::Contacts, json!({"first_name": "Ada", "last_name": "Lovelace",
            "emails": [{"email": "ada.flow@example.com", "type": "primary"}], "company_id": company}))
        .await;
    let read = hub.get(Resource::Contacts, &contact).await.expect("get");
    assert_eq!(read["name"], "Ada Lovelace");
    assert_eq!(read["company_id"], company.as_str());
    hub.update(
        Resource::Contacts,
        &contact,
        json!({"title": "Countess", "phone_numbers": null}),
    )
    .await;
    assert_eq!(
        hub.get(Resource::Contacts, &contact).await.expect("get")["title"],
        "Countess"
    );
    let company_read = hub.get(Resource::Companies, &company).await.expect("get");
    assert_eq!(company_read["number_of_employees"], "42");

    let deal = hub
        .create(Resource::Opportunities, json!({"title": "Flow deal", "monetary_amount": 1500,
            "pipeline_stage_id": "appointmentscheduled", "close_date": "2027-01-15", "company_id": company}))
        .await;
    hub.update(
        Resource::Opportunities,
        &deal,
        json!({"pipeline_stage_id": "closedwon", "primary_contact_id": contact}),
    )
    .await;
    let d = hub.get(Resource::Opportunities, &deal).await.expect("get");
    assert_eq!(d["pipeline_stage_id"], "closedwon");
    assert_eq!(d["monetary_amount"], json!(1500.0));
    assert_eq!(d["close_date"], "2027-01-15");
    assert_eq!(d["company_id"], company.as_str());
    assert_eq!(d["primary_contact_id"], contact.as_str());

    let note = hub
        .create(
            Resource::Notes,
            json!({"content": "Met at the fair", "contact_id": contact}),
        )
        .await;
    assert_eq!(
        hub.get(Resource::Notes, &note).await.expect("get")["contact_id"],
        contact.as_str()
    );
    hub.update(Resource::Notes, &note, json!({"content": "Met twice"}))
        .await;
    assert_eq!(
        hub.get(Resource::Notes, &note).await.expect("get")["content"],
        "Met twice"
    );

    for t in ["call", "meeting", "task"] {
        let id = hub
            .create(
                Resource::Activities,
                json!({"type": t, "title": format!("A {t}"),
                "activity_datetime": "2026-05-01T10:00:00Z", "company_id": company}),
            )
            .await;
        assert!(id.starts_with(t), "{id}");
        hub.update(Resource::Activities, &id, json!({"title": "Renamed"}))
            .await;
        let a = hub.get(Resource::Activities, &id).await.expect("get");
        assert_eq!(
            (a["title"].as_str(), a["type"].as_str()),
            (Some("Renamed"), Some(t))
        );
        assert_eq!(a["company_id"], company.as_str());
        hub.delete(Resource::Activities, &id).await;
    }

    // A lead is a contact in the lead stage: listed as a lead, not found as one once promoted.
    let lead = hub
        .create(
            Resource::Leads,
            json!({"name": "Grace Hopper", "company_name": "Navy"}),
        )
        .await;
    let leads = hub.drain(Resource::Leads, &[("limit", "50")]).await;
    assert!(ids(&leads).contains(&lead));
    assert_eq!(
        hub.get(Resource::Leads, &lead).await.expect("get")["name"],
        "Grace Hopper"
    );
    assert!(
        hub.get(Resource::Leads, &contact).await.is_err(),
        "a plain contact is no lead"
    );

    hub.delete(Resource::Notes, &note).await;
    hub.delete(Resource::Opportunities, &deal).await;
    hub.delete(Resource::Leads, &lead).await;
    hub.delete(Resource::Contacts, &contact).await;
    hub.delete(Resource::Companies, &company).await;
}

#[tokio::test]
async fn owners_pipelines_errors_and_limits() {
    let hub = start(5).await;
    let users = hub.drain(Resource::Users, &[("limit", "2")]).await;
    assert!(!users.is_empty());
    let first = &users[0];
    let id = first["id"].as_str().expect("id");
    assert_eq!(
        hub.get(Resource::Users, id).await.expect("get")["emails"],
        first["emails"]
    );
    let email = first["emails"][0]["email"].as_str().expect("email");
    let by_email = hub
        .drain(Resource::Users, &[("filter[email]", email)])
        .await;
    assert_eq!(ids(&by_email), vec![id.to_owned()]);

    let pipelines = hub.drain(Resource::Pipelines, &[]).await;
    let default = pipelines
        .iter()
        .find(|p| p["id"] == "default")
        .expect("default pipeline");
    assert!(
        default["stages"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["id"] == "closedwon"))
    );
    assert_eq!(
        hub.get(Resource::Pipelines, "default").await.expect("get")["id"],
        "default"
    );

    // Rate-limit headers on an ordinary answer.
    let plan = hubspot::plan_get(Resource::Users, id).expect("plan");
    let answer = hub.send(&plan.request).await;
    let usage =
        parse_rate_limit(|n| answer.headers.get(n).and_then(|v| v.to_str().ok())).expect("usage");
    assert!(usage.limit() > 0 && usage.remaining() < usage.limit());

    // A refused token asks for one refresh; an unknown record is not found; bad values are the
    // caller's.
    let refused = hub.send_with(&plan.request, "not-a-token").await;
    assert_eq!(
        map_error(refused.status, &refused.raw, CallKind::OneRecord),
        Failure::RefreshAndRetry
    );
    match hub.get(Resource::Contacts, "999999999").await {
        Err(Failure::Error(e)) => assert_eq!(e.type_name(), "EntityNotFoundError"),
        other => panic!("{other:?}"),
    }
    let bad = hubspot::plan_create(
        Resource::Opportunities,
        json!({"title": "x", "pipeline_stage_id": "nope"}),
        OffsetDateTime::now_utc(),
    )
    .expect("plan");
    let answer = hub.send(&bad.request).await;
    let Failure::Error(e) = map_error(answer.status, &answer.raw, CallKind::Create) else {
        panic!("{}", answer.body)
    };
    assert_eq!(e.status_code(), 400, "{e:?}");
}

/// The same emulator through the connector interface, as the server drives it.
#[tokio::test]
async fn through_the_connector_interface() {
    use patchbay_connectors::connector::{Connector, Step};
    let hub = start(30).await;
    let c: &dyn Connector = &hubspot::HubSpot;
    assert_eq!(
        c.api_base(&hub.base, None).as_deref(),
        Ok(hub.base.trim_end_matches('/'))
    );

    // Every contact once across pages, by plain list and by search.
    let mut seen = Vec::new();
    let mut searched = Vec::new();
    for (query, into) in [
        (vec![("limit", "9")], &mut seen),
        (
            vec![("limit", "9"), ("sort[by]", "created_at")],
            &mut searched,
        ),
    ] {
        let mut cursor: Option<String> = None;
        loop {
            let mut q = query.clone();
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let params = ListParams::parse(Resource::Contacts, &pairs(&q)).expect("params");
            let mut run = c.plan_list(&params, &hub.codec, &[]).expect("run");
            let mut request = run.start();
            loop {
                let body = hub.ok(&request).await;
                match run.feed(body).expect("feed") {
                    Step::Send(next) => request = next,
                    Step::Done => break,
                }
            }
            let out = run.finish().expect("outcome");
            assert_eq!(out.data.len(), out.sources.len());
            into.extend(ids(&out.data));
            match out.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    assert!(seen.len() > 9);
    let mut sorted = searched.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), searched.len(), "no duplicates");
    let mut all = seen.clone();
    all.sort();
    assert_eq!(sorted, all, "the search saw every contact");

    // Create an activity, read back its typed id, get it through a run, delete it.
    // Custom properties: found by the properties API, written from `custom_fields`, read back
    // by a get and by a list that names them (as the server plans it).
    let described = hub
        .ok(&c.plan_custom_fields(Resource::Contacts).expect("a call"))
        .await;
    let custom = c.read_custom_fields(Resource::Contacts, &described);
    assert_eq!(custom, ["preferred_language"]);
    let request = c
        .plan_create(
            Resource::Contacts,
            json!({"last_name": "Custom", "custom_fields": [{"id": "preferred_language", "value": "es"}]}),
        )
        .expect("plan");
    let made = hub.send(&request).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = c
        .created_id(Resource::Contacts, &request, &made.body)
        .expect("id");
    let mut get = c
        .plan_get(Resource::Contacts, &id, &Default::default())
        .expect("run");
    let body = hub.ok(&get.start()).await;
    let Step::Send(read) = get.feed(body).expect("feed") else {
        panic!("the record read follows");
    };
    let body = hub.ok(&read).await;
    assert_eq!(get.feed(body).expect("feed"), Step::Done);
    let one = get.finish().expect("read").data;
    assert_eq!(
        one["custom_fields"],
        json!([{"id": "preferred_language", "name": "preferred_language", "value": "es"}])
    );
    let params = ListParams::parse(
        Resource::Contacts,
        &pairs(&[("filter[last_name]", "Custom")]),
    )
    .expect("params");
    let mut run = c.plan_list(&params, &hub.codec, &custom).expect("plan");
    let mut next = run.start();
    loop {
        let body = hub.ok(&next).await;
        match run.feed(body).expect("feed") {
            Step::Send(r) => next = r,
            Step::Done => break,
        }
    }
    let listed = run.finish().expect("page");
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.data[0]["custom_fields"], one["custom_fields"]);

    for t in ["call", "meeting", "task"] {
        let request = c
            .plan_create(
                Resource::Activities,
                json!({"type": t, "title": "Via the interface"}),
            )
            .expect("plan");
        let answer = hub.send(&request).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let id = c
            .created_id(Resource::Activities, &request, &answer.body)
            .expect("id");
        assert!(id.starts_with(t), "{id}");
        let mut get = c
            .plan_get(Resource::Activities, &id, &Default::default())
            .expect("run");
        // The object's properties first (for its custom ones), then the record.
        let properties = get.start();
        assert_eq!(properties.path, format!("/crm/v3/properties/{t}s"));
        let body = hub.ok(&properties).await;
        let Step::Send(read) = get.feed(body).expect("feed") else {
            panic!("the record read follows");
        };
        let body = hub.ok(&read).await;
        assert_eq!(get.feed(body).expect("feed"), Step::Done);
        assert_eq!(
            get.finish().expect("read").data["title"],
            "Via the interface"
        );
        let delete = c.plan_delete(Resource::Activities, &id).expect("plan");
        assert_eq!(hub.send(&delete).await.status, 204);
    }
}

/// Change polling as the server's poller runs it: the first poll's newest records, then a
/// change search from a watermark that finds exactly the records changed after it, with typed
/// activity ids; and the merged activities list through the interface, every record once.
#[tokio::test]
async fn change_searches_and_merged_activities() {
    use patchbay_connectors::connector::{Connector, Step};
    let hub = start(60).await;
    let c: &dyn Connector = &hubspot::HubSpot;
    for resource in [Resource::Contacts, Resource::Activities, Resource::Leads] {
        for object in c.change_objects(resource) {
            let first = hub.ok(&c.plan_newest(object).expect("plan")).await;
            let (rows, _) = c.read_changes_of(object, &first);
            let stamps: Vec<i64> = rows.iter().map(|r| r.modstamp_ms).collect();
            assert!(
                stamps.windows(2).all(|w| w[0] >= w[1]),
                "{object}: newest first"
            );
        }
    }
    // A watermark after every seeded change: only what changes next is found.
    let watermark = OffsetDateTime::now_utc().unix_timestamp() * 1000 - 1;
    let contact = hub
        .create(
            Resource::Contacts,
            json!({"first_name": "Poll", "last_name": "Me"}),
        )
        .await;
    let call = hub
        .create(
            Resource::Activities,
            json!({"type": "call", "title": "Polled call"}),
        )
        .await;
    let answer = hub
        .ok(&c.plan_changes("contacts", watermark).expect("plan"))
        .await;
    let (rows, complete) = c.read_changes_of("contacts", &answer);
    assert!(complete);
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [contact.as_str()]
    );
    assert!(rows[0].created_ms >= watermark && rows[0].modstamp_ms >= watermark);
    let answer = hub
        .ok(&c.plan_changes("calls", watermark).expect("plan"))
        .await;
    let (rows, _) = c.read_changes_of("calls", &answer);
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [call.as_str()]
    );
    let answer = hub
        .ok(&c.plan_changes("meetings", watermark).expect("plan"))
        .await;
    assert!(c.read_changes_of("meetings", &answer).0.is_empty());
    // Emails are polled as activities too, with typed ids.
    assert!(c.change_objects(Resource::Activities).contains(&"emails"));
    let email = hub
        .create(
            Resource::Activities,
            json!({"type": "email", "title": "Polled email", "description": "Hi"}),
        )
        .await;
    assert!(email.starts_with("email-"), "{email}");
    let answer = hub
        .ok(&c.plan_changes("emails", watermark).expect("plan"))
        .await;
    let (rows, _) = c.read_changes_of("emails", &answer);
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [email.as_str()]
    );

    // The merged list: every call, meeting, task and email once, across pages of 4.
    let mut expected = BTreeSet::new();
    for t in ["call", "meeting", "task", "email"] {
        let typed = hub
            .drain(
                Resource::Activities,
                &[("filter[type]", t), ("limit", "100")],
            )
            .await;
        expected.extend(ids(&typed));
    }
    assert!(expected.len() > 4, "{expected:?}");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "4")];
        if let Some(c) = &cursor {
            q.push(("cursor", c.as_str()));
        }
        let params = ListParams::parse(Resource::Activities, &pairs(&q)).expect("params");
        let mut run = c.plan_list(&params, &hub.codec, &[]).expect("run");
        let mut request = run.start();
        loop {
            let body = hub.ok(&request).await;
            match run.feed(body).expect("feed") {
                Step::Send(next) => request = next,
                Step::Done => break,
            }
        }
        let out = run.finish().expect("outcome");
        assert!(out.data.len() <= 4);
        seen.extend(ids(&out.data));
        match out.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), expected.len(), "{seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
}
