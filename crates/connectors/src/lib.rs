//! Provider connectors for the unified CRM API. Pure: no IO, no async, no HTTP.
//!
//! Owns the provider-neutral mapping-table shape and its engines ([`table`], [`write`](mod@write),
//! [`convert`]) and one module per provider ([`salesforce`], [`hubspot`]). A connector is mostly data (tables)
//! plus the quirks of its provider; the HTTP layer executes the requests a connector plans and
//! hands the responses back for mapping.
//!
//! Adding a second provider:
//! 1. describe each object as a [`table::ObjectMap`] (fields with a [`table::Kind`] and
//!    [`table::Access`], email/phone/website/address slots, filters, sorts) and give a
//!    [`table::Dialect`] (id shape, custom-field names) — `table_tests.rs` does this for a made-up
//!    provider in forty lines;
//! 2. reuse [`table::read_record`] and [`write::write_record`] for the mapping both ways;
//! 3. write only what a table cannot say: the provider's query language (its own escaping
//!    builder), its paging, its polymorphic links and its error format.
//!
//! Invariant: user input reaches a provider query only through that provider's literal escaper,
//! and reaches a URL path only after an id-shape check.

pub mod convert;
pub mod hubspot;
pub mod salesforce;
pub mod table;
pub mod write;
