//! The REST error element (`{"message","errorCode","fields"}`) and constructors for the errors the
//! data engine produces. The HTTP layer wraps these in a JSON array and uses `status`.

use serde::Serialize;

/// One Salesforce REST error. Error bodies are arrays of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{error_code}: {message}")]
pub struct SfError {
    /// The HTTP status the error travels with; not part of the JSON element.
    #[serde(skip)]
    pub status: u16,
    #[serde(rename = "errorCode")]
    pub error_code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

impl SfError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        SfError {
            status,
            error_code: code.to_owned(),
            message: message.into(),
            fields: None,
        }
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = Some(fields);
        self
    }

    /// `404 NOT_FOUND`, for unknown record ids and unknown object types on record paths.
    pub fn not_found() -> Self {
        SfError::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    /// `404 ENTITY_IS_DELETED`, for updates and deletes of a record in the Recycle Bin.
    pub fn entity_is_deleted() -> Self {
        SfError::new(404, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![])
    }

    /// `400 INVALID_TYPE` for an unknown object in SOQL.
    pub fn invalid_type(object: &str) -> Self {
        SfError::new(
            400,
            "INVALID_TYPE",
            format!(
                "sObject type '{object}' is not supported. If you are attempting to use a custom \
                 object, be sure to append the '__c' after the entity name. Please reference your \
                 WSDL or the describe call for the appropriate names."
            ),
        )
    }

    /// `400 INVALID_FIELD` for an unknown field in a create or update body.
    pub fn no_such_column_dml(field: &str, object: &str) -> Self {
        SfError::new(
            400,
            "INVALID_FIELD",
            format!("No such column '{field}' on sobject of type {object}"),
        )
        .with_fields(vec![])
    }

    /// The error Salesforce gives for DML on an object the user may not write. Salesforce has no
    /// single documented answer for read-only metadata objects; the emulator answers
    /// `403 INSUFFICIENT_ACCESS_OR_READONLY` so that clients treat it as a permission problem.
    pub fn read_only_object(object: &str, verb: &str) -> Self {
        SfError::new(
            403,
            "INSUFFICIENT_ACCESS_OR_READONLY",
            format!("entity type cannot be {verb}: {object}"),
        )
        .with_fields(vec![])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_rest_error_element() {
        let e = SfError::new(
            400,
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
        )
        .with_fields(vec!["LastName".to_owned()]);
        let v = serde_json::to_value(vec![e]).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{
                "message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["LastName"]
            }])
        );
    }

    #[test]
    fn fields_are_omitted_when_absent() {
        let v = serde_json::to_value(SfError::not_found()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"})
        );
        assert_eq!(SfError::not_found().status, 404);
    }
}
