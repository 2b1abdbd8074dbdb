//! Patchbay's cryptography: secret types, the keyring, sealing of secrets at rest, the API
//! key format and session-token signing. Pure library: no database, no HTTP, no config.
//!
//! Invariants other crates rely on:
//! * Every stored credential is a [`SealedValue`] (`pb1:<key_id>:<base64url>`), AES-256-GCM
//!   under a keyring key, bound by [`Aad`] to its application, table, row and column.
//! * A missing or wrong key is an error ([`KeyringError`], [`WrongKey`], [`OpenError`]),
//!   never a plaintext fallback.
//! * Secret types have a redacting `Debug`, no `Serialize`, and zeroize on drop; error
//!   messages never contain secrets or key material.
//! * API key hashes and session JWTs derive from the keyring's stable secret, which data-key
//!   rotation does not touch.

// A library never panics on a `None` or an `Err`: it returns an error. Exceptions carry an
// `#[allow]` with the reason (tests may unwrap, see clippy.toml).
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod aad;
pub mod api_key;
mod envelope;
pub mod jwt;
mod key_id;
mod keyring;
pub mod random;
mod secret;

pub use aad::Aad;
pub use api_key::{ApiKey, ApiKeyFormatError, ApiKeyHash, ApiKeyId, ApiKeyPepper, ApiKeyRecord};
pub use envelope::{EnvelopeError, SealedValue, key_id_of};
pub use jwt::{JwtError, SessionSigner};
pub use key_id::{InvalidKeyId, KeyId};
pub use keyring::{
    KeyInfo, Keyring, KeyringError, OpenError, SealError, WrongKey, key_file_is_private,
};
pub use random::{RandomError, new_pkce_verifier, pkce_challenge_s256, random_token, sha256_hex};
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, IdToken, Nonce, OAuthState, PkceVerifier,
    RefreshToken, SecretBytes, SecretString, SessionToken, WebhookSecret, constant_time_eq,
};
