//! The event types Patchbay emits (docs/apideck.md §2.1, `VaultEventType` in vault.yml and
//! the CRM events of crm.yml's `x-webhooks`), and a subscription's list of them.

use std::fmt;

/// A CRM resource that has change events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrmObject {
    Contact,
    Company,
    Lead,
    Opportunity,
    Activity,
    Note,
}

impl CrmObject {
    pub const ALL: [CrmObject; 6] = [
        CrmObject::Contact,
        CrmObject::Company,
        CrmObject::Lead,
        CrmObject::Opportunity,
        CrmObject::Activity,
        CrmObject::Note,
    ];

    /// The singular used in event names (`crm.contact.created`).
    pub fn as_str(self) -> &'static str {
        match self {
            CrmObject::Contact => "contact",
            CrmObject::Company => "company",
            CrmObject::Lead => "lead",
            CrmObject::Opportunity => "opportunity",
            CrmObject::Activity => "activity",
            CrmObject::Note => "note",
        }
    }

    /// The unified resource path segment (`/crm/contacts/{id}`).
    pub fn resource(self) -> &'static str {
        match self {
            CrmObject::Contact => "contacts",
            CrmObject::Company => "companies",
            CrmObject::Lead => "leads",
            CrmObject::Opportunity => "opportunities",
            CrmObject::Activity => "activities",
            CrmObject::Note => "notes",
        }
    }

    /// The payload's `entity_type` (spec examples: `Company`, `Contact`).
    pub fn entity_type(self) -> &'static str {
        match self {
            CrmObject::Contact => "Contact",
            CrmObject::Company => "Company",
            CrmObject::Lead => "Lead",
            CrmObject::Opportunity => "Opportunity",
            CrmObject::Activity => "Activity",
            CrmObject::Note => "Note",
        }
    }

    pub fn from_resource(resource: &str) -> Option<CrmObject> {
        CrmObject::ALL
            .into_iter()
            .find(|o| o.resource() == resource)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrmOperation {
    Created,
    Updated,
    Deleted,
}

impl CrmOperation {
    pub const ALL: [CrmOperation; 3] = [
        CrmOperation::Created,
        CrmOperation::Updated,
        CrmOperation::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CrmOperation::Created => "created",
            CrmOperation::Updated => "updated",
            CrmOperation::Deleted => "deleted",
        }
    }
}

/// One event type. `Validation` is the signed event sent to a delivery URL on create and
/// update; it is never subscribed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    ConnectionCreated,
    ConnectionUpdated,
    ConnectionCallable,
    ConnectionDisabled,
    ConnectionDeleted,
    ConnectionRevoked,
    TokenRefreshPending,
    TokenRefreshRecovered,
    TokenRefreshFailed,
    DownstreamDegraded,
    DownstreamRecovered,
    Crm(CrmObject, CrmOperation),
    Validation,
}

const VAULT: [(EventType, &str); 11] = [
    (EventType::ConnectionCreated, "vault.connection.created"),
    (EventType::ConnectionUpdated, "vault.connection.updated"),
    (EventType::ConnectionCallable, "vault.connection.callable"),
    (EventType::ConnectionDisabled, "vault.connection.disabled"),
    (EventType::ConnectionDeleted, "vault.connection.deleted"),
    (EventType::ConnectionRevoked, "vault.connection.revoked"),
    (
        EventType::TokenRefreshPending,
        "vault.connection.token_refresh.pending",
    ),
    (
        EventType::TokenRefreshRecovered,
        "vault.connection.token_refresh.recovered",
    ),
    (
        EventType::TokenRefreshFailed,
        "vault.connection.token_refresh.failed",
    ),
    (
        EventType::DownstreamDegraded,
        "vault.connection.downstream.degraded",
    ),
    (
        EventType::DownstreamRecovered,
        "vault.connection.downstream.recovered",
    ),
];

const VALIDATION: &str = "webhook.validation";

impl EventType {
    /// Every subscribable event type.
    pub fn all() -> Vec<EventType> {
        let mut out: Vec<EventType> = VAULT.iter().map(|(e, _)| *e).collect();
        for object in CrmObject::ALL {
            for op in CrmOperation::ALL {
                out.push(EventType::Crm(object, op));
            }
        }
        out
    }

    pub fn name(self) -> String {
        match self {
            EventType::Crm(object, op) => format!("crm.{}.{}", object.as_str(), op.as_str()),
            EventType::Validation => VALIDATION.to_owned(),
            vault => VAULT
                .iter()
                .find(|(e, _)| *e == vault)
                .map_or_else(String::new, |(_, n)| (*n).to_owned()),
        }
    }

    /// Parses a subscribable name; `webhook.validation` and unknown names are `None`.
    pub fn parse(name: &str) -> Option<EventType> {
        if let Some((e, _)) = VAULT.iter().find(|(_, n)| *n == name) {
            return Some(*e);
        }
        let rest = name.strip_prefix("crm.")?;
        let (object, op) = rest.split_once('.')?;
        let object = CrmObject::ALL.into_iter().find(|o| o.as_str() == object)?;
        let op = CrmOperation::ALL.into_iter().find(|o| o.as_str() == op)?;
        Some(EventType::Crm(object, op))
    }

    /// `vault` or `crm`: the unified API the event belongs to.
    pub fn unified_api(self) -> &'static str {
        match self {
            EventType::Crm(..) => "crm",
            _ => "vault",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("events must name at least one event type (or \"*\" for all)")]
    Empty,
    #[error("events: unknown event type {0:?}")]
    Unknown(String),
    #[error("events: at most {0} entries")]
    TooMany(usize),
}

/// A subscription's validated event list: `*` (everything) or distinct known names, in the
/// order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribedEvents(Vec<String>);

impl SubscribedEvents {
    const MAX: usize = 64;

    pub fn parse(names: &[String]) -> Result<Self, SubscriptionError> {
        if names.is_empty() {
            return Err(SubscriptionError::Empty);
        }
        if names.len() > Self::MAX {
            return Err(SubscriptionError::TooMany(Self::MAX));
        }
        let mut out: Vec<String> = Vec::new();
        for name in names {
            if name != "*" && EventType::parse(name).is_none() {
                let shown: String = name.chars().take(80).collect();
                return Err(SubscriptionError::Unknown(shown));
            }
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        Ok(Self(out))
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn matches(&self, event: EventType) -> bool {
        let name = event.name();
        self.0.iter().any(|n| n == "*" || *n == name)
    }

    /// The CRM objects the list asks for, which are the only ones the poller reads.
    pub fn crm_objects(&self) -> Vec<CrmObject> {
        CrmObject::ALL
            .into_iter()
            .filter(|o| {
                CrmOperation::ALL
                    .into_iter()
                    .any(|op| self.matches(EventType::Crm(*o, op)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_round_trips_and_there_are_eleven_vault_and_eighteen_crm_events() {
        let all = EventType::all();
        assert_eq!(all.len(), 11 + 18);
        for e in all {
            assert_eq!(EventType::parse(&e.name()), Some(e), "{e}");
        }
        assert_eq!(
            EventType::Crm(CrmObject::Opportunity, CrmOperation::Deleted).name(),
            "crm.opportunity.deleted"
        );
        assert_eq!(EventType::parse("webhook.validation"), None);
        assert_eq!(EventType::parse("crm.contact"), None);
        assert_eq!(EventType::parse("crm.invoice.created"), None);
    }

    #[test]
    fn subscriptions_accept_known_names_and_star_only() {
        let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let s = SubscribedEvents::parse(&list(&[
            "vault.connection.created",
            "crm.lead.updated",
            "vault.connection.created",
        ]))
        .unwrap();
        assert_eq!(s.names().len(), 2);
        assert!(s.matches(EventType::ConnectionCreated));
        assert!(!s.matches(EventType::ConnectionUpdated));
        assert_eq!(s.crm_objects(), vec![CrmObject::Lead]);
        let star = SubscribedEvents::parse(&list(&["*"])).unwrap();
        assert!(star.matches(EventType::DownstreamRecovered));
        assert_eq!(star.crm_objects().len(), 6);
        assert_eq!(
            SubscribedEvents::parse(&[]).unwrap_err(),
            SubscriptionError::Empty
        );
        assert!(matches!(
            SubscribedEvents::parse(&list(&["vault.connection.exploded"])),
            Err(SubscriptionError::Unknown(_))
        ));
    }
}
