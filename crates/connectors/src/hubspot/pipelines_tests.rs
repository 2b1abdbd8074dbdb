use serde_json::{Value, json};

use super::*;
use crate::connector::{Connector, WriteOp};
use crate::hubspot::HubSpot;

/// HubSpot's pipeline `7001` as a `GET` answers it.
fn current() -> Value {
    json!({"id": "7001", "label": "Partners", "displayOrder": 3, "archived": false, "stages": [
        {"id": "7002", "label": "Open", "displayOrder": 0, "metadata": {"probability": "0.2"}},
        {"id": "7004", "label": "Talks", "displayOrder": 1,
         "metadata": {"isClosed": "false", "probability": "0.5"}},
        {"id": "7007", "label": "Won", "displayOrder": 2,
         "metadata": {"isClosed": "true", "probability": "1.0"}},
    ]})
}

fn field_of(err: UnifiedError) -> String {
    match err {
        UnifiedError::RequestValidation { detail, .. } => detail.expect("detail")["field"]
            .as_str()
            .expect("field")
            .to_owned(),
        other => panic!("not a validation error: {other:?}"),
    }
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

#[test]
fn a_stage_list_keeps_named_stages_adds_the_rest_and_reports_only_stage_extras() {
    let update = stages_update(&map(json!({"stages": [
        {"id": "7007", "name": "Signed", "win_probability": 100, "created_at": "2020-01-01T00:00:00Z"},
        {"name": "New", "win_probability": 10, "display_order": 7, "archived": true},
        {"value": "7002", "name": "Open", "win_probability": 30, "archived": false},
    ]})))
    .expect("update");
    assert_eq!(update.label, None);
    assert_eq!(update.display_order, None);
    assert_eq!(
        update.stages,
        [
            (
                Some("7007".to_owned()),
                json!({"label": "Signed", "displayOrder": 0, "metadata": {"probability": 1.0}})
            ),
            (
                None,
                json!({"label": "New", "displayOrder": 7, "metadata": {"probability": 0.1}})
            ),
            (
                Some("7002".to_owned()),
                json!({"label": "Open", "displayOrder": 2, "metadata": {"probability": 0.3}})
            ),
        ]
    );
    // `stages` itself is no longer ignored; what HubSpot keeps for itself is.
    assert_eq!(
        update.ignored,
        ["stages[0].created_at", "stages[1].archived"]
    );

    // The PUT names the kept stages by `stageId`, keeps their `isClosed` (the unified model
    // has no place for it, and a PUT replaces the metadata; 7002 has none) and keeps the
    // pipeline's label and order when the body gives none.
    let put = replace_body(&current(), &update).expect("body");
    assert_eq!(
        put,
        json!({"label": "Partners", "displayOrder": 3, "stages": [
            {"stageId": "7007", "label": "Signed", "displayOrder": 0,
             "metadata": {"probability": 1.0, "isClosed": "true"}},
            {"label": "New", "displayOrder": 7, "metadata": {"probability": 0.1}},
            {"stageId": "7002", "label": "Open", "displayOrder": 2, "metadata": {"probability": 0.3}},
        ]})
    );
    let update = stages_update(&map(
        json!({"name": " Channel ", "display_order": 9, "stages": [
            {"id": "7004", "value": "7004", "name": "Talks", "win_probability": 50},
        ]}),
    ))
    .expect("update");
    let put = replace_body(&current(), &update).expect("body");
    assert_eq!(put["label"], "Channel");
    assert_eq!(put["displayOrder"], 9);
    assert_eq!(put["stages"][0]["stageId"], "7004");
}

#[test]
fn a_stage_list_hubspot_would_refuse_is_refused_before_any_call() {
    let field = |body: Value| field_of(stages_update(&map(body)).unwrap_err());
    let s = json!({"name": "S", "win_probability": 10});
    assert_eq!(field(json!({"stages": []})), "stages");
    assert_eq!(
        field(json!({"stages": [s, {"name": "T"}]})),
        "stages[1].win_probability"
    );
    assert_eq!(
        field(json!({"stages": [{"name": "T", "win_probability": -1}]})),
        "stages[0].win_probability"
    );
    assert_eq!(
        field(json!({"stages": [{"win_probability": 5}]})),
        "stages[0].name"
    );
    assert_eq!(
        field(
            json!({"stages": [{"name": "T", "win_probability": 5, "display_order": 4_294_967_296_i64}]})
        ),
        "stages[0].display_order"
    );
    assert_eq!(field(json!({"stages": [s, s]})), "stages[1].name");
    assert_eq!(
        field(json!({"stages": [
            {"id": "7002", "name": "A", "win_probability": 5},
            {"value": "7002", "name": "B", "win_probability": 5}]})),
        "stages[1].id"
    );
    assert_eq!(
        field(
            json!({"stages": [{"id": "7002", "value": "7004", "name": "A", "win_probability": 5}]})
        ),
        "stages[0].value"
    );
    assert_eq!(
        field(json!({"stages": [{"id": "70/02", "name": "A", "win_probability": 5}]})),
        "stages[0].id"
    );
    assert_eq!(field(json!({"name": null, "stages": [s]})), "name");
    assert_eq!(field(json!({"archived": true, "stages": [s]})), "stages");
    assert_eq!(field(json!({"active": false, "stages": [s]})), "stages");
    // Archived false is what the pipeline already is: no contradiction.
    assert!(stages_update(&map(json!({"active": true, "stages": [s]}))).is_ok());
}

#[test]
fn a_stage_update_reads_the_pipeline_then_puts_it_checked() {
    let body = json!({"stages": [
        {"id": "7004", "name": "Talking", "win_probability": 60},
        {"name": "New", "win_probability": 10},
    ]});
    let plan = plan_stages_update("7001", body).expect("plan");
    assert!(plan.ignored.is_empty(), "{:?}", plan.ignored);
    let mut run = plan.run;
    let get = run.start();
    assert_eq!(
        (get.method, get.path.as_str(), get.body.as_ref()),
        (Method::Get, "/crm/v3/pipelines/deals/7001", None)
    );
    let Step::Send(put) = run.feed(current()).expect("feed") else {
        panic!("a PUT should follow the GET");
    };
    assert_eq!(
        (put.method, put.path.as_str()),
        (Method::Put, "/crm/v3/pipelines/deals/7001")
    );
    // HubSpot is asked to refuse removing a stage deals are in.
    assert_eq!(
        put.query,
        [(
            "validateDealStageUsagesBeforeDelete".to_owned(),
            "true".to_owned()
        )]
    );
    assert_eq!(
        put.body,
        Some(json!({"label": "Partners", "displayOrder": 3, "stages": [
            {"stageId": "7004", "label": "Talking", "displayOrder": 0,
             "metadata": {"probability": 0.6, "isClosed": "false"}},
            {"label": "New", "displayOrder": 1, "metadata": {"probability": 0.1}},
        ]}))
    );
    let answer = json!({"id": "7001", "label": "Partners"});
    assert_eq!(run.feed(answer.clone()).expect("feed"), Step::Done);
    let outcome = run.finish().expect("finish");
    assert_eq!(outcome.id, "7001");
    assert_eq!(outcome.raw, json!([current(), answer]));
}

#[test]
fn a_stage_id_the_pipeline_lacks_is_refused_before_the_put() {
    let body = json!({"stages": [{"id": "closedwon", "name": "Won", "win_probability": 100}]});
    let mut run = plan_stages_update("7001", body).expect("plan").run;
    run.start();
    assert_eq!(field_of(run.feed(current()).unwrap_err()), "stages[0].id");
    // An answer that is not a pipeline is HubSpot's fault, not the caller's.
    let body = json!({"stages": [{"name": "Won", "win_probability": 100}]});
    let mut run = plan_stages_update("7001", body).expect("plan").run;
    run.start();
    let err = run.feed(json!({"id": "7001"})).unwrap_err();
    assert_eq!(err.status_code(), 502, "{err:?}");
    let err = plan_stages_update("../x", json!({"stages": []})).unwrap_err();
    assert_eq!(err.type_name(), "EntityNotFoundError");
}

#[test]
fn only_an_update_with_stages_takes_two_calls() {
    let c = HubSpot;
    let s = json!({"stages": [{"name": "S", "win_probability": 10}]});
    let plan = c.plan_write_run(Resource::Pipelines, WriteOp::Update("7001", &s));
    assert!(plan.expect("plan").is_some());
    for body in [
        json!({"name": "Channel"}),
        json!({"name": "C", "stages": null}),
    ] {
        let plan = c.plan_write_run(Resource::Pipelines, WriteOp::Update("7001", &body));
        assert!(plan.expect("plan").is_none(), "{body}");
    }
    assert!(
        c.plan_write_run(Resource::Pipelines, WriteOp::Create(&s))
            .expect("plan")
            .is_none()
    );
    assert!(
        c.plan_write_run(Resource::Pipelines, WriteOp::Delete("7001"))
            .expect("plan")
            .is_none()
    );
    // The one-call update does not take stages it would drop.
    let err = c.plan_update(Resource::Pipelines, "7001", s).unwrap_err();
    assert_eq!(err.type_name(), "ConnectorOperationUnsupportedError");
}
