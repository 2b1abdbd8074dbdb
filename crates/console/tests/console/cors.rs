//! The console and the hosted pages never answer CORS, even to an origin the application
//! allows for its session calls (issue 11).

use patchbay_server::service::sessions::SessionRequest;
use reqwest::Method;

use crate::support::{Knobs, spawn};

const ALLOWED: &str = "https://settings.acme.example";

#[tokio::test]
async fn the_console_and_hosted_pages_never_allow_another_origin() {
    let app = spawn(Knobs::default()).await;
    app.vault
        .set_cors_origins(&app.app_id, &[ALLOWED.to_owned()])
        .await
        .expect("origins");
    let session_uri = app.session_uri("cors", SessionRequest::default()).await;
    let jwt = session_uri
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let local_session = session_uri.replace(&app.base_url, &app.local_url);
    let client = app.client();
    for url in [
        format!("{}/admin/login", app.local_url),
        format!("{}/admin", app.local_url),
        local_session.clone(),
        format!("{}/connect/done", app.local_url),
        format!("{}/", app.local_url),
    ] {
        for method in [Method::GET, Method::OPTIONS] {
            let r = client
                .request(method.clone(), &url)
                .header("origin", ALLOWED)
                .header("access-control-request-method", "POST")
                .send()
                .await
                .expect("send");
            assert!(
                r.headers().get("access-control-allow-origin").is_none(),
                "{method} {url}"
            );
        }
    }
    // The same server does answer the allowed origin on a session call of the Vault API.
    let r = client
        .get(format!("{}/vault/connections", app.local_url))
        .bearer_auth(&jwt)
        .header("x-apideck-app-id", app.app_id.as_str())
        .header("origin", ALLOWED)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(ALLOWED)
    );
}
