//! Salesforce record ids: the 15-character case-sensitive form, the 18-character form with its
//! case-restoring checksum, and the emulator's deterministic generator.
//!
//! Layout of a generated id: 3-character key prefix, 2-character "pod" (`5g`), one reserved `0`,
//! then a 9-character base-62 counter. The base-62 alphabet is in ASCII order, so ids of one org
//! sort in creation order, which keeps `ORDER BY Id` stable and cheap.

use std::fmt;

const CHECKSUM_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a string is not a Salesforce id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id has 15 or 18 characters, not {0}")]
    Length(usize),
    #[error("an id holds only ASCII letters and digits")]
    Character,
    #[error("the 18-character id's checksum does not match its first 15 characters")]
    Checksum,
}

/// A record id, stored in its canonical case-sensitive 15-character form.
///
/// `Display` prints the 18-character form that the REST API returns.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SfId([u8; 15]);

impl SfId {
    /// Parses a 15-character (case-sensitive) or 18-character (case-insensitive) id.
    ///
    /// An 18-character id's suffix records which of the first 15 characters are upper case, so
    /// the case of those characters is restored from it; a letter marked upper case that is not a
    /// letter, or a suffix character outside the checksum alphabet, is a [`IdError::Checksum`].
    pub fn parse(s: &str) -> Result<SfId, IdError> {
        let bytes = s.as_bytes();
        if bytes.len() != 15 && bytes.len() != 18 {
            return Err(IdError::Length(s.chars().count()));
        }
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(IdError::Character);
        }
        let mut id = [0u8; 15];
        id.copy_from_slice(&bytes[..15]);
        if bytes.len() == 15 {
            return Ok(SfId(id));
        }
        for (chunk, suffix) in bytes[15..].iter().enumerate() {
            let upper = suffix.to_ascii_uppercase();
            let bits = CHECKSUM_ALPHABET
                .iter()
                .position(|c| *c == upper)
                .ok_or(IdError::Checksum)?;
            for i in 0..5 {
                let c = &mut id[chunk * 5 + i];
                if bits & (1 << i) != 0 {
                    if !c.is_ascii_alphabetic() {
                        return Err(IdError::Checksum);
                    }
                    *c = c.to_ascii_uppercase();
                } else {
                    *c = c.to_ascii_lowercase();
                }
            }
        }
        Ok(SfId(id))
    }

    /// Builds an id from a key prefix and a counter value.
    fn from_parts(prefix: &[u8; 3], counter: u64) -> SfId {
        let mut id = *b"0005g0000000000";
        id[..3].copy_from_slice(prefix);
        let mut n = counter;
        for slot in id[6..].iter_mut().rev() {
            *slot = BASE62[(n % 62) as usize];
            n /= 62;
        }
        SfId(id)
    }

    /// The generator counter this id was built from (its last nine characters, base 62).
    pub(crate) fn counter(&self) -> u64 {
        self.0[6..].iter().fold(0u64, |n, c| {
            let digit = BASE62.iter().position(|b| b == c).unwrap_or(0) as u64;
            n.wrapping_mul(62).wrapping_add(digit)
        })
    }

    /// The 3-character key prefix that names the object type (`003` for Contact).
    pub fn key_prefix(&self) -> &str {
        self.as_str15().get(..3).unwrap_or_default()
    }

    /// The canonical 15-character form.
    pub fn as_str15(&self) -> &str {
        // Every constructor only admits ASCII alphanumerics.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The 18-character form with checksum.
    pub fn to_18(&self) -> String {
        let mut out = String::with_capacity(18);
        out.push_str(self.as_str15());
        for chunk in self.0.chunks(5) {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            out.push(char::from(CHECKSUM_ALPHABET[bits]));
        }
        out
    }
}

impl fmt::Display for SfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_18())
    }
}

impl fmt::Debug for SfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SfId({})", self.as_str15())
    }
}

impl std::str::FromStr for SfId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SfId::parse(s)
    }
}

/// Hands out ids for one org. The counter is shared by all object types, so two orgs built from
/// the same inputs produce the same ids.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    next: u64,
}

impl IdGenerator {
    /// Starts at `first`; distinct orgs in one process can start at distinct offsets.
    pub fn starting_at(first: u64) -> Self {
        IdGenerator { next: first }
    }

    /// The counter value the next id will carry.
    pub(crate) fn next_counter(&self) -> u64 {
        self.next
    }

    /// The next id with the given 3-character key prefix. Prefixes come from the schema table, so
    /// a prefix of the wrong length is a programming error; it is padded or cut rather than panic.
    pub fn next_id(&mut self, prefix: &str) -> SfId {
        let mut p = *b"000";
        for (slot, b) in p.iter_mut().zip(prefix.bytes()) {
            *slot = b;
        }
        let id = SfId::from_parts(&p, self.next);
        self.next = self.next.wrapping_add(1);
        id
    }
}

/// The id of an org (`00D`) derived from a number, e.g. a test's seed.
pub fn org_id(number: u64) -> SfId {
    SfId::from_parts(b"00D", number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_known_salesforce_ids() {
        // Pairs published in Salesforce documentation and examples.
        let known = [
            ("001D000000IqhSL", "001D000000IqhSLIAZ"),
            ("003RO0000035WQg", "003RO0000035WQgYAM"),
        ];
        for (short, long) in known {
            let id = SfId::parse(short).unwrap();
            assert_eq!(id.to_18(), long);
            assert_eq!(SfId::parse(long).unwrap(), id);
        }
    }

    #[test]
    fn eighteen_char_ids_are_case_insensitive() {
        let id = SfId::parse("001D000000IqhSLIAZ").unwrap();
        assert_eq!(SfId::parse("001d000000iqhsliaz").unwrap(), id);
        assert_eq!(SfId::parse("001D000000IQHSLIAZ").unwrap(), id);
        assert_eq!(id.as_str15(), "001D000000IqhSL");
    }

    #[test]
    fn fifteen_char_ids_are_case_sensitive() {
        let a = SfId::parse("001D000000IqhSL").unwrap();
        let b = SfId::parse("001d000000iqhsl").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert_eq!(SfId::parse(""), Err(IdError::Length(0)));
        assert_eq!(SfId::parse("001D000000IqhS"), Err(IdError::Length(14)));
        assert_eq!(SfId::parse("001D000000IqhSLIA"), Err(IdError::Length(17)));
        assert_eq!(SfId::parse("001D000000Iqh-L"), Err(IdError::Character));
        assert_eq!(SfId::parse("001D000000IqhSLIA!"), Err(IdError::Character));
        assert!(SfId::parse("001D000000IqhSé").is_err());
        // '9' is outside the checksum alphabet.
        assert_eq!(SfId::parse("001D000000IqhSLIA9"), Err(IdError::Checksum));
        // The suffix marks position 0 ('0') as upper case, which a digit cannot be.
        assert_eq!(SfId::parse("001D000000IqhSLBAZ"), Err(IdError::Checksum));
    }

    #[test]
    fn generator_is_deterministic_and_ordered() {
        let mut a = IdGenerator::starting_at(1);
        let mut b = IdGenerator::starting_at(1);
        let ids: Vec<SfId> = (0..200).map(|_| a.next_id("003")).collect();
        let again: Vec<SfId> = (0..200).map(|_| b.next_id("003")).collect();
        assert_eq!(ids, again);
        assert!(
            ids.windows(2)
                .all(|w| w[0] < w[1] && w[0].as_str15() < w[1].as_str15())
        );
        assert_eq!(ids[0].as_str15(), "0035g0000000001");
        assert_eq!(ids[0].key_prefix(), "003");
        for id in &ids {
            assert_eq!(SfId::parse(&id.to_18()).unwrap(), *id);
            assert_eq!(SfId::parse(&id.to_18().to_lowercase()).unwrap(), *id);
        }
    }

    #[test]
    fn org_ids_use_the_org_prefix() {
        let id = org_id(42);
        assert_eq!(id.key_prefix(), "00D");
        assert_eq!(id.to_string().len(), 18);
        assert_ne!(org_id(1), org_id(2));
    }
}
