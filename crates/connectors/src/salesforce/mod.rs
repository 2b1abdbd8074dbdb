//! The Salesforce connector: mapping tables, SOQL builder, keyset paging, record mapping with the
//! object quirks (Event/Task, polymorphic lookups, note parents, pipelines) and error mapping.
//! Written from docs/salesforce.md and spec/apideck/crm.yml only; it shares nothing with the
//! emulator crates.
//!
//! Flow for the HTTP layer (see `tests/flow.rs`):
//! - list: [`patchbay_unified::ListParams::parse`], [`plan_list`], GET `query?q=...`; while the
//!   response is not `done` and [`ListPlan::wants_more`], GET its `nextRecordsUrl` and append the
//!   records; then [`ListPlan::finish`] gives the unified page and the next cursor, ready for
//!   [`patchbay_unified::Envelope::list`]. The raw query response is the `_raw`.
//! - get: [`plan_get`], then [`read_record`] (pipelines: [`read_pipeline`] on the query records).
//! - create / update / delete: [`plan_create`] (then [`created_id`] from the 201 body),
//!   [`plan_update`], [`plan_delete`]; Salesforce answers 204 to the last two.
//! - any non-2xx: [`map_error`]; on [`Failure::RefreshAndRetry`] refresh once and retry once,
//!   then answer [`session_still_invalid`]. Every response: [`parse_limit_info`] on
//!   `Sforce-Limit-Info` for `x-downstream-ratelimit-*`.
//!
//! SOQL this connector relies on (all documented Salesforce syntax): relationship fields
//! (`Account.Name`), `field = null` / `!= null`, `Id > 'id'`, `ORDER BY f ASC NULLS FIRST, Id`,
//! unquoted datetime literals, `LIMIT`. List queries select the table's fields plus the custom
//! fields the caller names (from a describe cache); a single GET returns every field.

pub mod changes;
pub mod connector;
pub mod error;
pub mod ids;
pub mod list;
pub mod login_host;
pub mod records;
pub mod request;
pub mod soql;
pub mod tables;
pub mod writes;

#[cfg(test)]
pub(crate) mod soql_tokens;

pub use connector::Salesforce;
pub use error::{ApiUsage, CallKind, Failure, map_error, parse_limit_info, session_still_invalid};
pub use list::{ListPage, ListPlan, plan_list};
pub use records::{
    created_id, plan_create, plan_delete, plan_get, plan_update, read_pipeline, read_record,
    record_keys,
};
pub use request::{Method, SalesforceRequest};

use crate::table::Dialect;

/// The REST API version Patchbay speaks (Spring '26).
pub const API_VERSION: &str = "v66.0";

/// Every REST path starts here.
pub const REST_BASE: &str = "/services/data/v66.0";

/// The service id in envelopes, cursors and `x-apideck-service-id`.
pub const SERVICE_ID: &str = "salesforce";

/// Salesforce's id and custom-field rules for the neutral engines.
pub const DIALECT: Dialect = Dialect {
    is_valid_id: ids::is_valid_id,
    is_custom_field: ids::is_custom_field,
};
