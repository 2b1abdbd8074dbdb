//! Opaque, versioned, tamper-evident page cursors.
//!
//! A cursor is `v1.<base64url(json)>.<base64url(hmac)>`. The JSON names the connector (`s`), the
//! resource (`r`) and a digest of the query's filters and sort (`q`), plus the connector's own
//! position (`p`, e.g. the last sort key and id). The HMAC makes a cursor unforgeable, so a
//! connector can trust the position it reads back; the scope check makes a cursor from another
//! connector, resource or query an `InvalidCursorError` instead of a wrong page.

use aws_lc_rs::{constant_time, digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::UnifiedError;
use crate::resource::Resource;

const VERSION: &str = "v1";
/// Longest cursor accepted; real ones are a few hundred bytes.
const MAX_CURSOR_LEN: usize = 4_096;
/// Bytes of HMAC-SHA256 kept in the cursor (128 bits is plenty against forgery).
const TAG_LEN: usize = 16;
/// Shortest secret accepted.
pub const MIN_SECRET_LEN: usize = 32;

/// The secret is shorter than [`MIN_SECRET_LEN`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cursor secret must be at least {MIN_SECRET_LEN} bytes")]
pub struct WeakCursorSecret;

/// What a cursor is valid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorScope<'a> {
    /// The connector's service id, e.g. `salesforce`.
    pub service: &'a str,
    /// The resource being listed.
    pub resource: Resource,
    /// [`crate::query::ListParams::query_fingerprint`] of the query.
    pub query: &'a str,
}

/// Seals and opens cursors with one HMAC key.
pub struct CursorCodec {
    /// Why a key and not a checksum: the connector reads ids and sort keys back from the cursor
    /// and feeds them into queries, so it must know Patchbay wrote them.
    key: hmac::Key,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(<redacted>)")
    }
}

impl CursorCodec {
    /// A codec keyed by `secret` (at least 32 bytes; derive it from the server's keyring).
    pub fn new(secret: &[u8]) -> Result<Self, WeakCursorSecret> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(WeakCursorSecret);
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }

    /// Seals a connector position into a cursor valid only for `scope`.
    pub fn seal(&self, scope: &CursorScope<'_>, position: &Value) -> String {
        let body = json!({
            "s": scope.service,
            "r": scope.resource.as_str(),
            "q": query_digest(scope.query),
            "p": position,
        });
        let body = URL_SAFE_NO_PAD.encode(body.to_string());
        let tag = self.tag(&body);
        format!("{VERSION}.{body}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Opens a cursor, checking its integrity and that it belongs to `scope`; returns the
    /// connector position it carries.
    pub fn open(&self, cursor: &str, scope: &CursorScope<'_>) -> Result<Value, UnifiedError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(UnifiedError::InvalidCursor);
        }
        let mut parts = cursor.split('.');
        let (Some(VERSION), Some(body), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(UnifiedError::InvalidCursor);
        };
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| UnifiedError::InvalidCursor)?;
        constant_time::verify_slices_are_equal(&tag, &self.tag(body))
            .map_err(|_| UnifiedError::InvalidCursor)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| UnifiedError::InvalidCursor)?;
        let mut value: Value =
            serde_json::from_slice(&json).map_err(|_| UnifiedError::InvalidCursor)?;
        let in_scope = value["s"] == scope.service
            && value["r"] == scope.resource.as_str()
            && value["q"] == query_digest(scope.query);
        if !in_scope {
            return Err(UnifiedError::InvalidCursor);
        }
        Ok(value
            .as_object_mut()
            .and_then(|m| m.remove("p"))
            .unwrap_or(Value::Null))
    }

    fn tag(&self, body: &str) -> [u8; TAG_LEN] {
        let full = hmac::sign(&self.key, body.as_bytes());
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full.as_ref()[..TAG_LEN]);
        tag
    }
}

fn query_digest(query: &str) -> String {
    let d = digest::digest(&digest::SHA256, query.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CursorCodec {
        CursorCodec::new(&[7u8; 32]).unwrap()
    }

    fn scope(query: &str) -> CursorScope<'_> {
        CursorScope {
            service: "salesforce",
            resource: Resource::Contacts,
            query,
        }
    }

    #[test]
    fn round_trip() {
        let position = json!({"k": "Smith", "id": "003000000000001AAA"});
        let cursor = codec().seal(&scope("q"), &position);
        assert!(cursor.starts_with("v1."));
        assert!(
            cursor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(codec().open(&cursor, &scope("q")).unwrap(), position);
    }

    #[test]
    fn foreign_scopes_are_refused() {
        let cursor = codec().seal(&scope("q"), &json!(1));
        let other_service = CursorScope {
            service: "hubspot",
            ..scope("q")
        };
        let other_resource = CursorScope {
            resource: Resource::Leads,
            ..scope("q")
        };
        for s in [other_service, other_resource, scope("other query")] {
            assert_eq!(codec().open(&cursor, &s), Err(UnifiedError::InvalidCursor));
        }
        let other_key = CursorCodec::new(&[8u8; 32]).unwrap();
        assert_eq!(
            other_key.open(&cursor, &scope("q")),
            Err(UnifiedError::InvalidCursor)
        );
    }

    #[test]
    fn tampering_and_garbage_are_refused() {
        let cursor = codec().seal(&scope("q"), &json!({"id": "a"}));
        let (head, tag) = cursor.rsplit_once('.').unwrap();
        // Re-encode a modified body with the old tag.
        let body = head.strip_prefix("v1.").unwrap();
        let mut json = URL_SAFE_NO_PAD.decode(body).unwrap();
        let pos = json.iter().position(|b| *b == b'a').unwrap();
        json[pos] = b'b';
        let forged = format!("v1.{}.{tag}", URL_SAFE_NO_PAD.encode(&json));
        let mut flipped = cursor.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let long = "v1.".to_owned() + &"A".repeat(MAX_CURSOR_LEN);
        for bad in [
            forged.as_str(),
            flipped.as_str(),
            "",
            "v1",
            "v2.a.b",
            "v1.a.b.c",
            "em9oby1jcm06OnBhZ2U6OjM=",
            "v1.!!.??",
            long.as_str(),
        ] {
            assert_eq!(
                codec().open(bad, &scope("q")),
                Err(UnifiedError::InvalidCursor),
                "{bad}"
            );
        }
    }

    #[test]
    fn weak_secrets_are_refused_and_debug_is_redacted() {
        assert_eq!(CursorCodec::new(&[1u8; 31]).unwrap_err(), WeakCursorSecret);
        assert_eq!(format!("{:?}", codec()), "CursorCodec(<redacted>)");
    }
}
