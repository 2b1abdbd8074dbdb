use serde_json::{Value, json};

use super::*;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// A new account with one pipeline of three stages; returns its id and stage ids.
fn with_pipeline(account: &mut Account) -> (String, Vec<String>) {
    let id = account
        .create_pipeline(
            &body(json!({"label": "Partners", "displayOrder": 3, "stages": [
                {"label": "Open", "displayOrder": 0, "metadata": {"probability": 0.2}},
                {"label": "Talks", "displayOrder": 1, "metadata": {"probability": "0.5"}},
                {"label": "Won", "displayOrder": 2, "metadata": {"probability": 1, "isClosed": true}},
            ]})),
            1_000,
        )
        .unwrap();
    let stages = account.pipeline(&id).unwrap().stages.iter();
    let stages = stages.map(|s| s.id.clone()).collect();
    (id, stages)
}

fn deal_in(account: &mut Account, pipeline: &str, stage: &str) -> u64 {
    account
        .create(
            ObjectType::Deals,
            &body(json!({"dealname": "D", "pipeline": pipeline, "dealstage": stage})),
            &[],
            2_000,
        )
        .unwrap()
}

#[test]
fn a_replace_keeps_named_stages_adds_new_ones_and_drops_the_rest() {
    let mut account = Account::new(1, 0);
    let (id, old) = with_pipeline(&mut account);
    let answer = account
        .replace_pipeline(
            &id,
            &body(json!({"label": "Channel", "displayOrder": 4, "stages": [
                {"stageId": old[2], "label": "Signed", "displayOrder": 0,
                 "metadata": {"probability": 1.0, "isClosed": "true"}},
                {"label": "New", "displayOrder": 1, "metadata": {"probability": 0.1}},
                {"stageId": old[0], "label": "Open", "displayOrder": 2, "metadata": {"probability": 0.3}},
            ]})),
            true,
            5_000,
        )
        .unwrap();
    assert_eq!(answer["label"], "Channel");
    assert_eq!(answer["displayOrder"], 4);
    let pipeline = account.pipeline(&id).unwrap();
    let stages: Vec<(&str, &str, i64, &str, bool)> = pipeline
        .stages
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.label.as_str(),
                s.display_order,
                s.probability.as_str(),
                s.closed,
            )
        })
        .collect();
    let new_id = stages[1].0;
    assert!(
        !old.iter().any(|o| o == new_id),
        "a new stage gets a new id"
    );
    assert_eq!(
        stages,
        [
            (old[2].as_str(), "Signed", 0, "1.0", true),
            (new_id, "New", 1, "0.1", false),
            (old[0].as_str(), "Open", 2, "0.3", false),
        ]
    );
    assert_eq!(pipeline.updated_ms, 5_000);
    assert_eq!(pipeline.created_ms, 1_000);
}

#[test]
fn a_replace_refuses_to_drop_a_stage_deals_are_in_when_asked_to_check() {
    let mut account = Account::new(1, 0);
    let (id, old) = with_pipeline(&mut account);
    deal_in(&mut account, &id, &old[1]);
    deal_in(&mut account, &id, &old[1]);
    let gone = deal_in(&mut account, &id, &old[2]);
    account
        .archive(ObjectType::Deals, &gone.to_string(), 3_000)
        .unwrap();
    assert_eq!(account.deals_in_stages(&id, &old), [(old[1].clone(), 2)]);
    let only_first = body(json!({"label": "Partners", "displayOrder": 3, "stages": [
        {"stageId": old[0], "label": "Open", "displayOrder": 0, "metadata": {"probability": 0.2}},
    ]}));
    let before = account.pipeline(&id).unwrap().clone();
    match account.replace_pipeline(&id, &only_first, true, 5_000) {
        Err(DataError::Validation { message, context }) => {
            assert!(message.contains(&old[1]), "{message}");
            assert!(message.contains("2 deal(s)"), "{message}");
            // The archived deal's stage is free to go.
            assert!(!message.contains(&old[2]), "{message}");
            assert_eq!(context, [("stageId".to_owned(), vec![old[1].clone()])]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(account.pipeline(&id).unwrap(), &before, "nothing changed");
    // Without the check (HubSpot's default before 2026-09) the stage goes.
    account
        .replace_pipeline(&id, &only_first, false, 5_000)
        .unwrap();
    assert_eq!(account.pipeline(&id).unwrap().stages.len(), 1);
}

#[test]
fn a_replace_is_checked_like_a_create() {
    let mut account = Account::new(1, 0);
    let (id, old) = with_pipeline(&mut account);
    let stage = json!({"label": "S", "displayOrder": 0, "metadata": {"probability": 0.5}});
    let bad = [
        json!({"displayOrder": 0, "stages": [stage]}),
        json!({"label": "P", "stages": [stage]}),
        json!({"label": "P", "displayOrder": 0}),
        json!({"label": "P", "displayOrder": 0, "stages": []}),
        json!({"label": "P", "displayOrder": 0, "stages": [stage, stage]}),
        json!({"label": "P", "displayOrder": 0, "stages": [{"label": "S", "displayOrder": 0}]}),
        // A stage id of another pipeline, or none at all.
        json!({"label": "P", "displayOrder": 0, "stages": [
            {"stageId": "closedwon", "label": "S", "displayOrder": 0, "metadata": {"probability": 1}}]}),
        json!({"label": "P", "displayOrder": 0, "stages": [
            {"stageId": 7, "label": "S", "displayOrder": 0, "metadata": {"probability": 1}}]}),
        // One stage kept twice.
        json!({"label": "P", "displayOrder": 0, "stages": [
            {"stageId": old[0], "label": "S", "displayOrder": 0, "metadata": {"probability": 1}},
            {"stageId": old[0], "label": "T", "displayOrder": 1, "metadata": {"probability": 1}}]}),
    ];
    let before = account.pipeline(&id).unwrap().clone();
    for b in bad {
        let err = account
            .replace_pipeline(&id, &body(b.clone()), true, 5_000)
            .unwrap_err();
        assert!(matches!(err, DataError::Validation { .. }), "{b} {err:?}");
    }
    assert_eq!(account.pipeline(&id).unwrap(), &before);
    let good = body(json!({"label": "P", "displayOrder": 0, "stages": [stage]}));
    assert_eq!(
        account.replace_pipeline("404", &good, true, 5_000),
        Err(DataError::NotFound)
    );
}
