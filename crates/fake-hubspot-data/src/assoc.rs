//! HubSpot-defined association types between the emulated objects (`docs/hubspot.md §10`).
//! Each pair has a default (unlabeled) type id per direction; contact→company and
//! deal→company also have a "primary" type.

use crate::schema::ObjectType;
use ObjectType::{Calls, Companies, Contacts, Deals, Emails, Meetings, Notes, Tasks};

/// `(from, to, default type id, label-less name)`; the reverse direction is its own row.
const DEFAULTS: &[(ObjectType, ObjectType, u32)] = &[
    (Contacts, Companies, 279),
    (Companies, Contacts, 280),
    (Deals, Contacts, 3),
    (Contacts, Deals, 4),
    (Deals, Companies, 341),
    (Companies, Deals, 342),
    (Notes, Contacts, 202),
    (Contacts, Notes, 201),
    (Notes, Companies, 190),
    (Companies, Notes, 189),
    (Notes, Deals, 214),
    (Deals, Notes, 213),
    (Calls, Contacts, 194),
    (Contacts, Calls, 193),
    (Calls, Companies, 182),
    (Companies, Calls, 181),
    (Calls, Deals, 206),
    (Deals, Calls, 205),
    (Meetings, Contacts, 200),
    (Contacts, Meetings, 199),
    (Meetings, Companies, 188),
    (Companies, Meetings, 187),
    (Meetings, Deals, 212),
    (Deals, Meetings, 211),
    (Tasks, Contacts, 204),
    (Contacts, Tasks, 203),
    (Tasks, Companies, 192),
    (Companies, Tasks, 191),
    (Tasks, Deals, 216),
    (Deals, Tasks, 215),
    (Emails, Contacts, 198),
    (Contacts, Emails, 197),
    (Emails, Companies, 186),
    (Companies, Emails, 185),
    (Emails, Deals, 210),
    (Deals, Emails, 209),
];

/// `(from, to, primary type id)`; the reverse of each is listed too.
const PRIMARY: &[(ObjectType, ObjectType, u32)] = &[
    (Contacts, Companies, 1),
    (Companies, Contacts, 2),
    (Deals, Companies, 5),
    (Companies, Deals, 6),
];

/// The unlabeled type from `from` to `to`, if the pair can be associated.
pub fn default_type(from: ObjectType, to: ObjectType) -> Option<u32> {
    DEFAULTS
        .iter()
        .find(|(f, t, _)| *f == from && *t == to)
        .map(|(_, _, id)| *id)
}

/// Whether `type_id` is a HubSpot-defined type from `from` to `to`.
pub fn is_valid(from: ObjectType, to: ObjectType, type_id: u32) -> bool {
    default_type(from, to) == Some(type_id)
        || PRIMARY
            .iter()
            .any(|(f, t, id)| *f == from && *t == to && *id == type_id)
}

/// The type that describes the same link seen from the other end.
pub fn reverse(from: ObjectType, to: ObjectType, type_id: u32) -> Option<u32> {
    if default_type(from, to) == Some(type_id) {
        return default_type(to, from);
    }
    PRIMARY
        .iter()
        .find(|(f, t, id)| *f == from && *t == to && *id == type_id)
        .and_then(|_| {
            PRIMARY
                .iter()
                .find(|(f, t, _)| *f == to && *t == from)
                .map(|(_, _, id)| *id)
        })
}

/// The label of a type: `null` for unlabeled ones, `Primary` for the primary ones.
pub fn label(from: ObjectType, to: ObjectType, type_id: u32) -> Option<&'static str> {
    PRIMARY
        .iter()
        .any(|(f, t, id)| *f == from && *t == to && *id == type_id)
        .then_some("Primary")
}

/// v3's association `type` name, e.g. `contact_to_company`.
pub fn v3_name(from: ObjectType, to: ObjectType) -> String {
    format!("{}_to_{}", from.singular(), to.singular())
}

/// The object a HubSpot-defined type from `from` leads to (a create's `associations` name only
/// the type and the target id).
pub fn target_of(from: ObjectType, type_id: u32) -> Option<ObjectType> {
    DEFAULTS
        .iter()
        .chain(PRIMARY)
        .find(|(f, _, id)| *f == from && *id == type_id)
        .map(|(_, t, _)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_has_a_reverse_that_leads_back() {
        for (from, to, id) in DEFAULTS {
            let back = reverse(*from, *to, *id).expect("reverse");
            assert_eq!(reverse(*to, *from, back), Some(*id));
        }
        assert_eq!(reverse(Contacts, Companies, 1), Some(2));
        assert_eq!(label(Deals, Companies, 5), Some("Primary"));
        assert!(!is_valid(Contacts, Companies, 3));
        assert_eq!(default_type(Notes, Calls), None);
    }
}
