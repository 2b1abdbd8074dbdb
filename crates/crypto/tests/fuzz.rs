//! Property tests for the two parsers in this crate that read untrusted text (issue 13's fuzz
//! targets): the sealed-value envelope, which comes back from a database an attacker may have
//! written to, and the API key, which every caller presents. Bounded by case count so the whole
//! file runs in a few seconds; `PROPTEST_CASES` raises the count for a longer local run.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use patchbay_crypto::{
    Aad, ApiKey, ApiKeyFormatError, EnvelopeError, Keyring, SealedValue, api_key, key_id_of,
};
use proptest::prelude::*;

fn aad() -> Aad<'static> {
    Aad::new("app-1", "connections", "row-1", "refresh_token")
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Strings that get past the cheap checks: a plausible version, key id and base64 payload, with
/// arbitrary noise in each part.
fn envelope_like() -> impl Strategy<Value = String> {
    let version = prop_oneof![
        Just("pb1".to_owned()),
        Just("pb2".to_owned()),
        "pb[0-9]{0,3}",
        ".{0,4}"
    ];
    let key_id = prop_oneof!["k-[a-z0-9-]{0,20}", ".{0,12}"];
    let payload = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        "[A-Za-z0-9_=+/-]{0,120}",
        ".{0,40}"
    ];
    (version, key_id, payload).prop_map(|(v, k, p)| format!("{v}:{k}:{p}"))
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes (read as the database would hand them over) never panic the parser, and
    /// whatever parses never opens under a keyring that did not seal it.
    #[test]
    fn arbitrary_bytes_never_panic_the_envelope_parser(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let ring = Keyring::generate().unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let parsed = SealedValue::parse(text.clone());
        prop_assert_eq!(parsed.is_ok(), key_id_of(&text).is_ok());
        if let Ok(value) = parsed {
            prop_assert!(ring.open(&value, &aad()).is_err());
        }
    }

    /// The same for strings shaped like envelopes, which reach the base64 and length checks and
    /// the keyring lookup.
    #[test]
    fn envelope_shaped_strings_never_panic_or_open(text in envelope_like()) {
        let ring = Keyring::generate().unwrap();
        match SealedValue::parse(text.clone()) {
            Ok(value) => {
                prop_assert_eq!(value.as_str(), text.as_str());
                prop_assert!(ring.open(&value, &aad()).is_err());
            }
            Err(e) => prop_assert_eq!(key_id_of(&text).unwrap_err(), e),
        }
    }

    /// Any single bit flipped anywhere in a stored envelope's text makes it unreadable: the
    /// parse fails, the key id names no key, or authentication fails. Never the plaintext.
    #[test]
    fn any_bit_flip_in_the_text_fails_to_open(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let ring = Keyring::generate().unwrap();
        let sealed = ring.seal(&plaintext, &aad()).unwrap();
        let opened = ring.open(&sealed, &aad()).unwrap();
        prop_assert_eq!(opened.expose_secret(), &plaintext[..]);
        let mut bytes = sealed.as_str().as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let Ok(text) = String::from_utf8(bytes) else {
            // Not even text: a TEXT column could not hold it, and nothing can open it.
            return Ok(());
        };
        if let Ok(flipped) = SealedValue::parse(text) {
            prop_assert!(ring.open(&flipped, &aad()).is_err(), "bit {bit} of byte {i} still opened");
        }
    }

    /// Any single bit flipped in the decoded payload (nonce, ciphertext or tag), re-encoded into
    /// a well-formed envelope, fails authentication.
    #[test]
    fn any_bit_flip_in_the_payload_fails_to_open(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let ring = Keyring::generate().unwrap();
        let sealed = ring.seal(&plaintext, &aad()).unwrap();
        let (head, payload) = sealed.as_str().rsplit_once(':').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let i = at.index(raw.len());
        raw[i] ^= 1 << bit;
        let flipped = SealedValue::parse(format!("{head}:{}", URL_SAFE_NO_PAD.encode(&raw))).unwrap();
        prop_assert_eq!(flipped.key_id(), sealed.key_id());
        prop_assert!(ring.open(&flipped, &aad()).is_err(), "bit {bit} of payload byte {i} still opened");
    }

    /// Arbitrary strings never panic the API key parser and never verify against a real key's
    /// stored hash.
    #[test]
    fn arbitrary_strings_never_validate_as_an_api_key(presented in ".{0,90}") {
        let ring = Keyring::generate().unwrap();
        let pepper = ring.api_key_pepper();
        let (real, record) = ApiKey::generate(&pepper).unwrap();
        prop_assume!(presented != real.expose_secret());
        let _ = ApiKey::parse(&presented);
        prop_assert!(!api_key::verify(&presented, &record.hash, &pepper));
    }

    /// Strings with the right shape and length (prefix, 16 hex, `_`, 49 base64url characters)
    /// reach the checksum check: they are refused there, without a panic, and never verify.
    #[test]
    fn well_shaped_forgeries_fail_the_checksum(forged in "pbk_[0-9a-f]{16}_[A-Za-z0-9_-]{49}") {
        let ring = Keyring::generate().unwrap();
        let pepper = ring.api_key_pepper();
        let (_, record) = ApiKey::generate(&pepper).unwrap();
        match ApiKey::parse(&forged) {
            // A 32-bit checksum: a random match is possible in principle, but must still not
            // verify against a key it is not.
            Ok(key) => prop_assert!(!key.verify(&record.hash, &pepper)),
            Err(e) => prop_assert!(matches!(e, ApiKeyFormatError::BadChecksum | ApiKeyFormatError::BadSecret), "{e:?}"),
        }
        prop_assert!(!api_key::verify(&forged, &record.hash, &pepper));
    }

    /// Changing, dropping or adding any one character of a valid key is refused by the parser
    /// (length, alphabet or checksum) or, failing that, by verification.
    #[test]
    fn any_edit_of_a_valid_key_is_refused(
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
        edit in 0u8..3,
    ) {
        let ring = Keyring::generate().unwrap();
        let pepper = ring.api_key_pepper();
        let (key, record) = ApiKey::generate(&pepper).unwrap();
        let mut chars: Vec<char> = key.expose_secret().chars().collect();
        let i = at.index(chars.len());
        match edit {
            0 => {
                prop_assume!(chars[i] != replacement);
                chars[i] = replacement;
            }
            1 => {
                chars.remove(i);
            }
            _ => chars.insert(i, replacement),
        }
        let edited: String = chars.into_iter().collect();
        prop_assert!(!api_key::verify(&edited, &record.hash, &pepper));
        if edit != 0 {
            // A changed length never gets past the parser.
            prop_assert!(ApiKey::parse(&edited).is_err());
        }
    }
}

/// Errors never carry the input: a parse failure of a secret-bearing string cannot leak it.
#[test]
fn envelope_errors_never_echo_their_input() {
    let input = "pb1:k-1:c2VjcmV0LXRva2VuLWxlYWs";
    let err: EnvelopeError = SealedValue::parse(input).unwrap_err();
    assert!(!err.to_string().contains("c2VjcmV0"));
}
