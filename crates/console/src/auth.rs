//! Admin sign-in: argon2id password hashes, users in the store, and admin sessions.
//!
//! Sessions live in the database (`admin_sessions`), so every node behind a load balancer
//! knows them and a restart signs nobody out. The database holds only the SHA-256 of a
//! session's cookie value; the CSRF token is derived from the cookie value, so nothing stored
//! lets anyone act as an admin.

use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use patchbay_crypto::{SecretString, constant_time_eq, random_token, sha256_hex};
use patchbay_server::service::Vault;
use patchbay_store::StoreError;

/// argon2id cost parameters for new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane).
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordParams {
    /// A cheap setting for tests only: a debug build spends most of a second on the default.
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminUserError {
    #[error("user names are 1 to 64 characters: letters, digits, and . _ @ - (no spaces)")]
    BadUsername,
    #[error("passwords must be at least 12 characters")]
    WeakPassword,
    #[error("an admin user with this name already exists (use --reset-password to change it)")]
    Exists,
    #[error("no admin user with this name")]
    Unknown,
    #[error("password hashing failed")]
    Hash,
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// An argon2id PHC string (`$argon2id$v=19$m=…`) with a random salt.
pub fn hash_password(
    password: &SecretString,
    params: PasswordParams,
) -> Result<String, AdminUserError> {
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(|_| AdminUserError::Hash)?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    argon
        .hash_password(password.expose_secret().as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| AdminUserError::Hash)
}

/// Checks `password` against a PHC string; the cost comes from the string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// `patchbay admin create-user`: creates the user, or with `reset` replaces an existing user's
/// password.
pub async fn create_admin_user(
    vault: &Vault,
    username: &str,
    password: &SecretString,
    params: PasswordParams,
    reset: bool,
) -> Result<(), AdminUserError> {
    if !valid_username(username) {
        return Err(AdminUserError::BadUsername);
    }
    if password.expose_secret().chars().count() < 12 {
        return Err(AdminUserError::WeakPassword);
    }
    let hash = hash_password(password, params)?;
    let now = now_ms();
    if reset {
        return if vault
            .store()
            .set_admin_password(username, &hash, now)
            .await?
        {
            Ok(())
        } else {
            Err(AdminUserError::Unknown)
        };
    }
    match vault
        .store()
        .create_admin_user(&uuid::Uuid::now_v7().to_string(), username, &hash, now)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(AdminUserError::Exists),
        Err(e) => Err(e.into()),
    }
}

pub(crate) fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A dummy hash verified when the user name is unknown, so that the answer takes as long as
/// for a known user and response time does not reveal which names exist.
///
/// Verification cost depends only on the parameters in the PHC string, not on what the hash
/// was computed from, so the salt and output are random bytes rather than an argon2 run:
/// hashing here cost every start-up a 19 MiB, tens-of-milliseconds argon2 pass before the
/// first request could be served (issue 14). No password verifies against it (a 256-bit
/// random output).
pub(crate) fn dummy_hash(params: PasswordParams) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut salt = [0u8; 16];
    let mut output = [0u8; 32];
    // The random bytes only keep the string from being a known constant; if the generator
    // failed, zeros would still cost a full verification and match no password.
    let _ = patchbay_crypto::random::fill_random(&mut salt);
    let _ = patchbay_crypto::random::fill_random(&mut output);
    format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(output)
    )
}

/// A signed-in admin.
#[derive(Debug, Clone)]
pub(crate) struct AdminSession {
    pub username: String,
    /// Sent in every form; compared in constant time.
    pub csrf: String,
}

/// Admin sessions in the store, keyed by the SHA-256 of the cookie value.
pub(crate) struct Sessions {
    ttl: Duration,
    store: patchbay_store::Store,
}

/// A session's expiry is written again only when it would move by more than this, so that a
/// busy admin does not cause a write on every page.
const EXTEND_GRANULARITY_MS: i64 = 60_000;

impl Sessions {
    pub fn new(ttl: Duration, store: patchbay_store::Store) -> Self {
        Self { ttl, store }
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    /// Starts a session; returns the cookie value, or `None` when no session could be made
    /// (no randomness, or the store failed; logged).
    pub async fn start(&self, username: &str) -> Option<String> {
        let token = random_token(32).ok()?;
        let now = now_ms();
        if let Err(e) = self
            .store
            .create_admin_session(
                &sha256_hex(token.expose_secret().as_bytes()),
                username,
                now,
                now.saturating_add(self.ttl_ms()),
            )
            .await
        {
            tracing::error!(error = %e, "could not store an admin session");
            return None;
        }
        Some(token.expose_secret().to_owned())
    }

    /// The live session for a cookie value, with its expiry pushed forward (sliding). A store
    /// failure reads as signed out: the admin sees the sign-in page, which says what is wrong.
    pub async fn get(&self, token: &str) -> Option<AdminSession> {
        let key = sha256_hex(token.as_bytes());
        let now = now_ms();
        let row = match self.store.find_admin_session(&key, now).await {
            Ok(row) => row?,
            Err(e) => {
                tracing::warn!(error = %e, "admin session lookup failed");
                return None;
            }
        };
        let wanted = now.saturating_add(self.ttl_ms());
        if wanted - row.expires_at > EXTEND_GRANULARITY_MS
            && let Err(e) = self.store.extend_admin_session(&key, wanted).await
        {
            tracing::warn!(error = %e, "could not extend an admin session");
        }
        Some(AdminSession {
            username: row.username,
            csrf: csrf_for(token),
        })
    }

    pub async fn end(&self, token: &str) {
        if let Err(e) = self
            .store
            .delete_admin_session(&sha256_hex(token.as_bytes()))
            .await
        {
            tracing::warn!(error = %e, "could not end an admin session");
        }
    }
}

/// The CSRF token of a session: a hash of its cookie value, so every node derives the same
/// token and none is stored. The cookie is HttpOnly; the hash does not reveal it.
fn csrf_for(token: &str) -> String {
    sha256_hex(format!("patchbay-admin-csrf:{token}").as_bytes())
}

/// Constant-time string comparison for CSRF tokens.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && constant_time_eq(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let pw = SecretString::new("correct horse battery".to_owned());
        let h = hash_password(&pw, PasswordParams::insecure_fast_for_tests()).unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        let again = hash_password(&pw, PasswordParams::insecure_fast_for_tests()).unwrap();
        assert_ne!(h, again, "salted");
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs_and_matches_nothing() {
        use argon2::password_hash::PasswordHash;
        let cost = |phc: &str| {
            let parsed = PasswordHash::new(phc).unwrap();
            (
                parsed.algorithm.to_string(),
                parsed.version,
                Params::try_from(&parsed).unwrap(),
            )
        };
        let fast = PasswordParams::insecure_fast_for_tests();
        let real =
            hash_password(&SecretString::new("correct horse battery".to_owned()), fast).unwrap();
        let dummy = dummy_hash(fast);
        // Same algorithm, version, memory, passes, lanes and output length: verifying
        // against it does the same work as against a real hash.
        assert_eq!(cost(&dummy), cost(&real), "{dummy} / {real}");
        assert!(!verify_password("patchbay-dummy-password", &dummy));
        assert!(!verify_password("", &dummy));
        assert_ne!(dummy, dummy_hash(fast), "random salt and output");
        let default = dummy_hash(PasswordParams::default());
        assert!(default.contains("$m=19456,t=2,p=1$"), "{default}");
        assert!(Params::try_from(&PasswordHash::new(&default).unwrap()).is_ok());
    }

    #[test]
    fn usernames() {
        assert!(valid_username("ada@example.com"));
        assert!(!valid_username(""));
        assert!(!valid_username("a b"));
        assert!(!valid_username("<script>"));
        assert!(!valid_username(&"a".repeat(65)));
    }
}
