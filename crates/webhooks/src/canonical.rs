//! Canonical JSON: object keys sorted recursively (by code point), arrays kept in order, no
//! insignificant whitespace. Apideck signs this form of the body (docs/apideck.md §2.3), and
//! Patchbay sends exactly these bytes, so a receiver may hash the raw body or re-canonicalise
//! it and get the same digest either way.

use serde_json::Value;

/// The canonical serialisation of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // A string always serialises; the fallback keeps this total without a panic.
                out.push_str(&serde_json::to_string(key).unwrap_or_else(|_| "\"\"".to_owned()));
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_value(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth_and_arrays_keep_their_order() {
        let v = json!({"b": 1, "a": {"z": [3, {"y": 1, "x": 2}], "c": null}, "A": "é\"q"});
        assert_eq!(
            canonical_json(&v),
            r#"{"A":"é\"q","a":{"c":null,"z":[3,{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn canonical_form_is_stable_under_reparsing() {
        let v = json!({"payload": {"event_type": "x", "entity": {"b": true, "a": 1.5}}});
        let once = canonical_json(&v);
        let reparsed: Value = serde_json::from_str(&once).unwrap();
        assert_eq!(canonical_json(&reparsed), once);
    }
}
