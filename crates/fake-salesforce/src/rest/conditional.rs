//! Conditional reads of a record: `If-Modified-Since` (docs/salesforce.md §11.4). A record not
//! modified after the given time answers `304 Not Modified` with no body.
//!
//! The header uses the HTTP date format (`EEE, dd MMM yyyy HH:mm:ss z`, e.g.
//! `Wed, 27 Sep 2024 10:39:01 GMT`), which has whole seconds, so the record's time is compared
//! at second precision. An unreadable header is ignored, as HTTP caches do.

use axum::http::{HeaderMap, header};
use patchbay_fake_salesforce_data::datetime::{MS_PER_DAY, days_from_civil, parse_datetime_input};

/// The `If-Modified-Since` time in Unix milliseconds, if present and readable.
pub fn if_modified_since(headers: &HeaderMap) -> Option<i64> {
    let value = headers.get(header::IF_MODIFIED_SINCE)?.to_str().ok()?;
    parse_http_date(value)
}

/// Whether a record whose `LastModifiedDate` is `last_modified` (as the API renders it) is
/// unchanged since `since`.
pub fn unchanged_since(last_modified: &str, since: i64) -> bool {
    parse_datetime_input(last_modified).is_some_and(|at| at.div_euclid(1000) * 1000 <= since)
}

/// `Wed, 27 Sep 2024 10:39:01 GMT` (IMF-fixdate; `UTC` and `+0000` are read as GMT too).
fn parse_http_date(s: &str) -> Option<i64> {
    let mut parts = s.split_whitespace();
    let _weekday = parts.next()?.strip_suffix(',')?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    let zone = parts.next()?;
    if parts.next().is_some() || !matches!(zone, "GMT" | "UTC" | "UT" | "+0000" | "Z") {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))?;
    let month = u32::try_from(month).ok()? + 1;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let valid = hms.next().is_none()
        && (1..=31).contains(&day)
        && (1..=9999).contains(&year)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..61).contains(&sec);
    valid.then(|| days_from_civil(year, month, day) * MS_PER_DAY + ((h * 60 + m) * 60 + sec) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_http_dates() {
        let at = parse_datetime_input("2024-09-27T10:39:01Z");
        assert_eq!(parse_http_date("Fri, 27 Sep 2024 10:39:01 GMT"), at);
        assert_eq!(parse_http_date("Fri, 27 sep 2024 10:39:01 UTC"), at);
        for bad in [
            "",
            "27 Sep 2024 10:39:01 GMT",
            "Fri, 27 Sep 2024 10:39 GMT",
            "Fri, 27 Sep 2024 10:39:01 PST",
            "Fri, 32 Sep 2024 10:39:01 GMT",
            "Fri, 27 Foo 2024 10:39:01 GMT",
            "Fri, 27 Sep 2024 25:39:01 GMT",
            "Fri, 27 Sep 2024 10:39:01 GMT extra",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn compares_at_second_precision() {
        let since = parse_http_date("Fri, 27 Sep 2024 10:39:01 GMT").unwrap_or_default();
        assert!(unchanged_since("2024-09-27T10:39:01.900+0000", since));
        assert!(unchanged_since("2024-09-27T10:00:00.000+0000", since));
        assert!(!unchanged_since("2024-09-27T10:39:02.000+0000", since));
        assert!(!unchanged_since("not a date", since));
    }
}
