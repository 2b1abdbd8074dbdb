//! Console administrators: argon2id password hashes, creating users and resetting passwords,
//! sign-in verification (the same work for an unknown name as for a known one), the last
//! sign-in time, and the rows behind admin sessions and the sign-in throttle.
//!
//! The console (`crates/console`) owns the HTTP side (cookies, CSRF, the throttle's rules);
//! this module owns everything it keeps in the database, so the UI crate never reaches the
//! store. Sessions and throttle counters live in the database so that every node shares them.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use patchbay_crypto::SecretString;
use patchbay_store::StoreError;

use super::Vault;
use crate::error::Result;

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
    #[must_use]
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

#[must_use]
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// An argon2id PHC string (`$argon2id$v=19$m=…`) with a random salt.
///
/// # Errors
/// [`AdminUserError::Hash`] when the parameters are unusable.
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
#[must_use]
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// A hash to verify when the user name is unknown, so that the answer takes as long as for a
/// known user and response time does not reveal which names exist. Compute it once.
///
/// Verification cost depends only on the parameters in the PHC string, not on what the hash
/// was computed from, so the salt and output are random bytes rather than an argon2 run: a
/// real hash here cost every start-up a 19 MiB argon2 pass that stayed resident (issue 14).
/// No password verifies against it (a 256-bit random output).
#[must_use]
pub fn dummy_hash(params: PasswordParams) -> String {
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

/// `patchbay admin create-user`: creates the user, or with `reset` replaces an existing user's
/// password.
///
/// # Errors
/// [`AdminUserError`] naming what to fix.
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
    let now = vault.now_ms();
    let store = vault.store();
    if reset {
        return if store.set_admin_password(username, &hash, now).await? {
            Ok(())
        } else {
            Err(AdminUserError::Unknown)
        };
    }
    match store
        .create_admin_user(&uuid::Uuid::now_v7().to_string(), username, &hash, now)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(AdminUserError::Exists),
        Err(e) => Err(e.into()),
    }
}

/// A signed-in administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    pub id: String,
    pub username: String,
}

/// A live admin session's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSessionView {
    pub username: String,
    pub expires_at: i64,
}

/// One sign-in throttle counter (unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleCounter {
    pub failures: i64,
    pub window_start: i64,
    pub last_failure: i64,
}

impl Vault {
    /// The user `username` when `password` is theirs. An unknown name verifies against
    /// `fallback_hash` (see [`dummy_hash`]) so both answers cost the same. argon2 runs on a
    /// blocking thread, off the async workers.
    ///
    /// # Errors
    /// The store failed.
    pub async fn verify_admin_login(
        &self,
        username: &str,
        password: SecretString,
        fallback_hash: &str,
    ) -> Result<Option<AdminUser>> {
        let user = self.store().find_admin_user(username).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| fallback_hash.to_owned(), |u| u.password_hash.clone());
        let verified =
            tokio::task::spawn_blocking(move || verify_password(password.expose_secret(), &hash))
                .await
                .unwrap_or(false);
        Ok(user.filter(|_| verified).map(|u| AdminUser {
            id: u.id,
            username: u.username,
        }))
    }

    /// Records `user`'s sign-in time.
    ///
    /// # Errors
    /// The store failed.
    pub async fn record_admin_login(&self, user: &AdminUser) -> Result<()> {
        Ok(self
            .store()
            .touch_admin_login(&user.id, self.now_ms())
            .await?)
    }

    /// Stores a session under the hash of its cookie value.
    ///
    /// # Errors
    /// The store failed.
    pub async fn create_admin_session(
        &self,
        token_hash: &str,
        username: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<()> {
        Ok(self
            .store()
            .create_admin_session(token_hash, username, now_ms, expires_at)
            .await?)
    }

    /// The session stored under `token_hash`, if it is live at `now_ms`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn find_admin_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<AdminSessionView>> {
        Ok(self
            .store()
            .find_admin_session(token_hash, now_ms)
            .await?
            .map(|r| AdminSessionView {
                username: r.username,
                expires_at: r.expires_at,
            }))
    }

    /// # Errors
    /// The store failed.
    pub async fn extend_admin_session(&self, token_hash: &str, expires_at: i64) -> Result<()> {
        Ok(self
            .store()
            .extend_admin_session(token_hash, expires_at)
            .await?)
    }

    /// # Errors
    /// The store failed.
    pub async fn delete_admin_session(&self, token_hash: &str) -> Result<()> {
        Ok(self.store().delete_admin_session(token_hash).await?)
    }

    /// The throttle counter under `key`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn login_throttle(&self, key: &str) -> Result<Option<ThrottleCounter>> {
        Ok(self
            .store()
            .login_throttle(key)
            .await?
            .map(|r| ThrottleCounter {
                failures: r.failures,
                window_start: r.window_start,
                last_failure: r.last_failure,
            }))
    }

    /// Counts a failure under `key` in a window of `window_ms`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn record_login_failure(&self, key: &str, now_ms: i64, window_ms: i64) -> Result<()> {
        Ok(self
            .store()
            .record_login_failure(key, now_ms, window_ms)
            .await?)
    }

    /// # Errors
    /// The store failed.
    pub async fn clear_login_throttle(&self, key: &str) -> Result<()> {
        Ok(self.store().clear_login_throttle(key).await?)
    }

    /// Drops expired sessions and throttle counters idle for `throttle_idle_ms`.
    ///
    /// # Errors
    /// The store failed.
    pub async fn purge_console_state(&self, now_ms: i64, throttle_idle_ms: i64) -> Result<()> {
        Ok(self
            .store()
            .purge_console_state(now_ms, throttle_idle_ms)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs_and_matches_nothing() {
        use argon2::password_hash::phc::PasswordHash;
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
    fn usernames() {
        assert!(valid_username("ada@example.com"));
        assert!(!valid_username(""));
        assert!(!valid_username("a b"));
        assert!(!valid_username("<script>"));
        assert!(!valid_username(&"a".repeat(65)));
    }
}
