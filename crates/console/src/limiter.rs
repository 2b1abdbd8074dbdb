//! Sign-in throttling, keyed so that a stranger cannot lock an admin out.
//!
//! * Per (client address, user name): after `free_failures` failures, each further attempt
//!   waits twice as long as the last (from `base_delay` up to `max_delay`). A success from that
//!   address clears it. Another address is not affected, so failures from an attacker's
//!   address never block the admin's own.
//! * Per client address, across all user names: at most `per_address_limit` failures per
//!   `window`, so one address cannot spray guesses over many names.
//!
//! There is deliberately no limit per user name alone: that is the lock-out an unauthenticated
//! stranger could trigger. Guessing from many addresses is slowed by argon2id's cost and these
//! per-address limits; docs/deploy.md says how to read the real client address behind a proxy.

use std::time::Duration;

use patchbay_server::Error;
use patchbay_server::service::Vault;
use patchbay_server::service::admin_users::ThrottleCounter;

#[derive(Debug, Clone, Copy)]
pub(crate) struct ThrottleConfig {
    pub free_failures: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub per_address_limit: u32,
    /// How long failures are remembered (a pair's count, an address's window).
    pub window: Duration,
}

impl ThrottleConfig {
    /// The console's settings: `max_failed_logins` free failures per pair, four times as many
    /// per address.
    pub fn from_console(max_failed_logins: u32, window: Duration) -> Self {
        Self {
            free_failures: max_failed_logins.max(1),
            base_delay: Duration::from_secs(30),
            max_delay: window.max(Duration::from_secs(30)),
            per_address_limit: max_failed_logins.max(1).saturating_mul(4),
            window,
        }
    }

    /// How long a pair with `failures` failures waits after its last one.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free_failures)?;
        let factor = 1u32.checked_shl(over.min(20)).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
    }
}

/// The sign-in throttle over the database's `login_throttle` counters, shared by every node.
pub(crate) struct LoginThrottle {
    config: ThrottleConfig,
    vault: Vault,
}

fn pair_key(address: &str, user: &str) -> String {
    // The name is the caller's input: hashed, it cannot make a key of any length or shape.
    format!(
        "pair:{address}|{}",
        patchbay_crypto::sha256_hex(user.to_ascii_lowercase().as_bytes())
    )
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// How long to wait, from a pair's and an address's counters at `now_ms`.
pub(crate) fn wait(
    config: &ThrottleConfig,
    pair: Option<&ThrottleCounter>,
    address: Option<&ThrottleCounter>,
    now_ms: i64,
) -> Option<Duration> {
    let window = millis(config.window);
    let live = |r: &&ThrottleCounter| r.window_start.saturating_add(window) > now_ms;
    let by_pair = pair.filter(live).and_then(|r| {
        let failures = u32::try_from(r.failures).unwrap_or(u32::MAX);
        let until = r
            .last_failure
            .saturating_add(millis(config.delay_after(failures)?));
        (until > now_ms).then_some(until - now_ms)
    });
    let by_address = address
        .filter(live)
        .filter(|r| r.failures >= i64::from(config.per_address_limit))
        .map(|r| r.window_start.saturating_add(window) - now_ms);
    let ms = by_pair.into_iter().chain(by_address).max()?;
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

impl LoginThrottle {
    pub fn new(config: ThrottleConfig, vault: Vault) -> Self {
        Self { config, vault }
    }

    /// Seconds until this address may try this user again, if it must wait.
    pub async fn blocked_for(
        &self,
        address: &str,
        user: &str,
        now_ms: i64,
    ) -> Result<Option<u64>, Error> {
        let pair = self.vault.login_throttle(&pair_key(address, user)).await?;
        let by_address = self.vault.login_throttle(&address_key(address)).await?;
        Ok(
            wait(&self.config, pair.as_ref(), by_address.as_ref(), now_ms)
                .map(|d| d.as_secs().max(1)),
        )
    }

    pub async fn record_failure(
        &self,
        address: &str,
        user: &str,
        now_ms: i64,
    ) -> Result<(), Error> {
        let window = millis(self.config.window);
        self.vault
            .record_login_failure(&pair_key(address, user), now_ms, window)
            .await?;
        self.vault
            .record_login_failure(&address_key(address), now_ms, window)
            .await?;
        // Now and then, drop what no longer counts, so the table stays small.
        if now_ms % 16 == 0 {
            self.vault
                .purge_console_state(now_ms, window.saturating_mul(2))
                .await?;
        }
        Ok(())
    }

    /// A successful sign-in clears its pair (not its address's count: a correct password for
    /// one name says nothing about guesses at others).
    pub async fn record_success(&self, address: &str, user: &str) -> Result<(), Error> {
        self.vault
            .clear_login_throttle(&pair_key(address, user))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ThrottleConfig {
        ThrottleConfig::from_console(3, Duration::from_secs(900))
    }

    fn row(failures: i64, window_start: i64, last_failure: i64) -> ThrottleCounter {
        ThrottleCounter {
            failures,
            window_start,
            last_failure,
        }
    }

    #[test]
    fn a_pair_backs_off_exponentially_up_to_the_cap() {
        let c = config();
        assert_eq!(c.delay_after(2), None);
        assert_eq!(c.delay_after(3), Some(Duration::from_secs(30)));
        assert_eq!(c.delay_after(4), Some(Duration::from_secs(60)));
        assert_eq!(c.delay_after(5), Some(Duration::from_secs(120)));
        assert_eq!(c.delay_after(40), Some(Duration::from_secs(900)));
        assert_eq!(c.delay_after(u32::MAX), Some(Duration::from_secs(900)));
    }

    #[test]
    fn the_wait_runs_from_the_last_failure_and_ends() {
        let c = config();
        let pair = row(3, 0, 10_000);
        assert_eq!(
            wait(&c, Some(&pair), None, 10_000),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            wait(&c, Some(&pair), None, 25_000),
            Some(Duration::from_secs(15))
        );
        assert_eq!(wait(&c, Some(&pair), None, 40_000), None);
        assert_eq!(wait(&c, Some(&row(2, 0, 10_000)), None, 10_000), None);
        // A counter whose window has ended no longer counts.
        assert_eq!(wait(&c, Some(&row(9, 0, 10_000)), None, 900_000), None);
    }

    #[test]
    fn an_address_over_its_limit_waits_for_the_window() {
        let c = config();
        let addr = row(12, 0, 5_000);
        assert_eq!(
            wait(&c, None, Some(&addr), 100_000),
            Some(Duration::from_secs(800))
        );
        assert_eq!(wait(&c, None, Some(&row(11, 0, 5_000)), 100_000), None);
        assert_eq!(wait(&c, None, Some(&addr), 900_000), None);
    }

    #[test]
    fn keys_bound_the_user_name_and_fold_its_case() {
        assert_eq!(pair_key("1.2.3.4", "Ada"), pair_key("1.2.3.4", "ada"));
        assert_ne!(pair_key("1.2.3.4", "ada"), pair_key("1.2.3.5", "ada"));
        assert!(pair_key("1.2.3.4", &"x".repeat(10_000)).len() < 100);
    }
}
