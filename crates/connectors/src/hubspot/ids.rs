//! HubSpot record ids, and the typed ids Patchbay gives activities.
//!
//! HubSpot ids are numeric strings (docs/hubspot.md §7), unique per object type only: a call and
//! a meeting may share `42`. A unified activity spans calls, meetings, tasks and emails, so its
//! id names the object: `call-42`, `meeting-42`, `task-42`, `email-42`.

/// Longest id accepted (HubSpot ids are 64-bit numbers).
const MAX_ID_LEN: usize = 20;

/// A HubSpot record or owner id: 1 to 20 ASCII digits.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

/// Properties every record carries that no table maps (docs/hubspot.md §7).
const SYSTEM_PROPERTIES: [&str; 6] = [
    "hs_object_id",
    "createdate",
    "hs_createdate",
    "lastmodifieddate",
    "hs_lastmodifieddate",
    "lifecyclestage",
];

/// A property surfaced in (and written from) `custom_fields`: any property name outside the
/// mapping tables, HubSpot's record keys and its system properties. HubSpot reserves the `hs_`
/// prefix for its own properties (docs/hubspot.md §7a), so those never count. Lists ask only
/// for the account's custom properties (from the properties API) and custom-mapping targets,
/// so a property here is one of those.
pub fn is_custom_field(name: &str) -> bool {
    is_property_name(name)
        && !name.starts_with("hs_")
        && !SYSTEM_PROPERTIES.contains(&name)
        && !super::tables::RECORD_KEYS.contains(&name)
        && !super::tables::ALL.iter().any(|m| maps(m, name))
}

/// Whether a table reads `name` (as `ObjectMap::read_fields` lists them, without building the
/// list: this runs for every property of every record read).
fn maps(m: &crate::table::ObjectMap, name: &str) -> bool {
    m.fields.iter().any(|f| f.remote == name)
        || m.emails.iter().any(|s| s.remote == name)
        || m.phones.iter().any(|s| s.remote == name)
        || m.websites.iter().any(|s| s.remote == name)
        || m.addresses
            .iter()
            .any(|a| [a.street, a.city, a.state, a.postal_code, a.country].contains(&name))
        || m.quirk_fields.contains(&name)
}

/// A HubSpot property name: lowercase letters, digits and `_`, starting with a letter, at most
/// 100 bytes. Only such names reach a `properties` list.
pub fn is_property_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    s.len() <= 100
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The engagement object an activity id or `type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engagement {
    /// `calls`
    Call,
    /// `meetings`
    Meeting,
    /// `tasks`
    Task,
    /// `emails` (logged emails, docs/hubspot.md §7b)
    Email,
}

impl Engagement {
    /// Every engagement object behind unified activities, in the order an unsorted merged list
    /// reads them (emails last: they came last).
    pub const ALL: [Engagement; 4] = [Self::Call, Self::Meeting, Self::Task, Self::Email];

    /// The prefix of a unified activity id, and the unified activity `type`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Meeting => "meeting",
            Self::Task => "task",
            Self::Email => "email",
        }
    }

    /// The HubSpot object type.
    pub fn object(self) -> &'static str {
        match self {
            Self::Call => "calls",
            Self::Meeting => "meetings",
            Self::Task => "tasks",
            Self::Email => "emails",
        }
    }

    /// The engagement of an object type name.
    pub fn of_object(object: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.object() == object)
    }

    /// `call-42` for the call with HubSpot id `42`.
    pub fn unified_id(self, id: &str) -> String {
        format!("{}-{id}", self.prefix())
    }
}

/// Splits a unified activity id into its object and HubSpot id; `None` if it is not one.
pub fn parse_activity_id(id: &str) -> Option<(Engagement, &str)> {
    let (prefix, rest) = id.split_once('-')?;
    let engagement = Engagement::ALL.into_iter().find(|e| e.prefix() == prefix)?;
    is_valid_id(rest).then_some((engagement, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits_only() {
        for good in ["1", "512", "12345678901234567890"] {
            assert!(is_valid_id(good), "{good}");
        }
        for bad in ["", "12a", "-1", "1 ", "123456789012345678901", "../1", "１"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn custom_fields_are_the_names_no_table_maps() {
        for map in super::super::tables::ALL {
            for f in map.read_fields() {
                assert!(maps(map, f), "{} {f}", map.object);
                assert!(!is_custom_field(f), "{f}");
            }
        }
        for custom in ["preferred_language", "account_tier", "x1"] {
            assert!(is_custom_field(custom), "{custom}");
        }
        for not in [
            "hs_custom",
            "id",
            "archived",
            "createdAt",
            "lastmodifieddate",
            "lifecyclestage",
            "Bad Name",
            "",
        ] {
            assert!(!is_custom_field(not), "{not}");
        }
    }

    #[test]
    fn activity_ids_name_their_object() {
        assert_eq!(parse_activity_id("call-42"), Some((Engagement::Call, "42")));
        assert_eq!(
            parse_activity_id("meeting-7"),
            Some((Engagement::Meeting, "7"))
        );
        assert_eq!(Engagement::Task.unified_id("9"), "task-9");
        assert_eq!(parse_activity_id("email-5"), Some((Engagement::Email, "5")));
        assert_eq!(Engagement::Email.object(), "emails");
        for bad in [
            "42", "call-", "call-4x", "email-", "emails-1", "call-1-2", "note-3", "-1",
        ] {
            assert_eq!(parse_activity_id(bad), None, "{bad}");
        }
    }
}
