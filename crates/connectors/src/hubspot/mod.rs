//! The HubSpot connector: mapping tables, search-body builder, keyset paging past the search
//! ceiling, record mapping with HubSpot's quirks (string-valued properties, associations,
//! engagement objects behind activities, leads as contacts), error mapping and OAuth facts.
//! Written from docs/hubspot.md and spec/apideck/crm.yml only; it shares nothing with the
//! HubSpot emulator crates.
//!
//! The server drives it through [`HubSpot`], the [`crate::connector::Connector`]
//! implementation. Flow with the free functions (see `tests/hubspot_flow.rs`), every path on [`oauth::API_ORIGIN`]
//! with `Authorization: Bearer {token}`:
//! - list: [`patchbay_unified::ListParams::parse`], [`plan_list`], send its `request`; while
//!   [`ListPlan::next_request`] gives a call, send it; then [`ListPlan::finish`] with every
//!   answer body gives the unified page and the next cursor.
//! - get: [`plan_get`], then [`RecordPlan::read`] on the answer.
//! - create: [`plan_create`], then [`RecordPlan::created_id`] on the 201 body. update:
//!   [`plan_update`], then each of its `then` calls (v4 association PUTs). delete:
//!   [`plan_delete`] (204). Users take two calls each (owner id → user id): [`users`] plans
//!   them as step machines, which [`HubSpot`] hands the server as
//!   [`crate::connector::Connector::plan_write_run`].
//! - any non-2xx: [`map_error`]; on [`Failure::RefreshAndRetry`] refresh once and retry once,
//!   then answer [`session_still_invalid`]. Every answer: [`parse_rate_limit`] on the
//!   `X-HubSpot-RateLimit-*` headers for `x-downstream-ratelimit-*`.

pub mod changes;
pub mod connector;
pub mod error;
pub mod ids;
pub mod list;
mod merge;
pub mod oauth;
pub mod pipelines;
pub mod records;
pub mod request;
pub mod search;
pub mod tables;
pub mod users;

pub use connector::HubSpot;
pub use error::{ApiUsage, CallKind, Failure, map_error, parse_rate_limit, session_still_invalid};
pub use list::{ListPage, ListPlan, plan_list, plan_list_with};
pub use records::{RecordPlan, plan_create, plan_delete, plan_get, plan_update};
pub use request::{HubSpotRequest, Method};

use crate::table::Dialect;

/// The service id in envelopes, cursors and `x-apideck-service-id`.
pub const SERVICE_ID: &str = "hubspot";

/// HubSpot's id rules for the neutral engines.
pub const DIALECT: Dialect = Dialect {
    is_valid_id: ids::is_valid_id,
    is_custom_field: ids::is_custom_field,
};
