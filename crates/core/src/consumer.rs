//! Consumers: the application's end customers, identified by an id the application chooses.

use serde::{Deserialize, Serialize};

/// What the hosted UI shows for a consumer (spec `ConsumerMetadata`). All fields optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_matches_spec_field_names() {
        let m: ConsumerMetadata =
            serde_json::from_str(r#"{"account_name":"SpaceX","email":"e@x.com"}"#).unwrap();
        assert_eq!(m.account_name.as_deref(), Some("SpaceX"));
        assert_eq!(m.user_name, None);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"account_name":"SpaceX","email":"e@x.com"}"#
        );
    }
}
