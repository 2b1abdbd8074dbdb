//! The Salesforce emulator's data engine: record ids, the object schema, an org's records and the
//! operations on them (create, read, update, soft delete, SOQL), and deterministic seeded orgs.
//!
//! It is pure: no IO, no clock (every operation takes `now_ms`), no HTTP. The HTTP side
//! (`patchbay-fake-salesforce`) turns [`SfError`]s into REST error arrays and pages query results.

pub mod datetime;
pub mod error;
pub mod ids;
pub mod schema;
mod seed;
pub mod soql;

pub use error::SfError;
pub use ids::SfId;
pub mod org;
mod value;

pub use org::{NewUser, Org, OrgOptions, UserInfo};
pub use schema::object_names;
pub use seed::SeedOptions;
pub use soql::QueryResult;
