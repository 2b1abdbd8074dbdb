//! The HubSpot emulator's data engine: one account's CRM objects as values, with no IO and no
//! HTTP. It owns the object schemas ([`schema`]), records and their string-valued properties
//! ([`record`]), the account store with list paging and associations ([`account`]), the search
//! engine with filter groups, sorts and the 10,000-result ceiling ([`search`]), owners, the users
//! behind them and deal pipelines ([`owners`], [`users`], [`pipelines`]), deterministic seed data ([`seed`]) and the account's
//! changeable data as plain values for the emulator's state file ([`snapshot`]).
//!
//! It is written from `docs/hubspot.md` (cited as `§N`) and shares nothing with Patchbay's own
//! HubSpot connector. The HTTP side lives in `patchbay-fake-hubspot`.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod account;
pub mod assoc;
pub mod error;
pub mod owners;
pub mod pipelines;
pub mod record;
pub mod schema;
pub mod search;
pub mod seed;
pub mod snapshot;
pub mod time;
pub mod users;
pub mod write;

pub use account::{Account, Page};
pub use error::DataError;
pub use schema::ObjectType;
pub use snapshot::AccountSnapshot;
