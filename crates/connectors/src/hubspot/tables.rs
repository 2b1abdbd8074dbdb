//! The HubSpot mapping tables: data only (docs/hubspot.md §7, §11 property names,
//! spec/apideck/crm.yml unified names).
//!
//! A CRM record is read *flattened*: its `properties` plus `id`, `createdAt`, `updatedAt` and
//! `archived` at the top level (see `records::flatten`), so table remotes are plain property names.
//! What a table cannot say lives in `records.rs`: names joined from first and last name, dates
//! held as date-times, call durations in milliseconds, associations (`LINKS`), activity ids.

use patchbay_unified::model::{AddressType, EmailType, PhoneType, WebsiteType};
use patchbay_unified::{FilterField as F, SortField as S};

use crate::table::Kind::{self, DateTime, Id, Number, Text};
use crate::table::{
    Access, AddressSlot, EmailSlot, FieldMap, FilterMap, FilterOp, ObjectMap, PhoneSlot, SortKind,
    SortMap, WebsiteSlot,
};

const fn rw(unified: &'static str, remote: &'static str, kind: Kind) -> FieldMap {
    FieldMap {
        unified,
        remote,
        kind,
        access: Access::ReadWrite,
    }
}
const fn ro(unified: &'static str, remote: &'static str, kind: Kind) -> FieldMap {
    FieldMap {
        unified,
        remote,
        kind,
        access: Access::Read,
    }
}
const fn eq(filter: F, remote: &'static [&'static str]) -> FilterMap {
    FilterMap {
        filter,
        remote,
        op: FilterOp::Eq,
    }
}
const fn gte(filter: F, remote: &'static [&'static str]) -> FilterMap {
    FilterMap {
        filter,
        remote,
        op: FilterOp::Gte,
    }
}
const fn sort(sort: S, remote: &'static str, kind: SortKind) -> SortMap {
    SortMap { sort, remote, kind }
}

/// Top-level keys of a flattened record that are not properties (never asked for in
/// `properties=`).
pub const RECORD_KEYS: [&str; 4] = ["id", "createdAt", "updatedAt", "archived"];

const ID: FieldMap = ro("id", "id", Id);
const CREATED_AT: FieldMap = ro("created_at", "createdAt", DateTime);
const UPDATED_AT: FieldMap = ro("updated_at", "updatedAt", DateTime);
const OWNER: FieldMap = rw("owner_id", "hubspot_owner_id", Id);

/// The common `created_at` / `updated_at` sorts; `lastmodifieddate` is the contacts' name.
const CREATED: SortMap = sort(S::CreatedAt, "createdate", SortKind::DateTime);
const UPDATED: SortMap = sort(S::UpdatedAt, "hs_lastmodifieddate", SortKind::DateTime);
const ENGAGEMENT_CREATED: SortMap = sort(S::CreatedAt, "hs_createdate", SortKind::DateTime);

/// contacts <-> contacts
pub const CONTACT: ObjectMap = ObjectMap {
    object: "contacts",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("first_name", "firstname", Text),
        rw("last_name", "lastname", Text),
        rw("title", "jobtitle", Text),
        rw("company_name", "company", Text),
        rw("status", "hs_lead_status", Text),
    ],
    emails: &[EmailSlot {
        remote: "email",
        kind: EmailType::Primary,
    }],
    phones: &[
        PhoneSlot {
            remote: "phone",
            kind: PhoneType::Primary,
        },
        PhoneSlot {
            remote: "mobilephone",
            kind: PhoneType::Mobile,
        },
    ],
    websites: &[WebsiteSlot {
        remote: "website",
        kind: WebsiteType::Primary,
    }],
    addresses: &[AddressSlot {
        kind: AddressType::Primary,
        street: "address",
        city: "city",
        state: "state",
        postal_code: "zip",
        country: "country",
    }],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[
        NAME_FILTER,
        eq(F::FirstName, &["firstname"]),
        eq(F::LastName, &["lastname"]),
        eq(F::Email, &["email"]),
        eq(F::PhoneNumber, &["phone", "mobilephone"]),
        eq(F::CompanyId, &["associations.company"]),
        eq(F::OwnerId, &["hubspot_owner_id"]),
        gte(F::UpdatedSince, &["lastmodifieddate"]),
        gte(F::CreatedSince, &["createdate"]),
    ],
    sorts: &[
        CREATED,
        sort(S::UpdatedAt, "lastmodifieddate", SortKind::DateTime),
        NAME_SORT,
        sort(S::FirstName, "firstname", SortKind::Text),
        sort(S::LastName, "lastname", SortKind::Text),
        sort(S::Email, "email", SortKind::Text),
    ],
};

/// `filter[name]` on contacts and leads: the unified name is "first last" (records.rs), so it
/// is matched as a split of the value over `firstname` and `lastname`; the search groups are
/// built in `list.rs` (`name_alternatives`), not ORed from these remotes.
const NAME_FILTER: FilterMap = eq(F::Name, &["firstname", "lastname"]);

/// `sort[by]=name` on contacts and leads. HubSpot sorts by one property only (docs/hubspot.md
/// §9); the unified name starts with the first name, so ordering by `firstname` orders the
/// names by their first word, ties (same first name) in id order, not by last name
/// (docs/hubspot.md §15).
const NAME_SORT: SortMap = sort(S::Name, "firstname", SortKind::Text);

/// leads <-> contacts whose `lifecyclestage` is `lead` (HubSpot's v3 objects have no lead;
/// docs/hubspot.md §15). The filter and the value written on create live in `list.rs` and
/// `records.rs`.
pub const LEAD: ObjectMap = ObjectMap {
    object: "contacts",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("first_name", "firstname", Text),
        rw("last_name", "lastname", Text),
        rw("title", "jobtitle", Text),
        rw("company_name", "company", Text),
        rw("status", "hs_lead_status", Text),
    ],
    emails: CONTACT.emails,
    phones: CONTACT.phones,
    websites: CONTACT.websites,
    addresses: CONTACT.addresses,
    custom_fields: true,
    quirk_fields: &["lifecyclestage"],
    filters: &[
        NAME_FILTER,
        eq(F::FirstName, &["firstname"]),
        eq(F::LastName, &["lastname"]),
        eq(F::Email, &["email"]),
        eq(F::PhoneNumber, &["phone", "mobilephone"]),
    ],
    sorts: CONTACT.sorts,
};

/// companies <-> companies
pub const COMPANY: ObjectMap = ObjectMap {
    object: "companies",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("name", "name", Text),
        rw("description", "description", Text),
        rw("industry", "industry", Text),
        rw(
            "number_of_employees",
            "numberofemployees",
            Kind::NumberAsText,
        ),
        rw("annual_revenue", "annualrevenue", Kind::NumberAsText),
    ],
    emails: &[],
    phones: &[PhoneSlot {
        remote: "phone",
        kind: PhoneType::Primary,
    }],
    websites: &[WebsiteSlot {
        remote: "website",
        kind: WebsiteType::Primary,
    }],
    addresses: &[AddressSlot {
        kind: AddressType::Primary,
        street: "address",
        city: "city",
        state: "state",
        postal_code: "zip",
        country: "country",
    }],
    custom_fields: true,
    quirk_fields: &["domain"],
    filters: &[
        eq(F::Name, &["name"]),
        gte(F::UpdatedSince, &["hs_lastmodifieddate"]),
        gte(F::CreatedSince, &["createdate"]),
    ],
    sorts: &[CREATED, UPDATED, sort(S::Name, "name", SortKind::Text)],
};

/// opportunities <-> deals. `close_date` is a HubSpot date-time read as a date, and
/// `win_probability` a 0–1 fraction read as a percentage (records.rs).
pub const DEAL: ObjectMap = ObjectMap {
    object: "deals",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("title", "dealname", Text),
        rw("description", "description", Text),
        rw("type", "dealtype", Text),
        rw("monetary_amount", "amount", Number),
        rw("pipeline_id", "pipeline", Text),
        rw("pipeline_stage_id", "dealstage", Text),
        ro("status", "dealstage", Text),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["closedate", "hs_deal_stage_probability"],
    filters: &[
        eq(F::Title, &["dealname"]),
        eq(F::Status, &["dealstage"]),
        eq(F::MonetaryAmount, &["amount"]),
        eq(F::CompanyId, &["associations.company"]),
        eq(F::OwnerId, &["hubspot_owner_id"]),
        // Any associated contact: HubSpot's deal→contact association has no primary label
        // (docs/hubspot.md §10), and `primary_contact_id` reads the first one.
        eq(F::PrimaryContactId, &["associations.contact"]),
    ],
    sorts: &[
        CREATED,
        UPDATED,
        sort(S::Title, "dealname", SortKind::Text),
        sort(S::MonetaryAmount, "amount", SortKind::Number),
        sort(S::Status, "dealstage", SortKind::Text),
    ],
};

/// Links are association filters, `associations.{object}` (docs/hubspot.md §9).
const ENGAGEMENT_FILTERS: &[FilterMap] = &[
    eq(F::CompanyId, &["associations.company"]),
    eq(F::OwnerId, &["hubspot_owner_id"]),
    eq(F::ContactId, &["associations.contact"]),
    gte(F::UpdatedSince, &["hs_lastmodifieddate"]),
];
const ENGAGEMENT_SORTS: &[SortMap] = &[ENGAGEMENT_CREATED, UPDATED];

/// activities of type `call` <-> calls (duration in ms: records.rs).
pub const CALL: ObjectMap = ObjectMap {
    object: "calls",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("title", "hs_call_title", Text),
        rw("description", "hs_call_body", Text),
        rw("activity_datetime", "hs_timestamp", DateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["hs_call_duration", "hs_call_direction"],
    filters: ENGAGEMENT_FILTERS,
    sorts: ENGAGEMENT_SORTS,
};

/// activities of type `meeting` <-> meetings
pub const MEETING: ObjectMap = ObjectMap {
    object: "meetings",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("title", "hs_meeting_title", Text),
        rw("description", "hs_meeting_body", Text),
        rw("location", "hs_meeting_location", Text),
        rw("activity_datetime", "hs_timestamp", DateTime),
        rw("start_datetime", "hs_meeting_start_time", DateTime),
        rw("end_datetime", "hs_meeting_end_time", DateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &[],
    filters: ENGAGEMENT_FILTERS,
    sorts: ENGAGEMENT_SORTS,
};

/// activities of type `task` <-> tasks
pub const TASK: ObjectMap = ObjectMap {
    object: "tasks",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("title", "hs_task_subject", Text),
        rw("description", "hs_task_body", Text),
        rw("activity_datetime", "hs_timestamp", DateTime),
        rw(
            "done",
            "hs_task_status",
            Kind::BoolToText {
                when_true: "COMPLETED",
                when_false: "NOT_STARTED",
            },
        ),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &[],
    filters: ENGAGEMENT_FILTERS,
    sorts: ENGAGEMENT_SORTS,
};

/// activities of type `email` <-> emails (docs/hubspot.md §7b). The body is `hs_email_text`,
/// read from `hs_email_html` when an email has only that (records.rs). Direction and send
/// status have no place in the unified activity (spec/apideck/crm.yml `Activity`), so they are
/// neither read nor written.
pub const EMAIL: ObjectMap = ObjectMap {
    object: "emails",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("title", "hs_email_subject", Text),
        rw("description", "hs_email_text", Text),
        rw("activity_datetime", "hs_timestamp", DateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["hs_email_html"],
    filters: ENGAGEMENT_FILTERS,
    sorts: ENGAGEMENT_SORTS,
};

/// notes <-> notes (`hs_timestamp` is required on create: records.rs sets it).
pub const NOTE: ObjectMap = ObjectMap {
    object: "notes",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        OWNER,
        rw("content", "hs_note_body", Text),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    // The unified note has no custom_fields (spec/apideck/crm.yml).
    custom_fields: false,
    quirk_fields: &["hs_timestamp"],
    filters: &[
        eq(F::OwnerId, &["hubspot_owner_id"]),
        gte(F::UpdatedSince, &["hs_lastmodifieddate"]),
        gte(F::CreatedSince, &["hs_createdate"]),
    ],
    sorts: &[],
};

/// users <-> owners (`/crm/v3/owners`, docs/hubspot.md §11): read as they come, not flattened.
pub const OWNER_MAP: ObjectMap = ObjectMap {
    object: "owners",
    fields: &[
        ID,
        CREATED_AT,
        UPDATED_AT,
        ro("first_name", "firstName", Text),
        ro("last_name", "lastName", Text),
        ro(
            "status",
            "archived",
            Kind::TextFromBool {
                when_true: "inactive",
                when_false: "active",
            },
        ),
    ],
    emails: &[EmailSlot {
        remote: "email",
        kind: EmailType::Primary,
    }],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &[],
    filters: &[eq(F::Email, &["email"])],
    sorts: &[],
};

/// users -> the user provisioning API's body (docs/hubspot.md §11): what of a unified user a
/// HubSpot user holds. Reads go through the owner ([`OWNER_MAP`]), writes through this.
pub const USER_WRITE_MAP: ObjectMap = ObjectMap {
    object: "users",
    fields: &[
        rw("first_name", "firstName", Text),
        rw("last_name", "lastName", Text),
    ],
    emails: &[EmailSlot {
        remote: "email",
        kind: EmailType::Primary,
    }],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &[],
    filters: &[],
    sorts: &[],
};

/// A unified link field held as a HubSpot association (docs/hubspot.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Unified field, e.g. `company_id`.
    pub unified: &'static str,
    /// The associated object type, e.g. `companies`.
    pub to: &'static str,
    /// HubSpot-defined association type id from this object to `to`.
    pub type_id: u32,
}

const fn link(unified: &'static str, to: &'static str, type_id: u32) -> Link {
    Link {
        unified,
        to,
        type_id,
    }
}

const CONTACT_LINKS: &[Link] = &[link("company_id", "companies", 279)];
const DEAL_LINKS: &[Link] = &[
    link("company_id", "companies", 341),
    link("primary_contact_id", "contacts", 3),
];
const NOTE_LINKS: &[Link] = &[
    link("contact_id", "contacts", 202),
    link("company_id", "companies", 190),
    link("opportunity_id", "deals", 214),
];
const CALL_LINKS: &[Link] = &[
    link("contact_id", "contacts", 194),
    link("company_id", "companies", 182),
    link("opportunity_id", "deals", 206),
];
const MEETING_LINKS: &[Link] = &[
    link("contact_id", "contacts", 200),
    link("company_id", "companies", 188),
    link("opportunity_id", "deals", 212),
];
const TASK_LINKS: &[Link] = &[
    link("contact_id", "contacts", 204),
    link("company_id", "companies", 192),
    link("opportunity_id", "deals", 216),
];
const EMAIL_LINKS: &[Link] = &[
    link("contact_id", "contacts", 198),
    link("company_id", "companies", 186),
    link("opportunity_id", "deals", 210),
];

/// The association-backed fields of an object (type ids from docs/hubspot.md §10; unlabeled
/// where HubSpot has both a primary and an unlabeled type).
pub fn links(object: &str) -> &'static [Link] {
    match object {
        "contacts" => CONTACT_LINKS,
        "deals" => DEAL_LINKS,
        "notes" => NOTE_LINKS,
        "calls" => CALL_LINKS,
        "meetings" => MEETING_LINKS,
        "tasks" => TASK_LINKS,
        "emails" => EMAIL_LINKS,
        _ => &[],
    }
}

/// Every CRM-object table, for checks that must hold across all of them.
pub const ALL: [&ObjectMap; 9] = [
    &CONTACT, &LEAD, &COMPANY, &DEAL, &CALL, &MEETING, &TASK, &NOTE, &EMAIL,
];
