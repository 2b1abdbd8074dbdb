//! The versions list, the `latest` alias and the resource directory.

use crate::support::{TestOrg, V};
use reqwest::Method;

#[tokio::test]
async fn versions_list_needs_no_token_and_is_not_counted() {
    let org = TestOrg::start().await;
    let before = org.handle.emulator().api_usage().used;
    for path in ["/services/data", "/services/data/"] {
        let a = org.call(Method::GET, path, None, None, &[]).await;
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(
            a.header("content-type"),
            Some("application/json;charset=UTF-8")
        );
        assert_eq!(
            a.limit_info(),
            None,
            "the versions list carries no Sforce-Limit-Info"
        );
        let list = a.json();
        let list = list.as_array().expect("an array");
        assert_eq!(list.first().unwrap()["version"], "31.0");
        let last = list.last().unwrap();
        assert_eq!(
            last,
            &serde_json::json!({"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"})
        );
        assert_eq!(list.len(), 66 - 31 + 1);
        let v62 = list.iter().find(|v| v["version"] == "62.0").unwrap();
        assert_eq!(v62["label"], "Winter '25");
    }
    let head = org
        .call(Method::HEAD, "/services/data/", None, None, &[])
        .await;
    assert_eq!(head.status, 200);
    let post = org
        .call(Method::POST, "/services/data/", Some("{}"), None, &[])
        .await;
    post.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(org.handle.emulator().api_usage().used, before);
}

#[tokio::test]
async fn the_newest_version_is_configurable() {
    let org = TestOrg::with(|c| c.api_version = "67.0".to_owned()).await;
    let a = org
        .call(Method::GET, "/services/data/", None, None, &[])
        .await;
    let list = a.json();
    let last = list.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["version"], "67.0");
    assert_eq!(last["label"], "Summer '26");
    assert_eq!(org.get("/services/data/v67.0/limits").await.status, 200);
}

#[tokio::test]
async fn resource_directory_and_latest_alias() {
    let org = TestOrg::start().await;
    for path in [
        V.to_owned(),
        format!("{V}/"),
        "/services/data/latest".to_owned(),
    ] {
        let a = org.get(&path).await;
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        let dir = a.json();
        assert_eq!(dir["sobjects"], "/services/data/v66.0/sobjects");
        assert_eq!(dir["query"], "/services/data/v66.0/query");
        assert_eq!(dir["limits"], "/services/data/v66.0/limits");
    }
    let a = org
        .get("/services/data/latest/sobjects/Account/describe")
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["name"], "Account");
}

#[tokio::test]
async fn unknown_versions_are_not_found() {
    let org = TestOrg::start().await;
    for v in ["v30.0", "v67.0", "v99.0", "66.0", "v66", "vX", "v66.0.0"] {
        let a = org.get(&format!("/services/data/{v}/limits")).await;
        let e = a.assert_error(404, "NOT_FOUND");
        assert_eq!(e["message"], "The requested resource does not exist");
        assert!(
            a.limit_info().is_some(),
            "a counted call carries Sforce-Limit-Info"
        );
    }
}
