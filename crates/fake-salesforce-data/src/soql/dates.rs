//! Relative date literals (docs/salesforce.md §12.2) as half-open day ranges, computed in UTC from
//! the injected `now_ms`. Weeks start on Sunday (the en_US locale); fiscal years are calendar
//! years.

use crate::datetime::{add_months, civil_from_days, days_from_civil};

const FIXED: &[&str] = &[
    "YESTERDAY",
    "TODAY",
    "TOMORROW",
    "LAST_WEEK",
    "THIS_WEEK",
    "NEXT_WEEK",
    "LAST_MONTH",
    "THIS_MONTH",
    "NEXT_MONTH",
    "LAST_90_DAYS",
    "NEXT_90_DAYS",
    "THIS_QUARTER",
    "LAST_QUARTER",
    "NEXT_QUARTER",
    "THIS_YEAR",
    "LAST_YEAR",
    "NEXT_YEAR",
    "THIS_FISCAL_QUARTER",
    "LAST_FISCAL_QUARTER",
    "NEXT_FISCAL_QUARTER",
    "THIS_FISCAL_YEAR",
    "LAST_FISCAL_YEAR",
    "NEXT_FISCAL_YEAR",
];
const WITH_N: &[&str] = &[
    "LAST_N_DAYS",
    "NEXT_N_DAYS",
    "N_DAYS_AGO",
    "LAST_N_WEEKS",
    "NEXT_N_WEEKS",
    "N_WEEKS_AGO",
    "LAST_N_MONTHS",
    "NEXT_N_MONTHS",
    "N_MONTHS_AGO",
    "LAST_N_QUARTERS",
    "NEXT_N_QUARTERS",
    "LAST_N_YEARS",
    "NEXT_N_YEARS",
    "N_YEARS_AGO",
];

pub(crate) fn is_relative(word: &str) -> bool {
    FIXED
        .iter()
        .chain(WITH_N)
        .any(|w| w.eq_ignore_ascii_case(word))
}

pub(crate) fn takes_n(name: &str) -> bool {
    WITH_N.iter().any(|w| w.eq_ignore_ascii_case(name))
}

fn month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

fn quarter_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, (m - 1) / 3 * 3 + 1, 1)
}

fn year_start(day: i64) -> i64 {
    days_from_civil(civil_from_days(day).0, 1, 1)
}

/// The `[start, end)` day range of a relative literal; `today` is a day number.
pub(crate) fn range(name: &str, n: Option<i64>, today: i64) -> Option<(i64, i64)> {
    let n = n.unwrap_or(0);
    let week = today - (today + 4).rem_euclid(7);
    let month = month_start(today);
    let quarter = quarter_start(today);
    let year = year_start(today);
    let name = name.replace("_FISCAL", "");
    Some(match name.as_str() {
        "YESTERDAY" => (today - 1, today),
        "TODAY" => (today, today + 1),
        "TOMORROW" => (today + 1, today + 2),
        "LAST_WEEK" => (week - 7, week),
        "THIS_WEEK" => (week, week + 7),
        "NEXT_WEEK" => (week + 7, week + 14),
        "LAST_MONTH" => (add_months(month, -1), month),
        "THIS_MONTH" => (month, add_months(month, 1)),
        "NEXT_MONTH" => (add_months(month, 1), add_months(month, 2)),
        "LAST_90_DAYS" => (today - 90, today + 1),
        "NEXT_90_DAYS" => (today + 1, today + 91),
        "LAST_QUARTER" => (add_months(quarter, -3), quarter),
        "THIS_QUARTER" => (quarter, add_months(quarter, 3)),
        "NEXT_QUARTER" => (add_months(quarter, 3), add_months(quarter, 6)),
        "LAST_YEAR" => (add_months(year, -12), year),
        "THIS_YEAR" => (year, add_months(year, 12)),
        "NEXT_YEAR" => (add_months(year, 12), add_months(year, 24)),
        "LAST_N_DAYS" => (today - n, today + 1),
        "NEXT_N_DAYS" => (today + 1, today + 1 + n),
        "N_DAYS_AGO" => (today - n, today - n + 1),
        "LAST_N_WEEKS" => (week - 7 * n, week),
        "NEXT_N_WEEKS" => (week + 7, week + 7 + 7 * n),
        "N_WEEKS_AGO" => (week - 7 * n, week - 7 * n + 7),
        "LAST_N_MONTHS" => (add_months(month, -n), month),
        "NEXT_N_MONTHS" => (add_months(month, 1), add_months(month, 1 + n)),
        "N_MONTHS_AGO" => (add_months(month, -n), add_months(month, 1 - n)),
        "LAST_N_QUARTERS" => (add_months(quarter, -3 * n), quarter),
        "NEXT_N_QUARTERS" => (add_months(quarter, 3), add_months(quarter, 3 + 3 * n)),
        "LAST_N_YEARS" => (add_months(year, -12 * n), year),
        "NEXT_N_YEARS" => (add_months(year, 12), add_months(year, 12 + 12 * n)),
        "N_YEARS_AGO" => (add_months(year, -12 * n), add_months(year, 12 - 12 * n)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i64, m: u32, day: u32) -> i64 {
        days_from_civil(y, m, day)
    }

    #[test]
    fn ranges_relative_to_today() {
        let today = d(2024, 9, 27); // a Friday
        assert_eq!(range("TODAY", None, today), Some((today, today + 1)));
        assert_eq!(range("YESTERDAY", None, today), Some((today - 1, today)));
        assert_eq!(
            range("THIS_WEEK", None, today),
            Some((d(2024, 9, 22), d(2024, 9, 29)))
        );
        assert_eq!(
            range("LAST_MONTH", None, today),
            Some((d(2024, 8, 1), d(2024, 9, 1)))
        );
        assert_eq!(
            range("THIS_QUARTER", None, today),
            Some((d(2024, 7, 1), d(2024, 10, 1)))
        );
        assert_eq!(
            range("NEXT_YEAR", None, today),
            Some((d(2025, 1, 1), d(2026, 1, 1)))
        );
        assert_eq!(
            range("LAST_N_DAYS", Some(7), today),
            Some((today - 7, today + 1))
        );
        assert_eq!(
            range("N_DAYS_AGO", Some(3), today),
            Some((today - 3, today - 2))
        );
        assert_eq!(
            range("LAST_N_MONTHS", Some(2), today),
            Some((d(2024, 7, 1), d(2024, 9, 1)))
        );
        assert_eq!(
            range("THIS_FISCAL_YEAR", None, today),
            Some((d(2024, 1, 1), d(2025, 1, 1)))
        );
        assert_eq!(range("SOMEDAY", None, today), None);
        assert!(is_relative("today") && is_relative("Last_N_Days") && !is_relative("Name"));
        assert!(takes_n("LAST_N_DAYS") && !takes_n("TODAY"));
    }
}
