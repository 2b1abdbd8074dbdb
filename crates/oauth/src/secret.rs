//! Secret values that cross this crate: client secrets, tokens, codes, PKCE verifiers and `state`.
//!
//! Each is a newtype whose `Debug` prints only its type name, which is zeroized on drop, and which
//! has no `Serialize` and no `Display`: the only way to read one is an explicit `expose()`, so a
//! token cannot end up in a log line or an error message by accident.
//!
//! `Clone` exists only on values a caller must keep in more than one place (tokens and the client
//! secret). Single-use values (authorization codes, PKCE verifiers) cannot be cloned.

use std::fmt;

use zeroize::Zeroize;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident $(, $derive:ident)*) => {
        $(#[$doc])*
        $(#[derive($derive)])*
        pub struct $name(String);

        impl $name {
            /// Wraps a value received from a caller or a provider.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The plain value, for the one place that must send or seal it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl PartialEq for $name {
            /// Constant-time, so comparing a presented value leaks no prefix length.
            fn eq(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl Eq for $name {}

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self)
            }
        }
    };
}

secret_type!(
    /// The OAuth client secret (Salesforce "consumer secret").
    ClientSecret,
    Clone
);
secret_type!(
    /// A bearer access token. Treated as opaque: Salesforce issues `00D…!…` strings or JWTs.
    AccessToken,
    Clone
);
secret_type!(
    /// A refresh token. Under rotation each one is single-use at the provider.
    RefreshToken,
    Clone
);
secret_type!(
    /// An OpenID Connect ID token (a JWT). Not validated here; kept so callers can store it.
    IdToken,
    Clone
);
secret_type!(
    /// An authorization code from the callback. Single-use, so it is not `Clone`.
    AuthorizationCode
);
secret_type!(
    /// The PKCE `code_verifier`. Kept only server-side for one transaction, so it is not `Clone`.
    PkceVerifier
);
secret_type!(
    /// The OAuth `state` value: a CSRF token the caller stores server-side (ideally hashed).
    /// `Clone` so it can be both stored and put into the URL.
    OAuthState,
    Clone
);
secret_type!(
    /// The OpenID Connect `nonce` sent on the authorize request.
    Nonce,
    Clone
);

impl OAuthState {
    /// Compares the stored state with the one the callback carried, in constant time.
    pub fn matches(&self, received: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), received.as_bytes())
    }
}

/// Equal-length inputs are compared without early exit; unequal lengths differ anyway, and the
/// length of a random token is not a secret.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let t = AccessToken::new("00Dxx!very-secret");
        let s = ClientSecret::new("hunter2");
        let v = PkceVerifier::new("verifier-value");
        let printed = format!("{t:?} {s:?} {v:?}");
        assert_eq!(
            printed,
            "AccessToken(***) ClientSecret(***) PkceVerifier(***)"
        );
        assert!(!printed.contains("secret-") && !printed.contains("hunter2"));
    }

    #[test]
    fn equality_and_state_matching() {
        assert_eq!(RefreshToken::new("a"), RefreshToken::new("a"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("b"));
        let state = OAuthState::new("abc");
        assert!(state.matches("abc"));
        assert!(!state.matches("abd"));
        assert!(!state.matches("ab"));
        assert!(!state.matches(""));
    }

    #[test]
    fn deserializes_from_json_string() {
        let t: AccessToken =
            serde_json::from_str("\"tok\"").unwrap_or_else(|_| AccessToken::new(""));
        assert_eq!(t.expose(), "tok");
    }
}
