//! What the HTTP layer must send to Salesforce: method, path under `/services/data/vXX.X/`,
//! query parameters and JSON body. Paths are built from validated ids and static object names
//! only.

use serde_json::Value;

/// HTTP method of a Salesforce REST call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl From<Method> for crate::connector::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Get => Self::Get,
            Method::Post => Self::Post,
            Method::Patch => Self::Patch,
            Method::Delete => Self::Delete,
        }
    }
}

/// One Salesforce REST call to make.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesforceRequest {
    /// Method.
    pub method: Method,
    /// Path relative to `{instance_url}/services/data/vXX.X/`, e.g. `sobjects/Contact/003...` or
    /// `query`. Never starts with `/`.
    pub path: String,
    /// Query parameters, not yet percent-encoded (`q` carries SOQL; encode `+` as `%2B`).
    pub query: Vec<(String, String)>,
    /// JSON body for POST and PATCH.
    pub body: Option<Value>,
    /// Parts of a write's unified body that Salesforce's object cannot hold and that were
    /// left out (`websites[0]`, `addresses`…), for the response to name.
    pub ignored: Vec<String>,
}

impl SalesforceRequest {
    /// The provider-neutral request: the path made absolute under the REST API version.
    pub fn into_request(self) -> crate::connector::Request {
        crate::connector::Request {
            method: self.method.into(),
            path: format!("{}/{}", super::REST_BASE, self.path),
            query: self.query,
            body: self.body,
            ignored: self.ignored,
        }
    }

    pub(crate) fn query(soql: String) -> Self {
        Self {
            method: Method::Get,
            path: "query".to_owned(),
            query: vec![("q".to_owned(), soql)],
            body: None,
            ignored: Vec::new(),
        }
    }

    pub(crate) fn record(
        method: Method,
        object: &str,
        id: Option<&str>,
        body: Option<Value>,
    ) -> Self {
        let path = match id {
            Some(id) => format!("sobjects/{object}/{id}"),
            None => format!("sobjects/{object}"),
        };
        Self {
            method,
            path,
            query: Vec::new(),
            body,
            ignored: Vec::new(),
        }
    }
}
