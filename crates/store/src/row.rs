//! Typed column access on `AnyRow`. Ids are re-validated when read, so a corrupt row becomes a
//! `StoreError::Corrupt`, never a panic or an unchecked id.

use std::str::FromStr;

use patchbay_core::Health;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;
use crate::sealed::Sealed;

pub(crate) trait RowExt {
    fn text(&self, col: &'static str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &'static str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &'static str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &'static str) -> Result<Option<i64>, StoreError>;
    fn float(&self, col: &'static str) -> Result<f64, StoreError>;
    fn flag(&self, col: &'static str) -> Result<bool, StoreError>;
    fn blob(&self, col: &'static str) -> Result<Vec<u8>, StoreError>;
    fn sealed(&self, col: &'static str) -> Result<Option<Sealed>, StoreError>;
    fn id<T: FromStr>(&self, col: &'static str) -> Result<T, StoreError>;
    fn health(&self, col: &'static str) -> Result<Health, StoreError>;
}

impl RowExt for AnyRow {
    fn text(&self, col: &'static str) -> Result<String, StoreError> {
        Ok(self.try_get::<String, _>(col)?)
    }

    fn opt_text(&self, col: &'static str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get::<Option<String>, _>(col)?)
    }

    fn int(&self, col: &'static str) -> Result<i64, StoreError> {
        Ok(self.try_get::<i64, _>(col)?)
    }

    fn opt_int(&self, col: &'static str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }

    fn float(&self, col: &'static str) -> Result<f64, StoreError> {
        Ok(self.try_get::<f64, _>(col)?)
    }

    fn flag(&self, col: &'static str) -> Result<bool, StoreError> {
        Ok(self.int(col)? != 0)
    }

    fn blob(&self, col: &'static str) -> Result<Vec<u8>, StoreError> {
        Ok(self.try_get::<Vec<u8>, _>(col)?)
    }

    fn sealed(&self, col: &'static str) -> Result<Option<Sealed>, StoreError> {
        Ok(self.try_get::<Option<Vec<u8>>, _>(col)?.map(Sealed::from))
    }

    fn id<T: FromStr>(&self, col: &'static str) -> Result<T, StoreError> {
        self.text(col)?
            .parse()
            .map_err(|_| StoreError::Corrupt { column: col })
    }

    fn health(&self, col: &'static str) -> Result<Health, StoreError> {
        Health::parse(&self.text(col)?).ok_or(StoreError::Corrupt { column: col })
    }
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds `$N` placeholders for dynamic WHERE clauses; the caller binds in the same order.
#[derive(Debug, Default)]
pub(crate) struct Placeholders(usize);

impl Placeholders {
    pub(crate) fn starting_after(n: usize) -> Self {
        Self(n)
    }

    pub(crate) fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

/// Clamps a page size to the API's 1..=200.
pub(crate) fn page_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_escape_escapes_wildcards() {
        assert_eq!(like_escape("a%b_c\\d"), "a\\%b\\_c\\\\d");
        assert_eq!(like_escape("plain"), "plain");
    }

    #[test]
    fn placeholders_count_up() {
        let mut p = Placeholders::starting_after(2);
        assert_eq!(p.next(), "$3");
        assert_eq!(p.next(), "$4");
    }

    #[test]
    fn limits_are_clamped() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(20), 20);
        assert_eq!(page_limit(10_000), 200);
    }
}
