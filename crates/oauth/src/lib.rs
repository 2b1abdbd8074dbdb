//! Patchbay's OAuth 2.0 client for providers, Salesforce first.
//!
//! This crate owns the protocol side of a connection's tokens: the authorize URL (PKCE S256,
//! `state`, `nonce`), the callback query, code exchange, refresh, revoke and introspect against a
//! provider's login host, the classification of every failure (docs/security.md §3.3), and the
//! "Test Vault" diagnostics that name the Salesforce setting to change.
//!
//! It owns no state: transactions, token storage, single-flight refresh and leases belong to
//! the caller. Providers are data ([`ProviderConfig`]); Salesforce is the first.
//!
//! Invariants:
//! - Secrets (tokens, codes, verifiers, the client secret) are `patchbay-crypto`'s newtypes with
//!   a redacted `Debug`, zeroized on drop; they never appear in errors or logs. Random values
//!   and PKCE S256 come from there too: one family of secret types in the workspace.
//! - Redirects are never followed on OAuth endpoints ([`http_client`]).
//! - This is Patchbay's own reading of Salesforce's documented behaviour. It shares no code or
//!   wire types with the emulator in `crates/fake-salesforce*`.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod authorize;
mod classify;
mod client;
mod diagnose;
mod error;
mod findings;
mod introspection;
mod probe;
mod provider;
mod scope;
mod token;

pub use authorize::{
    AuthorizationRequest, CallbackError, CallbackRejection, CallbackResult, check_callback,
    parse_callback, start_authorization,
};
pub use classify::{classify, classify_response};
pub use client::{HttpOptions, TokenRef, exchange_code, http_client, introspect, refresh, revoke};
pub use diagnose::{
    Check, Diagnosis, DiagnosisContext, Vars, diagnose_authorize_error, diagnose_error,
    diagnose_introspection, diagnose_refresh_without_secret_ok, diagnose_rotation, diagnose_scopes,
    finding_for, render,
};
pub use error::{ErrorClass, OAuthError, Operation, RetryAfter, TransportKind};
pub use findings::{Finding, FindingText};
pub use introspection::Introspection;
pub use probe::probe_client;
pub use provider::{
    ClientAuthMethod, ClientConfig, Endpoint, EndpointPaths, LoginHost, ProviderConfig, Quirks,
};
pub use scope::Scopes;
// The secret types are crypto's; re-exported because every signature here speaks them.
pub use patchbay_crypto::{
    AccessToken, AuthorizationCode, ClientSecret, IdToken, Nonce, OAuthState, PkceVerifier,
    RefreshToken,
};
pub use token::{TokenSet, verify_signature};
