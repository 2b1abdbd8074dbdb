//! The state file's format, version 1, and the mapping between it and the running emulator.
//! These types are the file's own, apart from the in-memory model, so a change to the model
//! cannot silently change the format: a field added here needs a serde default or a new
//! version. No `Debug`: the document holds token values.

use patchbay_fake_hubspot_data::{Account, AccountSnapshot};
use serde::{Deserialize, Serialize};

use crate::config::EmulatorConfig;
use crate::state::Emulator;
use crate::tokens::{AccessToken, RefreshToken, TokenKind, TokenStore};

/// The format version this emulator writes and reads.
pub const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub version: u64,
    /// Milliseconds the emulator clock is ahead of the wall clock (`POST /__emulator/clock`).
    pub clock_offset_ms: i64,
    pub account: AccountDoc,
    /// Every issued access and refresh token, in issue order (`GET /__emulator/tokens` lists
    /// them so). Authorization codes live minutes and are not kept.
    pub tokens: Vec<TokenDoc>,
}

/// The account and the settings it was built from: a start with another seed, record count or
/// user is refused instead of quietly ignoring them.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDoc {
    pub seed: u64,
    pub records: usize,
    pub user_email: String,
    pub hub_id: u64,
    pub data: AccountSnapshot,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenDoc {
    Access {
        value: String,
        scopes: Vec<String>,
        issued_ms: i64,
        expires_ms: i64,
        revoked: bool,
        refresh_token: String,
    },
    Refresh {
        value: String,
        scopes: Vec<String>,
        issued_ms: i64,
        deleted: bool,
    },
}

/// Why a document cannot be restored: it is damaged, or it does not fit this start's settings.
pub enum Problem {
    Invalid(String),
    Mismatch { saved: String, wanted: String },
}

fn settings(seed: u64, records: usize, user: &str) -> String {
    format!("an account made with seed {seed}, records {records} and user {user}")
}

impl Document {
    /// One copy of the state, each lock held only while its part is copied (no handler holds
    /// both, and the two parts do not refer to each other).
    pub fn capture(emu: &Emulator) -> Document {
        let config = emu.config();
        let (hub_id, data) = {
            let account = emu.inner().account.lock();
            (account.hub_id, account.snapshot())
        };
        let tokens = {
            let store = emu.inner().tokens.lock();
            (store.issued.iter())
                .filter_map(|(kind, value)| match kind {
                    TokenKind::Access => store.access.get(value).map(|t| TokenDoc::Access {
                        value: value.clone(),
                        scopes: t.scopes.clone(),
                        issued_ms: t.issued_ms,
                        expires_ms: t.expires_ms,
                        revoked: t.revoked,
                        refresh_token: t.refresh_token.clone(),
                    }),
                    TokenKind::Refresh => store.refresh.get(value).map(|t| TokenDoc::Refresh {
                        value: value.clone(),
                        scopes: t.scopes.clone(),
                        issued_ms: t.issued_ms,
                        deleted: t.deleted,
                    }),
                })
                .collect()
        };
        Document {
            version: VERSION,
            clock_offset_ms: emu.clock_offset_ms(),
            account: AccountDoc {
                seed: config.seed,
                records: config.records,
                user_email: config.user_email.clone(),
                hub_id,
                data,
            },
            tokens,
        }
    }

    /// Puts the saved data into `account` (freshly seeded from the same settings) and rebuilds
    /// the token store.
    pub fn restore(
        self,
        config: &EmulatorConfig,
        account: &mut Account,
    ) -> Result<Restored, Problem> {
        let saved = &self.account;
        if saved.seed != config.seed
            || saved.records != config.records
            || !saved.user_email.eq_ignore_ascii_case(&config.user_email)
        {
            return Err(Problem::Mismatch {
                saved: settings(saved.seed, saved.records, &saved.user_email),
                wanted: settings(config.seed, config.records, &config.user_email),
            });
        }
        if saved.hub_id != account.hub_id {
            return Err(Problem::Invalid(format!(
                "hub id {} is not the one seed {} gives ({})",
                saved.hub_id, config.seed, account.hub_id
            )));
        }
        account
            .restore_snapshot(self.account.data)
            .map_err(|e| Problem::Invalid(format!("account: {e}")))?;
        let mut tokens = TokenStore::default();
        for doc in self.tokens {
            match doc {
                TokenDoc::Access {
                    value,
                    scopes,
                    issued_ms,
                    expires_ms,
                    revoked,
                    refresh_token,
                } => {
                    let token = AccessToken {
                        scopes,
                        issued_ms,
                        expires_ms,
                        revoked,
                        refresh_token,
                    };
                    if tokens.access.insert(value.clone(), token).is_some() {
                        return Err(Problem::Invalid("an access token appears twice".into()));
                    }
                    tokens.issued.push((TokenKind::Access, value));
                }
                TokenDoc::Refresh {
                    value,
                    scopes,
                    issued_ms,
                    deleted,
                } => {
                    let token = RefreshToken {
                        scopes,
                        issued_ms,
                        deleted,
                    };
                    if tokens.refresh.insert(value.clone(), token).is_some() {
                        return Err(Problem::Invalid("a refresh token appears twice".into()));
                    }
                    tokens.issued.push((TokenKind::Refresh, value));
                }
            }
        }
        Ok(Restored {
            tokens,
            clock_offset_ms: self.clock_offset_ms,
        })
    }
}

/// What a state file adds to a freshly seeded account.
pub struct Restored {
    pub tokens: TokenStore,
    pub clock_offset_ms: i64,
}
