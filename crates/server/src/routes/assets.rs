//! Connector images, compiled into the binary so that a connection's `icon` and `logo` URLs
//! resolve on any deployment, offline included: `GET /assets/connectors/{file}`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::error::Error;
use crate::extract::ApiPath;

/// `(file name, bytes)`; every file is SVG.
const FILES: [(&str, &[u8]); 4] = [
    (
        "salesforce-icon.svg",
        include_bytes!("../../assets/salesforce-icon.svg"),
    ),
    (
        "salesforce-logo.svg",
        include_bytes!("../../assets/salesforce-logo.svg"),
    ),
    (
        "hubspot-icon.svg",
        include_bytes!("../../assets/hubspot-icon.svg"),
    ),
    (
        "hubspot-logo.svg",
        include_bytes!("../../assets/hubspot-logo.svg"),
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/assets/connectors/{file}", get(file))
}

async fn file(ApiPath(name): ApiPath<String>) -> Response {
    let Some((_, bytes)) = FILES.iter().find(|(n, _)| *n == name) else {
        return Error::NotFound { entity: "asset" }.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            // An SVG opened directly must not run anything.
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
            (
                header::HeaderName::from_static("cross-origin-resource-policy"),
                HeaderValue::from_static("cross-origin"),
            ),
        ],
        *bytes,
    )
        .into_response()
}
