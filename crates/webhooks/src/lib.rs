//! Webhook domain logic, pure (no IO): which events exist ([`EventType`]), what a subscription
//! may name, the payloads Apideck's specs define ([`payload`]), the canonical JSON both
//! signatures are computed over ([`canonical_json`]), the two signatures ([`signature`]),
//! Apideck's retry schedule ([`RetrySchedule`]) and the classification of a polled CRM record
//! change ([`crm`]) and the deletion passes for providers whose change query cannot see
//! deletions ([`deletions`]).
//!
//! The server owns the outbox, the delivery worker and the poller; everything they decide by
//! rule rather than by IO lives here, so it is tested without a network or a database.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod canonical;
pub mod crm;
pub mod deletions;
mod event;
pub mod payload;
mod retry;
pub mod signature;
pub mod transition;

pub use canonical::canonical_json;
pub use event::{CrmObject, CrmOperation, EventType, SubscribedEvents, SubscriptionError};
pub use retry::{RETRY_DELAYS_MS, RetrySchedule};
