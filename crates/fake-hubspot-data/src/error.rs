//! Errors of the data engine, as data: the HTTP side turns each into HubSpot's error body
//! (`docs/hubspot.md §6`).

/// What went wrong, with HubSpot's category implied by the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// `400 VALIDATION_ERROR`.
    #[error("{message}")]
    Validation {
        message: String,
        /// Name → values, HubSpot's `context` object.
        context: Vec<(String, Vec<String>)>,
    },
    /// `404 OBJECT_NOT_FOUND`.
    #[error("resource not found")]
    NotFound,
    /// `409 CONFLICT`.
    #[error("{0}")]
    Conflict(String),
}

impl DataError {
    pub fn validation(message: impl Into<String>) -> Self {
        DataError::Validation {
            message: message.into(),
            context: Vec::new(),
        }
    }

    /// HubSpot's `Property values were not valid: [...]` message for one or more properties.
    pub fn invalid_properties(items: &[(String, &str, String)]) -> Self {
        let list: Vec<serde_json::Value> = items
            .iter()
            .map(|(name, error, message)| {
                serde_json::json!({
                    "isValid": false, "message": message, "error": error, "name": name,
                    "localizedErrorMessage": message,
                })
            })
            .collect();
        let rendered = serde_json::to_string(&list).unwrap_or_default();
        DataError::validation(format!("Property values were not valid: {rendered}"))
    }
}
