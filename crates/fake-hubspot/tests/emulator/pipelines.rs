//! A deal pipeline's `PUT`, which replaces its stages (`docs/hubspot.md §12`).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::id_of;
use crate::support::{assert_error, auto, start};

fn stage_ids(pipeline: &Value) -> Vec<String> {
    pipeline["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["id"].as_str().expect("stage id").to_owned())
        .collect()
}

/// Kept stages keep their ids, new ones get ids, left-out ones go; with
/// `validateDealStageUsagesBeforeDelete=true` a stage a deal is in stays, with HubSpot's
/// validation error; unknown pipelines are 404; the body is checked as a create's is.
#[tokio::test]
async fn a_pipeline_put_replaces_its_stages() {
    let emu = start(auto(0)).await;
    let t = emu.install().await.access;
    let (status, created) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/pipelines/deals",
            &json!({"label": "Partners", "displayOrder": 5, "stages": [
                {"label": "Open", "displayOrder": 0, "metadata": {"probability": "0.3"}},
                {"label": "Talks", "displayOrder": 1, "metadata": {"probability": "0.6"}},
                {"label": "Won", "displayOrder": 2, "metadata": {"probability": 1, "isClosed": true}},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = id_of(&created);
    let old = stage_ids(&created);
    let (status, deal) = emu
        .send(
            Method::POST,
            &t,
            "/crm/v3/objects/deals",
            &json!({"properties": {"dealname": "D", "pipeline": id, "dealstage": old[1]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{deal}");
    let path = format!("/crm/v3/pipelines/deals/{id}");
    let checked = format!("{path}?validateDealStageUsagesBeforeDelete=true");

    // Dropping the stage the deal is in: refused, nothing changes.
    let drop_talks = json!({"label": "Partners 2", "displayOrder": 5, "stages": [
        {"stageId": old[0], "label": "Open", "displayOrder": 0, "metadata": {"probability": 0.3}},
    ]});
    let (status, refused) = emu.send(Method::PUT, &t, &checked, &drop_talks).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_error(&refused, "VALIDATION_ERROR");
    assert_eq!(refused["context"]["stageId"], json!([old[1]]), "{refused}");
    let (_, read) = emu.get(&t, &path).await;
    assert_eq!(read["label"], "Partners");
    assert_eq!(stage_ids(&read), old);

    // Rename one, add one, drop the one no deal is in.
    let (status, replaced) = emu
        .send(
            Method::PUT,
            &t,
            &checked,
            &json!({"label": "Channel", "displayOrder": 2, "stages": [
                {"stageId": old[0], "label": "Lead", "displayOrder": 0, "metadata": {"probability": 0.1}},
                {"stageId": old[1], "label": "Talks", "displayOrder": 1, "metadata": {"probability": 0.6}},
                {"label": "Signed", "displayOrder": 2, "metadata": {"probability": 1.0, "isClosed": "true"}},
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["label"], "Channel");
    assert_eq!(replaced["displayOrder"], 2);
    let now = stage_ids(&replaced);
    assert_eq!(now[..2], old[..2]);
    assert!(!old.contains(&now[2]), "{replaced}");
    assert_eq!(replaced["stages"][0]["label"], "Lead");
    assert_eq!(replaced["stages"][0]["metadata"]["probability"], "0.1");
    assert_eq!(replaced["stages"][2]["metadata"]["isClosed"], "true");
    let (_, read) = emu.get(&t, &path).await;
    assert_eq!(read, replaced);

    // Without the flag (HubSpot's default in v3) the used stage goes too.
    let (status, _) = emu.send(Method::PUT, &t, &path, &drop_talks).await;
    assert_eq!(status, StatusCode::OK);
    let (_, read) = emu.get(&t, &path).await;
    assert_eq!(stage_ids(&read), old[..1]);

    for (bad_path, body) in [
        (
            path.clone(),
            json!({"label": "P", "stages": drop_talks["stages"]}),
        ),
        (
            path.clone(),
            json!({"label": "P", "displayOrder": 0, "stages": []}),
        ),
        (
            format!("{path}?validateDealStageUsagesBeforeDelete=maybe"),
            drop_talks.clone(),
        ),
        (
            path.clone(),
            json!({"label": "P", "displayOrder": 0, "stages": [
                {"stageId": "closedwon", "label": "S", "displayOrder": 0, "metadata": {"probability": 1}}]}),
        ),
    ] {
        let (status, answer) = emu.send(Method::PUT, &t, &bad_path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} {answer}");
        assert_error(&answer, "VALIDATION_ERROR");
    }
    let (status, answer) = emu
        .send(
            Method::PUT,
            &t,
            "/crm/v3/pipelines/deals/404404",
            &drop_talks,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_error(&answer, "OBJECT_NOT_FOUND");
}
