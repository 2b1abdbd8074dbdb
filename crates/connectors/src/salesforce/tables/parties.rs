//! People and organisations: contacts, companies, leads, users.

use patchbay_unified::model::{AddressType, EmailType, PhoneType, WebsiteType};
use patchbay_unified::{FilterField as F, SortField as S};

use super::{CREATED, CREATED_SINCE, TIMESTAMPS, UPDATED, UPDATED_SINCE, eq, ro, rw, sort};
use crate::table::Kind::{self, Date, Id, Text};
use crate::table::{AddressSlot, EmailSlot, ObjectMap, PhoneSlot, SortKind, WebsiteSlot};

/// contacts <-> Contact
pub const CONTACT: ObjectMap = ObjectMap {
    object: "Contact",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        ro("name", "Name", Text),
        rw("owner_id", "OwnerId", Id),
        rw("company_id", "AccountId", Id),
        ro("company_name", "Account.Name", Text),
        rw("first_name", "FirstName", Text),
        rw("middle_name", "MiddleName", Text),
        rw("last_name", "LastName", Text),
        rw("prefix", "Salutation", Text),
        rw("title", "Title", Text),
        rw("department", "Department", Text),
        rw("birthday", "Birthdate", Date),
        rw("lead_source", "LeadSource", Text),
        rw("description", "Description", Text),
        ro("last_activity_at", "LastActivityDate", Kind::DateAsDateTime),
    ],
    emails: &[EmailSlot {
        remote: "Email",
        kind: EmailType::Primary,
    }],
    phones: &[
        PhoneSlot {
            remote: "Phone",
            kind: PhoneType::Primary,
        },
        PhoneSlot {
            remote: "MobilePhone",
            kind: PhoneType::Mobile,
        },
        PhoneSlot {
            remote: "HomePhone",
            kind: PhoneType::Home,
        },
    ],
    websites: &[],
    addresses: &[AddressSlot {
        kind: AddressType::Primary,
        street: "MailingStreet",
        city: "MailingCity",
        state: "MailingState",
        postal_code: "MailingPostalCode",
        country: "MailingCountry",
    }],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[
        eq(F::Name, &["Name"]),
        eq(F::FirstName, &["FirstName"]),
        eq(F::LastName, &["LastName"]),
        eq(F::Email, &["Email"]),
        eq(F::PhoneNumber, &["Phone", "MobilePhone", "HomePhone"]),
        eq(F::CompanyId, &["AccountId"]),
        eq(F::OwnerId, &["OwnerId"]),
        UPDATED_SINCE,
        CREATED_SINCE,
    ],
    sorts: &[
        CREATED,
        UPDATED,
        sort(S::Name, "Name", SortKind::Text),
        sort(S::FirstName, "FirstName", SortKind::Text),
        sort(S::LastName, "LastName", SortKind::Text),
        sort(S::Email, "Email", SortKind::Text),
    ],
};

/// companies <-> Account
pub const ACCOUNT: ObjectMap = ObjectMap {
    object: "Account",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        rw("name", "Name", Text),
        rw("owner_id", "OwnerId", Id),
        rw("description", "Description", Text),
        rw("industry", "Industry", Text),
        rw(
            "number_of_employees",
            "NumberOfEmployees",
            Kind::NumberAsText,
        ),
        rw("annual_revenue", "AnnualRevenue", Kind::NumberAsText),
        rw("fax", "Fax", Text),
        ro("last_activity_at", "LastActivityDate", Kind::DateAsDateTime),
    ],
    emails: &[],
    phones: &[PhoneSlot {
        remote: "Phone",
        kind: PhoneType::Primary,
    }],
    websites: &[WebsiteSlot {
        remote: "Website",
        kind: WebsiteType::Primary,
    }],
    addresses: &[
        AddressSlot {
            kind: AddressType::Billing,
            street: "BillingStreet",
            city: "BillingCity",
            state: "BillingState",
            postal_code: "BillingPostalCode",
            country: "BillingCountry",
        },
        AddressSlot {
            kind: AddressType::Shipping,
            street: "ShippingStreet",
            city: "ShippingCity",
            state: "ShippingState",
            postal_code: "ShippingPostalCode",
            country: "ShippingCountry",
        },
    ],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[eq(F::Name, &["Name"]), UPDATED_SINCE, CREATED_SINCE],
    sorts: &[CREATED, UPDATED, sort(S::Name, "Name", SortKind::Text)],
};

/// leads <-> Lead
pub const LEAD: ObjectMap = ObjectMap {
    object: "Lead",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        ro("name", "Name", Text),
        rw("company_name", "Company", Text),
        rw("owner_id", "OwnerId", Id),
        // Lead owners can be queues; `Owner` is polymorphic, and `Name` exists on both.
        ro("owner_name", "Owner.Name", Text),
        ro("company_id", "ConvertedAccountId", Id),
        ro("contact_id", "ConvertedContactId", Id),
        rw("lead_source", "LeadSource", Text),
        rw("first_name", "FirstName", Text),
        rw("last_name", "LastName", Text),
        rw("description", "Description", Text),
        rw("title", "Title", Text),
        rw("status", "Status", Text),
    ],
    emails: &[EmailSlot {
        remote: "Email",
        kind: EmailType::Primary,
    }],
    phones: &[
        PhoneSlot {
            remote: "Phone",
            kind: PhoneType::Primary,
        },
        PhoneSlot {
            remote: "MobilePhone",
            kind: PhoneType::Mobile,
        },
    ],
    websites: &[WebsiteSlot {
        remote: "Website",
        kind: WebsiteType::Primary,
    }],
    addresses: &[AddressSlot {
        kind: AddressType::Primary,
        street: "Street",
        city: "City",
        state: "State",
        postal_code: "PostalCode",
        country: "Country",
    }],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[
        eq(F::Name, &["Name"]),
        eq(F::FirstName, &["FirstName"]),
        eq(F::LastName, &["LastName"]),
        eq(F::Email, &["Email"]),
        eq(F::PhoneNumber, &["Phone", "MobilePhone"]),
    ],
    sorts: &[
        CREATED,
        UPDATED,
        sort(S::Name, "Name", SortKind::Text),
        sort(S::FirstName, "FirstName", SortKind::Text),
        sort(S::LastName, "LastName", SortKind::Text),
        sort(S::Email, "Email", SortKind::Text),
    ],
};

/// users <-> User
pub const USER: ObjectMap = ObjectMap {
    object: "User",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        rw("username", "Username", Text),
        ro("name", "Name", Text),
        rw("first_name", "FirstName", Text),
        rw("last_name", "LastName", Text),
        rw("title", "Title", Text),
        rw("department", "Department", Text),
        rw("company_name", "CompanyName", Text),
        rw(
            "status",
            "IsActive",
            Kind::TextFromBool {
                when_true: "active",
                when_false: "inactive",
            },
        ),
    ],
    emails: &[EmailSlot {
        remote: "Email",
        kind: EmailType::Primary,
    }],
    phones: &[
        PhoneSlot {
            remote: "Phone",
            kind: PhoneType::Primary,
        },
        PhoneSlot {
            remote: "MobilePhone",
            kind: PhoneType::Mobile,
        },
    ],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &[],
    filters: &[eq(F::Email, &["Email"]), eq(F::Name, &["Name"])],
    sorts: &[],
};
