//! A field that can be absent, explicitly `null`, or set.
//!
//! The spec distinguishes the three: a PATCH with `"title": null` clears the title, while a PATCH
//! without `title` leaves it alone; a response omits fields the connector does not map and shows
//! `null` for mapped fields that are empty. `Option<T>` cannot say both.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Absent (not in the JSON at all), `null`, or a value.
///
/// Use with `#[serde(default, skip_serializing_if = "Nullable::is_absent")]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Nullable<T> {
    /// The key is missing.
    #[default]
    Absent,
    /// The key is present with `null`.
    Null,
    /// The key is present with a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// True when the key is missing (used by `skip_serializing_if`).
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// The value, if one is set.
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }
}

impl<T> From<Option<T>> for Nullable<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Null, Self::Value)
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => v.serialize(serializer),
            Self::Absent | Self::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A missing key never reaches here: `#[serde(default)]` yields `Absent`.
        Ok(Option::<T>::deserialize(deserializer)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Probe {
        #[serde(default, skip_serializing_if = "Nullable::is_absent")]
        title: Nullable<String>,
    }

    #[test]
    fn three_states_round_trip() {
        for (json, state) in [
            ("{}", Nullable::Absent),
            (r#"{"title":null}"#, Nullable::Null),
            (r#"{"title":"x"}"#, Nullable::Value("x".to_owned())),
        ] {
            let probe: Probe = serde_json::from_str(json).unwrap();
            assert_eq!(probe.title, state);
            assert_eq!(serde_json::to_string(&probe).unwrap(), json);
        }
    }
}
