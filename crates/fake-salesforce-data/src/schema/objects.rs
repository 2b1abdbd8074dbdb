//! The standard object table (salesforce.md §13). Each object is a list of field rows built with
//! a few chained setters; behaviour that depends on more than one field (derived values) lives in
//! `org::derive`.

use super::{CustomFieldSpec, DefaultValue, FieldDef, FieldType, ObjectDef};
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

/// One default opportunity stage (OpportunityStage row and StageName picklist value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageDef {
    pub label: &'static str,
    pub default_probability: f64,
    /// API value of ForecastCategory (`Pipeline`, `Closed`, `Omitted`, ...).
    pub forecast_category: &'static str,
    /// Label value of ForecastCategoryName (`Pipeline`, `Best Case`, ...).
    pub forecast_category_name: &'static str,
    pub is_closed: bool,
    pub is_won: bool,
}

const fn stage(label: &'static str, p: f64, fc: &'static str, fcn: &'static str) -> StageDef {
    StageDef {
        label,
        default_probability: p,
        forecast_category: fc,
        forecast_category_name: fcn,
        is_closed: false,
        is_won: false,
    }
}

/// Salesforce's ten default stages, in sort order.
pub const DEFAULT_STAGES: [StageDef; 10] = [
    stage("Prospecting", 10.0, "Pipeline", "Pipeline"),
    stage("Qualification", 10.0, "Pipeline", "Pipeline"),
    stage("Needs Analysis", 20.0, "Pipeline", "Pipeline"),
    stage("Value Proposition", 50.0, "Pipeline", "Pipeline"),
    stage("Id. Decision Makers", 60.0, "Pipeline", "Pipeline"),
    stage("Perception Analysis", 70.0, "Pipeline", "Pipeline"),
    stage("Proposal/Price Quote", 75.0, "Pipeline", "Pipeline"),
    stage("Negotiation/Review", 90.0, "Pipeline", "Pipeline"),
    StageDef {
        is_closed: true,
        is_won: true,
        ..stage("Closed Won", 100.0, "Closed", "Closed")
    },
    StageDef {
        is_closed: true,
        ..stage("Closed Lost", 0.0, "Omitted", "Omitted")
    },
];

/// `FirstName` → `First Name`, `AccountId` → `Account ID`.
fn label_of(name: &str) -> String {
    let stem = name.strip_suffix("Id").filter(|s| !s.is_empty());
    let base = stem.unwrap_or(name);
    let mut out = String::new();
    for (i, c) in base.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push(' ');
        }
        out.push(c);
    }
    if stem.is_some() {
        out.push_str(" ID");
    }
    out
}

fn f(name: &str, field_type: FieldType) -> FieldDef {
    let length = match field_type {
        T::Id | T::Reference => 18,
        T::String | T::Picklist => 255,
        T::Email => 80,
        T::Phone => 40,
        T::Url => 255,
        T::Textarea => 32_000,
        _ => 0,
    };
    FieldDef {
        name: name.to_owned(),
        label: label_of(name),
        field_type,
        length,
        required: false,
        createable: true,
        updateable: true,
        calculated: false,
        default: None,
        picklist: Vec::new(),
        restricted: false,
        reference_to: Vec::new(),
        relationship_name: None,
        child_relationship: None,
        compound: None,
        address_prefix: None,
        custom: false,
        unique: false,
        external_id: false,
        name_field: false,
    }
}

impl FieldDef {
    fn req(mut self) -> Self {
        self.required = true;
        self
    }
    fn len(mut self, n: u32) -> Self {
        self.length = n;
        self
    }
    /// Read-only and computed by the emulator.
    fn calc(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self.calculated = true;
        self
    }
    /// Read-only, set by the system (audit fields).
    fn ro(mut self) -> Self {
        self.createable = false;
        self.updateable = false;
        self
    }
    fn default_text(mut self, v: &str) -> Self {
        self.default = Some(DefaultValue::Text(v.to_owned()));
        self
    }
    fn default_bool(mut self, v: bool) -> Self {
        self.default = Some(DefaultValue::Bool(v));
        self
    }
    fn pick(mut self, values: &[&str]) -> Self {
        self.picklist = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }
    fn restricted(mut self) -> Self {
        self.restricted = true;
        self
    }
    fn refs(mut self, to: &[&str], rel: &str) -> Self {
        self.reference_to = to.iter().map(|v| (*v).to_owned()).collect();
        self.relationship_name = Some(rel.to_owned());
        self
    }
    fn child(mut self, name: &str) -> Self {
        self.child_relationship = Some(name.to_owned());
        self
    }
    fn part_of(mut self, compound: &str) -> Self {
        self.compound = Some(compound.to_owned());
        self
    }
    fn name_field(mut self) -> Self {
        self.name_field = true;
        self
    }
    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
}

/// The five address components plus the read-only compound field.
fn address(prefix: &str, compound: &str) -> Vec<FieldDef> {
    let mut out: Vec<FieldDef> = [("Street", T::Textarea, 255), ("City", T::String, 40)]
        .into_iter()
        .chain([
            ("State", T::String, 80),
            ("PostalCode", T::String, 20),
            ("Country", T::String, 80),
        ])
        .map(|(part, t, len)| f(&format!("{prefix}{part}"), t).len(len).part_of(compound))
        .collect();
    let mut c = f(compound, T::Address).calc();
    c.address_prefix = Some(prefix.to_owned());
    out.push(c);
    out
}

fn system_fields(has_owner: bool) -> Vec<FieldDef> {
    let mut out = vec![
        f("Id", T::Id).ro(),
        f("IsDeleted", T::Boolean).ro().default_bool(false),
        f("CreatedDate", T::DateTime).ro(),
        f("CreatedById", T::Reference)
            .ro()
            .refs(&["User"], "CreatedBy"),
        f("LastModifiedDate", T::DateTime).ro(),
        f("LastModifiedById", T::Reference)
            .ro()
            .refs(&["User"], "LastModifiedBy"),
        f("SystemModstamp", T::DateTime).ro(),
    ];
    if has_owner {
        let mut owner = f("OwnerId", T::Reference).refs(&["User"], "Owner");
        owner.default = Some(DefaultValue::CurrentUser);
        out.push(owner);
    }
    out
}

const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
const RATINGS: &[&str] = &["Hot", "Warm", "Cold"];
const SALUTATIONS: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."];
pub(crate) const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
pub(crate) const TASK_STATUSES: &[&str] = &[
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];
const PRIORITIES: &[&str] = &["High", "Normal", "Low"];
const ACTIVITY_TYPES: &[&str] = &["Call", "Email", "Meeting", "Other"];

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
