//! The token lifecycle coordinator: it owns *when* and *how often* a connection's tokens are
//! refreshed, and what a failed refresh means for the connection.
//!
//! - [`Refresher::access_token_for`]: a fresh token costs one row read and a decrypt, no lock and
//!   no network call. A stale one is refreshed exactly once: callers in one process share one
//!   refresh (per-connection async mutex, then a re-read), and nodes sharing a database are
//!   serialised by the store's lease row (owner + TTL, compare-and-set). The winner re-reads the
//!   row first; no database lock or pooled connection is held during the HTTP call.
//! - [`Refresher::force_refresh`] (Vault `validate`) and [`Refresher::on_invalid_session`] (a REST
//!   `401 INVALID_SESSION_ID`: one refresh, only if the stored token is the one that failed).
//! - Failure lifecycle (docs/apideck.md §1.7, docs/security.md §3): see [`RefreshError`] and
//!   `refresher`.
//! - [`RefreshStats`]: refreshes by outcome and lease waits, read by the server's `/metrics`.
//! - [`Sweeper`]: proactive refresh ahead of expiry with jitter, per-integration rate limit,
//!   work shared across nodes by claiming leases.
//!
//! What a connection's row says after a failure (`health`, `last_refresh_error`):
//!
//! | Cause | health | last_refresh_error | Automatic retries |
//! |---|---|---|---|
//! | 5xx, timeout, reset, unreadable answer | `pending_refresh` | `server_error`, `timeout`, `connect_error`, `network_error`, `unrecognized_response` | after a doubling backoff (30 s … 30 min); the old token is served while it lasts |
//! | 429 | unchanged | unchanged | none for the integration until `Retry-After` (this process) |
//! | `invalid_client`, `invalid_client_id`, config | unchanged | the provider's code | breaker per integration: 1 min doubling to 15 min |
//! | `invalid_grant` on an unchanged row | `needs_auth` (+ `credentials_expire_at`) | `invalid_grant` | none; `force_refresh` at most every 10 s |
//! | no answer within 2/5 of the lease TTL, twice | `pending_refresh` | `refresh_in_doubt` | after backoff; the call never outlives the lease |
//! | response lost, then `invalid_grant` on the one retry | `needs_auth` | `refresh_in_doubt` | none: under rotation the grant is gone, the consumer reconnects |
//! | tokens issued but not storable | `needs_auth` | `refresh_unpersisted` | none, not even forced: the redeemed token is never replayed |
//! | 5 unreadable answers in a row | `needs_auth` | `unrecognized_response` | none |
//!
//! Invariants:
//! - A refresh token the provider has seen is never presented again by this process unless the
//!   outcome of that presentation was unknown (one immediate retry, docs/security.md §3.3), and
//!   never after its rotated successor failed to persist.
//! - New tokens are written by one version-guarded statement; a response without a
//!   `refresh_token` keeps the stored one.
//! - Network-class failures never touch credentials; only `invalid_grant` on an unchanged row
//!   condemns a grant.
//! - Tokens appear in no log line, error text or `Debug` output.
//! - Leases are taken on the database's clock by default ([`LeaseClock`]), and every token
//!   call ends inside the lease, so a lease cannot expire while its holder is still talking
//!   to the provider.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod attempt;
mod config;
mod error;
mod events;
mod expiry;
mod failure;
mod gate;
mod refresher;
mod seal;
mod stats;
mod store;
mod sweeper;

pub use config::{LeaseClock, RefreshConfig};
pub use error::{ProviderResponse, RefreshDebug, RefreshError, RefreshErrorDetail};
pub use events::{EventSink, RefreshEvent};
pub use refresher::{CurrentToken, Refresher};
pub use seal::{Sealer, SealingError};
pub use stats::{RefreshOutcome, RefreshStats};
pub use store::TokenStore;
pub use sweeper::{SweepReport, Sweeper, SweeperConfig, SweeperHandle};
