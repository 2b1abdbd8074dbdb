use super::*;
use crate::envelope::EnvelopeError;

const SECRET: &str = "refresh-token-5Aq9-must-not-leak";

fn aad() -> Aad<'static> {
    Aad::new("app-1", "connections", "row-1", "refresh_token")
}

fn sealed(ring: &Keyring) -> SealedValue {
    ring.seal_secret(&SecretString::new(SECRET), &aad())
        .unwrap()
}

#[test]
fn round_trip() {
    let ring = Keyring::generate().unwrap();
    let s = sealed(&ring);
    assert!(
        s.as_str()
            .starts_with(&format!("pb1:{}:", ring.active_key_id()))
    );
    assert!(!s.as_str().contains(SECRET));
    assert_eq!(
        ring.open_secret(&s, &aad()).unwrap().expose_secret(),
        SECRET
    );
    // Stored text parses back to the same value.
    let reparsed = SealedValue::parse(s.as_str()).unwrap();
    assert_eq!(
        ring.open_secret(&reparsed, &aad()).unwrap().expose_secret(),
        SECRET
    );
    // Empty plaintext works too.
    let empty = ring.seal(b"", &aad()).unwrap();
    assert!(
        ring.open(&empty, &aad())
            .unwrap()
            .expose_secret()
            .is_empty()
    );
}

#[test]
fn nonces_are_fresh() {
    let ring = Keyring::generate().unwrap();
    let a = sealed(&ring);
    let b = sealed(&ring);
    assert_ne!(a.as_str(), b.as_str());
    assert_ne!(a.payload()[..NONCE_LEN], b.payload()[..NONCE_LEN]);
    // A smaller cousin of docs/security.md T-SR-07: no repeated nonce over many seals.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20_000 {
        let s = ring.seal(b"x", &aad()).unwrap();
        assert!(seen.insert(s.payload()[..NONCE_LEN].to_vec()));
    }
}

#[test]
fn flipping_any_byte_fails() {
    let ring = Keyring::generate().unwrap();
    let s = sealed(&ring);
    for i in 0..s.payload().len() {
        let mut payload = s.payload().to_vec();
        payload[i] ^= 0x01;
        let tampered = SealedValue::from_parts(s.key_id().clone(), payload);
        assert!(
            matches!(ring.open(&tampered, &aad()), Err(OpenError::Decrypt)),
            "byte {i}"
        );
    }
    let mut short = s.payload().to_vec();
    short.pop();
    let short = SealedValue::from_parts(s.key_id().clone(), short);
    assert!(matches!(ring.open(&short, &aad()), Err(OpenError::Decrypt)));
}

#[test]
fn wrong_aad_fails() {
    let ring = Keyring::generate().unwrap();
    let s = sealed(&ring);
    let wrong = [
        Aad::new("app-2", "connections", "row-1", "refresh_token"),
        Aad::new("app-1", "integrations", "row-1", "refresh_token"),
        Aad::new("app-1", "connections", "row-2", "refresh_token"),
        Aad::new("app-1", "connections", "row-1", "access_token"),
        Aad::new("app-1c", "onnections", "row-1", "refresh_token"),
    ];
    for w in wrong {
        assert!(
            matches!(ring.open(&s, &w), Err(OpenError::Decrypt)),
            "{w:?}"
        );
    }
}

#[test]
fn rotation_keeps_old_rows_readable_and_reseal_moves_them() {
    let mut ring = Keyring::generate().unwrap();
    let old_id = ring.active_key_id().clone();
    let old = sealed(&ring);
    let new_id = ring.rotate().unwrap();
    assert_ne!(old_id, new_id);
    assert_eq!(ring.active_key_id(), &new_id);
    assert_eq!(ring.key_ids().count(), 2);
    // Old row still opens with the rotated-out key.
    assert_eq!(
        ring.open_secret(&old, &aad()).unwrap().expose_secret(),
        SECRET
    );
    assert!(!ring.is_current(&old));
    // New writes use the new key.
    assert_eq!(sealed(&ring).key_id(), &new_id);
    // Reseal moves the row to the active key, plaintext preserved.
    let moved = ring.reseal(&old, &aad()).unwrap();
    assert_eq!(moved.key_id(), &new_id);
    assert!(ring.is_current(&moved));
    assert_eq!(crate::key_id_of(moved.as_str()).unwrap(), new_id);
    // Reseal keeps the AAD binding: wrong AAD cannot be used to move a value.
    let other = Aad::new("app-2", "connections", "row-1", "refresh_token");
    assert!(matches!(ring.reseal(&old, &other), Err(OpenError::Decrypt)));
    // After retiring the old key, moved rows open and old rows give a typed error.
    ring.remove_key(&old_id).unwrap();
    assert_eq!(
        ring.open_secret(&moved, &aad()).unwrap().expose_secret(),
        SECRET
    );
    assert!(matches!(ring.open(&old, &aad()), Err(OpenError::UnknownKeyId(id)) if id == old_id));
}

#[test]
fn key_management_rules() {
    let mut ring = Keyring::generate().unwrap();
    let first = ring.active_key_id().clone();
    let second = ring.generate_key().unwrap();
    // generate_key does not activate.
    assert_eq!(ring.active_key_id(), &first);
    assert!(matches!(
        ring.remove_key(&first),
        Err(KeyringError::RemoveActiveKey(_))
    ));
    ring.set_active(&second).unwrap();
    let unknown = KeyId::parse("nope").unwrap();
    assert!(matches!(
        ring.set_active(&unknown),
        Err(KeyringError::UnknownKeyId(_))
    ));
    assert!(matches!(
        ring.remove_key(&unknown),
        Err(KeyringError::UnknownKeyId(_))
    ));
    let infos = ring.keys();
    assert_eq!(infos.len(), 2);
    assert!(infos.iter().any(|k| k.id == second && k.active));
    assert!(infos.iter().any(|k| k.id == first && !k.active));
}

#[test]
fn wrong_key_gives_typed_errors() {
    let ring = Keyring::generate().unwrap();
    let other = Keyring::generate().unwrap();
    let s = sealed(&ring);
    assert!(matches!(
        other.open(&s, &aad()),
        Err(OpenError::UnknownKeyId(_))
    ));
    // Same id, different material (a hand-edited keyring): authentication fails.
    let json = ring.to_json();
    let mut doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    doc["keys"][0]["key"] = serde_json::Value::String(STANDARD_KEY_B.to_owned());
    let forged = Keyring::from_json(&doc.to_string()).unwrap();
    assert!(matches!(forged.open(&s, &aad()), Err(OpenError::Decrypt)));
}

const STANDARD_KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const STANDARD_KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

#[test]
fn malformed_stored_values_are_errors() {
    let ring = Keyring::generate().unwrap();
    let good = sealed(&ring).into_string();
    let truncated = &good[..good.len() - 30];
    for bad in [
        "",
        "plaintext",
        &good[..good.len() / 2],
        truncated,
        &good.replacen("pb1", "pb9", 1),
        &format!("{good}!"),
        &good.replacen(ring.active_key_id().as_str(), "unknown-key", 1),
    ] {
        let result = SealedValue::parse(bad)
            .map_err(OpenError::from)
            .and_then(|s| ring.open(&s, &aad()));
        assert!(result.is_err(), "{bad}");
    }
    let unknown = good.replacen(ring.active_key_id().as_str(), "unknown-key", 1);
    let unknown = SealedValue::parse(unknown).unwrap();
    assert!(matches!(
        ring.open(&unknown, &aad()),
        Err(OpenError::UnknownKeyId(_))
    ));
    assert_eq!(
        SealedValue::parse(good.replacen("pb1", "pb9", 1)).unwrap_err(),
        EnvelopeError::UnsupportedVersion
    );
}

#[test]
fn non_utf8_plaintext_is_an_error_for_open_secret() {
    let ring = Keyring::generate().unwrap();
    let s = ring.seal(&[0xff, 0x00, 0xfe], &aad()).unwrap();
    assert!(matches!(
        ring.open_secret(&s, &aad()),
        Err(OpenError::NotUtf8)
    ));
    assert_eq!(
        ring.open(&s, &aad()).unwrap().expose_secret(),
        &[0xff, 0x00, 0xfe]
    );
}

#[test]
fn canary_detects_wrong_and_rotated_keys() {
    let mut ring = Keyring::generate().unwrap();
    let canary = ring.seal_canary().unwrap().into_string();
    ring.verify_canary(&canary).unwrap();
    assert_eq!(ring.verify_canary("garbage"), Err(WrongKey::Malformed));
    let other = Keyring::generate().unwrap();
    assert!(matches!(
        other.verify_canary(&canary),
        Err(WrongKey::UnknownKeyId(_))
    ));
    // Same data key, different stable secret.
    let mut doc: serde_json::Value = serde_json::from_str(&ring.to_json()).unwrap();
    doc["stable_secret"] = serde_json::Value::String(STANDARD_KEY_B.to_owned());
    let swapped = Keyring::from_json(&doc.to_string()).unwrap();
    assert_eq!(
        swapped.verify_canary(&canary),
        Err(WrongKey::StableSecretMismatch)
    );
    // Same id, different data key.
    let mut doc: serde_json::Value = serde_json::from_str(&ring.to_json()).unwrap();
    doc["keys"][0]["key"] = serde_json::Value::String(STANDARD_KEY_B.to_owned());
    let forged = Keyring::from_json(&doc.to_string()).unwrap();
    assert!(matches!(
        forged.verify_canary(&canary),
        Err(WrongKey::Mismatch(_))
    ));
    // Rotation: old canary still verifies; a fresh one is under the new key.
    let check = ring.check_value();
    ring.rotate().unwrap();
    ring.verify_canary(&canary).unwrap();
    let fresh = ring.seal_canary().unwrap();
    assert!(ring.is_current(&fresh));
    assert_eq!(ring.check_value(), check);
}

#[test]
fn derived_secrets_survive_rotation() {
    let mut ring = Keyring::generate().unwrap();
    let (key, record) = crate::ApiKey::generate(&ring.api_key_pepper()).unwrap();
    let claims = serde_json::json!({"sub": "c1", "exp": 2_000_000_000});
    let token = ring.session_signer().sign(&claims).unwrap();
    let fp = ring.audit_fingerprint(SECRET.as_bytes());
    ring.rotate().unwrap();
    assert!(key.verify(&record.hash, &ring.api_key_pepper()));
    assert!(
        ring.session_signer()
            .verify(token.expose_secret(), 1_900_000_000)
            .is_ok()
    );
    assert_eq!(ring.audit_fingerprint(SECRET.as_bytes()), fp);
    assert!(!fp.contains(SECRET));
    assert_eq!(fp.len(), 64);
    // A different keyring derives different secrets.
    let other = Keyring::generate().unwrap();
    assert!(!key.verify(&record.hash, &other.api_key_pepper()));
    assert_ne!(other.check_value(), ring.check_value());
}

#[test]
fn env_value_bare_key_forms_agree() {
    let a = Keyring::from_env_value(STANDARD_KEY_A).unwrap();
    let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let b = Keyring::from_env_value(&format!("  {hex}\n")).unwrap();
    let c = Keyring::from_env_value(STANDARD_KEY_A.trim_end_matches('=')).unwrap();
    assert_eq!(a.active_key_id(), b.active_key_id());
    assert_eq!(a.active_key_id(), c.active_key_id());
    assert!(a.active_key_id().as_str().starts_with("k-"));
    assert_eq!(a.check_value(), b.check_value());
    // Values sealed under the bare key open after converting it to a keyring document.
    let s = sealed(&a);
    let converted = Keyring::from_env_value(&a.to_json()).unwrap();
    assert_eq!(
        converted.open_secret(&s, &aad()).unwrap().expose_secret(),
        SECRET
    );
    assert_eq!(converted.check_value(), a.check_value());
    // A different bare key is a different id.
    let other = Keyring::from_env_value(STANDARD_KEY_B).unwrap();
    assert_ne!(other.active_key_id(), a.active_key_id());
}

#[test]
fn env_value_rejections_do_not_echo_input() {
    for bad in [
        "",
        "short",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw==", // 34 bytes
        "not base64 at all %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%",
        "{not json",
    ] {
        let err = Keyring::from_env_value(bad).unwrap_err().to_string();
        if bad.len() > 3 {
            assert!(!err.contains(bad), "{err}");
        }
    }
}

#[test]
fn json_validation() {
    let ring = Keyring::generate().unwrap();
    let base: serde_json::Value = serde_json::from_str(&ring.to_json()).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = base.clone();
        f(&mut d);
        Keyring::from_json(&d.to_string())
    };
    assert!(matches!(
        edit(&|d| d["version"] = 2.into()),
        Err(KeyringError::UnsupportedVersion(2))
    ));
    assert!(matches!(
        edit(&|d| d["active"] = "zzz".into()),
        Err(KeyringError::UnknownKeyId(_))
    ));
    assert!(matches!(
        edit(&|d| d["keys"] = serde_json::json!([])),
        Err(KeyringError::NoKeys)
    ));
    assert!(matches!(
        edit(&|d| d["extra"] = 1.into()),
        Err(KeyringError::Json { .. })
    ));
    assert!(matches!(
        edit(&|d| d["stable_secret"] = "AAAA".into()),
        Err(KeyringError::InvalidStableSecret)
    ));
    assert!(matches!(
        edit(&|d| d["keys"][0]["key"] = "c2hvcnQ=".into()),
        Err(KeyringError::InvalidKeyMaterial(_))
    ));
    assert!(matches!(
        edit(&|d| d["keys"][0]["id"] = "a:b".into()),
        Err(KeyringError::InvalidKeyId)
    ));
    assert!(matches!(
        edit(&|d| {
            let k = d["keys"][0].clone();
            d["keys"].as_array_mut().unwrap().push(k);
        }),
        Err(KeyringError::DuplicateKeyId(_))
    ));
    // A wrong-typed key value must not be echoed by the JSON error.
    let err = edit(&|d| d["keys"][0]["key"] = 123_456_789.into())
        .unwrap_err()
        .to_string();
    assert!(!err.contains("123456789"), "{err}");
}

#[test]
fn debug_never_shows_key_material() {
    let ring = Keyring::from_env_value(STANDARD_KEY_A).unwrap();
    let dbg = format!("{ring:?}");
    assert!(!dbg.contains(STANDARD_KEY_A));
    assert!(!dbg.contains("AAECAwQF"));
    assert!(dbg.contains(ring.active_key_id().as_str()));
    assert!(!format!("{:?}", ring.api_key_pepper()).contains("AAEC"));
    assert!(!format!("{:?}", ring.session_signer()).contains("AAEC"));
}

#[cfg(unix)]
#[test]
fn load_or_create_writes_0600_and_reloads_identically() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("keyring.json");
    let (ring, created) = Keyring::load_or_create(&path).unwrap();
    assert!(created);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(key_file_is_private(&path).unwrap());
    let (again, created) = Keyring::load_or_create(&path).unwrap();
    assert!(!created);
    assert_eq!(*again.to_json(), *ring.to_json());
    let s = sealed(&ring);
    assert_eq!(
        again.open_secret(&s, &aad()).unwrap().expose_secret(),
        SECRET
    );
    // No temp files are left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[cfg(unix)]
#[test]
fn save_after_rotation_is_atomic_and_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let (mut ring, _) = Keyring::load_or_create(&path).unwrap();
    let old = sealed(&ring);
    ring.rotate().unwrap();
    ring.save(&path).unwrap();
    let reloaded = Keyring::load(&path).unwrap();
    assert_eq!(reloaded.active_key_id(), ring.active_key_id());
    assert_eq!(
        reloaded.open_secret(&old, &aad()).unwrap().expose_secret(),
        SECRET
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(!key_file_is_private(&path).unwrap());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn load_or_create_never_overwrites_an_invalid_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    std::fs::write(&path, "{ broken").unwrap();
    assert!(matches!(
        Keyring::load_or_create(&path),
        Err(KeyringError::Json { .. })
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ broken");
    let missing = dir.path().join("missing.json");
    assert!(matches!(
        Keyring::load(&missing),
        Err(KeyringError::Io { .. })
    ));
}

#[test]
fn concurrent_load_or_create_agree_on_one_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyring.json");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || Keyring::load_or_create(&path).unwrap())
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let first = results[0].0.to_json();
    assert!(results.iter().all(|(r, _)| *r.to_json() == *first));
}
