//! Sparse fieldsets: `fields=name,emails,addresses.city`.

use serde_json::{Map, Value};

use crate::error::UnifiedError;

/// Most paths accepted in one `fields` parameter.
const MAX_PATHS: usize = 100;

/// A validated `fields` selection: a list of dot-separated paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelection {
    paths: Vec<Vec<String>>,
}

impl FieldSelection {
    /// Parses the comma-separated `fields` value. Empty segments are ignored; an empty value means
    /// "no selection" (`Ok(None)`).
    pub fn parse(value: &str) -> Result<Option<Self>, UnifiedError> {
        let mut paths = Vec::new();
        for raw in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let path: Vec<String> = raw.split('.').map(str::to_owned).collect();
            let valid = path.iter().all(|seg| {
                !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if !valid {
                return Err(UnifiedError::invalid_field(
                    "fields",
                    "fields must be comma-separated names with dots for nesting, e.g. name,addresses.city",
                ));
            }
            paths.push(path);
        }
        if paths.len() > MAX_PATHS {
            return Err(UnifiedError::invalid_field(
                "fields",
                format!("fields may name at most {MAX_PATHS} paths"),
            ));
        }
        Ok((!paths.is_empty()).then_some(Self { paths }))
    }

    /// The selected paths.
    pub fn paths(&self) -> impl Iterator<Item = &[String]> {
        self.paths.iter().map(Vec::as_slice)
    }

    /// Keeps only the selected paths of one record (an object). Arrays on the way are traversed
    /// element by element, so `addresses.city` keeps `city` in every address. Paths that do not
    /// exist are skipped; non-objects are returned unchanged.
    pub fn apply(&self, record: &Value) -> Value {
        let mut out = Value::Object(Map::new());
        for path in &self.paths {
            copy_path(record, &mut out, path);
        }
        match record {
            Value::Object(_) => out,
            other => other.clone(),
        }
    }

    /// Applies the selection to a list of records, or to a single record.
    pub fn apply_to_data(&self, data: &Value) -> Value {
        match data {
            Value::Array(items) => Value::Array(items.iter().map(|i| self.apply(i)).collect()),
            other => self.apply(other),
        }
    }
}

fn copy_path(src: &Value, dst: &mut Value, path: &[String]) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    let (Value::Object(src_map), Value::Object(dst_map)) = (src, &mut *dst) else {
        return;
    };
    let Some(child) = src_map.get(head) else {
        return;
    };
    if rest.is_empty() {
        dst_map.insert(head.clone(), child.clone());
        return;
    }
    match child {
        Value::Object(_) => {
            let slot = dst_map
                .entry(head.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            // An earlier path may have copied the whole object already.
            if slot.is_object() && !is_complete_copy(slot, child) {
                copy_path(child, slot, rest);
            }
        }
        Value::Array(items) => {
            let slot = dst_map.entry(head.clone()).or_insert_with(|| {
                Value::Array(items.iter().map(|_| Value::Object(Map::new())).collect())
            });
            if let Value::Array(out_items) = slot {
                for (item, out_item) in items.iter().zip(out_items.iter_mut()) {
                    if item.is_object() && !is_complete_copy(out_item, item) {
                        copy_path(item, out_item, rest);
                    }
                }
            }
        }
        // `null` or a scalar where the path expects more: keep it, so `fields=a.b` on `a: null`
        // still shows that `a` is null.
        other => {
            dst_map.insert(head.clone(), other.clone());
        }
    }
}

fn is_complete_copy(candidate: &Value, original: &Value) -> bool {
    candidate == original
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn select(fields: &str, record: &Value) -> Value {
        FieldSelection::parse(fields)
            .unwrap()
            .unwrap()
            .apply(record)
    }

    #[test]
    fn top_level_and_nested_paths() {
        let record = json!({
            "id": "1", "name": "Elon", "email_domain": "x.com",
            "addresses": [{"city": "SF", "state": "CA"}, {"city": "LA", "state": "CA"}],
            "row_type": {"id": "r", "name": "n"},
            "owner": null
        });
        assert_eq!(
            select("name, addresses.city", &record),
            json!({"name": "Elon", "addresses": [{"city": "SF"}, {"city": "LA"}]})
        );
        assert_eq!(
            select("row_type.name,owner.id,missing", &record),
            json!({"row_type": {"name": "n"}, "owner": null})
        );
        assert_eq!(
            select("addresses,addresses.city", &record)["addresses"],
            record["addresses"]
        );
        assert_eq!(
            select("addresses.city,addresses.state", &record)["addresses"],
            record["addresses"]
        );
    }

    #[test]
    fn lists_are_filtered_per_record() {
        let data = json!([{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]);
        let selection = FieldSelection::parse("id").unwrap().unwrap();
        assert_eq!(
            selection.apply_to_data(&data),
            json!([{"id": "1"}, {"id": "2"}])
        );
    }

    #[test]
    fn parse_rules() {
        assert_eq!(FieldSelection::parse("").unwrap(), None);
        assert_eq!(FieldSelection::parse(" , ").unwrap(), None);
        for bad in ["a..b", "a b", "a,$where", "a.", "name;drop"] {
            assert!(FieldSelection::parse(bad).is_err(), "{bad}");
        }
        let many = vec!["a"; MAX_PATHS + 1].join(",");
        assert!(FieldSelection::parse(&many).is_err());
    }
}
