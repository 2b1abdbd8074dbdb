//! The table shape is provider-neutral: a made-up second provider ("acme", lower-case field
//! names, `cf_` custom fields, numeric ids) is fully described by a table and a dialect, and the
//! same engines map it both ways.

use serde_json::{Value, json};

use patchbay_unified::model::{AddressType, EmailType, PhoneType, Write};
use patchbay_unified::{FilterField, SortField};

use crate::table::*;
use crate::write::write_record;

const ACME_CONTACT: ObjectMap = ObjectMap {
    object: "people",
    fields: &[
        FieldMap {
            unified: "id",
            remote: "uid",
            kind: Kind::Id,
            access: Access::Read,
        },
        FieldMap {
            unified: "first_name",
            remote: "given",
            kind: Kind::Text,
            access: Access::ReadWrite,
        },
        FieldMap {
            unified: "last_name",
            remote: "family",
            kind: Kind::Text,
            access: Access::ReadWrite,
        },
        FieldMap {
            unified: "company_name",
            remote: "org.title",
            kind: Kind::Text,
            access: Access::Read,
        },
        FieldMap {
            unified: "owner_id",
            remote: "owner",
            kind: Kind::Id,
            access: Access::ReadWrite,
        },
        FieldMap {
            unified: "active",
            remote: "archived",
            kind: Kind::NotBool,
            access: Access::ReadWrite,
        },
        FieldMap {
            unified: "updated_at",
            remote: "mtime",
            kind: Kind::DateTime,
            access: Access::Read,
        },
    ],
    emails: &[
        EmailSlot {
            remote: "mail_work",
            kind: EmailType::Work,
        },
        EmailSlot {
            remote: "mail_home",
            kind: EmailType::Personal,
        },
    ],
    phones: &[PhoneSlot {
        remote: "tel",
        kind: PhoneType::Primary,
    }],
    websites: &[],
    addresses: &[AddressSlot {
        kind: AddressType::Office,
        street: "street",
        city: "town",
        state: "region",
        postal_code: "zip",
        country: "cc",
    }],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[FilterMap {
        filter: FilterField::Email,
        remote: &["mail_work", "mail_home"],
        op: FilterOp::Eq,
    }],
    sorts: &[SortMap {
        sort: SortField::UpdatedAt,
        remote: "mtime",
        kind: SortKind::DateTime,
    }],
};

const ACME: Dialect = Dialect {
    is_valid_id: |s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
    is_custom_field: |s| s.starts_with("cf_"),
};

#[test]
fn a_second_provider_is_just_a_table() {
    let record = json!({
        "uid": "42", "given": "Ada", "family": "Lovelace", "org": {"title": "Analytical"},
        "owner": "7", "archived": false, "mtime": "2024-01-01T10:00:00+01:00",
        "mail_work": null, "mail_home": "ada@home.example", "tel": "1",
        "street": "1 Engine Way", "town": "London", "cf_rank": 1
    });
    let unified = read_record(&ACME_CONTACT, &ACME, record.as_object().unwrap());
    assert_eq!(
        Value::Object(unified.clone()),
        json!({
            "id": "42", "first_name": "Ada", "last_name": "Lovelace", "company_name": "Analytical",
            "owner_id": "7", "active": true, "updated_at": "2024-01-01T09:00:00.000Z",
            "emails": [{"email": "ada@home.example", "type": "personal"}],
            "phone_numbers": [{"number": "1", "type": "primary"}],
            "addresses": [{"type": "office", "line1": "1 Engine Way", "line2": null, "line3": null,
                           "city": "London", "state": null, "postal_code": null, "country": null}],
            "custom_fields": [{"id": "cf_rank", "name": "cf_rank", "value": 1}]
        })
    );
    serde_json::from_value::<patchbay_unified::model::Contact>(Value::Object(unified)).unwrap();

    let body = json!({
        "first_name": "Ada", "owner_id": "7", "active": false, "company_name": "ignored",
        "emails": [{"email": "w@x", "type": "work"}],
        "custom_fields": [{"name": "cf_rank", "value": 2}]
    });
    let remote = write_record(
        &ACME_CONTACT,
        &ACME,
        "acme",
        body.as_object().unwrap(),
        Write::Update,
    )
    .unwrap();
    assert_eq!(
        Value::Object(remote),
        json!({"given": "Ada", "owner": "7", "archived": true, "mail_work": "w@x", "mail_home": null, "cf_rank": 2})
    );
    let bad = json!({"owner_id": "0x7"});
    assert!(
        write_record(
            &ACME_CONTACT,
            &ACME,
            "acme",
            bad.as_object().unwrap(),
            Write::Create
        )
        .is_err()
    );
    assert_eq!(ACME_CONTACT.read_fields()[..3], ["uid", "given", "family"]);
    assert!(ACME_CONTACT.filter(FilterField::Email).is_some());
    assert!(ACME_CONTACT.sort(SortField::Name).is_none());
}
