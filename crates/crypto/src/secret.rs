//! Secret newtypes: redacted `Debug`, no `Serialize`, zeroized on drop, compared in constant time.
//!
//! `Deserialize` is implemented on purpose: request bodies and config files must be able to
//! carry a client secret *into* the process. Nothing can serialize one back out by accident;
//! the only way to the bytes is `expose_secret()`, which is easy to grep for in review.

use std::fmt;

use serde::{Deserialize, Deserializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Compares two byte strings without an early exit on the first differing byte.
///
/// The length is not hidden; every secret we compare has a public, fixed length.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// A UTF-8 secret. `Clone` is allowed because a token often has to be handed to an HTTP
/// client; each copy is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The only way to the plaintext. Keep calls at the edge (HTTP header, sealing).
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for SecretString {}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Secret bytes, for plaintext that is not (known to be) UTF-8.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    #[must_use]
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.0, &other.0)
    }

    /// Converts to a string secret without leaving an unzeroized copy behind.
    ///
    /// # Errors
    /// Returns the bytes unchanged (still zeroized on drop) when they are not UTF-8.
    pub fn into_secret_string(mut self) -> Result<SecretString, SecretBytes> {
        let bytes = std::mem::take(&mut self.0);
        match String::from_utf8(bytes) {
            Ok(s) => Ok(SecretString(s)),
            Err(e) => Err(SecretBytes(e.into_bytes())),
        }
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(***)")
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other)
    }
}

impl Eq for SecretBytes {}

/// Declares a named secret so a refresh token cannot be passed where an access token is
/// expected, and so `Debug` output says which kind of secret was hidden. `single_use` leaves
/// out `Clone`, for values that must exist in one place only (an authorization code, a PKCE
/// verifier).
macro_rules! named_secret {
    ($(#[$meta:meta])* $name:ident) => {
        named_secret!(@define $(#[$meta])* #[derive(Clone)] $name);
    };
    ($(#[$meta:meta])* single_use $name:ident) => {
        named_secret!(@define $(#[$meta])* $name);
    };
    (@define $(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(PartialEq, Eq, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::new(value))
            }

            #[must_use]
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            #[must_use]
            pub fn ct_eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0)
            }

            #[must_use]
            pub fn as_secret(&self) -> &SecretString {
                &self.0
            }

            #[must_use]
            pub fn into_secret(self) -> SecretString {
                self.0
            }
        }

        impl From<SecretString> for $name {
            fn from(value: SecretString) -> Self {
                Self(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(SecretString::from(value))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

named_secret!(
    /// An OAuth client secret registered with a provider.
    ClientSecret
);
named_secret!(
    /// A provider access token.
    AccessToken
);
named_secret!(
    /// A provider refresh token.
    RefreshToken
);
named_secret!(
    /// A secret used to sign or verify webhook deliveries.
    WebhookSecret
);
named_secret!(
    /// A session JWT issued by `POST /vault/sessions`; a bearer credential.
    SessionToken
);
named_secret!(
    /// An OpenID Connect ID token (a JWT). Not validated; kept so callers can store it.
    IdToken
);
named_secret!(
    /// An OAuth authorization code from the callback. Single-use at the provider.
    single_use AuthorizationCode
);
named_secret!(
    /// The PKCE `code_verifier` (RFC 7636), kept server-side for one transaction.
    single_use PkceVerifier
);
named_secret!(
    /// The OAuth `state` value: a CSRF token the caller stores server-side (hashed).
    OAuthState
);
named_secret!(
    /// The OpenID Connect `nonce` sent on the authorize request.
    Nonce
);

impl OAuthState {
    /// Compares the stored state with the one the callback carried, in constant time.
    #[must_use]
    pub fn matches(&self, received: &str) -> bool {
        constant_time_eq(self.expose_secret().as_bytes(), received.as_bytes())
    }
}

impl PkceVerifier {
    /// `BASE64URL(SHA256(ASCII(verifier)))`, the RFC 7636 `S256` `code_challenge`.
    #[must_use]
    pub fn challenge_s256(&self) -> String {
        crate::random::pkce_challenge_s256(self.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "s3cr3t-value-that-must-not-leak";

    #[test]
    fn debug_never_shows_the_value() {
        let outputs = [
            format!("{:?}", SecretString::new(VALUE)),
            format!("{:#?}", SecretString::new(VALUE)),
            format!("{:?}", SecretBytes::new(VALUE.as_bytes())),
            format!("{:?}", ClientSecret::new(VALUE)),
            format!("{:?}", AccessToken::new(VALUE)),
            format!("{:?}", RefreshToken::new(VALUE)),
            format!("{:?}", WebhookSecret::new(VALUE)),
            format!("{:?}", SessionToken::new(VALUE)),
            format!("{:?}", IdToken::new(VALUE)),
            format!("{:?}", AuthorizationCode::new(VALUE)),
            format!("{:?}", PkceVerifier::new(VALUE)),
            format!("{:?}", OAuthState::new(VALUE)),
            format!("{:?}", Nonce::new(VALUE)),
            format!("{:?}", Some(vec![AccessToken::new(VALUE)])),
        ];
        for out in &outputs {
            assert!(!out.contains(VALUE), "{out}");
            assert!(!out.contains("s3cr3t"), "{out}");
            assert!(out.contains("(***)"), "{out}");
        }
        assert_eq!(outputs[0], "SecretString(***)");
        assert_eq!(outputs[4], "AccessToken(***)");
    }

    #[test]
    fn equality_and_expose() {
        let a = SecretString::new(VALUE);
        assert_eq!(a.expose_secret(), VALUE);
        assert!(a.ct_eq(&SecretString::new(VALUE)));
        assert!(!a.ct_eq(&SecretString::new("other")));
        assert!(!a.ct_eq(&SecretString::new(format!("{VALUE}x"))));
        let state = OAuthState::new("abc");
        assert!(state.matches("abc"));
        assert!(!state.matches("abd"));
        assert!(!state.matches("ab"));
        assert!(!state.matches(""));
        assert_eq!(RefreshToken::new("x"), RefreshToken::new("x"));
        assert_ne!(RefreshToken::new("x"), RefreshToken::new("y"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn deserializes_but_debug_stays_redacted() {
        let parsed: ClientSecret = serde_json::from_str(&format!("\"{VALUE}\"")).unwrap();
        assert_eq!(parsed.expose_secret(), VALUE);
        assert!(!format!("{parsed:?}").contains(VALUE));
    }

    #[test]
    fn bytes_to_string() {
        let s = SecretBytes::new(VALUE.as_bytes())
            .into_secret_string()
            .unwrap();
        assert_eq!(s.expose_secret(), VALUE);
        let bad = SecretBytes::new(vec![0xff, 0xfe]).into_secret_string();
        assert_eq!(bad.unwrap_err().expose_secret(), &[0xff, 0xfe]);
    }
}
