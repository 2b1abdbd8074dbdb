//! The object types and their properties, as data (`docs/hubspot.md §7`). Every value is a
//! string on the wire; the kind says how it is checked on write and compared in search.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    Contacts,
    Companies,
    Deals,
    Notes,
    Calls,
    Meetings,
    Tasks,
    Emails,
}

/// How a property's string value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    DateTime,
    /// One of these values.
    Options(&'static [&'static str]),
    /// An owner id (`hubspot_owner_id`).
    Owner,
}

pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    /// A property the account created (not `hubspotDefined`), as a customer's portal has them
    /// (`docs/hubspot.md §7a`).
    pub custom: bool,
}

const fn p(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        custom: false,
    }
}

/// A custom property (`docs/hubspot.md §7a`): names without the reserved `hs_` prefix.
const fn custom(name: &'static str, kind: Kind) -> Property {
    Property {
        name,
        kind,
        custom: true,
    }
}

use Kind::{DateTime, Number, Options, Owner, Text};

/// The scope that lets a token see an email's content (`docs/hubspot.md §5`).
pub const EMAIL_CONTENT_SCOPE: &str = "sales-email-read";

/// Properties every object has, derived from the record itself; read-only.
pub const SYSTEM: &[&str] = &[
    "hs_object_id",
    "createdate",
    "hs_createdate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
];

const CONTACTS: &[Property] = &[
    p("firstname", Text),
    p("lastname", Text),
    p("email", Text),
    p("phone", Text),
    p("mobilephone", Text),
    p("company", Text),
    p("jobtitle", Text),
    p("website", Text),
    p("address", Text),
    p("city", Text),
    p("state", Text),
    p("zip", Text),
    p("country", Text),
    p(
        "lifecyclestage",
        Options(&[
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other",
        ]),
    ),
    p(
        "hs_lead_status",
        Options(&[
            "NEW",
            "OPEN",
            "IN_PROGRESS",
            "OPEN_DEAL",
            "UNQUALIFIED",
            "ATTEMPTED_TO_CONTACT",
            "CONNECTED",
            "BAD_TIMING",
        ]),
    ),
    p("hubspot_owner_id", Owner),
    custom("preferred_language", Options(&["en", "fr", "de", "es"])),
];

const COMPANIES: &[Property] = &[
    p("name", Text),
    p("domain", Text),
    p("industry", Text),
    p("phone", Text),
    p("address", Text),
    p("city", Text),
    p("state", Text),
    p("zip", Text),
    p("country", Text),
    p("numberofemployees", Number),
    p("annualrevenue", Number),
    p("description", Text),
    p("website", Text),
    p("hubspot_owner_id", Owner),
    custom("account_tier", Text),
];

const DEALS: &[Property] = &[
    p("dealname", Text),
    p("amount", Number),
    p("dealstage", Text),
    p("pipeline", Text),
    p("closedate", DateTime),
    p("dealtype", Options(&["newbusiness", "existingbusiness"])),
    p("description", Text),
    p("hubspot_owner_id", Owner),
    custom("renewal_risk", Number),
];

const NOTES: &[Property] = &[
    p("hs_timestamp", DateTime),
    p("hs_note_body", Text),
    p("hubspot_owner_id", Owner),
];

const CALLS: &[Property] = &[
    p("hs_timestamp", DateTime),
    p("hs_call_title", Text),
    p("hs_call_body", Text),
    p("hs_call_direction", Options(&["INBOUND", "OUTBOUND"])),
    p("hs_call_duration", Number),
    p(
        "hs_call_status",
        Options(&[
            "BUSY",
            "CALLING_CRM_USER",
            "CANCELED",
            "COMPLETED",
            "CONNECTING",
            "FAILED",
            "IN_PROGRESS",
            "NO_ANSWER",
            "QUEUED",
            "RINGING",
        ]),
    ),
    p("hs_call_from_number", Text),
    p("hs_call_to_number", Text),
    p("hubspot_owner_id", Owner),
];

const MEETINGS: &[Property] = &[
    p("hs_timestamp", DateTime),
    p("hs_meeting_title", Text),
    p("hs_meeting_body", Text),
    p("hs_meeting_start_time", DateTime),
    p("hs_meeting_end_time", DateTime),
    p("hs_meeting_location", Text),
    p(
        "hs_meeting_outcome",
        Options(&[
            "SCHEDULED",
            "COMPLETED",
            "RESCHEDULED",
            "NO_SHOW",
            "CANCELED",
        ]),
    ),
    p("hubspot_owner_id", Owner),
];

const TASKS: &[Property] = &[
    p("hs_timestamp", DateTime),
    p("hs_task_subject", Text),
    p("hs_task_body", Text),
    p(
        "hs_task_status",
        Options(&[
            "NOT_STARTED",
            "IN_PROGRESS",
            "WAITING",
            "COMPLETED",
            "DEFERRED",
        ]),
    ),
    p("hs_task_priority", Options(&["LOW", "MEDIUM", "HIGH"])),
    p("hs_task_type", Options(&["CALL", "EMAIL", "TODO"])),
    p("hubspot_owner_id", Owner),
];

/// Logged emails (`docs/hubspot.md §7b`). Their content (subject, bodies, headers) is
/// redacted for a token without `sales-email-read` (`api/objects.rs`).
const EMAILS: &[Property] = &[
    p("hs_timestamp", DateTime),
    p("hs_email_subject", Text),
    p("hs_email_text", Text),
    p("hs_email_html", Text),
    p(
        "hs_email_direction",
        Options(&["EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"]),
    ),
    p(
        "hs_email_status",
        Options(&["BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"]),
    ),
    p("hs_email_headers", Text),
    p("hs_attachment_ids", Text),
    p("hubspot_owner_id", Owner),
];

/// The email properties whose values are the email's content (`docs/hubspot.md §5, §7b`).
pub const EMAIL_CONTENT: &[&str] = &[
    "hs_email_subject",
    "hs_email_text",
    "hs_email_html",
    "hs_email_headers",
];

impl ObjectType {
    pub const ALL: [ObjectType; 8] = [
        ObjectType::Contacts,
        ObjectType::Companies,
        ObjectType::Deals,
        ObjectType::Notes,
        ObjectType::Calls,
        ObjectType::Meetings,
        ObjectType::Tasks,
        ObjectType::Emails,
    ];

    /// Plural or singular name, or HubSpot's object type id (`0-1`), as paths accept them.
    pub fn parse(name: &str) -> Option<ObjectType> {
        let lower = name.to_ascii_lowercase();
        ObjectType::ALL
            .into_iter()
            .find(|t| lower == t.name() || lower == t.singular() || lower == t.type_id())
    }

    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contacts",
            ObjectType::Companies => "companies",
            ObjectType::Deals => "deals",
            ObjectType::Notes => "notes",
            ObjectType::Calls => "calls",
            ObjectType::Meetings => "meetings",
            ObjectType::Tasks => "tasks",
            ObjectType::Emails => "emails",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contact",
            ObjectType::Companies => "company",
            ObjectType::Deals => "deal",
            ObjectType::Notes => "note",
            ObjectType::Calls => "call",
            ObjectType::Meetings => "meeting",
            ObjectType::Tasks => "task",
            ObjectType::Emails => "email",
        }
    }

    /// HubSpot's object type id (`docs/hubspot.md §10`).
    pub fn type_id(self) -> &'static str {
        match self {
            ObjectType::Contacts => "0-1",
            ObjectType::Companies => "0-2",
            ObjectType::Deals => "0-3",
            ObjectType::Notes => "0-46",
            ObjectType::Calls => "0-48",
            ObjectType::Meetings => "0-47",
            ObjectType::Tasks => "0-27",
            ObjectType::Emails => "0-49",
        }
    }

    pub fn is_engagement(self) -> bool {
        matches!(
            self,
            ObjectType::Notes
                | ObjectType::Calls
                | ObjectType::Meetings
                | ObjectType::Tasks
                | ObjectType::Emails
        )
    }

    /// The writable properties.
    pub fn properties(self) -> &'static [Property] {
        match self {
            ObjectType::Contacts => CONTACTS,
            ObjectType::Companies => COMPANIES,
            ObjectType::Deals => DEALS,
            ObjectType::Notes => NOTES,
            ObjectType::Calls => CALLS,
            ObjectType::Meetings => MEETINGS,
            ObjectType::Tasks => TASKS,
            ObjectType::Emails => EMAILS,
        }
    }

    pub fn property(self, name: &str) -> Option<&'static Property> {
        self.properties().iter().find(|p| p.name == name)
    }

    /// Whether reads and filters know this name (writable or system).
    pub fn knows(self, name: &str) -> bool {
        SYSTEM.contains(&name) || self.property(name).is_some()
    }

    /// How a known property compares in search.
    pub fn kind(self, name: &str) -> Kind {
        match name {
            "hs_object_id" => Number,
            n if SYSTEM.contains(&n) => DateTime,
            n => self.property(n).map_or(Text, |p| p.kind),
        }
    }

    /// Properties a create must carry (`docs/hubspot.md §7`).
    pub fn required(self) -> &'static [&'static str] {
        match self {
            ObjectType::Deals => &["dealname", "dealstage"],
            t if t.is_engagement() => &["hs_timestamp"],
            _ => &[],
        }
    }

    /// Properties a read returns when none are named (`docs/hubspot.md §9`).
    pub fn default_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            ObjectType::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            ObjectType::Deals => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
            _ => &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
        }
    }

    /// The scope a read needs, and the one a write needs (`docs/hubspot.md §5`). Engagements
    /// use the contacts scopes; an email's content also needs [`EMAIL_CONTENT_SCOPE`], else it
    /// is redacted rather than refused.
    pub fn scopes(self) -> (&'static str, &'static str) {
        match self {
            ObjectType::Companies => ("crm.objects.companies.read", "crm.objects.companies.write"),
            ObjectType::Deals => ("crm.objects.deals.read", "crm.objects.deals.write"),
            _ => ("crm.objects.contacts.read", "crm.objects.contacts.write"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_singulars_and_type_ids_parse() {
        for t in ObjectType::ALL {
            assert_eq!(ObjectType::parse(t.name()), Some(t));
            assert_eq!(ObjectType::parse(t.singular()), Some(t));
            assert_eq!(ObjectType::parse(t.type_id()), Some(t));
            for d in t.default_properties() {
                assert!(t.knows(d), "{t:?} {d}");
            }
        }
        assert_eq!(ObjectType::parse("Contacts"), Some(ObjectType::Contacts));
        assert_eq!(ObjectType::parse("tickets"), None);
    }
}
