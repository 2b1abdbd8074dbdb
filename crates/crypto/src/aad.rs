//! Associated data that binds a sealed value to the place it is stored.

/// Where a sealed value lives. Opening it anywhere else fails, so a ciphertext copied into
/// another application's row, another row or another column is useless (docs/security.md T-SR-02).
///
/// Use the same strings on write and read: for example `app_id` and `row_id` as the
/// hyphenated UUID, `table` and `column` as the SQL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    pub app_id: &'a str,
    pub table: &'a str,
    pub row_id: &'a str,
    pub column: &'a str,
}

/// Separates our AAD from any other use of the same key.
const DOMAIN: &[u8] = b"patchbay.seal";

impl<'a> Aad<'a> {
    #[must_use]
    pub fn new(app_id: &'a str, table: &'a str, row_id: &'a str, column: &'a str) -> Self {
        Self {
            app_id,
            table,
            row_id,
            column,
        }
    }

    /// Canonical bytes given to AES-GCM: the domain, the envelope version, then each field
    /// with an 8-byte big-endian length prefix. The length prefixes make the encoding
    /// injective: `("ab", "c")` and `("a", "bc")` encode differently. The key id is included
    /// so an envelope cannot be relabelled to another key.
    pub(crate) fn encode(&self, version: u8, key_id: &str) -> Vec<u8> {
        let fields = [key_id, self.app_id, self.table, self.row_id, self.column];
        let len: usize = fields.iter().map(|f| f.len() + 8).sum();
        let mut out = Vec::with_capacity(DOMAIN.len() + 1 + len);
        out.extend_from_slice(DOMAIN);
        out.push(version);
        for field in fields {
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_bytes_between_fields_changes_the_encoding() {
        let a = Aad::new("ab", "c", "r", "col").encode(1, "k");
        let b = Aad::new("a", "bc", "r", "col").encode(1, "k");
        let c = Aad::new("a", "b", "cr", "col").encode(1, "k");
        assert_ne!(a, b);
        assert_ne!(b, c);
        assert_ne!(a, Aad::new("ab", "c", "r", "col").encode(1, "k2"));
        assert_ne!(a, Aad::new("ab", "c", "r", "col").encode(2, "k"));
    }
}
