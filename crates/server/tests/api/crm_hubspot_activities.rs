//! `GET /crm/activities` on a HubSpot connection without `filter[type]`: calls, meetings, tasks
//! and emails (four HubSpot objects) under one cursor, against the HubSpot emulator. Every
//! record comes exactly once across pages of any size, a sort orders them together, a filter
//! they share applies to all, and a bad cursor is the spec's 400. Email activities go the whole
//! way: created, read, listed, filtered by contact, updated and deleted.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, assert_error_envelope};
use crate::hubspot_support::{HubSpotApp, spawn_hubspot};

crate::server_backend_tests!(
    hubspot_activities_without_a_type_page_through_calls_meetings_and_tasks,
    hubspot_activity_cursors_are_checked,
    hubspot_email_activities_round_trip,
);

const CALLS: usize = 4;
const MEETINGS: usize = 3;
const TASKS: usize = 5;
const EMAILS: usize = 2;

/// Creates the activities through the unified API; returns their unified ids.
async fn seed(t: &HubSpotApp) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (kind, n) in [
        ("call", CALLS),
        ("meeting", MEETINGS),
        ("task", TASKS),
        ("email", EMAILS),
    ] {
        for i in 0..n {
            let created = t
                .crm_with(
                    Method::POST,
                    "/crm/activities",
                    Some(json!({"type": kind, "title": format!("{kind} {i}"),
                        "activity_datetime": "2026-03-01T10:00:00.000Z"})),
                    StatusCode::CREATED,
                )
                .await;
            let id = created["data"]["id"].as_str().expect("id").to_owned();
            assert!(id.starts_with(&format!("{kind}-")), "{id}");
            ids.insert(id);
        }
    }
    ids
}

/// Every page of `query`, following `meta.cursors.next`.
async fn pages(t: &HubSpotApp, query: &str) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/crm/activities?{query}&cursor={c}"),
            None => format!("/crm/activities?{query}"),
        };
        let page = t.crm_with(Method::GET, &path, None, StatusCode::OK).await;
        assert_eq!(page["service"], "hubspot", "{page}");
        out.push(page["data"].as_array().expect("data").clone());
        match page["meta"]["cursors"]["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
    panic!("paging did not end");
}

fn ids(pages: &[Vec<Value>]) -> Vec<String> {
    pages
        .iter()
        .flatten()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn hubspot_activities_without_a_type_page_through_calls_meetings_and_tasks(db: Db) {
    let Some(t) = spawn_hubspot(db, 0, "acts", |_| {}, |_| {}).await else {
        return;
    };
    let created = seed(&t).await;
    let total = CALLS + MEETINGS + TASKS + EMAILS;
    for limit in [1, 2, 5, 7, 12, 14, 50] {
        let got = pages(&t, &format!("limit={limit}")).await;
        let all = ids(&got);
        assert_eq!(all.len(), total, "limit {limit}: {all:?}");
        assert_eq!(
            all.iter().cloned().collect::<BTreeSet<_>>(),
            created,
            "limit {limit}: each record exactly once"
        );
        for page in &got {
            assert!(page.len() <= limit, "limit {limit} honoured");
        }
        // Without a sort the objects follow each other: calls, meetings, tasks, emails.
        let kinds: Vec<&str> = got
            .iter()
            .flatten()
            .map(|r| r["type"].as_str().expect("type"))
            .collect();
        let mut expected = vec!["call"; CALLS];
        expected.extend(vec!["meeting"; MEETINGS]);
        expected.extend(vec!["task"; TASKS]);
        expected.extend(vec!["email"; EMAILS]);
        assert_eq!(kinds, expected, "limit {limit}");
    }

    // A sort merges the four by the key, newest first; still each record once.
    for limit in [1, 4, 12] {
        let got = pages(
            &t,
            &format!("limit={limit}&sort[by]=created_at&sort[direction]=desc"),
        )
        .await;
        let all = ids(&got);
        assert_eq!(all.len(), total, "sorted, limit {limit}: {all:?}");
        assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), created);
        let times: Vec<String> = got
            .iter()
            .flatten()
            .map(|r| r["created_at"].as_str().expect("created_at").to_owned())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "sorted, limit {limit}: {times:?}"
        );
    }

    // A filter they all share searches each of them.
    let got = pages(&t, "limit=5&filter[updated_since]=2020-01-01T00:00:00Z").await;
    assert_eq!(
        ids(&got).into_iter().collect::<BTreeSet<_>>(),
        created,
        "updated_since"
    );
    let got = pages(&t, "limit=5&filter[updated_since]=2999-01-01T00:00:00Z").await;
    assert!(ids(&got).is_empty());

    // A typed list still reads its one object.
    let calls = pages(&t, "limit=3&filter[type]=call").await;
    assert_eq!(ids(&calls).len(), CALLS);
    let emails = pages(&t, "limit=1&filter[type]=email").await;
    assert_eq!(ids(&emails).len(), EMAILS);
    assert!(ids(&emails).iter().all(|id| id.starts_with("email-")));
}

async fn hubspot_activity_cursors_are_checked(db: Db) {
    let Some(t) = spawn_hubspot(db, 0, "cursors", |_| {}, |_| {}).await else {
        return;
    };
    seed(&t).await;
    let before = t.requests().await.len();
    let first = t
        .crm_with(Method::GET, "/crm/activities?limit=2", None, StatusCode::OK)
        .await;
    let cursor = first["meta"]["cursors"]["next"]
        .as_str()
        .expect("a next cursor")
        .to_owned();
    let used = t.requests().await.len() - before;
    assert!(used >= 1);
    // Tampered, of another query, or garbage: the spec's 400, and no call to HubSpot.
    let mut tampered = cursor.clone().into_bytes();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let before = t.requests().await.len();
    for path in [
        format!("/crm/activities?limit=2&cursor={tampered}"),
        format!("/crm/activities?limit=2&sort[by]=created_at&cursor={cursor}"),
        format!("/crm/activities?limit=2&filter[type]=call&cursor={cursor}"),
        "/crm/activities?limit=2&cursor=v1.bm90.anVuaw".to_owned(),
    ] {
        let v = t
            .crm_with(Method::GET, &path, None, StatusCode::BAD_REQUEST)
            .await;
        assert_error_envelope(&v, 400, "InvalidCursorError");
    }
    // A filter activities do not have is refused before any call too.
    let v = t
        .crm_with(
            Method::GET,
            "/crm/activities?filter[email]=a@b.c",
            None,
            StatusCode::BAD_REQUEST,
        )
        .await;
    assert_eq!(v["type_name"], "UnsupportedFiltersError", "{v}");
    assert_eq!(t.requests().await.len(), before, "bad input cost no call");
    // The good cursor still works.
    let second = t
        .crm_with(
            Method::GET,
            &format!("/crm/activities?limit=2&cursor={cursor}"),
            None,
            StatusCode::OK,
        )
        .await;
    assert_eq!(second["data"].as_array().map(Vec::len), Some(2));
}

/// An email activity end to end: created with links, read back with its fields, found in the
/// merged list and by `filter[contact_id]` (merged and typed), updated, and deleted. The emulator
/// holds it as an `emails` record with HubSpot's property names and association types.
async fn hubspot_email_activities_round_trip(db: Db) {
    let Some(t) = spawn_hubspot(db, 0, "emails", |_| {}, |_| {}).await else {
        return;
    };
    seed(&t).await;
    let contact = t
        .crm_with(
            Method::POST,
            "/crm/contacts",
            Some(json!({"first_name": "Grace", "last_name": "Hopper",
                "emails": [{"email": "grace@navy.test", "type": "primary"}]})),
            StatusCode::CREATED,
        )
        .await["data"]["id"]
        .as_str()
        .expect("contact id")
        .to_owned();
    let company = t
        .crm_with(
            Method::POST,
            "/crm/companies",
            Some(json!({"name": "Navy"})),
            StatusCode::CREATED,
        )
        .await["data"]["id"]
        .as_str()
        .expect("company id")
        .to_owned();
    let created = t
        .crm_with(
            Method::POST,
            "/crm/activities",
            Some(
                json!({"type": "email", "title": "COBOL", "description": "Draft attached.",
                "activity_datetime": "2026-04-01T09:30:00.000Z",
                "contact_id": contact, "company_id": company}),
            ),
            StatusCode::CREATED,
        )
        .await;
    let id = created["data"]["id"].as_str().expect("id").to_owned();
    let native = id.strip_prefix("email-").expect("an email id").to_owned();

    let got = t
        .crm_with(
            Method::GET,
            &format!("/crm/activities/{id}"),
            None,
            StatusCode::OK,
        )
        .await["data"]
        .clone();
    assert_eq!(got["id"], id.as_str(), "{got}");
    assert_eq!(got["downstream_id"], native.as_str());
    assert_eq!(got["type"], "email");
    assert_eq!(got["title"], "COBOL");
    assert_eq!(got["description"], "Draft attached.");
    assert_eq!(got["activity_datetime"], "2026-04-01T09:30:00.000Z");
    assert_eq!(got["contact_id"], contact.as_str());
    assert_eq!(got["company_id"], company.as_str());

    // HubSpot holds it as an email, linked with the email→contact type.
    let (status, raw) = raw_email(&t, &native).await;
    assert_eq!(status, StatusCode::OK, "{raw}");
    assert_eq!(raw["properties"]["hs_email_subject"], "COBOL");
    assert_eq!(raw["properties"]["hs_email_text"], "Draft attached.");
    assert_eq!(
        raw["associations"]["contacts"]["results"][0]["type"],
        "email_to_contact"
    );

    // In the merged list, and found by contact there and in the typed list.
    let all = ids(&pages(&t, "limit=4").await);
    assert!(all.contains(&id), "{all:?}");
    for query in [
        format!("limit=2&filter[contact_id]={contact}"),
        format!("limit=2&filter[contact_id]={contact}&filter[type]=email"),
        format!("limit=2&filter[contact_id]={contact}&sort[by]=updated_at"),
    ] {
        let found = pages(&t, &query).await;
        assert_eq!(ids(&found), std::slice::from_ref(&id), "{query}");
        assert_eq!(found[0][0]["contact_id"], contact.as_str(), "{query}");
    }

    // Update: title and description change, the rest stays.
    t.crm_with(
        Method::PATCH,
        &format!("/crm/activities/{id}"),
        Some(json!({"title": "COBOL, v2", "description": "Second draft."})),
        StatusCode::OK,
    )
    .await;
    let got = t
        .crm_with(
            Method::GET,
            &format!("/crm/activities/{id}"),
            None,
            StatusCode::OK,
        )
        .await["data"]
        .clone();
    assert_eq!(got["title"], "COBOL, v2", "{got}");
    assert_eq!(got["description"], "Second draft.");
    assert_eq!(got["contact_id"], contact.as_str());
    assert_eq!(got["activity_datetime"], "2026-04-01T09:30:00.000Z");

    // Delete: gone from HubSpot and from every list.
    t.crm_with(
        Method::DELETE,
        &format!("/crm/activities/{id}"),
        None,
        StatusCode::OK,
    )
    .await;
    let v = t
        .crm_with(
            Method::GET,
            &format!("/crm/activities/{id}"),
            None,
            StatusCode::NOT_FOUND,
        )
        .await;
    assert_error_envelope(&v, 404, "EntityNotFoundError");
    let (status, _) = raw_email(&t, &native).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let found = pages(&t, &format!("limit=5&filter[contact_id]={contact}")).await;
    assert!(ids(&found).is_empty(), "{found:?}");
    let emails = pages(&t, "limit=5&filter[type]=email").await;
    assert_eq!(ids(&emails).len(), EMAILS, "the seeded emails remain");
}

/// The emulator's own record of email `id` (with its contact associations), read with an access
/// token the emulator issued to the connection.
async fn raw_email(t: &HubSpotApp, id: &str) -> (StatusCode, Value) {
    let tokens = t.tokens().await;
    let access = tokens
        .iter()
        .rev()
        .find(|x| x["kind"] == "access" && x["state"] == "active")
        .and_then(|x| x["value"].as_str())
        .expect("an active access token");
    let r = t
        .app
        .client
        .get(format!(
            "{}/crm/v3/objects/emails/{id}?properties=hs_email_subject,hs_email_text&associations=contacts",
            t.hs.base_url()
        ))
        .bearer_auth(access)
        .send()
        .await
        .expect("send");
    let status = r.status();
    (status, r.json().await.expect("json"))
}
