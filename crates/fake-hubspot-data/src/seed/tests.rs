use super::*;

const USER: SeedUser<'static> = SeedUser {
    email: "admin@emulator.test",
    first_name: "Admin",
    last_name: "User",
};

fn snapshot(account: &Account) -> Vec<String> {
    let mut out = Vec::new();
    for t in ObjectType::ALL {
        for r in account.all(t) {
            out.push(format!(
                "{t:?} {} {:?} {}",
                r.id, r.properties, r.created_ms
            ));
            for to in ObjectType::ALL {
                out.push(format!("{:?}", account.associations(t, r.id, to)));
            }
        }
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_account() {
    let a = seed(7, 300, &USER);
    let b = seed(7, 300, &USER);
    assert_eq!(a.hub_id, b.hub_id);
    assert_eq!(snapshot(&a), snapshot(&b));
    let c = seed(8, 300, &USER);
    assert_ne!(snapshot(&a), snapshot(&c));
}

#[test]
fn records_split_across_every_object_with_associations() {
    let account = seed(42, 1000, &USER);
    let total: usize = ObjectType::ALL.iter().map(|t| account.count(*t)).sum();
    // 1000 records, then a tenth as many emails as the 300 engagements.
    assert_eq!(account.count(ObjectType::Emails), 30);
    assert_eq!(total, 1030);
    assert_eq!(account.count(ObjectType::Contacts), 400);
    for t in ObjectType::ALL {
        assert!(account.count(t) > 0, "{t:?}");
    }
    let contact = account.all(ObjectType::Contacts).next().expect("a contact");
    assert_eq!(
        account
            .associations(ObjectType::Contacts, contact.id, ObjectType::Companies)
            .len(),
        1
    );
    assert_eq!(account.owners()[0].email, "admin@emulator.test");
    let emails: std::collections::BTreeSet<_> = account
        .all(ObjectType::Contacts)
        .filter_map(|r| r.properties.get("email"))
        .collect();
    assert_eq!(emails.len(), 400, "seeded emails are unique");
}

#[test]
fn zero_records_gives_owners_only() {
    let account = seed(1, 0, &USER);
    assert_eq!(account.owners().len(), 5);
    assert!(ObjectType::ALL.iter().all(|t| account.count(*t) == 0));
}

#[test]
fn emails_sit_on_seeded_contacts_and_companies_with_ids_after_the_rest() {
    let account = seed(42, 1000, &USER);
    for email in account.all(ObjectType::Emails) {
        let contacts = account.associations(ObjectType::Emails, email.id, ObjectType::Contacts);
        assert_eq!(contacts.len(), 1, "{email:?}");
        let (contact, types) = &contacts[0];
        assert_eq!(types, &vec![198]);
        // The email's company is its contact's.
        let company = account.associations(ObjectType::Emails, email.id, ObjectType::Companies);
        assert_eq!(
            company[0].0,
            account.associations(ObjectType::Contacts, *contact, ObjectType::Companies)[0].0
        );
        for p in [
            "hs_timestamp",
            "hs_email_subject",
            "hs_email_text",
            "hs_email_direction",
        ] {
            assert!(email.properties.contains_key(p), "{p}");
        }
        // Ids come after every other record's.
        for t in ObjectType::ALL
            .into_iter()
            .filter(|t| *t != ObjectType::Emails)
        {
            assert!(account.all(t).all(|r| r.id < email.id), "{t:?}");
        }
    }
    assert!(account.all(ObjectType::Emails).any(|e| {
        !account
            .associations(ObjectType::Emails, e.id, ObjectType::Deals)
            .is_empty()
    }));
}
