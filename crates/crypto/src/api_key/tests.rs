use super::*;

fn pepper() -> ApiKeyPepper {
    ApiKeyPepper::from_bytes(&[42u8; 32])
}

#[test]
fn generated_key_has_documented_shape() {
    let (key, record) = ApiKey::generate(&pepper()).unwrap();
    let text = key.expose_secret();
    assert_eq!(text.len(), API_KEY_LEN);
    assert!(text.starts_with(&format!("pbk_{}_", record.id)));
    assert_eq!(key.id(), &record.id);
    assert_eq!(ApiKey::parse(text).unwrap().id(), &record.id);
    let (other, other_record) = ApiKey::generate(&pepper()).unwrap();
    assert_ne!(other.expose_secret(), text);
    assert_ne!(other_record.id, record.id);
}

#[test]
fn verify_true_and_false() {
    let p = pepper();
    let (key, record) = ApiKey::generate(&p).unwrap();
    assert!(verify(key.expose_secret(), &record.hash, &p));
    assert!(key.verify(&record.hash, &p));
    // Stored as hex and read back.
    let stored = ApiKeyHash::from_hex(&record.hash.to_hex()).unwrap();
    assert!(verify(key.expose_secret(), &stored, &p));
    // Another valid key with a different secret.
    let (other, _) = ApiKey::generate(&p).unwrap();
    assert!(!verify(other.expose_secret(), &record.hash, &p));
    // Wrong pepper.
    assert!(!verify(
        key.expose_secret(),
        &record.hash,
        &ApiKeyPepper::from_bytes(&[1u8; 32])
    ));
    // The dummy hash matches nothing.
    assert!(!verify(key.expose_secret(), &ApiKeyHash::dummy(), &p));
}

#[test]
fn malformed_keys_are_rejected_cleanly() {
    let (key, record) = ApiKey::generate(&pepper()).unwrap();
    let good = key.expose_secret().to_owned();
    let mut bad_check = good.clone();
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == 'A' { 'B' } else { 'A' });
    let mut bad_secret = good.clone().into_bytes();
    bad_secret[30] = if bad_secret[30] == b'x' { b'y' } else { b'x' };
    let bad_secret = String::from_utf8(bad_secret).unwrap();
    let upper_id = good.replacen(&good[4..20], &good[4..20].to_uppercase(), 1);
    let cases: Vec<(String, ApiKeyFormatError)> = vec![
        (String::new(), ApiKeyFormatError::MissingPrefix),
        ("sk_live_abc".to_owned(), ApiKeyFormatError::MissingPrefix),
        (
            good[..good.len() - 1].to_owned(),
            ApiKeyFormatError::WrongLength,
        ),
        (format!("{good}x"), ApiKeyFormatError::WrongLength),
        ("pbk_".to_owned(), ApiKeyFormatError::WrongLength),
        (
            format!("pbk_{}", "é".repeat((API_KEY_LEN - 4) / 2)),
            ApiKeyFormatError::WrongLength,
        ),
        (bad_check, ApiKeyFormatError::BadChecksum),
        (bad_secret, ApiKeyFormatError::BadChecksum),
        (
            good.replacen('_', "-", 2).replacen('-', "_", 1),
            ApiKeyFormatError::BadId,
        ),
        (
            format!("pbk_{}_{}", "g".repeat(16), "A".repeat(49)),
            ApiKeyFormatError::BadId,
        ),
        (
            format!("pbk_{}_{}", "a".repeat(16), "!".repeat(49)),
            ApiKeyFormatError::BadSecret,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(ApiKey::parse(&input).unwrap_err(), want, "{input}");
        assert!(!verify(&input, &record.hash, &pepper()));
    }
    if upper_id != good {
        assert_eq!(
            ApiKey::parse(&upper_id).unwrap_err(),
            ApiKeyFormatError::BadId
        );
    }
}

#[test]
fn debug_and_errors_never_show_the_secret() {
    let (key, record) = ApiKey::generate(&pepper()).unwrap();
    let secret_part = &key.expose_secret()[21..];
    for out in [
        format!("{key:?}"),
        format!("{record:?}"),
        format!("{:?}", pepper()),
    ] {
        assert!(!out.contains(secret_part), "{out}");
    }
    assert!(format!("{key:?}").contains(key.id().as_str()));
    let mut broken = key.expose_secret().to_owned();
    broken.pop();
    broken.push('!');
    let err = ApiKey::parse(&broken).unwrap_err().to_string();
    assert!(!err.contains(secret_part));
}

#[test]
fn hash_hex_rejects_bad_input() {
    assert!(ApiKeyHash::from_hex("zz").is_err());
    assert!(ApiKeyHash::from_hex(&"ab".repeat(31)).is_err());
    assert!(ApiKeyHash::from_hex(&"ab".repeat(32)).is_ok());
}

#[test]
fn hash_from_slice_is_the_stored_bytes() {
    let hex = "ab".repeat(32);
    let from_hex = ApiKeyHash::from_hex(&hex).unwrap();
    assert_eq!(
        ApiKeyHash::from_slice(from_hex.as_bytes()).unwrap(),
        from_hex
    );
    assert!(ApiKeyHash::from_slice(&[0xab; 31]).is_err());
    assert!(ApiKeyHash::from_slice(&[0xab; 33]).is_err());
}
