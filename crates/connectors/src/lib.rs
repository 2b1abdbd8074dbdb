//! Provider connectors for the unified CRM API. Pure: no IO, no async, no HTTP.
//!
//! Owns the connector interface ([`connector::Connector`]: OAuth profile, API origin, "token
//! invalid", rate limits, list and get step machines, writes, error mapping, change queries,
//! login-host choice, diagnostics, display), the [`registry`] that picks a connector by
//! `service_id` and the [`oauth_client`](mod@oauth_client) built from a connector's OAuth facts; the provider-neutral mapping-table shape and its engines ([`table`],
//! [`write`](mod@write), [`convert`]); and one module per provider ([`salesforce`], [`hubspot`]). A
//! connector is mostly data (tables) plus the quirks of its provider; the server executes the
//! requests a connector plans and hands the responses back, and never names a provider.
//!
//! Dependencies point one way: this crate uses `patchbay-oauth` (for its `ProviderConfig` and
//! `ClientConfig` data only), `patchbay-core` and `patchbay-unified`; the server and the refresh
//! coordinator depend on it, never the reverse.
//!
//! Adding a provider (see ARCHITECTURE.md, "Adding a third CRM"):
//! 1. describe each object as a [`table::ObjectMap`] (fields with a [`table::Kind`] and
//!    [`table::Access`], email/phone/website/address slots, filters, sorts) and give a
//!    [`table::Dialect`] (id shape, custom-field names) — `table_tests.rs` does this for a made-up
//!    provider in forty lines;
//! 2. reuse [`table::read_record`] and [`write::write_record`] for the mapping both ways;
//! 3. write only what a table cannot say: the provider's query language (its own escaping
//!    builder), its paging, its polymorphic links and its error format;
//! 4. implement [`connector::Connector`] on a unit struct and add it to
//!    [`registry::CONNECTORS`].
//!
//! Invariant: user input reaches a provider query only through that provider's literal escaper,
//! and reaches a URL path only after an id-shape check.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod connector;
pub mod convert;
pub mod hubspot;
pub mod oauth_client;
pub mod record_keys;
pub mod registry;
pub mod salesforce;
pub mod table;
pub mod write;
