//! A local HubSpot: the app install page, the OAuth token, metadata, introspection and
//! revocation endpoints, the CRM v3/v4 API (contacts, companies, deals, notes, calls, meetings,
//! tasks, search, associations, owners, deal pipelines) with the account's rate limits, and a
//! control plane, in one process. It is written from HubSpot's documented behaviour
//! (`docs/hubspot.md`, cited as `§N`) and shares no wire types or protocol code with Patchbay's
//! own HubSpot connector; its data engine is `patchbay-fake-hubspot-data`.
//!
//! The user guide is `docs/emulator-hubspot.md`: flags, hosts, control plane, faults, and every
//! behaviour the reference only infers, with the emulator's choice.
//!
//! # Hosts
//! HubSpot serves installs from `app.hubspot.com` and everything else from `api.hubapi.com`.
//! One listener plays both: `{base}/oauth/authorize` is the install page, `{base}/oauth/...`
//! and `{base}/crm/...` the API. The control plane lives apart, under `{base}/__emulator/`
//! (see [`control`]), behind a token when `control_token` is set.
//!
//! # State
//! In memory, or with `state_file` kept in a JSON file across restarts ([`persist`]).
//!
//! # Use
//! ```no_run
//! # async fn demo() -> Result<(), patchbay_fake_hubspot::EmulatorError> {
//! let emulator = patchbay_fake_hubspot::spawn(Default::default()).await?;
//! println!("{}", emulator.startup_info());
//! # Ok(()) }
//! ```

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod config;
pub mod control;
pub mod error;
pub mod limits;
pub mod oauth;
pub mod persist;
pub mod server;
pub mod state;
pub mod tokens;

pub use config::EmulatorConfig;
pub use server::{EmulatorError, EmulatorHandle, router, spawn};
pub use state::Emulator;
