//! Typed unified models with the spec's field names.
//!
//! Every field is a [`Nullable`], so a model round-trips exactly what was sent or mapped: absent
//! fields stay absent, `null` stays `null`. Unknown fields are refused, as the spec's
//! `additionalProperties: false` asks. Connectors produce and consume JSON; these types are the
//! schema check at the edge ([`validate_body`]) and in tests (mapped output must deserialize).

mod activity;
mod common;
mod deal;
mod party;

pub use activity::{Activity, ActivityAttendee, ActivityType, Note};
pub use common::{
    Address, AddressType, CustomField, Email, EmailType, PhoneNumber, PhoneType, SocialLink,
    Website, WebsiteType,
};
pub use deal::{Opportunity, Pipeline, PipelineStage};
pub use party::{Company, Contact, Lead, User};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::UnifiedError;
use crate::resource::Resource;

pub use crate::nullable::Nullable;

/// Declares a model: every field is `Nullable<T>`, omitted when absent, unknown fields refused.
macro_rules! model {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Nullable::is_absent")]
                pub $field: Nullable<$ty>,
            )*
        }
    };
}
pub(crate) use model;

/// Whether a body creates or updates a record (required fields apply to create only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// POST
    Create,
    /// PATCH
    Update,
}

/// Checks a create or update body against the resource's schema and returns it normalised
/// (exactly the keys that were sent). Errors are `RequestValidationError`s naming the problem.
pub fn validate_body(
    resource: Resource,
    write: Write,
    body: Value,
) -> Result<Map<String, Value>, UnifiedError> {
    if !body.is_object() {
        return Err(UnifiedError::validation(
            "request body must be a JSON object",
        ));
    }
    let map = match resource {
        Resource::Contacts => check::<Contact>(body)?,
        Resource::Companies => check::<Company>(body)?,
        Resource::Leads => check::<Lead>(body)?,
        Resource::Opportunities => check::<Opportunity>(body)?,
        Resource::Activities => check::<Activity>(body)?,
        Resource::Notes => check::<Note>(body)?,
        Resource::Users => check::<User>(body)?,
        Resource::Pipelines => check::<Pipeline>(body)?,
    };
    if write == Write::Create {
        for field in required_on_create(resource) {
            if map.get(*field).is_none_or(Value::is_null) {
                return Err(UnifiedError::invalid_field(
                    field,
                    format!("{field} is required to create {}", resource.as_str()),
                ));
            }
        }
    }
    Ok(map)
}

/// The spec's `required` list per schema (crm.yml).
pub fn required_on_create(resource: Resource) -> &'static [&'static str] {
    match resource {
        Resource::Companies | Resource::Leads | Resource::Pipelines => &["name"],
        Resource::Opportunities => &["title"],
        Resource::Activities => &["type"],
        Resource::Users => &["emails"],
        Resource::Contacts | Resource::Notes => &[],
    }
}

fn check<T: DeserializeOwned + Serialize>(body: Value) -> Result<Map<String, Value>, UnifiedError> {
    let typed: T = serde_json::from_value(body).map_err(|e| UnifiedError::RequestValidation {
        message: format!("request body does not match the schema: {e}"),
        detail: None,
    })?;
    match serde_json::to_value(typed) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(UnifiedError::validation(
            "request body must be a JSON object",
        )),
    }
}

#[cfg(test)]
mod tests;
