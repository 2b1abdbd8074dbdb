//! `GET /crm/activities` on a HubSpot connection without `filter[type]`: calls, meetings and
//! tasks (three HubSpot objects) under one cursor, against the HubSpot emulator. Every record
//! comes exactly once across pages of any size, a sort orders the three together, a filter
//! they share applies to all, and a bad cursor is the spec's 400.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Db, assert_error_envelope};
use crate::hubspot_support::{HubSpotApp, spawn_hubspot};

crate::server_backend_tests!(
    hubspot_activities_without_a_type_page_through_calls_meetings_and_tasks,
    hubspot_activity_cursors_are_checked,
);

const CALLS: usize = 4;
const MEETINGS: usize = 3;
const TASKS: usize = 5;

/// Creates the activities through the unified API; returns their unified ids.
async fn seed(t: &HubSpotApp) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (kind, n) in [("call", CALLS), ("meeting", MEETINGS), ("task", TASKS)] {
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
    let total = CALLS + MEETINGS + TASKS;
    for limit in [1, 2, 5, 7, 12, 50] {
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
        // Without a sort the objects follow each other: calls, meetings, tasks.
        let kinds: Vec<&str> = got
            .iter()
            .flatten()
            .map(|r| r["type"].as_str().expect("type"))
            .collect();
        let mut expected = vec!["call"; CALLS];
        expected.extend(vec!["meeting"; MEETINGS]);
        expected.extend(vec!["task"; TASKS]);
        assert_eq!(kinds, expected, "limit {limit}");
    }

    // A sort merges the three by the key, newest first; still each record once.
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

    // A filter all three share searches each of them.
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
