//! A HubSpot pipeline update with `stages` changes them (docs/hubspot.md §15 "Pipelines"),
//! against the HubSpot emulator on both backends: the connector reads the pipeline, then
//! replaces it with HubSpot's checked PUT. Pipeline create, patch and delete are in
//! crm_hubspot.rs.

use serde_json::{Value, json};

use crate::crm_support::{Provider, crm_app};
use crate::helpers::{Db, assert_error_envelope};

/// Issue 15's last gap: a pipeline update with `stages` changes them (docs/hubspot.md §15
/// "Pipelines"). The list is the whole new stage list: a stage named by `id` or `value` is
/// renamed in place, one without is added, the rest are removed; removing a stage a deal
/// (opportunity) is in is refused in the unified envelope, and nothing changes.
async fn hubspot_pipeline_stages_are_renamed_added_and_removed(db: Db) {
    let Some(crm) = crm_app(Provider::HubSpot, db, 0).await else {
        return;
    };
    let created = crm
        .post(
            "/crm/pipelines",
            json!({"name": "Partners", "display_order": 3, "stages": [
                {"name": "Open", "win_probability": 25},
                {"name": "Talks", "win_probability": 50},
                {"name": "Signed", "win_probability": 100},
            ]}),
        )
        .await
        .expect(201);
    let id = created.data()["id"].as_str().expect("id").to_owned();
    let path = format!("/crm/pipelines/{id}");
    let stages = |pipeline: &Value| -> Vec<(String, String, i64)> {
        pipeline["data"]["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .map(|s| {
                assert_eq!(s["id"], s["value"], "{s}");
                (
                    s["id"].as_str().expect("stage id").to_owned(),
                    s["name"].as_str().expect("name").to_owned(),
                    s["win_probability"].as_i64().expect("probability"),
                )
            })
            .collect()
    };
    let old = stages(&crm.get(&path).await.expect(200).body);
    let (open, talks, signed) = (old[0].0.clone(), old[1].0.clone(), old[2].0.clone());
    // A deal in "Talks".
    crm.post(
        "/crm/opportunities",
        json!({"title": "Big one", "pipeline_id": id, "pipeline_stage_id": talks}),
    )
    .await
    .expect(201);

    // Rename "Open", keep "Talks" (named by value), add "Won", drop "Signed".
    crm.clear_downstream_log();
    let updated = crm
        .patch(
            &path,
            json!({"stages": [
                {"id": open, "name": "Lead", "win_probability": 20, "created_at": "2020-01-01T00:00:00Z"},
                {"value": talks, "name": "Talks", "win_probability": 50},
                {"name": "Won", "win_probability": 100},
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(updated.data()["id"], id.as_str(), "{}", updated.body);
    assert_eq!(
        updated.header("x-patchbay-ignored-fields"),
        Some("stages[0].created_at")
    );
    // One read of the pipeline, then one PUT that asks HubSpot to check deal usage.
    let calls: Vec<(String, Option<String>)> = crm
        .downstream_log()
        .into_iter()
        .filter(|d| d.api)
        .map(|d| (d.path, d.query))
        .collect();
    let downstream = format!("/crm/v3/pipelines/deals/{id}");
    assert_eq!(
        calls,
        [
            (downstream.clone(), None),
            (
                downstream,
                Some("validateDealStageUsagesBeforeDelete=true".to_owned())
            ),
        ]
    );
    let got = crm.get(&path).await.expect(200);
    let now = stages(&got.body);
    assert_eq!(now.len(), 3, "{}", got.body);
    assert_eq!(now[0], (open.clone(), "Lead".to_owned(), 20));
    assert_eq!(now[1], (talks.clone(), "Talks".to_owned(), 50));
    assert_eq!((now[2].1.as_str(), now[2].2), ("Won", 100));
    assert!(
        ![&open, &talks, &signed].contains(&&now[2].0),
        "a new stage gets a new id: {}",
        got.body
    );
    // The label and order are kept when the body gives none.
    assert_eq!(got.data()["name"], "Partners");
    assert_eq!(got.data()["display_order"], 3);

    // Dropping "Talks", which the deal is in: refused, and the pipeline stays as it was.
    let r = crm
        .patch(
            &path,
            json!({"name": "Renamed", "stages": [{"id": open, "name": "Lead", "win_probability": 20}]}),
        )
        .await
        .expect(400);
    assert_error_envelope(&r.body, 400, "ConnectorExecutionError");
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&talks), "{}", r.body);
    assert!(message.contains("deal"), "{}", r.body);
    let after = crm.get(&path).await.expect(200);
    assert_eq!(stages(&after.body), now);
    assert_eq!(after.data()["name"], "Partners");

    // Refused before any write: a stage id the pipeline does not have, a missing
    // probability, an empty list.
    for (body, field) in [
        (
            json!({"stages": [{"id": "closedwon", "name": "Won", "win_probability": 100}]}),
            "stages[0].id",
        ),
        (
            json!({"stages": [{"name": "Won"}]}),
            "stages[0].win_probability",
        ),
        (json!({"stages": []}), "stages"),
    ] {
        let r = crm.patch(&path, body.clone()).await.expect(400);
        assert_error_envelope(&r.body, 400, "RequestValidationError");
        assert_eq!(r.body["detail"]["field"], field, "{body} {}", r.body);
    }
    assert_eq!(stages(&crm.get(&path).await.expect(200).body), now);
    // An unknown pipeline is not found.
    let r = crm
        .patch(
            "/crm/pipelines/404404",
            json!({"stages": [{"name": "S", "win_probability": 10}]}),
        )
        .await
        .expect(404);
    assert_error_envelope(&r.body, 404, "EntityNotFoundError");

    // A kept stage keeps what the unified model has no field for: the seeded "Renewals"
    // pipeline's won and lost stages stay closed after a rename.
    crm.patch(
        "/crm/pipelines/renewals",
        json!({"stages": [
            {"id": "renewal_open", "name": "Open", "win_probability": 50},
            {"id": "renewal_won", "name": "Won again", "win_probability": 100},
            {"id": "renewal_lost", "name": "Churned", "win_probability": 0},
        ]}),
    )
    .await
    .expect(200);
    let renewals = crm.proxy_get("/crm/v3/pipelines/deals/renewals").await;
    let closed: Vec<(&Value, &Value, &Value)> = renewals["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| (&s["id"], &s["label"], &s["metadata"]["isClosed"]))
        .collect();
    assert_eq!(
        closed,
        [
            (&json!("renewal_open"), &json!("Open"), &json!("false")),
            (&json!("renewal_won"), &json!("Won again"), &json!("true")),
            (&json!("renewal_lost"), &json!("Churned"), &json!("true")),
        ],
        "{renewals}"
    );
}

crate::server_backend_tests!(hubspot_pipeline_stages_are_renamed_added_and_removed);
