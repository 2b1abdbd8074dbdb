//! Success envelopes for unified CRM responses (`GetContactsResponse`, `CreateContactResponse`...).
//!
//! `meta` and `links` appear only on lists; `_raw` only when the caller asked for `raw=true`.
//! Links are absolute: the caller passes the public base URL of the route and the query it
//! received, and the next link is that query with the cursor replaced.

use serde_json::{Map, Value, json};

use crate::resource::Resource;

/// The unified operation, as named in the envelope's `operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// List (`all`).
    All,
    /// Get one (`one`).
    One,
    /// Create (`add`).
    Add,
    /// Update (`update`).
    Update,
    /// Delete (`delete`).
    Delete,
}

impl Operation {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::One => "one",
            Self::Add => "add",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// A built response: the HTTP status to send and the JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// 200, or 201 for create.
    pub status_code: u16,
    /// The envelope.
    pub body: Value,
}

/// Where a list page sits, for `meta.cursors` and `links`.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// Absolute URL of the route without query, e.g. `https://patchbay.example/crm/contacts`.
    pub base_url: &'a str,
    /// The query pairs the caller sent, in order (decoded).
    pub query: &'a [(String, String)],
    /// The cursor that produced this page (`None` on the first page).
    pub current: Option<&'a str>,
    /// The cursor of the next page (`None` at the end).
    pub next: Option<&'a str>,
}

/// Builds envelopes for one service and resource.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// The connector's service id, e.g. `salesforce`.
    pub service: &'a str,
    /// The resource.
    pub resource: Resource,
}

impl Envelope<'_> {
    /// `operation: all` with `meta` and `links`. `raw` is `Some` only when `raw=true`.
    pub fn list(&self, data: Vec<Value>, page: &Page<'_>, raw: Option<Value>) -> Response {
        let items_on_page = data.len();
        let mut body = self.base(200, Operation::All, Value::Array(data), raw);
        body.insert(
            "meta".to_owned(),
            json!({
                "items_on_page": items_on_page,
                "cursors": {
                    "previous": Value::Null,
                    "current": page.current,
                    "next": page.next,
                },
            }),
        );
        body.insert(
            "links".to_owned(),
            json!({
                "previous": Value::Null,
                "current": link(page.base_url, page.query, page.current),
                "next": page.next.map(|c| link(page.base_url, page.query, Some(c))),
            }),
        );
        Response {
            status_code: 200,
            body: Value::Object(body),
        }
    }

    /// `operation: one` with the record as `data`.
    pub fn one(&self, data: Value, raw: Option<Value>) -> Response {
        self.response(200, Operation::One, data, raw)
    }

    /// `operation: add`, status 201, `data: {id}`.
    pub fn added(&self, id: &str, raw: Option<Value>) -> Response {
        self.response(201, Operation::Add, json!({ "id": id }), raw)
    }

    /// `operation: update`, `data: {id}`.
    pub fn updated(&self, id: &str, raw: Option<Value>) -> Response {
        self.response(200, Operation::Update, json!({ "id": id }), raw)
    }

    /// `operation: delete`, `data: {id}`.
    pub fn deleted(&self, id: &str, raw: Option<Value>) -> Response {
        self.response(200, Operation::Delete, json!({ "id": id }), raw)
    }

    fn response(&self, status: u16, op: Operation, data: Value, raw: Option<Value>) -> Response {
        Response {
            status_code: status,
            body: Value::Object(self.base(status, op, data, raw)),
        }
    }

    fn base(
        &self,
        status: u16,
        op: Operation,
        data: Value,
        raw: Option<Value>,
    ) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("status_code".to_owned(), json!(status));
        body.insert("status".to_owned(), json!(reason(status)));
        body.insert("service".to_owned(), json!(self.service));
        body.insert("resource".to_owned(), json!(self.resource.as_str()));
        body.insert("operation".to_owned(), json!(op.as_str()));
        body.insert("data".to_owned(), data);
        if let Some(raw) = raw {
            body.insert("_raw".to_owned(), raw);
        }
        body
    }
}

impl Envelope<'static> {
    /// [`Envelope::one`] as a value that writes the envelope around the record when it is
    /// serialised, without building the envelope's own JSON map first (a read's hot path).
    pub fn one_record(&self, data: Value, raw: Option<Value>) -> OneRecord {
        OneRecord {
            service: self.service,
            resource: self.resource,
            data,
            raw,
        }
    }
}

/// A single-record read's envelope, serialised field by field in [`Envelope::one`]'s order:
/// the same JSON, with no intermediate map of the envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct OneRecord {
    service: &'static str,
    resource: Resource,
    data: Value,
    raw: Option<Value>,
}

impl OneRecord {
    /// The envelope as a JSON value (what [`Envelope::one`] builds).
    pub fn into_response(self) -> Response {
        Envelope {
            service: self.service,
            resource: self.resource,
        }
        .one(self.data, self.raw)
    }
}

impl serde::Serialize for OneRecord {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("OneRecord", 7)?;
        s.serialize_field("status_code", &200u16)?;
        s.serialize_field("status", reason(200))?;
        s.serialize_field("service", self.service)?;
        s.serialize_field("resource", self.resource.as_str())?;
        s.serialize_field("operation", Operation::One.as_str())?;
        s.serialize_field("data", &self.data)?;
        if let Some(raw) = &self.raw {
            s.serialize_field("_raw", raw)?;
        } else {
            s.skip_field("_raw")?;
        }
        s.end()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        201 => "Created",
        _ => "OK",
    }
}

/// `base_url?query` with `cursor` replaced by `cursor` (or removed when `None`).
pub fn link(base_url: &str, query: &[(String, String)], cursor: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k != "cursor")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(cursor) = cursor {
        pairs.push(("cursor", cursor));
    }
    if pairs.is_empty() {
        return base_url.to_owned();
    }
    let mut out = String::with_capacity(base_url.len() + 64);
    out.push_str(base_url);
    for (i, (k, v)) in pairs.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        percent_encode_into(&mut out, k);
        out.push('=');
        percent_encode_into(&mut out, v);
    }
    out
}

fn percent_encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SF: Envelope<'static> = Envelope {
        service: "salesforce",
        resource: Resource::Contacts,
    };

    fn q(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn list_envelope_shape() {
        let query = q(&[
            ("limit", "2"),
            ("filter[name]", "A&B C"),
            ("cursor", "v1.old"),
        ]);
        let page = Page {
            base_url: "https://pb.example/crm/contacts",
            query: &query,
            current: Some("v1.old"),
            next: Some("v1.new"),
        };
        let r = SF.list(vec![json!({"id": "1"}), json!({"id": "2"})], &page, None);
        assert_eq!(r.status_code, 200);
        assert_eq!(
            r.body,
            json!({
                "status_code": 200, "status": "OK", "service": "salesforce",
                "resource": "contacts", "operation": "all",
                "data": [{"id": "1"}, {"id": "2"}],
                "meta": {"items_on_page": 2,
                         "cursors": {"previous": null, "current": "v1.old", "next": "v1.new"}},
                "links": {
                    "previous": null,
                    "current": "https://pb.example/crm/contacts?limit=2&filter%5Bname%5D=A%26B%20C&cursor=v1.old",
                    "next": "https://pb.example/crm/contacts?limit=2&filter%5Bname%5D=A%26B%20C&cursor=v1.new"
                }
            })
        );
        assert!(r.body.get("_raw").is_none());
    }

    #[test]
    fn a_written_one_record_envelope_is_the_built_one() {
        let record = json!({"id": "003A", "name": "Ada", "emails": [{"email": "a@b.c"}]});
        for raw in [None, Some(json!({"Id": "003A"}))] {
            let written = SF.one_record(record.clone(), raw.clone());
            let built = SF.one(record.clone(), raw.clone());
            let text = serde_json::to_vec(&written).expect("serialise");
            let parsed: Value = serde_json::from_slice(&text).expect("parse");
            assert_eq!(parsed, built.body);
            // The same keys in the same order as the built map, `_raw` only when asked for.
            let keys: Vec<&str> = parsed
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            let built_keys: Vec<&str> = built
                .body
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(keys, built_keys);
            assert_eq!(parsed.get("_raw").is_some(), raw.is_some());
            assert_eq!(written.into_response(), built);
        }
    }

    #[test]
    fn first_and_last_pages() {
        let page = Page {
            base_url: "https://pb.example/crm/contacts",
            query: &[],
            current: None,
            next: None,
        };
        let r = SF.list(vec![], &page, Some(json!({"records": []})));
        assert_eq!(
            r.body["links"]["current"],
            "https://pb.example/crm/contacts"
        );
        assert_eq!(r.body["links"]["next"], Value::Null);
        assert_eq!(r.body["meta"]["cursors"]["current"], Value::Null);
        assert_eq!(r.body["meta"]["items_on_page"], 0);
        assert_eq!(r.body["_raw"], json!({"records": []}));
    }

    #[test]
    fn single_record_envelopes() {
        let added = SF.added("003A", None);
        assert_eq!(added.status_code, 201);
        assert_eq!(
            added.body,
            json!({"status_code": 201, "status": "Created", "service": "salesforce",
                   "resource": "contacts", "operation": "add", "data": {"id": "003A"}})
        );
        assert_eq!(SF.updated("003A", None).body["operation"], "update");
        assert_eq!(SF.deleted("003A", None).body["data"], json!({"id": "003A"}));
        let one = SF.one(json!({"id": "003A"}), Some(Value::Null));
        assert_eq!(one.body["operation"], "one");
        assert_eq!(one.body["_raw"], Value::Null);
        assert!(one.body.get("meta").is_none() && one.body.get("links").is_none());
    }

    #[test]
    fn links_encode_everything_outside_unreserved() {
        let query = q(&[("filter[email]", "a+b@c.d/é")]);
        assert_eq!(
            link("https://x/crm/leads", &query, None),
            "https://x/crm/leads?filter%5Bemail%5D=a%2Bb%40c.d%2F%C3%A9"
        );
    }
}
