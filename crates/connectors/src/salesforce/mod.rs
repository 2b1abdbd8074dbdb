//! The Salesforce connector: mapping tables, SOQL builder, keyset paging, record mapping with the
//! object quirks (Event/Task, polymorphic lookups, note parents, pipelines) and error mapping.
//!
//! Flow for the HTTP layer: parse [`patchbay_unified::ListParams`], call [`plan_list`], execute
//! its [`SalesforceRequest`], then [`ListPlan::finish`]; for one record, [`plan_get`] then
//! [`read_record`]; for writes, [`plan_create`] / [`plan_update`] / [`plan_delete`] (then
//! [`created_id`]). Failures go through [`map_error`].

pub mod error;
pub mod ids;
pub mod list;
pub mod records;
pub mod request;
pub mod soql;
pub mod tables;
pub mod writes;

#[cfg(test)]
pub(crate) mod soql_tokens;

pub use error::{ApiUsage, CallKind, Failure, map_error, parse_limit_info, session_still_invalid};
pub use list::{ListPage, ListPlan, plan_list};
pub use records::{
    created_id, plan_create, plan_delete, plan_get, plan_update, read_pipeline, read_record,
};
pub use request::{Method, SalesforceRequest};

use crate::table::Dialect;

/// The service id in envelopes, cursors and `x-apideck-service-id`.
pub const SERVICE_ID: &str = "salesforce";

/// Salesforce's id and custom-field rules for the neutral engines.
pub const DIALECT: Dialect = Dialect {
    is_valid_id: ids::is_valid_id,
    is_custom_field: ids::is_custom_field,
};
