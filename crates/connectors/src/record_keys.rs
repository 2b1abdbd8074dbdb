//! Parsing a single-record answer down to the keys its mapping reads.
//!
//! A provider's record answer carries many fields no unified field reads (Salesforce sends every
//! field of the object, compound address objects included). When the caller wants neither
//! `_raw` nor custom mappings, nothing else looks at the answer, so the server parses only the
//! top-level keys the connector's read uses and skips the rest without building values for them
//! (they are still checked to be JSON). The unified record comes out the same: the keys are the
//! ones a list query selects, and lists are read by the same functions.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::table::ObjectMap;

/// The top-level keys of a record answer a connector's single-record read looks at.
#[derive(Debug, Clone, Copy)]
pub struct RecordKeys {
    /// Keys read by name, sorted and without duplicates (prepared once per resource).
    pub sorted: &'static [&'static str],
    /// Keys read by rule, not by name (custom fields).
    pub by_rule: fn(&str) -> bool,
}

impl RecordKeys {
    /// Whether the read looks at `key`.
    pub fn keeps(&self, key: &str) -> bool {
        self.sorted.binary_search(&key).is_ok() || (self.by_rule)(key)
    }

    /// Parses a 2xx answer. An object keeps only the keys the read looks at; any other JSON is
    /// parsed whole (the read then refuses it as it always would). Invalid JSON is an error,
    /// wherever it sits.
    pub fn parse(&self, bytes: &[u8]) -> serde_json::Result<Value> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return serde_json::from_slice(bytes);
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let object = Filtered(self).deserialize(&mut de)?;
        de.end()?;
        Ok(Value::Object(object))
    }
}

/// The top-level key names a read of these tables uses: every field a read selects (a dotted
/// relationship path by its first segment), plus `extra`, sorted and without duplicates.
pub fn keys_of(maps: &[&ObjectMap], extra: &[&'static str]) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = maps
        .iter()
        .flat_map(|m| m.read_fields())
        .map(|f| f.split_once('.').map_or(f, |(head, _)| head))
        .chain(extra.iter().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

struct Filtered<'k>(&'k RecordKeys);

impl<'de> DeserializeSeed<'de> for Filtered<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Filtered<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = access.next_key()? {
            if self.0.keeps(&key) {
                // A repeated key keeps its last value, as a whole parse does.
                let value: Value = access.next_value()?;
                out.insert(key.into_owned(), value);
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// An object key, borrowed from the answer when it has no escapes (most keys are skipped, so
/// they need no allocation of their own).
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys() -> RecordKeys {
        RecordKeys {
            sorted: &["Id", "Name", "attributes"],
            by_rule: |k| k.ends_with("__c"),
        }
    }

    #[test]
    fn keeps_only_the_keys_the_read_uses() {
        let body = br#" {"attributes":{"type":"Account"},"Id":"001","Skip":{"a":[1,{"b":null}]},
            "Name":"A\"cme","Tier__c":"Gold","Other":"x","Na\u006de":"escaped key"} "#;
        let parsed = keys().parse(body).unwrap();
        assert_eq!(
            parsed,
            json!({"attributes": {"type": "Account"}, "Id": "001",
                   "Name": "escaped key", "Tier__c": "Gold"})
        );
    }

    #[test]
    fn other_json_is_parsed_whole_and_bad_json_is_an_error() {
        assert_eq!(keys().parse(b"[1, 2]").unwrap(), json!([1, 2]));
        assert_eq!(keys().parse(b"null").unwrap(), Value::Null);
        assert!(keys().parse(br#"{"Id": "001", "Skip": [1,}"#).is_err());
        assert!(keys().parse(br#"{"Id": "001"} trailing"#).is_err());
        assert!(keys().parse(b"").is_err());
    }

    #[test]
    fn relationship_paths_keep_their_first_segment() {
        use crate::salesforce::tables::CONTACT;
        let k = keys_of(&[&CONTACT], &["attributes"]);
        assert!(k.contains(&"Account") && !k.contains(&"Account.Name"));
        assert!(k.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    }
}
