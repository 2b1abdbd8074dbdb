//! The standard object table (docs/salesforce.md §13). Each object is a list of field rows built
//! with a few chained setters; behaviour that depends on more than one field (derived values) lives
//! in `org::derive`.

use super::builder::{address, f, label_of, system_fields};
use super::picklists::*;
use super::{CustomFieldSpec, FieldDef, FieldType, ObjectDef};
use std::collections::HashMap;

use FieldType as T;

pub(super) const OBJECT_NAMES: &[&str] = &[
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityStage",
    "Task",
    "Event",
    "Note",
    "User",
];

fn object(
    name: &str,
    prefix: &str,
    plural: &str,
    has_owner: bool,
    fields: Vec<FieldDef>,
) -> ObjectDef {
    let mut all = system_fields(has_owner);
    all.extend(fields);
    ObjectDef {
        name: name.to_owned(),
        label: label_of(name),
        label_plural: plural.to_owned(),
        key_prefix: prefix.to_owned(),
        createable: true,
        updateable: true,
        deletable: true,
        fields: all,
        by_name: HashMap::new(),
        by_lower: HashMap::new(),
        rel_by_lower: HashMap::new(),
    }
}

fn account() -> ObjectDef {
    let mut fields = vec![
        f("Name", T::String).req().name_field(),
        f("Type", T::Picklist).pick(&[
            "Prospect",
            "Customer - Direct",
            "Customer - Channel",
            "Channel Partner / Reseller",
            "Installation Partner",
            "Technology Partner",
            "Other",
        ]),
        f("ParentId", T::Reference)
            .refs(&["Account"], "Parent")
            .child("ChildAccounts"),
        f("Industry", T::Picklist).pick(INDUSTRIES),
        f("Website", T::Url),
        f("Phone", T::Phone),
        f("Fax", T::Phone),
        f("Description", T::Textarea),
        f("NumberOfEmployees", T::Int),
        f("AnnualRevenue", T::Currency),
        f("AccountNumber", T::String).len(40),
        f("Rating", T::Picklist).pick(RATINGS),
        f("LastActivityDate", T::Date).ro(),
    ];
    fields.extend(address("Billing", "BillingAddress"));
    fields.extend(address("Shipping", "ShippingAddress"));
    object("Account", "001", "Accounts", true, fields)
}

fn contact() -> ObjectDef {
    let mut fields = vec![
        f("Salutation", T::Picklist)
            .pick(SALUTATIONS)
            .part_of("Name"),
        f("FirstName", T::String).len(40).part_of("Name"),
        f("MiddleName", T::String).len(40).part_of("Name"),
        f("LastName", T::String).len(80).req().part_of("Name"),
        f("Name", T::String).len(121).calc().name_field(),
        f("AccountId", T::Reference)
            .refs(&["Account"], "Account")
            .child("Contacts"),
        f("ReportsToId", T::Reference).refs(&["Contact"], "ReportsTo"),
        f("Email", T::Email),
        f("Phone", T::Phone),
        f("MobilePhone", T::Phone),
        f("HomePhone", T::Phone),
        f("Title", T::String).len(128),
        f("Department", T::String).len(80),
        f("Birthdate", T::Date),
        f("LeadSource", T::Picklist).pick(LEAD_SOURCES),
        f("Description", T::Textarea),
        f("LastActivityDate", T::Date).ro(),
    ];
    fields.extend(address("Mailing", "MailingAddress"));
    object("Contact", "003", "Contacts", true, fields)
}

fn lead() -> ObjectDef {
    let mut fields = vec![
        f("Salutation", T::Picklist)
            .pick(SALUTATIONS)
            .part_of("Name"),
        f("FirstName", T::String).len(40).part_of("Name"),
        f("LastName", T::String).len(80).req().part_of("Name"),
        f("Name", T::String).len(121).calc().name_field(),
        f("Company", T::String).req(),
        f("Email", T::Email),
        f("Phone", T::Phone),
        f("MobilePhone", T::Phone),
        f("Title", T::String).len(128),
        f("Status", T::Picklist)
            .pick(LEAD_STATUSES)
            .restricted()
            .default_text(LEAD_STATUSES[0]),
        f("LeadSource", T::Picklist).pick(LEAD_SOURCES),
        f("Industry", T::Picklist).pick(INDUSTRIES),
        f("Rating", T::Picklist).pick(RATINGS),
        f("Website", T::Url),
        f("NumberOfEmployees", T::Int),
        f("AnnualRevenue", T::Currency),
        f("Description", T::Textarea),
        f("IsConverted", T::Boolean).ro().default_bool(false),
        f("ConvertedDate", T::Date).ro(),
        f("ConvertedAccountId", T::Reference)
            .ro()
            .refs(&["Account"], "ConvertedAccount"),
        f("ConvertedContactId", T::Reference)
            .ro()
            .refs(&["Contact"], "ConvertedContact"),
        f("ConvertedOpportunityId", T::Reference)
            .ro()
            .refs(&["Opportunity"], "ConvertedOpportunity"),
        f("LastActivityDate", T::Date).ro(),
    ];
    fields.extend(address("", "Address"));
    object("Lead", "00Q", "Leads", true, fields)
}

fn opportunity() -> ObjectDef {
    let stages: Vec<&str> = DEFAULT_STAGES.iter().map(|s| s.label).collect();
    let fields = vec![
        f("Name", T::String).len(120).req().name_field(),
        f("AccountId", T::Reference)
            .refs(&["Account"], "Account")
            .child("Opportunities"),
        f("ContactId", T::Reference)
            .refs(&["Contact"], "Contact")
            .child("Opportunities"),
        f("StageName", T::Picklist)
            .len(255)
            .req()
            .pick(&stages)
            .restricted(),
        f("CloseDate", T::Date).req(),
        f("Amount", T::Currency),
        f("Probability", T::Percent),
        f("Type", T::Picklist).pick(&[
            "Existing Customer - Upgrade",
            "Existing Customer - Replacement",
            "Existing Customer - Downgrade",
            "New Customer",
        ]),
        f("LeadSource", T::Picklist).pick(LEAD_SOURCES),
        f("NextStep", T::String),
        f("Description", T::Textarea),
        f("ForecastCategoryName", T::Picklist)
            .pick(&["Omitted", "Pipeline", "Best Case", "Commit", "Closed"])
            .restricted(),
        f("ForecastCategory", T::Picklist)
            .pick(&["Omitted", "Pipeline", "BestCase", "Forecast", "Closed"])
            .calc(),
        f("IsClosed", T::Boolean).calc(),
        f("IsWon", T::Boolean).calc(),
        f("Pricebook2Id", T::Reference).ro(),
        f("LastActivityDate", T::Date).ro(),
    ];
    object("Opportunity", "006", "Opportunities", true, fields)
}

fn opportunity_stage() -> ObjectDef {
    let fields = vec![
        f("MasterLabel", T::String).name_field(),
        f("ApiName", T::String),
        f("IsActive", T::Boolean),
        f("IsClosed", T::Boolean),
        f("IsWon", T::Boolean),
        f("DefaultProbability", T::Percent),
        f("ForecastCategory", T::Picklist)
            .pick(&["Omitted", "Pipeline", "BestCase", "Forecast", "Closed"]),
        f("ForecastCategoryName", T::Picklist).pick(&[
            "Omitted",
            "Pipeline",
            "Best Case",
            "Commit",
            "Closed",
        ]),
        f("SortOrder", T::Int),
        f("Description", T::String),
    ]
    .into_iter()
    .map(FieldDef::ro)
    .collect();
    let mut o = object(
        "OpportunityStage",
        "01J",
        "Opportunity Stages",
        false,
        fields,
    );
    o.createable = false;
    o.updateable = false;
    o.deletable = false;
    o
}

fn who_what() -> [FieldDef; 2] {
    [
        f("WhoId", T::Reference).refs(&["Contact", "Lead"], "Who"),
        f("WhatId", T::Reference).refs(&["Account", "Opportunity"], "What"),
    ]
}

fn task() -> ObjectDef {
    let mut fields = vec![f("Subject", T::String)];
    fields.extend(who_what().map(|r| r.child("Tasks")));
    fields.extend([
        f("Status", T::Picklist)
            .pick(TASK_STATUSES)
            .restricted()
            .default_text("Not Started"),
        f("Priority", T::Picklist)
            .pick(PRIORITIES)
            .restricted()
            .default_text("Normal"),
        f("ActivityDate", T::Date),
        f("Description", T::Textarea),
        f("IsClosed", T::Boolean).calc(),
        f("IsHighPriority", T::Boolean).calc(),
        f("TaskSubtype", T::Picklist)
            .pick(&["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"])
            .restricted()
            .default_text("Task"),
        f("Type", T::Picklist).pick(ACTIVITY_TYPES),
        f("CallType", T::Picklist).pick(&["Internal", "Inbound", "Outbound"]),
        f("CallDurationInSeconds", T::Int),
        f("CompletedDateTime", T::DateTime).ro(),
        f("ReminderDateTime", T::DateTime),
        f("IsReminderSet", T::Boolean).default_bool(false),
        f("AccountId", T::Reference)
            .calc()
            .refs(&["Account"], "Account"),
    ]);
    object("Task", "00T", "Tasks", true, fields)
}

fn event() -> ObjectDef {
    let mut fields = vec![f("Subject", T::String)];
    fields.extend(who_what().map(|r| r.child("Events")));
    fields.extend([
        f("ActivityDateTime", T::DateTime),
        f("StartDateTime", T::DateTime),
        f("EndDateTime", T::DateTime),
        f("DurationInMinutes", T::Int),
        f("ActivityDate", T::Date),
        f("IsAllDayEvent", T::Boolean).default_bool(false),
        f("Location", T::String),
        f("Description", T::Textarea),
        f("ShowAs", T::Picklist)
            .pick(&["Busy", "OutOfOffice", "Free"])
            .restricted()
            .default_text("Busy"),
        f("EventSubtype", T::Picklist)
            .pick(&["Event"])
            .default_text("Event"),
        f("Type", T::Picklist).pick(ACTIVITY_TYPES),
        f("IsPrivate", T::Boolean).default_bool(false),
        f("AccountId", T::Reference)
            .calc()
            .refs(&["Account"], "Account"),
    ]);
    object("Event", "00U", "Events", true, fields)
}

fn note() -> ObjectDef {
    let fields = vec![
        f("Title", T::String).len(80).req().name_field(),
        f("Body", T::Textarea),
        f("ParentId", T::Reference)
            .req()
            .refs(&["Account", "Contact", "Lead", "Opportunity"], "Parent")
            .child("Notes"),
        f("IsPrivate", T::Boolean).default_bool(false),
    ];
    object("Note", "002", "Notes", true, fields)
}

fn user() -> ObjectDef {
    let fields = vec![
        f("Username", T::String).len(80).req().unique(),
        f("Email", T::Email).req(),
        f("FirstName", T::String).len(40).part_of("Name"),
        f("LastName", T::String).len(80).req().part_of("Name"),
        f("Name", T::String).len(121).calc().name_field(),
        f("Alias", T::String).len(8).req(),
        f("IsActive", T::Boolean).default_bool(true),
        f("Title", T::String).len(80),
        f("Phone", T::Phone),
        f("MobilePhone", T::Phone),
        f("CompanyName", T::String).len(80),
        f("Department", T::String).len(80),
        f("ManagerId", T::Reference).refs(&["User"], "Manager"),
        f("UserType", T::Picklist)
            .pick(&["Standard", "PowerPartner", "CsnOnly"])
            .ro()
            .default_text("Standard"),
        f("TimeZoneSidKey", T::String)
            .len(40)
            .default_text("America/Los_Angeles"),
        f("LocaleSidKey", T::String).len(40).default_text("en_US"),
        f("LanguageLocaleKey", T::String)
            .len(40)
            .default_text("en_US"),
        f("EmailEncodingKey", T::String)
            .len(40)
            .default_text("UTF-8"),
        f("LastLoginDate", T::DateTime).ro(),
    ];
    let mut o = object("User", "005", "Users", false, fields);
    o.deletable = false;
    o
}

pub(super) fn standard_objects() -> Vec<ObjectDef> {
    vec![
        account(),
        contact(),
        lead(),
        opportunity(),
        opportunity_stage(),
        task(),
        event(),
        note(),
        user(),
    ]
}

pub(super) fn custom_field(spec: &CustomFieldSpec) -> FieldDef {
    let mut field = f(&spec.name, spec.field_type);
    field.label = spec.label.clone();
    field.custom = true;
    field.picklist = spec.picklist.clone();
    if spec.field_type == T::Textarea {
        field.length = 255;
    }
    field
}
