//! Random values and PKCE S256 (RFC 7636).
//!
//! `patchbay-crypto` will own the shared versions of these helpers; this module is a small local
//! copy so the OAuth client does not wait on it. Both use aws-lc-rs, so switching later changes
//! no output format.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroize;

use crate::error::OAuthError;
use crate::secret::PkceVerifier;

/// 32 random bytes: 256 bits, well above the 128 bits docs/security.md O2 asks of `state`, and
/// exactly the 43-character verifier RFC 7636 §4.1 recommends.
const RANDOM_BYTES: usize = 32;

/// A fresh base64url (unpadded) string of 32 bytes from the system CSPRNG.
pub fn random_token() -> Result<String, OAuthError> {
    let mut bytes = [0u8; RANDOM_BYTES];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| OAuthError::Random)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    bytes.zeroize();
    Ok(token)
}

/// A fresh PKCE verifier (43 characters of the unreserved set).
pub fn new_verifier() -> Result<PkceVerifier, OAuthError> {
    random_token().map(PkceVerifier::new)
}

/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, the S256 `code_challenge`.
pub fn challenge_s256(verifier: &PkceVerifier) -> String {
    let hash = digest::digest(&digest::SHA256, verifier.expose().as_bytes());
    URL_SAFE_NO_PAD.encode(hash.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge_s256(&v),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_43_chars_unreserved_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let v = new_verifier().expect("rng");
            let s = v.expose().to_owned();
            assert_eq!(s.len(), 43);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(challenge_s256(&v).len(), 43);
            assert!(seen.insert(s));
        }
    }
}
