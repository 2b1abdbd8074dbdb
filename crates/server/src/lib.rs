//! Patchbay's HTTP server: the Apideck-compatible Vault API, the service layer behind it, and
//! the app factory that binds it.
//!
//! * [`service`] is the service layer ([`Vault`]): applications, API keys, integrations,
//!   consumers, sessions, connections, the connect flow, request logs and the audit log. The HTTP
//!   handlers, the CLI and the admin console all call it; it knows nothing about HTTP.
//! * [`routes`] holds one router per area; handlers extract, call one service function and
//!   convert the result. The service returns typed views ([`service::views`]: enums, epoch ms,
//!   typed ids, parsed settings); [`wire`] turns them into the Apideck shapes, at the edge.
//! * [`error`] is the one table mapping every error to status, `type_name` and message.
//! * [`app`] is [`ServerConfig`] and [`Application`]: tests and the binary start the same server.
//!
//! The CLI works on the configured database through the same service layer:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use patchbay_core::{ServiceId, UnifiedApi};
//! use patchbay_server::ServerConfig;
//! use patchbay_server::app::open_vault;
//! use patchbay_server::service::integrations::IntegrationInput;
//!
//! let config = ServerConfig::new("/var/lib/patchbay");
//! let vault = open_vault(&config, "https://patchbay.example.com").await?;
//! let created = vault
//!     .create_application("Acme", &["https://acme.example.com/connected".to_owned()])
//!     .await?;
//! println!("{} {}", created.application.id, created.api_key.key.expose_secret());
//! let input = IntegrationInput {
//!     client_id: Some("3MVG9…".to_owned()),
//!     client_secret: Some(patchbay_crypto::SecretString::new("…")),
//!     ..IntegrationInput::default()
//! };
//! vault
//!     .set_integration(&created.application.id, &UnifiedApi::crm(), &ServiceId::parse(patchbay_connectors::registry::default_connector().service_id())?, input)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! Invariants: the application id always comes from the authenticated credential, never from a
//! path or body; every store call is scoped by it. Secrets are sealed before they reach the store
//! and never appear in logs, errors or responses (except the audited export).

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod auth;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod listener;
pub mod metrics;
pub mod request_id;
pub mod routes;
pub mod service;
pub mod timefmt;

/// The Apideck wire shapes, public so the CLI prints the same JSON as the API.
pub use routes::wire;

pub use app::{Application, ServerConfig};
pub use error::{Error, Result};
pub use service::Vault;
