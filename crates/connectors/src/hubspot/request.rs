//! What the HTTP layer must send to HubSpot: the connector interface's [`Request`], with its
//! path absolute on the API origin (`https://api.hubapi.com`, or an emulator's), e.g.
//! `/crm/v3/objects/contacts/51`. Every id in a path has passed an id-shape check.

use serde_json::Value;

pub use crate::connector::{Method, Request as HubSpotRequest};

/// A call with no query and no body.
pub(crate) fn call(method: Method, path: String) -> HubSpotRequest {
    HubSpotRequest {
        method,
        path,
        query: Vec::new(),
        body: None,
        ignored: Vec::new(),
    }
}

/// The same call with a JSON body.
pub(crate) fn with_body(mut request: HubSpotRequest, body: Value) -> HubSpotRequest {
    request.body = Some(body);
    request
}
