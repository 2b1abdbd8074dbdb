//! What the HTTP layer must send to HubSpot: method, path under `https://api.hubapi.com`,
//! query parameters and a JSON body. Plain data: the connector never does IO.

use serde_json::Value;

/// HTTP method of a HubSpot call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// PUT (v4 associations)
    Put,
    /// DELETE
    Delete,
}

/// One HubSpot API call to make.
#[derive(Debug, Clone, PartialEq)]
pub struct HubSpotRequest {
    /// Method.
    pub method: Method,
    /// Absolute path on the API origin, e.g. `/crm/v3/objects/contacts/51`. Every id in it has
    /// passed an id-shape check.
    pub path: String,
    /// Query parameters, not yet percent-encoded (`properties` is one comma-separated value).
    pub query: Vec<(String, String)>,
    /// JSON body for POST, PATCH and PUT.
    pub body: Option<Value>,
    /// Parts of a write's unified body that HubSpot's object cannot hold and that were left
    /// out (`websites[1]`, `custom_fields`…), for the response to name.
    pub ignored: Vec<String>,
}

impl HubSpotRequest {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            ignored: Vec::new(),
        }
    }

    pub(crate) fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}
