//! Issued authorization codes, access tokens and refresh tokens (`docs/hubspot.md §3, §4`).
//! Values are random; only the control plane shows them, and the request log only their hashes.

use std::collections::HashMap;

use serde::Serialize;

/// Codes live this long (HubSpot does not say; `docs/hubspot.md §2`).
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;

pub struct Code {
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub expires_ms: i64,
    pub used: bool,
    /// S256 challenge, when the authorize call carried one.
    pub code_challenge: Option<String>,
}

pub struct AccessToken {
    pub scopes: Vec<String>,
    pub issued_ms: i64,
    pub expires_ms: i64,
    /// Set only through the control plane: HubSpot's own revocation leaves access tokens alone.
    pub revoked: bool,
    pub refresh_token: String,
}

pub struct RefreshToken {
    pub scopes: Vec<String>,
    pub issued_ms: i64,
    pub deleted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Why an access token does not authenticate a call.
pub enum AccessProblem {
    Unknown,
    Revoked,
    /// Expired at this time (ms).
    Expired(i64),
}

#[derive(Default)]
pub struct TokenStore {
    pub codes: HashMap<String, Code>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    /// Issue order, for the control plane's listing.
    pub issued: Vec<(TokenKind, String)>,
}

/// A random token: HubSpot's access tokens are opaque strings up to ~300 characters; refresh
/// tokens look like UUIDs (`docs/hubspot.md §3`).
pub fn new_value(kind: TokenKind) -> String {
    match kind {
        TokenKind::Access => format!(
            "CO{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        ),
        TokenKind::Refresh => uuid::Uuid::new_v4().to_string(),
    }
}

impl TokenStore {
    pub fn issue_access(
        &mut self,
        refresh: &str,
        scopes: &[String],
        now_ms: i64,
        ttl_ms: i64,
    ) -> String {
        let value = new_value(TokenKind::Access);
        self.access.insert(
            value.clone(),
            AccessToken {
                scopes: scopes.to_vec(),
                issued_ms: now_ms,
                expires_ms: now_ms.saturating_add(ttl_ms),
                revoked: false,
                refresh_token: refresh.to_owned(),
            },
        );
        self.issued.push((TokenKind::Access, value.clone()));
        value
    }

    pub fn issue_refresh(&mut self, scopes: &[String], now_ms: i64) -> String {
        let value = new_value(TokenKind::Refresh);
        self.refresh.insert(
            value.clone(),
            RefreshToken {
                scopes: scopes.to_vec(),
                issued_ms: now_ms,
                deleted: false,
            },
        );
        self.issued.push((TokenKind::Refresh, value.clone()));
        value
    }

    /// The live access token, or why it is not.
    pub fn check_access(&self, value: &str, now_ms: i64) -> Result<&AccessToken, AccessProblem> {
        let token = self.access.get(value).ok_or(AccessProblem::Unknown)?;
        if token.revoked {
            Err(AccessProblem::Revoked)
        } else if now_ms >= token.expires_ms {
            Err(AccessProblem::Expired(token.expires_ms))
        } else {
            Ok(token)
        }
    }

    pub fn live_refresh(&self, value: &str) -> Option<&RefreshToken> {
        self.refresh.get(value).filter(|r| !r.deleted)
    }
}
