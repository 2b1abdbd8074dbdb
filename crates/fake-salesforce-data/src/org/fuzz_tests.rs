//! Random request bodies must give Ok or Salesforce errors, never a panic, and a failed write
//! must leave the org unchanged.

use super::*;
use serde_json::{Value as Json, json};

const NOW: i64 = 1_727_433_541_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_value(rng: &mut Rng, ids: &[String]) -> Json {
    match rng.below(16) {
        0 => Json::Null,
        1 => json!(true),
        2 => json!(rng.next() as i64),
        3 => json!(-1.5e300),
        4 => json!(""),
        5 => json!("x".repeat(rng.below(300))),
        6 => json!("2024-02-30"),
        7 => json!("2024-09-27T10:39:01.123+02:00"),
        8 => json!("2024-09-27"),
        9 => json!(["a"]),
        10 => json!({"a": 1}),
        11 => json!("a@b.c"),
        12 => json!(ids[rng.below(ids.len())]),
        13 => json!("Closed Won"),
        14 => json!(i64::MAX),
        _ => json!("001000000000000AAA"),
    }
}

#[test]
fn random_writes_never_panic() {
    let mut org = Org::new(&OrgOptions::default(), NOW).unwrap();
    let user = org.default_user_id();
    let acc = org
        .create("Account", &json!({"Name": "A"}), user, NOW)
        .unwrap();
    let con = org
        .create("Contact", &json!({"LastName": "C"}), user, NOW)
        .unwrap();
    let ids: Vec<String> = vec![
        acc.to_string(),
        con.to_string(),
        user.to_string(),
        "garbage".into(),
    ];
    let mut rng = Rng(7);
    let objects = crate::object_names();
    let mut created = 0;
    for i in 0..4000 {
        let object = objects[rng.below(objects.len())];
        let def = org.schema().object(object).unwrap().clone();
        let mut body = serde_json::Map::new();
        for _ in 0..rng.below(6) {
            let name = if rng.below(10) == 0 {
                "Bogus".to_owned()
            } else {
                def.fields[rng.below(def.fields.len())].name.clone()
            };
            body.insert(name, random_value(&mut rng, &ids));
        }
        for f in def.fields.iter().filter(|f| f.required) {
            if rng.below(4) != 0 {
                body.insert(f.name.clone(), random_value(&mut rng, &ids));
            }
        }
        let body = Json::Object(body);
        let before = org.count(object);
        if i % 2 == 0 {
            match org.create(object, &body, user, NOW + i) {
                Ok(_) => created += 1,
                Err(errors) => {
                    assert!(!errors.is_empty());
                    assert!(errors.iter().all(|e| e.status >= 400), "{errors:?}");
                    assert_eq!(org.count(object), before, "a failed create stores nothing");
                }
            }
        } else {
            let target = if object == "Account" { acc } else { con };
            let snapshot = org.get("Contact", &con.to_string(), None, "66.0").ok();
            if let Err(errors) = org.update(object, &target.to_string(), &body, user, NOW + i) {
                assert!(!errors.is_empty());
                if object == "Contact" {
                    assert_eq!(
                        org.get("Contact", &con.to_string(), None, "66.0").ok(),
                        snapshot
                    );
                }
            }
        }
    }
    assert!(created > 0, "some random creates are valid");
}
