//! CSPRNG helpers and the small digests the OAuth flow needs (state, PKCE, fingerprints).

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::secret::{PkceVerifier, SecretString};

/// The system random number generator failed. aws-lc aborts rather than return weak bytes,
/// so in practice this is never seen; it exists so that no code path has to panic.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// Fills `dest` from the operating system's CSPRNG.
///
/// # Errors
/// [`RandomError`] if the generator fails.
pub fn fill_random(dest: &mut [u8]) -> Result<(), RandomError> {
    aws_lc_rs::rand::fill(dest).map_err(|_| RandomError)
}

/// Returns `N` random bytes in a buffer that is zeroized on drop.
///
/// # Errors
/// [`RandomError`] if the generator fails.
pub fn random_array<const N: usize>() -> Result<Zeroizing<[u8; N]>, RandomError> {
    let mut out = Zeroizing::new([0u8; N]);
    fill_random(out.as_mut())?;
    Ok(out)
}

/// `bytes` random bytes as unpadded base64url: OAuth `state`, PKCE verifier, nonces.
///
/// 32 bytes give a 43-character string, which is also a valid RFC 7636 code verifier.
///
/// # Errors
/// [`RandomError`] if the generator fails.
pub fn random_token(bytes: usize) -> Result<SecretString, RandomError> {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    fill_random(&mut buf)?;
    Ok(SecretString::new(URL_SAFE_NO_PAD.encode(&*buf)))
}

/// A fresh PKCE verifier: 32 random bytes, the 43-character verifier RFC 7636 §4.1
/// recommends (256 bits, above the 128 bits docs/security.md O2 asks of `state`).
///
/// # Errors
/// [`RandomError`] if the generator fails.
pub fn new_pkce_verifier() -> Result<PkceVerifier, RandomError> {
    random_token(32).map(PkceVerifier::from)
}

/// Lowercase hex SHA-256 of `data`.
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// RFC 7636 `S256` code challenge: `BASE64URL(SHA256(ASCII(verifier)))`, no padding.
#[must_use]
pub fn pkce_challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_length_and_alphabet() {
        let t = random_token(32).unwrap();
        assert_eq!(t.expose_secret().len(), 43);
        assert!(
            t.expose_secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(t, random_token(32).unwrap());
        assert_eq!(random_token(0).unwrap().expose_secret(), "");
    }

    #[test]
    fn sha256_known_answer() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pkce_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_43_chars_unreserved_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let v = new_pkce_verifier().unwrap();
            let s = v.expose_secret().to_owned();
            assert_eq!(s.len(), 43);
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(v.challenge_s256().len(), 43);
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn random_array_differs() {
        let a = random_array::<32>().unwrap();
        let b = random_array::<32>().unwrap();
        assert_ne!(*a, *b);
    }
}
