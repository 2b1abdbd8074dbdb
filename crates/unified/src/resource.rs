//! The unified CRM resources and, per resource, the filters and sort fields the spec defines.

use serde::{Deserialize, Serialize};

/// A unified CRM resource (the path segment under `/crm/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// `/crm/contacts`
    Contacts,
    /// `/crm/companies`
    Companies,
    /// `/crm/leads`
    Leads,
    /// `/crm/opportunities`
    Opportunities,
    /// `/crm/activities`
    Activities,
    /// `/crm/notes`
    Notes,
    /// `/crm/users`
    Users,
    /// `/crm/pipelines`
    Pipelines,
}

impl Resource {
    /// Every resource, in the spec's order.
    pub const ALL: [Resource; 8] = [
        Self::Contacts,
        Self::Companies,
        Self::Leads,
        Self::Opportunities,
        Self::Activities,
        Self::Notes,
        Self::Users,
        Self::Pipelines,
    ];

    /// The name used in paths and in the envelope's `resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Companies => "companies",
            Self::Leads => "leads",
            Self::Opportunities => "opportunities",
            Self::Activities => "activities",
            Self::Notes => "notes",
            Self::Users => "users",
            Self::Pipelines => "pipelines",
        }
    }

    /// The resource named by a path segment.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The resource a caller most likely meant by an unknown name: a word other CRMs use for it
    /// (`deals`, `accounts`, `tasks`), else the nearest name by edit distance, ignoring case,
    /// when it is close enough to be a typo or a singular (`contact`, `Contacts`, `compnies`).
    /// `None` when nothing is close: a wild guess would mislead more than it helps.
    pub fn suggest(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name.len() > 64 {
            return None;
        }
        let synonym = match name.as_str() {
            "deal" | "deals" => Some(Self::Opportunities),
            "account" | "accounts" | "organization" | "organizations" => Some(Self::Companies),
            "task" | "tasks" | "event" | "events" | "call" | "calls" | "meeting" | "meetings" => {
                Some(Self::Activities)
            }
            "person" | "persons" | "people" => Some(Self::Contacts),
            "owner" | "owners" => Some(Self::Users),
            "stage" | "stages" => Some(Self::Pipelines),
            _ => None,
        };
        if synonym.is_some() {
            return synonym;
        }
        Self::ALL
            .into_iter()
            .map(|r| (edit_distance(&name, r.as_str()), r))
            // A third of the name may differ: enough for `company` → `companies` (3 of 9),
            // not for `lists` → `leads`.
            .filter(|(d, r)| *d <= (r.as_str().len() / 3).max(1))
            .min_by_key(|(d, _)| *d)
            .map(|(_, r)| r)
    }

    /// The `filter[...]` keys the spec defines for this resource (`*Filter` schemas in crm.yml).
    pub fn filter_fields(self) -> &'static [FilterField] {
        use FilterField as F;
        match self {
            Self::Contacts => &[
                F::Name,
                F::FirstName,
                F::LastName,
                F::Email,
                F::PhoneNumber,
                F::CompanyId,
                F::OwnerId,
                F::UpdatedSince,
                F::CreatedSince,
            ],
            Self::Companies => &[F::Name, F::UpdatedSince, F::CreatedSince],
            Self::Leads => &[F::Name, F::FirstName, F::LastName, F::Email, F::PhoneNumber],
            Self::Opportunities => &[
                F::Title,
                F::Status,
                F::MonetaryAmount,
                F::WinProbability,
                F::CompanyId,
                F::OwnerId,
                F::PrimaryContactId,
            ],
            Self::Activities => &[
                F::CompanyId,
                F::OwnerId,
                F::ContactId,
                F::UpdatedSince,
                F::Type,
            ],
            Self::Notes => &[F::Title, F::OwnerId, F::UpdatedSince, F::CreatedSince],
            Self::Users => &[F::Email, F::Name],
            Self::Pipelines => &[],
        }
    }

    /// The `sort[by]` values the spec defines for this resource (`*Sort` schemas in crm.yml).
    pub fn sort_fields(self) -> &'static [SortField] {
        use SortField as S;
        match self {
            Self::Contacts | Self::Leads => &[
                S::CreatedAt,
                S::UpdatedAt,
                S::Name,
                S::FirstName,
                S::LastName,
                S::Email,
            ],
            Self::Companies => &[S::CreatedAt, S::UpdatedAt, S::Name],
            Self::Opportunities => &[
                S::CreatedAt,
                S::UpdatedAt,
                S::Title,
                S::WinProbability,
                S::MonetaryAmount,
                S::Status,
            ],
            Self::Activities => &[S::CreatedAt, S::UpdatedAt],
            Self::Notes | Self::Users | Self::Pipelines => &[],
        }
    }
}

/// How a filter's value is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// Free text.
    Text,
    /// An identifier of a record.
    Id,
    /// A number.
    Number,
    /// An ISO-8601 date-time.
    DateTime,
}

/// A `filter[...]` key from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterField {
    /// `name`
    Name,
    /// `first_name`
    FirstName,
    /// `last_name`
    LastName,
    /// `email`
    Email,
    /// `phone_number`
    PhoneNumber,
    /// `company_id`
    CompanyId,
    /// `owner_id`
    OwnerId,
    /// `contact_id`
    ContactId,
    /// `primary_contact_id`
    PrimaryContactId,
    /// `title`
    Title,
    /// `status`
    Status,
    /// `monetary_amount`
    MonetaryAmount,
    /// `win_probability`
    WinProbability,
    /// `type`
    Type,
    /// `updated_since`
    UpdatedSince,
    /// `created_since`
    CreatedSince,
}

impl FilterField {
    const ALL: [FilterField; 16] = [
        Self::Name,
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::PhoneNumber,
        Self::CompanyId,
        Self::OwnerId,
        Self::ContactId,
        Self::PrimaryContactId,
        Self::Title,
        Self::Status,
        Self::MonetaryAmount,
        Self::WinProbability,
        Self::Type,
        Self::UpdatedSince,
        Self::CreatedSince,
    ];

    /// The key inside `filter[...]`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::PhoneNumber => "phone_number",
            Self::CompanyId => "company_id",
            Self::OwnerId => "owner_id",
            Self::ContactId => "contact_id",
            Self::PrimaryContactId => "primary_contact_id",
            Self::Title => "title",
            Self::Status => "status",
            Self::MonetaryAmount => "monetary_amount",
            Self::WinProbability => "win_probability",
            Self::Type => "type",
            Self::UpdatedSince => "updated_since",
            Self::CreatedSince => "created_since",
        }
    }

    /// The filter named by a `filter[...]` key, whatever the resource.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// How the value is parsed.
    pub fn kind(self) -> FilterKind {
        match self {
            Self::CompanyId | Self::OwnerId | Self::ContactId | Self::PrimaryContactId => {
                FilterKind::Id
            }
            Self::MonetaryAmount | Self::WinProbability => FilterKind::Number,
            Self::UpdatedSince | Self::CreatedSince => FilterKind::DateTime,
            Self::Name
            | Self::FirstName
            | Self::LastName
            | Self::Email
            | Self::PhoneNumber
            | Self::Title
            | Self::Status
            | Self::Type => FilterKind::Text,
        }
    }
}

/// A `sort[by]` value from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SortField {
    /// `created_at`
    CreatedAt,
    /// `updated_at`
    UpdatedAt,
    /// `name`
    Name,
    /// `first_name`
    FirstName,
    /// `last_name`
    LastName,
    /// `email`
    Email,
    /// `title`
    Title,
    /// `win_probability`
    WinProbability,
    /// `monetary_amount`
    MonetaryAmount,
    /// `status`
    Status,
}

impl SortField {
    const ALL: [SortField; 10] = [
        Self::CreatedAt,
        Self::UpdatedAt,
        Self::Name,
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::Title,
        Self::WinProbability,
        Self::MonetaryAmount,
        Self::Status,
    ];

    /// The `sort[by]` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Name => "name",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::Title => "title",
            Self::WinProbability => "win_probability",
            Self::MonetaryAmount => "monetary_amount",
            Self::Status => "status",
        }
    }

    /// The sort field named by a `sort[by]` value, whatever the resource.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// `sort[direction]`; the spec's default is ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// `asc`
    #[default]
    Asc,
    /// `desc`
    Desc,
}

impl SortDirection {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// Levenshtein distance over bytes (resource names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("contact", "contacts"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "notes"), 5);
        assert_eq!(edit_distance("users", "users"), 0);
    }

    #[test]
    fn unknown_names_suggest_the_resource_meant() {
        let suggest = |s: &str| Resource::suggest(s).map(Resource::as_str);
        assert_eq!(suggest("contact"), Some("contacts"));
        assert_eq!(suggest("Contacts"), Some("contacts"));
        assert_eq!(suggest("compnies"), Some("companies"));
        assert_eq!(suggest("company"), Some("companies"));
        assert_eq!(suggest("opportunity"), Some("opportunities"));
        assert_eq!(suggest("lead"), Some("leads"));
        assert_eq!(suggest("note"), Some("notes"));
        assert_eq!(suggest("user"), Some("users"));
        assert_eq!(suggest("pipeline"), Some("pipelines"));
        assert_eq!(suggest("activity"), Some("activities"));
        assert_eq!(suggest("deals"), Some("opportunities"));
        assert_eq!(suggest("accounts"), Some("companies"));
        assert_eq!(suggest("tasks"), Some("activities"));
        assert_eq!(suggest("people"), Some("contacts"));
        // Nothing close: no guess.
        assert_eq!(suggest("invoices"), None);
        assert_eq!(suggest("lists"), None);
        assert_eq!(suggest(""), None);
        assert_eq!(suggest(&"x".repeat(500)), None);
    }

    #[test]
    fn names_round_trip() {
        for r in Resource::ALL {
            assert_eq!(Resource::parse(r.as_str()), Some(r));
        }
        for f in FilterField::ALL {
            assert_eq!(FilterField::parse(f.as_str()), Some(f));
        }
        for s in SortField::ALL {
            assert_eq!(SortField::parse(s.as_str()), Some(s));
        }
        assert_eq!(Resource::parse("lists"), None);
    }

    #[test]
    fn spec_lists_match_the_summary() {
        let names =
            |r: Resource| -> Vec<&str> { r.filter_fields().iter().map(|f| f.as_str()).collect() };
        assert_eq!(
            names(Resource::Contacts),
            [
                "name",
                "first_name",
                "last_name",
                "email",
                "phone_number",
                "company_id",
                "owner_id",
                "updated_since",
                "created_since"
            ]
        );
        assert_eq!(names(Resource::Users), ["email", "name"]);
        assert!(Resource::Pipelines.filter_fields().is_empty());
        assert!(Resource::Notes.sort_fields().is_empty());
        assert_eq!(Resource::Opportunities.sort_fields().len(), 6);
    }
}
