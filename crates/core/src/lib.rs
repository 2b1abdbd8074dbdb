//! Patchbay's pure domain: typed ids, the clock abstraction, the connection state machine,
//! integration settings, the validated login origin, and lock-free metric cells.
//!
//! Invariant: this crate does no IO and has no async code. Everything here is a value or a
//! pure function, so it is tested exhaustively with plain unit tests.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod clock;
pub mod connection;
pub mod consumer;
pub mod ids;
pub mod integration;
pub mod login_origin;
pub mod metrics;

pub use clock::{Clock, ManualClock, SystemClock};
pub use connection::{ConnectionFacts, ConnectionState, Health, IntegrationState, compute_state};
pub use consumer::ConsumerMetadata;
pub use ids::{
    ApiKeyId, ApplicationId, ConnectionId, ConsumerId, IdError, ServiceId, UnifiedApi,
    connection_key,
};
pub use integration::{
    Integration, IntegrationSettings, PollIntervalError, Scopes, ScopesError, StagedCredentials,
    check_crm_poll_interval,
};
pub use login_origin::{LoginOrigin, LoginUrlError};
