//! Provider connectors for the unified CRM API. Pure: no IO, no async, no HTTP.
//!
//! Owns the provider-neutral mapping-table shape and its engines ([`table`], [`write`],
//! [`convert`]) and one module per provider ([`salesforce`]). A connector is mostly data (tables)
//! plus the quirks of its provider; the HTTP layer executes the requests a connector plans and
//! hands the responses back for mapping.

pub mod convert;
pub mod salesforce;
pub mod table;
pub mod write;
