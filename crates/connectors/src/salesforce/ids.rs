//! Salesforce record ids: shape check and key-prefix classification.

/// A Salesforce id is 15 (case-sensitive) or 18 (case-insensitive) ASCII letters and digits.
/// Checking this keeps ids out of URL paths and queries unless they could be real.
pub fn is_valid_id(s: &str) -> bool {
    matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Custom fields end in `__c` (docs/salesforce.md §10.2 `INVALID_FIELD` text).
pub fn is_custom_field(name: &str) -> bool {
    name.len() > 3 && name.ends_with("__c") && crate::write::is_field_name(name)
}

/// The standard object an id belongs to, from its three-character key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// `001`
    Account,
    /// `003`
    Contact,
    /// `00Q`
    Lead,
    /// `006`
    Opportunity,
    /// `00U`
    Event,
    /// `00T`
    Task,
    /// `002`
    Note,
    /// `005`
    User,
    /// Anything else (custom objects, cases, campaigns...).
    Other,
}

/// Classifies an id by its key prefix. Prefixes are case-sensitive.
pub fn kind_of(id: &str) -> IdKind {
    match id.get(..3) {
        Some("001") => IdKind::Account,
        Some("003") => IdKind::Contact,
        Some("00Q") => IdKind::Lead,
        Some("006") => IdKind::Opportunity,
        Some("00U") => IdKind::Event,
        Some("00T") => IdKind::Task,
        Some("002") => IdKind::Note,
        Some("005") => IdKind::User,
        _ => IdKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_valid_id("003000000000001"));
        assert!(is_valid_id("003000000000001AAA"));
        for bad in [
            "",
            "003",
            "0030000000000010",
            "003000000000001AA'",
            "003000000000001 AA",
            "00300000000000é",
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        assert!(is_custom_field("Level__c"));
        for bad in ["__c", "Level", "Le vel__c", "Account.Level__c", "x__C"] {
            assert!(!is_custom_field(bad), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(kind_of("00Q000000000001"), IdKind::Lead);
        assert_eq!(kind_of("00q000000000001"), IdKind::Other);
        assert_eq!(kind_of("00T000000000001"), IdKind::Task);
        assert_eq!(kind_of("a0B000000000001"), IdKind::Other);
        assert_eq!(kind_of("0"), IdKind::Other);
    }
}
