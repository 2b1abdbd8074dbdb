//! The Salesforce mapping tables: data only (salesforce.md §13 fields, crm.yml names).
//!
//! Quirks that are not a field-to-field mapping live in `records.rs`: the polymorphic `WhoId` /
//! `WhatId` / `ParentId` lookups, the activity `type`, the Event-or-Task choice, and pipelines.

use patchbay_unified::model::{AddressType, EmailType, PhoneType, WebsiteType};
use patchbay_unified::{FilterField as F, SortField as S};

use crate::table::{
    Access, AddressSlot, EmailSlot, FieldMap, FilterMap, FilterOp, Kind, ObjectMap, PhoneSlot,
    SortKind, SortMap, WebsiteSlot,
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
const fn wo(unified: &'static str, remote: &'static str, kind: Kind) -> FieldMap {
    FieldMap {
        unified,
        remote,
        kind,
        access: Access::Write,
    }
}
const fn eq(filter: F, remote: &'static [&'static str]) -> FilterMap {
    FilterMap {
        filter,
        remote,
        op: FilterOp::Eq,
    }
}
const UPDATED_SINCE: FilterMap = FilterMap {
    filter: F::UpdatedSince,
    remote: &["LastModifiedDate"],
    op: FilterOp::Gte,
};
const CREATED_SINCE: FilterMap = FilterMap {
    filter: F::CreatedSince,
    remote: &["CreatedDate"],
    op: FilterOp::Gte,
};
const fn sort(sort: S, remote: &'static str, kind: SortKind) -> SortMap {
    SortMap { sort, remote, kind }
}

use Kind::{Bool, Date, DateTime, Id, Integer, Number, Text};

const CREATED: SortMap = sort(S::CreatedAt, "CreatedDate", SortKind::DateTime);
const UPDATED: SortMap = sort(S::UpdatedAt, "LastModifiedDate", SortKind::DateTime);
const TIMESTAMPS: [FieldMap; 3] = [
    ro("id", "Id", Id),
    ro("created_at", "CreatedDate", DateTime),
    ro("updated_at", "LastModifiedDate", DateTime),
];

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

/// The single pipeline Salesforce has: every opportunity stage belongs to it.
pub const PIPELINE_ID: &str = "default";

/// opportunities <-> Opportunity. `pipeline_stage_id` is the `StageName` value, which is also the
/// stage id the pipelines resource shows, so it round-trips.
pub const OPPORTUNITY: ObjectMap = ObjectMap {
    object: "Opportunity",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        rw("title", "Name", Text),
        rw("description", "Description", Text),
        rw("type", "Type", Text),
        rw("monetary_amount", "Amount", Number),
        rw("win_probability", "Probability", Number),
        rw("close_date", "CloseDate", Date),
        rw("pipeline_stage_id", "StageName", Text),
        ro("status", "StageName", Text),
        ro("pipeline_id", "", Kind::Const(PIPELINE_ID)),
        rw("lead_source", "LeadSource", Text),
        rw("company_id", "AccountId", Id),
        ro("company_name", "Account.Name", Text),
        rw("owner_id", "OwnerId", Id),
        rw("primary_contact_id", "ContactId", Id),
        ro("last_activity_at", "LastActivityDate", Kind::DateAsDateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &[],
    filters: &[
        eq(F::Title, &["Name"]),
        eq(F::Status, &["StageName"]),
        eq(F::MonetaryAmount, &["Amount"]),
        eq(F::WinProbability, &["Probability"]),
        eq(F::CompanyId, &["AccountId"]),
        eq(F::OwnerId, &["OwnerId"]),
        eq(F::PrimaryContactId, &["ContactId"]),
    ],
    sorts: &[
        CREATED,
        UPDATED,
        sort(S::Title, "Name", SortKind::Text),
        sort(S::WinProbability, "Probability", SortKind::Number),
        sort(S::MonetaryAmount, "Amount", SortKind::Number),
        sort(S::Status, "StageName", SortKind::Text),
    ],
};

const ACTIVITY_FILTERS: &[FilterMap] = &[
    eq(F::CompanyId, &["WhatId"]),
    eq(F::OwnerId, &["OwnerId"]),
    eq(F::ContactId, &["WhoId"]),
    UPDATED_SINCE,
];

/// activities <-> Event (the default). `type`, `WhoId` and `WhatId` are handled in code.
pub const EVENT: ObjectMap = ObjectMap {
    object: "Event",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        ro("downstream_id", "Id", Id),
        rw("title", "Subject", Text),
        rw("description", "Description", Text),
        rw("location", "Location", Text),
        rw("activity_datetime", "ActivityDateTime", DateTime),
        rw("start_datetime", "StartDateTime", DateTime),
        rw("end_datetime", "EndDateTime", DateTime),
        rw("activity_date", "ActivityDate", Date),
        rw("all_day_event", "IsAllDayEvent", Bool),
        rw("private", "IsPrivate", Bool),
        rw(
            "show_as",
            "ShowAs",
            Kind::Enum(&[("busy", "Busy"), ("free", "Free")]),
        ),
        rw("event_sub_type", "EventSubtype", Text),
        rw(
            "duration_seconds",
            "DurationInMinutes",
            Kind::MinutesAsSeconds,
        ),
        ro("duration_minutes", "DurationInMinutes", Integer),
        rw("owner_id", "OwnerId", Id),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["Type", "WhoId", "WhatId"],
    filters: ACTIVITY_FILTERS,
    sorts: &[CREATED, UPDATED],
};

/// activities <-> Task (`type` task, call or email).
pub const TASK: ObjectMap = ObjectMap {
    object: "Task",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        ro("downstream_id", "Id", Id),
        rw("title", "Subject", Text),
        rw("description", "Description", Text),
        rw("activity_date", "ActivityDate", Date),
        ro("done", "IsClosed", Bool),
        wo(
            "done",
            "Status",
            Kind::BoolToText {
                when_true: "Completed",
                when_false: "Not Started",
            },
        ),
        rw("duration_seconds", "CallDurationInSeconds", Integer),
        rw("reminder_datetime", "ReminderDateTime", DateTime),
        rw("reminder_set", "IsReminderSet", Bool),
        rw("owner_id", "OwnerId", Id),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: true,
    quirk_fields: &["TaskSubtype", "WhoId", "WhatId"],
    filters: ACTIVITY_FILTERS,
    sorts: &[CREATED, UPDATED],
};

/// notes <-> Note (classic). `ParentId` is handled in code.
pub const NOTE: ObjectMap = ObjectMap {
    object: "Note",
    fields: &[
        TIMESTAMPS[0],
        TIMESTAMPS[1],
        TIMESTAMPS[2],
        rw("title", "Title", Text),
        rw("content", "Body", Text),
        rw("owner_id", "OwnerId", Id),
        ro("created_by", "CreatedById", Id),
        ro("updated_by", "LastModifiedById", Id),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &["ParentId"],
    filters: &[
        eq(F::Title, &["Title"]),
        eq(F::OwnerId, &["OwnerId"]),
        UPDATED_SINCE,
        CREATED_SINCE,
    ],
    sorts: &[],
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

/// pipelines: one pipeline whose stages are the OpportunityStage rows (read-only).
pub const STAGE: ObjectMap = ObjectMap {
    object: "OpportunityStage",
    fields: &[
        ro("id", "MasterLabel", Text),
        ro("name", "MasterLabel", Text),
        ro("value", "ApiName", Text),
        ro("win_probability", "DefaultProbability", Integer),
        ro("display_order", "SortOrder", Integer),
        ro("archived", "IsActive", Kind::NotBool),
        ro("created_at", "CreatedDate", DateTime),
        ro("updated_at", "LastModifiedDate", DateTime),
    ],
    emails: &[],
    phones: &[],
    websites: &[],
    addresses: &[],
    custom_fields: false,
    quirk_fields: &[],
    filters: &[],
    sorts: &[],
};

/// Every table, for checks that must hold across all of them.
pub const ALL: [&ObjectMap; 9] = [
    &CONTACT,
    &ACCOUNT,
    &LEAD,
    &OPPORTUNITY,
    &EVENT,
    &TASK,
    &NOTE,
    &USER,
    &STAGE,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::soql::FieldName;

    #[test]
    fn every_remote_name_is_a_soql_identifier() {
        for map in ALL {
            assert!(FieldName::new(map.object).is_ok(), "{}", map.object);
            for f in map.read_fields() {
                assert!(FieldName::new(f).is_ok(), "{}.{f}", map.object);
            }
            for f in map.fields.iter().filter(|f| !f.remote.is_empty()) {
                assert!(
                    FieldName::new(f.remote).is_ok(),
                    "{}.{}",
                    map.object,
                    f.remote
                );
                if f.access != Access::Read {
                    assert!(
                        !f.remote.contains('.'),
                        "relationship paths are read-only: {}",
                        f.remote
                    );
                }
            }
            for fm in map.filters {
                fm.remote
                    .iter()
                    .for_each(|r| assert!(FieldName::new(r).is_ok(), "{r}"));
            }
            for sm in map.sorts {
                assert!(FieldName::new(sm.remote).is_ok(), "{}", sm.remote);
            }
        }
        for f in ["Id", "SortOrder", "TaskSubtype"] {
            assert!(FieldName::new(f).is_ok());
        }
    }

    #[test]
    fn each_unified_field_is_written_to_one_place() {
        for map in ALL {
            let mut written: Vec<&str> = Vec::new();
            for f in map.fields.iter().filter(|f| f.access != Access::Read) {
                assert!(
                    !written.contains(&f.unified),
                    "{}.{} written twice",
                    map.object,
                    f.unified
                );
                written.push(f.unified);
            }
        }
    }
}
