//! The Salesforce emulator's data engine: record ids, the object schema, an org's records and the
//! operations on them (create, read, update, soft delete, SOQL), and deterministic seeded orgs.
//!
//! It is pure: no IO, no clock (every operation takes `now_ms`, Unix milliseconds), no HTTP. The
//! HTTP side (`patchbay-fake-salesforce`) wraps an [`Org`] in a lock, turns [`SfError`]s into
//! REST error arrays (`[{"message","errorCode","fields"}]`, status in [`SfError::status`]) and
//! pages [`QueryResult`]s into `nextRecordsUrl` batches.
//!
//! ```
//! use patchbay_fake_salesforce_data::{Org, SeedOptions};
//! use serde_json::json;
//!
//! let now = 1_727_433_541_000; // injected clock
//! let mut org = Org::seeded(&SeedOptions { records: 50, ..SeedOptions::default() }, now).unwrap();
//! let user = org.find_user_by_username("admin@example.com").unwrap().id;
//!
//! let id = org.create("Contact", &json!({"LastName": "Lovelace", "Email": "ada@x.test"}), user, now).unwrap();
//! let result = org.query("SELECT Id, Name FROM Contact WHERE Email = 'ADA@x.test'", false, now).unwrap();
//! assert_eq!(result.total_size(), 1);
//! let page = result.records(&org, 0..2000, "66.0");
//! assert_eq!(page[0]["Id"], id.to_string());
//!
//! let errors = org.create("Contact", &json!({"FirstName": "Ada"}), user, now).unwrap_err();
//! assert_eq!(errors[0].error_code, "REQUIRED_FIELD_MISSING");
//! ```
//!
//! Decisions where Salesforce's behaviour is undocumented or varies (see each item's docs):
//! DML on read-only objects (OpportunityStage; deleting Users) answers `403
//! INSUFFICIENT_ACCESS_OR_READONLY`; a value of the wrong JSON type answers `JSON_PARSER_ERROR`;
//! a literal of the wrong type in SOQL answers `INVALID_QUERY_FILTER_OPERATOR`.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod datetime;
pub mod error;
pub mod ids;
pub mod org;
pub mod schema;
mod seed;
pub mod soql;
mod value;

pub use error::SfError;
pub use ids::SfId;
pub use org::{NewUser, Org, OrgOptions, OrgSnapshot, SnapshotError, UserInfo};
pub use schema::object_names;
pub use seed::SeedOptions;
pub use soql::QueryResult;
