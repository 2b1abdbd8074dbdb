//! Garbage in: every answer is a success or a Salesforce error array, never a 500 or a panic.

use crate::support::{TestOrg, V};
use reqwest::Method;

#[tokio::test]
async fn garbage_never_gets_a_500() {
    let org = TestOrg::start().await;
    let long = "a".repeat(5000);
    let paths = [
        format!("{V}/sobjects/%FF%FE"),
        format!("{V}/sobjects/Contact/%FF"),
        format!("{V}/sobjects/Contact/%00"),
        format!("{V}/sobjects/Contact/{long}"),
        format!("{V}/sobjects/{long}/describe"),
        format!("{V}/sobjects/Contact/003/extra/segments"),
        format!("{V}/sobjects//"),
        format!("{V}//"),
        format!("{V}/query"),
        format!("{V}/query?q="),
        format!("{V}/query?q=%FF%FE"),
        format!("{V}/query?q=SELECT"),
        format!("{V}/query?q=SELECT+Id+FROM"),
        format!("{V}/query?q=SELECT+Id+FROM+Contact+WHERE+Name+%3D+%27"),
        format!("{V}/query?q=SELECT+Id+FROM+Contact+LIMIT+99999999999999999999"),
        format!("{V}/query?q={long}"),
        format!("{V}/query/{long}"),
        format!("{V}/query/01g-"),
        format!("{V}/query/-1"),
        format!("{V}/query/01g5g0000000001AAA-99999999999999999999999"),
        format!("{V}/queryAll/nonsense"),
        format!("{V}/sobjects/Contact/deleted?start=garbage"),
        format!("{V}/sobjects/Contact/updated"),
        "/services/data/%FF/limits".to_owned(),
        "/services/data/v66.0%00/limits".to_owned(),
        "/services/data/latest/%2E%2E/limits".to_owned(),
    ];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::PUT,
    ];
    let bodies = [
        None,
        Some("{"),
        Some("[1,2]"),
        Some("{\"LastName\":\"\\ud800\"}"),
        Some("{\"Id\":\"x\"}"),
    ];
    for path in &paths {
        for method in &methods {
            for body in bodies {
                let a = org.send(method.clone(), path, body).await;
                assert!(
                    a.status < 500,
                    "{method} {path} {body:?} -> {} {}",
                    a.status,
                    a.text
                );
                if a.status >= 400 {
                    let body: serde_json::Value =
                        serde_json::from_str(&a.text).unwrap_or_else(|e| {
                            panic!(
                                "{method} {path} {body:?} -> {} not JSON ({e}): {:?}",
                                a.status, a.text
                            )
                        });
                    a.assert_error(a.status, body[0]["errorCode"].as_str().unwrap_or("?"));
                }
            }
        }
    }
    let headers = [
        ("sforce-query-options", "batchSize=abc"),
        ("sforce-query-options", "batchSize=-5"),
    ];
    for header in headers {
        let a = org
            .call(
                Method::GET,
                &format!("{V}/query?q=SELECT+Id+FROM+Contact"),
                None,
                Some(&org.token),
                &[header],
            )
            .await;
        assert_eq!(a.status, 200, "{header:?}: {}", a.text);
    }
}
