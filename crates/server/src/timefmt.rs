//! The one ISO-8601 spelling of instants on every wire Patchbay writes (Apideck responses,
//! webhook payloads, the CLI's JSON), so the service layer can keep epoch milliseconds.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// ISO-8601 UTC with milliseconds, as the spec's examples (`2021-05-07T12:55:42.242Z`).
pub fn iso_ms(ms: i64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00.000Z".to_owned();
    };
    let base = t
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok());
    match base {
        Some(s) => format!("{}.{:03}Z", s.trim_end_matches('Z'), t.millisecond()),
        None => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_ms(1_620_392_142_242), "2021-05-07T12:55:42.242Z");
    }
}
