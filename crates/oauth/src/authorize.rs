//! The front-channel half of the code flow: building the authorize URL (PKCE S256, `state`,
//! optional `nonce`) and parsing what the browser brings back to the callback.

use std::fmt;

use url::Url;

use crate::error::OAuthError;
use crate::provider::{ClientConfig, Endpoint};
use crate::scope::Scopes;
use patchbay_crypto::{
    AuthorizationCode, Nonce, OAuthState, PkceVerifier, new_pkce_verifier, random_token,
};

/// Everything the caller must keep server-side (the transaction row) plus the URL to send the
/// browser to.
pub struct AuthorizationRequest {
    /// The authorize URL. It contains `state`, so it is not printed by `Debug`.
    pub url: Url,
    pub state: OAuthState,
    pub pkce_verifier: PkceVerifier,
    /// Sent when `openid` is requested; the ID token echoes it.
    pub nonce: Option<Nonce>,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut endpoint = self.url.clone();
        endpoint.set_query(None);
        f.debug_struct("AuthorizationRequest")
            .field("endpoint", &endpoint.as_str())
            .field("state", &self.state)
            .field("pkce_verifier", &self.pkce_verifier)
            .field("nonce", &self.nonce)
            .finish()
    }
}

/// Builds the authorize URL for `cfg` with a fresh `state`, PKCE verifier and (for `openid`)
/// `nonce`.
///
/// `code_challenge_method=S256` is always sent, even where PKCE is optional: Salesforce flows
/// have been seen to fail without it (docs/salesforce.md §2).
pub fn start_authorization(
    cfg: &ClientConfig,
    redirect_uri: &str,
    scopes: &Scopes,
    login_hint: Option<&str>,
    prompt: Option<&str>,
) -> Result<AuthorizationRequest, OAuthError> {
    Url::parse(redirect_uri)
        .map_err(|_| OAuthError::InvalidConfig("redirect_uri is not an absolute URL".to_owned()))?;
    if cfg.client_id.trim().is_empty() {
        return Err(OAuthError::InvalidConfig("client_id is empty".to_owned()));
    }
    let state = OAuthState::from(random_token(32)?);
    let pkce_verifier = new_pkce_verifier()?;
    let nonce = if scopes.contains("openid") {
        Some(Nonce::from(random_token(32)?))
    } else {
        None
    };
    let mut url = cfg.endpoint_url(Endpoint::Authorize);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", redirect_uri);
        if !scopes.is_empty() {
            q.append_pair("scope", &scopes.to_string());
        }
        q.append_pair("state", state.expose_secret())
            .append_pair("code_challenge", &pkce_verifier.challenge_s256())
            .append_pair("code_challenge_method", "S256");
        if let Some(nonce) = &nonce {
            q.append_pair("nonce", nonce.expose_secret());
        }
        if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
            q.append_pair("login_hint", hint);
        }
        if let Some(prompt) = prompt.filter(|p| !p.is_empty()) {
            q.append_pair("prompt", prompt);
        }
    }
    Ok(AuthorizationRequest {
        url,
        state,
        pkce_verifier,
        nonce,
    })
}

/// What the provider sent the browser back with.
#[derive(Debug)]
pub enum CallbackResult {
    /// Success: redeem `code` after matching `state` against the stored transaction.
    Code {
        code: AuthorizationCode,
        state: OAuthState,
        /// RFC 9207 issuer, when the provider sends one; compare it by exact string.
        iss: Option<String>,
    },
    /// The provider redirected with an error (denied, PKCE missing, bad scope, ...). `state` may
    /// be absent on some errors; without it the transaction cannot be identified.
    Error {
        error: String,
        error_description: Option<String>,
        state: Option<OAuthState>,
    },
}

/// Why a callback query could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("the callback query is too long")]
    TooLong,
    #[error("the callback repeats the `{0}` parameter")]
    Duplicate(&'static str),
    #[error("the callback has no `state`")]
    MissingState,
    #[error("the callback has neither `code` nor `error`")]
    MissingCode,
    #[error("the callback has both `code` and `error`")]
    Ambiguous,
}

/// Callback queries are a few hundred bytes; anything huge is not from the provider.
const MAX_CALLBACK_QUERY: usize = 8 * 1024;

/// Parses the callback query string (without the leading `?`). Repeated parameters are refused:
/// two `state` or `code` values mean someone is playing with the URL.
pub fn parse_callback(query: &str) -> Result<CallbackResult, CallbackError> {
    if query.len() > MAX_CALLBACK_QUERY {
        return Err(CallbackError::TooLong);
    }
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    let mut iss = None;
    for (k, v) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
        let (slot, name) = match k.as_ref() {
            "code" => (&mut code, "code"),
            "state" => (&mut state, "state"),
            "error" => (&mut error, "error"),
            "error_description" => (&mut description, "error_description"),
            "iss" => (&mut iss, "iss"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(CallbackError::Duplicate(name));
        }
        *slot = Some(v.into_owned());
    }
    let state = state.filter(|s| !s.is_empty()).map(OAuthState::new);
    match (
        code.filter(|c| !c.is_empty()),
        error.filter(|e| !e.is_empty()),
    ) {
        (Some(_), Some(_)) => Err(CallbackError::Ambiguous),
        (Some(code), None) => Ok(CallbackResult::Code {
            code: AuthorizationCode::new(code),
            state: state.ok_or(CallbackError::MissingState)?,
            iss,
        }),
        (None, Some(error)) => Ok(CallbackResult::Error {
            error,
            error_description: description.filter(|d| !d.is_empty()),
            state,
        }),
        (None, None) => Err(CallbackError::MissingCode),
    }
}

/// Why a parsed callback must not lead to a code exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRejection {
    /// The `state` is not the one stored for this transaction (CSRF, or a stale tab).
    #[error("the callback state does not match the authorization transaction")]
    StateMismatch,
    /// The callback names another authorization server (RFC 9207 mix-up defence).
    #[error("the callback issuer does not match the login host of the transaction")]
    IssuerMismatch,
    /// The provider refused the authorization; the values are the provider's, for diagnosis.
    #[error("the authorization was refused: {error}")]
    Refused {
        error: String,
        error_description: Option<String>,
    },
}

/// Checks a callback against the stored transaction and returns the code to redeem.
///
/// `state` is compared in constant time. `iss`, when the provider sends one and an issuer is
/// expected, must equal it exactly, with no normalisation (docs/security.md O4, T-OA-06). Error
/// callbacks are matched on `state` too before their error is reported (O8), so a forged error
/// cannot close someone else's transaction.
pub fn check_callback(
    callback: CallbackResult,
    expected_state: &OAuthState,
    expected_issuer: Option<&str>,
) -> Result<AuthorizationCode, CallbackRejection> {
    match callback {
        CallbackResult::Code { code, state, iss } => {
            if !expected_state.matches(state.expose_secret()) {
                return Err(CallbackRejection::StateMismatch);
            }
            if let (Some(got), Some(expected)) = (iss.as_deref(), expected_issuer)
                && got != expected
            {
                return Err(CallbackRejection::IssuerMismatch);
            }
            Ok(code)
        }
        CallbackResult::Error {
            error,
            error_description,
            state,
        } => match state {
            Some(state) if expected_state.matches(state.expose_secret()) => {
                Err(CallbackRejection::Refused {
                    error,
                    error_description,
                })
            }
            _ => Err(CallbackRejection::StateMismatch),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::LoginHost;
    use std::collections::HashMap;

    fn cfg() -> ClientConfig {
        ClientConfig::salesforce(
            LoginHost::parse("http://127.0.0.1:9000/login").expect("host"),
            "3MVG9.key",
            None,
        )
    }

    #[test]
    fn authorize_url_has_every_parameter() {
        let scopes = Scopes::parse("api refresh_token openid");
        let req = start_authorization(
            &cfg(),
            "https://patchbay.example/vault/callback",
            &scopes,
            Some("user@example.com"),
            Some("login consent"),
        )
        .expect("start");
        assert_eq!(req.url.path(), "/login/services/oauth2/authorize");
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "3MVG9.key");
        assert_eq!(q["redirect_uri"], "https://patchbay.example/vault/callback");
        assert_eq!(q["scope"], "api openid refresh_token");
        assert_eq!(q["state"], req.state.expose_secret());
        assert_eq!(q["state"].len(), 43);
        assert_eq!(q["code_challenge"], req.pkce_verifier.challenge_s256());
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["login_hint"], "user@example.com");
        assert_eq!(q["prompt"], "login consent");
        assert_eq!(
            Some(q["nonce"].as_str()),
            req.nonce.as_ref().map(Nonce::expose_secret)
        );
        assert!(!q.contains_key("code_verifier"));
        let dbg = format!("{req:?}");
        assert!(
            !dbg.contains(req.state.expose_secret())
                && !dbg.contains(req.pkce_verifier.expose_secret())
        );
    }

    #[test]
    fn authorize_url_without_openid_or_options() {
        let req = start_authorization(
            &cfg(),
            "http://127.0.0.1:1/cb",
            &Scopes::parse("api"),
            None,
            None,
        )
        .expect("start");
        let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        assert!(req.nonce.is_none());
        assert!(
            !q.contains_key("nonce") && !q.contains_key("login_hint") && !q.contains_key("prompt")
        );
        let other = start_authorization(
            &cfg(),
            "http://127.0.0.1:1/cb",
            &Scopes::parse("api"),
            None,
            None,
        )
        .expect("start");
        assert_ne!(req.state.expose_secret(), other.state.expose_secret());
        assert_ne!(
            req.pkce_verifier.expose_secret(),
            other.pkce_verifier.expose_secret()
        );
        assert!(start_authorization(&cfg(), "/relative", &Scopes::default(), None, None).is_err());
    }

    #[test]
    fn callback_with_code() {
        match parse_callback("code=aPrx123%3D%3D&state=abc&extra=1") {
            Ok(CallbackResult::Code { code, state, iss }) => {
                assert_eq!(code.expose_secret(), "aPrx123==");
                assert!(state.matches("abc"));
                assert_eq!(iss, None);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_callback("?code=c&state=s&iss=https%3A%2F%2Flogin.salesforce.com"),
            Ok(CallbackResult::Code { iss: Some(i), .. }) if i == "https://login.salesforce.com"
        ));
    }

    #[test]
    fn callback_with_error() {
        match parse_callback(
            "error=access_denied&error_description=end-user+denied+authorization&state=s1",
        ) {
            Ok(CallbackResult::Error {
                error,
                error_description,
                state,
            }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(
                    error_description.as_deref(),
                    Some("end-user denied authorization")
                );
                assert!(state.is_some_and(|s| s.matches("s1")));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            parse_callback("error=invalid_request&error_description=missing%20required%20code%20challenge"),
            Ok(CallbackResult::Error { state: None, error_description: Some(d), .. }) if d == "missing required code challenge"
        ));
    }

    #[test]
    fn check_callback_matches_state_and_issuer() {
        let state = OAuthState::new("s1");
        let parse = |q: &str| parse_callback(q).expect("parse");
        let code = check_callback(
            parse("code=c&state=s1"),
            &state,
            Some("https://login.salesforce.com"),
        );
        assert_eq!(
            code.map(|c| c.expose_secret().to_owned()),
            Ok("c".to_owned())
        );
        assert_eq!(
            check_callback(parse("code=c&state=s2"), &state, None).err(),
            Some(CallbackRejection::StateMismatch)
        );
        let iss = "code=c&state=s1&iss=https%3A%2F%2Flogin.salesforce.com";
        assert!(check_callback(parse(iss), &state, Some("https://login.salesforce.com")).is_ok());
        assert!(check_callback(parse(iss), &state, None).is_ok());
        for other in [
            "https://login.salesforce.com/",
            "https://LOGIN.salesforce.com",
            "https://evil",
        ] {
            assert_eq!(
                check_callback(parse(iss), &state, Some(other)).err(),
                Some(CallbackRejection::IssuerMismatch),
                "{other}"
            );
        }
        assert_eq!(
            check_callback(parse("error=access_denied&state=s1"), &state, None).err(),
            Some(CallbackRejection::Refused {
                error: "access_denied".to_owned(),
                error_description: None
            })
        );
        assert_eq!(
            check_callback(parse("error=access_denied&state=zz"), &state, None).err(),
            Some(CallbackRejection::StateMismatch)
        );
        assert_eq!(
            check_callback(parse("error=access_denied"), &state, None).err(),
            Some(CallbackRejection::StateMismatch)
        );
    }

    #[test]
    fn callback_refusals() {
        assert_eq!(
            parse_callback("code=c").err(),
            Some(CallbackError::MissingState)
        );
        assert_eq!(
            parse_callback("code=c&state=").err(),
            Some(CallbackError::MissingState)
        );
        assert_eq!(
            parse_callback("state=s").err(),
            Some(CallbackError::MissingCode)
        );
        assert_eq!(parse_callback("").err(), Some(CallbackError::MissingCode));
        assert_eq!(
            parse_callback("code=c&state=a&state=b").err(),
            Some(CallbackError::Duplicate("state"))
        );
        assert_eq!(
            parse_callback("code=c&code=d&state=a").err(),
            Some(CallbackError::Duplicate("code"))
        );
        assert_eq!(
            parse_callback("code=c&error=x&state=a").err(),
            Some(CallbackError::Ambiguous)
        );
        assert_eq!(
            parse_callback(&"a".repeat(9000)).err(),
            Some(CallbackError::TooLong)
        );
    }
}
