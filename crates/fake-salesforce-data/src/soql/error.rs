//! SOQL errors in Salesforce's multi-line shape: the echoed query line, a caret under the
//! column, `ERROR at Row:R:Column:C`, then the reason.

use crate::error::SfError;

/// Row and column (both 1-based, column in characters) of a byte offset.
fn row_col(src: &str, pos: usize) -> (usize, usize, &str) {
    let pos = pos.min(src.len());
    let before = src.get(..pos).unwrap_or(src);
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src.get(line_start..pos).map_or(0, |s| s.chars().count()) + 1;
    let line_end = src[line_start..]
        .find('\n')
        .map_or(src.len(), |i| line_start + i);
    (row, col, &src[line_start..line_end])
}

/// A positioned query error with the given code.
pub(crate) fn positioned(code: &str, src: &str, pos: usize, reason: &str) -> SfError {
    let (row, col, line) = row_col(src, pos);
    let caret = format!("{}^", " ".repeat(col.saturating_sub(1)));
    SfError::new(
        400,
        code,
        format!("\n{line}\n{caret}\nERROR at Row:{row}:Column:{col}\n{reason}"),
    )
}

/// `MALFORMED_QUERY` … `unexpected token: 'X'`.
pub(crate) fn syntax_error(src: &str, pos: usize, token: &str) -> SfError {
    positioned(
        "MALFORMED_QUERY",
        src,
        pos,
        &format!("unexpected token: '{token}'"),
    )
}

/// `INVALID_FIELD` for an unknown column.
pub(crate) fn no_such_column(src: &str, pos: usize, field: &str, object: &str) -> SfError {
    positioned(
        "INVALID_FIELD",
        src,
        pos,
        &crate::org::no_such_column_message(field, object),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_shape() {
        let e = syntax_error("SELECT Id FROM Contact WHERE", 28, "<EOF>");
        assert_eq!(e.error_code, "MALFORMED_QUERY");
        assert_eq!(
            e.message,
            "\nSELECT Id FROM Contact WHERE\n                            ^\nERROR at Row:1:Column:29\nunexpected token: '<EOF>'"
        );
        let e = syntax_error("SELECT Id\nFROM Contact\nWHERE x", 29, "x");
        assert!(
            e.message
                .starts_with("\nWHERE x\n      ^\nERROR at Row:3:Column:7\n"),
            "{}",
            e.message
        );
    }
}
