//! A local Salesforce: the OAuth login hosts, the org's REST API and a control plane, in one
//! process, written from Salesforce's documented behaviour (see `docs/salesforce.md`).
//! It shares no wire types or protocol code with Patchbay's own Salesforce connector.
//!
//! The user guide is `docs/emulator.md`: flags, hosts, control plane, faults, the request log,
//! the state file ([`persist`]), SOQL support, and every behaviour the reference only infers,
//! with the setting that changes it.
//!
//! # Hosts
//! One listener plays every Salesforce host; a client picks one by **path prefix**:
//!
//! | Prefix          | Plays                                   | Serves                               |
//! |-----------------|-----------------------------------------|--------------------------------------|
//! | `{base}`        | the org's My Domain host and instance   | OAuth, identity, REST (`/services/data`) |
//! | `{base}/login`  | `login.salesforce.com` (production)     | OAuth and identity                   |
//! | `{base}/test`   | `test.salesforce.com` (sandbox)         | OAuth and identity                   |
//!
//! `instance_url` is always `{base}`. The `id` URL names the login host that issued the token
//! (`{base}/login/id/{org}/{user}` for a token from `/login`). `client_credentials` works only on
//! the My Domain host. The control plane lives apart, under `{base}/__emulator/` (see
//! [`control`]).
//!
//! # Use
//! ```no_run
//! # async fn demo() -> Result<(), patchbay_fake_salesforce::EmulatorError> {
//! let emulator = patchbay_fake_salesforce::spawn(Default::default()).await?;
//! println!("{}", emulator.startup_info());
//! # Ok(()) }
//! ```

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod config;
pub mod control;
pub mod oauth;
pub mod pages;
pub mod persist;
pub mod rest;
pub mod server;
pub mod state;

pub use config::EmulatorConfig;
pub use persist::StateFileError;
pub use server::{EmulatorError, EmulatorHandle, router, spawn};
pub use state::{ApiUsage, Emulator, RestAuthError, RestPrincipal};
