use patchbay_core::{ApplicationId, ConsumerId};
use patchbay_store::testing::TestDatabase;
use patchbay_store::{
    AuditScope, LogFilter, NewAuditEntry, PathMatchMode, RequestLog, Store, StoreError,
};

use crate::fixtures::{T0, app, consumer};

patchbay_store::backend_tests!(
    request_logs_filter_and_page,
    request_logs_of_every_consumer_of_one_application,
    batched_request_logs_keep_every_row_and_value,
    request_counts,
    audit_is_append_only,
    audit_lists_everything_one_application_or_the_installation,
    outbox_claims_once
);

fn log(
    app: &ApplicationId,
    c: &ConsumerId,
    i: i64,
    method: &str,
    path: &str,
    status: i64,
    api: &str,
) -> RequestLog {
    RequestLog {
        id: format!("00000000-0000-4000-8000-{i:012}"),
        application_id: app.clone(),
        consumer_id: c.clone(),
        parent_id: None,
        child_request: false,
        has_children: false,
        api_style: "REST".into(),
        base_url: "https://patchbay.example".to_owned(),
        http_method: method.to_owned().into(),
        path: path.to_owned(),
        operation_id: "connectionsAll".into(),
        operation_name: "Get All Connections".into(),
        service_id: "salesforce".into(),
        service_name: "Salesforce".into(),
        unified_api: api.to_owned().into(),
        status_code: status,
        success: status < 400,
        error_message: (status >= 400).then(|| "failed".to_owned()),
        duration_ms: 12.5,
        execution_ms: 20,
        latency_ms: 7.25,
        sandbox: false,
        source_ip: Some("127.0.0.1".to_owned()),
        // Two logs share each timestamp, to exercise the id tie-break in the cursor.
        timestamp: T0 + i / 2,
        // Odd entries come from before the column existed.
        request_id: (i % 2 == 0).then(|| format!("req-{i}")),
    }
}

async fn seed(store: &Store) -> (ApplicationId, ConsumerId) {
    let app_id = app(store).await;
    let c = consumer("c1");
    for i in 0..30 {
        let (method, path, status, api) = match i % 3 {
            0 => ("GET", "/crm/contacts", 200, "crm"),
            1 => ("post", "/vault/sessions", 201, "vault"),
            _ => ("GET", "/proxy/services/data", 500, "proxy"),
        };
        store
            .insert_request_log(&log(&app_id, &c, i, method, path, status, api))
            .await
            .unwrap();
    }
    // Another consumer and another application must never show up.
    store
        .insert_request_log(&log(
            &app_id,
            &consumer("c2"),
            100,
            "GET",
            "/crm/contacts",
            200,
            "crm",
        ))
        .await
        .unwrap();
    let other = app(store).await;
    store
        .insert_request_log(&log(&other, &c, 101, "GET", "/crm/contacts", 200, "crm"))
        .await
        .unwrap();
    (app_id, c)
}

/// Two full multi-row statements and a partial one, in one call: every row arrives once, with
/// its own values in its own columns (a placeholder off by one would shift them).
async fn batched_request_logs_keep_every_row_and_value(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    let c = consumer("batched");
    let n = 2 * patchbay_store::LOG_ROWS_PER_STATEMENT as i64 + 5;
    let mut logs: Vec<RequestLog> = (0..n)
        .map(|i| log(&app_id, &c, i, "GET", &format!("/p/{i}"), 200 + i, "proxy"))
        .collect();
    logs[7].parent_id = Some("parent-7".to_owned());
    logs[7].source_ip = None;
    logs[7].sandbox = true;
    store.insert_request_logs(&logs).await.unwrap();
    let page = store
        .list_request_logs(&app_id, &c, &LogFilter::default(), None, 500)
        .await
        .unwrap();
    let mut got = page.items;
    got.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got, logs);
}

async fn request_logs_filter_and_page(db: TestDatabase) {
    let store = db.store().await;
    let (app_id, c) = seed(&store).await;
    let all = LogFilter::default();

    let first = store
        .list_request_logs(&app_id, &c, &all, None, 200)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 30);
    assert_eq!(first.items[0].timestamp, T0 + 14, "newest first");
    assert_eq!(first.items[0].duration_ms, 12.5);
    assert_eq!(first.items[0].latency_ms, 7.25);
    assert_eq!(first.items[0].source_ip.as_deref(), Some("127.0.0.1"));

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_request_logs(&app_id, &c, &all, cursor.as_deref(), 7)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|l| l.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = first.items.iter().map(|l| l.id.clone()).collect();
    assert_eq!(seen, expected, "pages in order, no gaps, no repeats");

    let count = |f: LogFilter| {
        let store = store.clone();
        let (app_id, c) = (app_id.clone(), c.clone());
        async move {
            store
                .list_request_logs(&app_id, &c, &f, None, 200)
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(
        count(LogFilter {
            http_methods: vec!["POST".to_owned()],
            ..Default::default()
        })
        .await,
        10
    );
    assert_eq!(
        count(LogFilter {
            http_methods: vec!["get".to_owned(), "POST".to_owned()],
            ..Default::default()
        })
        .await,
        30
    );
    assert_eq!(
        count(LogFilter {
            status_codes: vec![500],
            ..Default::default()
        })
        .await,
        10
    );
    assert_eq!(
        count(LogFilter {
            status_codes: vec![200, 201],
            ..Default::default()
        })
        .await,
        20
    );
    assert_eq!(
        count(LogFilter {
            exclude_unified_apis: vec!["proxy".to_owned(), "vault".to_owned()],
            ..Default::default()
        })
        .await,
        10
    );
    assert_eq!(
        count(LogFilter {
            start_ms: Some(T0 + 10),
            end_ms: Some(T0 + 11),
            ..Default::default()
        })
        .await,
        4
    );
    assert_eq!(
        count(LogFilter {
            service_id: Some("hubspot".to_owned()),
            ..Default::default()
        })
        .await,
        0
    );
    let path = |p: &str, mode| LogFilter {
        path: Some(p.to_owned()),
        path_match_mode: mode,
        ..Default::default()
    };
    assert_eq!(count(path("contacts", PathMatchMode::Contains)).await, 10);
    assert_eq!(count(path("/crm", PathMatchMode::StartsWith)).await, 10);
    assert_eq!(count(path("/data", PathMatchMode::EndsWith)).await, 10);
    assert_eq!(count(path("/crm", PathMatchMode::Exact)).await, 0);
    assert_eq!(count(path("/CRM/contacts", PathMatchMode::Exact)).await, 10);
    assert_eq!(
        count(path("%", PathMatchMode::Contains)).await,
        0,
        "wildcards are literal"
    );

    assert!(matches!(
        store
            .list_request_logs(&app_id, &c, &all, Some("garbage"), 10)
            .await,
        Err(StoreError::InvalidCursor)
    ));
}

/// The console's "All consumers" view: one application's requests across its consumers, newest
/// first and paged like one consumer's, never another application's.
async fn request_logs_of_every_consumer_of_one_application(db: TestDatabase) {
    let store = db.store().await;
    let (app_id, c) = seed(&store).await;
    let all = LogFilter::default();
    let everyone = store
        .list_application_request_logs(&app_id, None, &all, None, 200)
        .await
        .unwrap();
    // 30 of c1 and 1 of c2; the other application's entry is not there.
    assert_eq!(everyone.items.len(), 31);
    assert!(everyone.items.iter().all(|l| l.application_id == app_id));
    assert_eq!(
        everyone.items[0].consumer_id,
        consumer("c2"),
        "newest first"
    );
    assert!(
        everyone
            .items
            .windows(2)
            .all(|w| (w[0].timestamp, &w[0].id) > (w[1].timestamp, &w[1].id))
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_application_request_logs(&app_id, None, &all, cursor.as_deref(), 4)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|l| l.id.clone()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = everyone.items.iter().map(|l| l.id.clone()).collect();
    assert_eq!(seen, expected, "pages in order, no gaps, no repeats");

    // Filters apply across consumers, and a consumer narrows it to the one-consumer listing.
    let crm = LogFilter {
        path: Some("/crm/".to_owned()),
        ..LogFilter::default()
    };
    let crm_everyone = store
        .list_application_request_logs(&app_id, None, &crm, None, 200)
        .await
        .unwrap();
    assert_eq!(crm_everyone.items.len(), 11);
    let one = store
        .list_application_request_logs(&app_id, Some(&c), &all, None, 200)
        .await
        .unwrap();
    let same = store
        .list_request_logs(&app_id, &c, &all, None, 200)
        .await
        .unwrap();
    assert_eq!(one, same);
    assert_eq!(one.items.len(), 30);
    assert!(matches!(
        store
            .list_application_request_logs(&app_id, None, &all, Some("garbage"), 10)
            .await,
        Err(StoreError::InvalidCursor)
    ));
}

async fn request_counts(db: TestDatabase) {
    let store = db.store().await;
    let (app_id, c) = seed(&store).await;
    let counts = store
        .count_requests(&app_id, &c, T0, T0 + 100)
        .await
        .unwrap();
    assert_eq!((counts.unify, counts.vault, counts.proxy), (10, 10, 10));
    assert_eq!(counts.total(), 30);
    let counts = store
        .count_requests(&app_id, &c, T0 + 100, T0 + 200)
        .await
        .unwrap();
    assert_eq!(counts.total(), 0);
}

async fn audit_is_append_only(db: TestDatabase) {
    let store = db.store().await;
    let app_id = app(&store).await;
    for i in 0..5 {
        store
            .append_audit(&NewAuditEntry {
                application_id: Some(app_id.clone()),
                actor: "api_key:pbk_1".to_owned(),
                action: "connection.export".to_owned(),
                target: format!("conn-{i}"),
                details_json: "{}".to_owned(),
                now_ms: T0 + i,
            })
            .await
            .unwrap();
    }
    let global = store
        .append_audit(&NewAuditEntry {
            application_id: None,
            actor: "cli".to_owned(),
            action: "keys.rotate".to_owned(),
            target: "keyring".to_owned(),
            details_json: r#"{"key_id":"k2"}"#.to_owned(),
            now_ms: T0,
        })
        .await
        .unwrap();
    let page1 = store.list_audit(Some(&app_id), None, 3).await.unwrap();
    assert_eq!(page1.items.len(), 3);
    let page2 = store
        .list_audit(Some(&app_id), page1.next_cursor.as_deref(), 3)
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 2);
    assert_eq!(page2.next_cursor, None);
    let targets: Vec<_> = page1
        .items
        .iter()
        .chain(&page2.items)
        .map(|e| e.target.clone())
        .collect();
    assert_eq!(targets, ["conn-0", "conn-1", "conn-2", "conn-3", "conn-4"]);
    let installation = store.list_audit(None, None, 10).await.unwrap();
    assert_eq!(installation.items, vec![global]);

    // The database refuses edits even to someone with raw SQL access.
    let update = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
        .execute(store.pool())
        .await;
    assert!(update.is_err());
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(store.pool())
        .await;
    assert!(delete.is_err());
    assert_eq!(
        store
            .list_audit(Some(&app_id), None, 10)
            .await
            .unwrap()
            .items
            .len(),
        5
    );
}

/// The console's top-level audit log lists every application's entries (and the
/// installation's); the per-application and installation scopes stay as they were.
async fn audit_lists_everything_one_application_or_the_installation(db: TestDatabase) {
    let store = db.store().await;
    let (a, b) = (app(&store).await, app(&store).await);
    let entry = |app: Option<&ApplicationId>, target: &str| NewAuditEntry {
        application_id: app.cloned(),
        actor: "admin".to_owned(),
        action: "application.update".to_owned(),
        target: target.to_owned(),
        details_json: "{}".to_owned(),
        now_ms: T0,
    };
    for (app, target) in [
        (Some(&a), "a-1"),
        (Some(&b), "b-1"),
        (None, "installation-1"),
        (Some(&a), "a-2"),
        (Some(&b), "b-2"),
    ] {
        store.append_audit(&entry(app, target)).await.unwrap();
    }
    let targets = |page: &patchbay_store::Page<patchbay_store::AuditEntry>| -> Vec<String> {
        page.items.iter().map(|e| e.target.clone()).collect()
    };
    let mut everything = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_audit_in(AuditScope::Everything, cursor.as_deref(), 2)
            .await
            .unwrap();
        everything.extend(targets(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(everything, ["a-1", "b-1", "installation-1", "a-2", "b-2"]);
    let only_b = store
        .list_audit_in(AuditScope::Application(&b), None, 10)
        .await
        .unwrap();
    assert_eq!(targets(&only_b), ["b-1", "b-2"]);
    let installation = store
        .list_audit_in(AuditScope::Installation, None, 10)
        .await
        .unwrap();
    assert_eq!(targets(&installation), ["installation-1"]);
    assert_eq!(
        store.list_audit(Some(&a), None, 10).await.unwrap(),
        store
            .list_audit_in(AuditScope::Application(&a), None, 10)
            .await
            .unwrap()
    );
}

async fn outbox_claims_once(db: TestDatabase) {
    let store = db.store().await;
    let a = store
        .enqueue_outbox("vault.connection.created", r#"{"x":1}"#, T0)
        .await
        .unwrap();
    let b = store
        .enqueue_outbox("vault.connection.deleted", r#"{"x":2}"#, T0 + 1)
        .await
        .unwrap();
    let claimed = store.claim_outbox(T0 + 5, 1000, 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(claimed[0].attempts, 1);
    assert!(
        store
            .claim_outbox(T0 + 6, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed rows are leased"
    );
    assert!(store.mark_outbox_delivered(&a, T0 + 7).await.unwrap());
    assert!(!store.mark_outbox_delivered(&a, T0 + 8).await.unwrap());
    assert!(store.retry_outbox_at(&b, T0 + 2000).await.unwrap());
    assert!(
        store
            .claim_outbox(T0 + 1999, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_outbox(T0 + 2000, 1000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, b);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].payload_json, r#"{"x":2}"#);
}
