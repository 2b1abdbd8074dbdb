//! Calendar arithmetic and the wire formats of dates and datetimes, without reading any clock.
//!
//! Datetimes are Unix milliseconds (UTC); dates are days since 1970-01-01. Output follows
//! Salesforce (`2024-09-27T10:39:01.000+0000`, `2024-09-27`); input accepts ISO 8601 with `Z` or
//! an offset, with or without fractional seconds.

pub const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The day number containing a millisecond timestamp.
pub fn day_of_ms(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

pub fn format_datetime(ms: i64) -> String {
    let days = day_of_ms(ms);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!(
        "{}T{h:02}:{mi:02}:{s:02}.{milli:03}+0000",
        format_date(days)
    )
}

/// A tiny cursor over ASCII digits for the fixed-width parts of ISO 8601.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let part = self.b.get(self.pos..self.pos + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(part.iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0')))
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }
    fn done(&self) -> bool {
        self.pos == self.b.len()
    }
}

fn parse_date_part(c: &mut Cursor<'_>) -> Option<i64> {
    let y = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let m = u32::try_from(c.digits(2)?).ok()?;
    if !c.eat(b'-') {
        return None;
    }
    let d = u32::try_from(c.digits(2)?).ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// `YYYY-MM-DD` exactly.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut c = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let days = parse_date_part(&mut c)?;
    c.done().then_some(days)
}

/// Parses `THH:MM:SS[.fff][Z|±HH:MM|±HHMM]` after a date; `fraction` says if `.fff` is allowed.
fn parse_time_part(c: &mut Cursor<'_>, fraction: bool, zone_required: bool) -> Option<i64> {
    if !c.eat(b'T') {
        return None;
    }
    let h = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let mi = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let s = c.digits(2)?;
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut ms = 0;
    if fraction && c.eat(b'.') {
        let start = c.pos;
        let mut scale = 100;
        while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
            ms += i64::from(d - b'0') * scale;
            scale /= 10;
            c.pos += 1;
        }
        if c.pos == start {
            return None;
        }
    }
    let offset_min = match c.peek() {
        Some(b'Z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.digits(2)?;
            c.eat(b':');
            let om = c.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 60 + om;
            if sign == b'+' { total } else { -total }
        }
        None if !zone_required => 0,
        _ => return None,
    };
    Some(((h * 60 + mi - offset_min) * 60 + s) * 1000 + ms)
}

/// A datetime in a create or update body: ISO 8601 with optional fraction and zone (UTC when
/// missing). A bare date means midnight UTC.
pub fn parse_datetime_input(s: &str) -> Option<i64> {
    let mut c = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let days = parse_date_part(&mut c)?;
    if c.done() {
        return Some(days * MS_PER_DAY);
    }
    let t = parse_time_part(&mut c, true, false)?;
    c.done().then_some(days * MS_PER_DAY + t)
}

/// A date in a create or update body: `YYYY-MM-DD`, or a datetime whose UTC date is taken.
pub fn parse_date_input(s: &str) -> Option<i64> {
    parse_date(s).or_else(|| parse_datetime_input(s).map(day_of_ms))
}

/// A SOQL datetime literal: `YYYY-MM-DDThh:mm:ss` then `Z` or `±hh:mm`; no fraction.
pub fn parse_soql_datetime(s: &str) -> Option<i64> {
    let mut c = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let days = parse_date_part(&mut c)?;
    let t = parse_time_part(&mut c, false, true)?;
    c.done().then_some(days * MS_PER_DAY + t)
}

/// Adds months to a day number, clamping the day of month (Jan 31 + 1 month = Feb 28/29).
pub fn add_months(days: i64, months: i64) -> i64 {
    let (y, m, d) = civil_from_days(days);
    let total = y * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    days_from_civil(ny, nm, d.min(days_in_month(ny, nm)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(19_993), (2024, 9, 27));
    }

    #[test]
    fn formats_like_salesforce() {
        let ms = parse_datetime_input("2024-09-27T10:39:01Z").unwrap();
        assert_eq!(format_datetime(ms), "2024-09-27T10:39:01.000+0000");
        assert_eq!(format_datetime(ms + 7), "2024-09-27T10:39:01.007+0000");
        assert_eq!(format_date(day_of_ms(ms)), "2024-09-27");
        assert_eq!(format_datetime(-1), "1969-12-31T23:59:59.999+0000");
    }

    #[test]
    fn accepts_iso_8601_input() {
        let base = parse_datetime_input("2024-09-27T10:39:01Z").unwrap();
        assert_eq!(parse_datetime_input("2024-09-27T10:39:01.000Z"), Some(base));
        assert_eq!(
            parse_datetime_input("2024-09-27T12:39:01+02:00"),
            Some(base)
        );
        assert_eq!(
            parse_datetime_input("2024-09-27T08:39:01.000-0200"),
            Some(base)
        );
        assert_eq!(
            parse_datetime_input("2024-09-27T10:39:01.5Z"),
            Some(base + 500)
        );
        assert_eq!(parse_datetime_input("2024-09-27T10:39:01"), Some(base));
        assert_eq!(
            parse_datetime_input("2024-09-27"),
            Some(base - (10 * 3600 + 39 * 60 + 1) * 1000)
        );
        for bad in [
            "",
            "2024-9-27",
            "2024-02-30",
            "2024-13-01",
            "2024-09-27T25:00:00Z",
            "2024-09-27T10:39Z",
            "2024-09-27T10:39:01Q",
            "2024-09-27T10:39:01.Z",
            "x024-09-27",
        ] {
            assert_eq!(parse_datetime_input(bad), None, "{bad}");
        }
        assert_eq!(
            parse_date_input("2024-02-29"),
            Some(days_from_civil(2024, 2, 29))
        );
        assert_eq!(parse_date_input("2023-02-29"), None);
        assert_eq!(
            parse_date_input("2024-02-29T23:00:00-02:00"),
            Some(days_from_civil(2024, 3, 1))
        );
    }

    #[test]
    fn soql_datetime_literals_are_strict() {
        assert!(parse_soql_datetime("2024-01-01T00:00:00Z").is_some());
        assert_eq!(
            parse_soql_datetime("2024-01-01T01:00:00+01:00"),
            parse_soql_datetime("2024-01-01T00:00:00Z")
        );
        assert!(parse_soql_datetime("2024-01-01T00:00:00.000Z").is_none());
        assert!(parse_soql_datetime("2024-01-01T00:00:00").is_none());
        assert!(parse_soql_datetime("2024-01-01").is_none());
    }

    #[test]
    fn month_arithmetic_clamps() {
        let jan31 = days_from_civil(2024, 1, 31);
        assert_eq!(civil_from_days(add_months(jan31, 1)), (2024, 2, 29));
        assert_eq!(civil_from_days(add_months(jan31, -2)), (2023, 11, 30));
        assert_eq!(civil_from_days(add_months(jan31, 12)), (2025, 1, 31));
    }
}
