use serde_json::json;

use super::*;

const NOW: i64 = 1_800_000_000;

fn signer() -> SessionSigner {
    SessionSigner::from_secret(&[7u8; 32])
}

fn claims() -> Value {
    json!({"sub": "consumer-1", "application_id": "app-1", "iat": NOW, "exp": NOW + 3600})
}

fn forge(header: &str, payload: &Value, key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
}

#[test]
fn valid_token_round_trips() {
    let token = signer().sign(&claims()).unwrap();
    assert_eq!(token.expose_secret().split('.').count(), 3);
    assert_eq!(
        signer().verify(token.expose_secret(), NOW).unwrap(),
        claims()
    );
    assert!(!format!("{token:?}").contains(token.expose_secret()));
}

#[test]
fn matches_independent_hs256() {
    // A token built by hand with the same key verifies: our format is plain RFC 7519.
    let token = forge(r#"{"typ":"JWT","alg":"HS256"}"#, &claims(), &[7u8; 32]);
    assert_eq!(signer().verify(&token, NOW).unwrap(), claims());
}

#[test]
fn expired_and_not_yet_valid() {
    let token = signer().sign(&claims()).unwrap();
    assert_eq!(
        signer().verify(token.expose_secret(), NOW + 3600),
        Err(JwtError::Expired)
    );
    assert_eq!(
        signer().verify(token.expose_secret(), NOW + 3599).unwrap(),
        claims()
    );
    let early = signer()
        .sign(&json!({"exp": NOW + 10, "nbf": NOW + 5}))
        .unwrap();
    assert_eq!(
        signer().verify(early.expose_secret(), NOW),
        Err(JwtError::NotYetValid)
    );
    assert!(signer().verify(early.expose_secret(), NOW + 5).is_ok());
}

#[test]
fn tampered_tokens_fail() {
    let token = signer().sign(&claims()).unwrap().expose_secret().to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let mut more = claims();
    more["sub"] = json!("consumer-2");
    let swapped_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(more.to_string()),
        parts[2]
    );
    assert_eq!(
        signer().verify(&swapped_payload, NOW),
        Err(JwtError::BadSignature)
    );
    let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
    assert_eq!(signer().verify(&flipped, NOW), Err(JwtError::BadSignature));
    let truncated_sig = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..10]);
    assert!(signer().verify(&truncated_sig, NOW).is_err());
}

#[test]
fn wrong_key_fails() {
    let token = signer().sign(&claims()).unwrap();
    let other = SessionSigner::from_secret(&[8u8; 32]);
    assert_eq!(
        other.verify(token.expose_secret(), NOW),
        Err(JwtError::BadSignature)
    );
}

#[test]
fn alg_none_and_other_algorithms_are_rejected() {
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let none = format!(
        "{}.{payload}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
    );
    assert_eq!(
        signer().verify(&none, NOW),
        Err(JwtError::UnsupportedAlgorithm)
    );
    for header in [
        r#"{"alg":"None"}"#,
        r#"{"alg":"HS512"}"#,
        r#"{"alg":"RS256"}"#,
        r#"{"alg":"hs256"}"#,
        r#"{"typ":"JWT"}"#,
        r#"{"alg":["HS256"]}"#,
    ] {
        // Correctly MACed with our key, still refused because of the header.
        let token = forge(header, &claims(), &[7u8; 32]);
        assert_eq!(
            signer().verify(&token, NOW),
            Err(JwtError::UnsupportedAlgorithm),
            "{header}"
        );
    }
    let crit = forge(r#"{"alg":"HS256","crit":["exp"]}"#, &claims(), &[7u8; 32]);
    assert_eq!(signer().verify(&crit, NOW), Err(JwtError::Malformed));
}

#[test]
fn malformed_tokens_are_errors_not_panics() {
    let valid = signer().sign(&claims()).unwrap().expose_secret().to_owned();
    for bad in [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        "a.b.c".to_owned(),
        format!("{valid}.extra"),
        valid.replace('.', ""),
        "é.é.é".to_owned(),
        "x".repeat(MAX_TOKEN_LEN + 1),
        format!("{}.e30.", URL_SAFE_NO_PAD.encode("[]")),
    ] {
        assert!(signer().verify(&bad, NOW).is_err(), "{bad}");
    }
    // Correct MAC over claims that are not an object or lack exp.
    let arr = forge(r#"{"alg":"HS256"}"#, &json!([1, 2]), &[7u8; 32]);
    assert_eq!(signer().verify(&arr, NOW), Err(JwtError::InvalidClaims));
    let no_exp = forge(r#"{"alg":"HS256"}"#, &json!({"sub": "x"}), &[7u8; 32]);
    assert_eq!(signer().verify(&no_exp, NOW), Err(JwtError::InvalidClaims));
    let str_exp = forge(
        r#"{"alg":"HS256"}"#,
        &json!({"exp": "9999999999"}),
        &[7u8; 32],
    );
    assert_eq!(signer().verify(&str_exp, NOW), Err(JwtError::InvalidClaims));
}

#[test]
fn sign_requires_object_with_exp() {
    assert_eq!(
        signer().sign(&json!("x")).unwrap_err(),
        JwtError::InvalidClaims
    );
    assert_eq!(
        signer().sign(&json!({"sub": "a"})).unwrap_err(),
        JwtError::InvalidClaims
    );
    assert_eq!(
        signer().sign(&json!({"exp": "soon"})).unwrap_err(),
        JwtError::InvalidClaims
    );
    assert!(signer().sign(&json!({"exp": 1.5e9})).is_ok());
}
