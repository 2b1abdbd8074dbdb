//! The unified CRM model (Apideck-compatible), provider-neutral and pure.
//!
//! Owns: the resources and their spec-defined filters and sorts ([`resource`]), typed models
//! ([`model`]), list parameters parsed from a query string ([`query`]), opaque cursors
//! ([`cursor`]), sparse fieldsets ([`fields`]), success envelopes ([`envelope`]) and the error
//! classes with the spec's `type_name`s ([`error`]). Connectors translate these values to and from
//! a provider; the HTTP edge parses requests into them and serialises envelopes. No IO here.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod cursor;
pub mod envelope;
pub mod error;
pub mod fields;
pub mod model;
pub mod nullable;
pub mod query;
pub mod resource;

pub use cursor::{CursorCodec, CursorScope};
pub use envelope::{Envelope, OneRecord, Operation, Page, Response};
pub use error::{DownstreamError, UnifiedError};
pub use fields::FieldSelection;
pub use nullable::Nullable;
pub use query::{CommonParams, Filter, FilterValue, ListParams, Sort};
pub use resource::{FilterField, FilterKind, Resource, SortDirection, SortField};
