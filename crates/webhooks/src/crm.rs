//! CRM change detection by polling (docs/apideck.md §2.4 "virtual webhooks", done every few
//! minutes instead of Apideck's 24 hours): records whose `SystemModstamp` moved past the
//! watermark are changes; `IsDeleted` (seen through `queryAll`) marks deletes, and a
//! `CreatedDate` past the watermark tells a creation from an update.

use crate::event::CrmOperation;

/// Polling pauses while less than this share (percent) of the org's daily API requests is
/// left, so the customer's own integrations keep the rest.
pub const BUDGET_RESERVE_PERCENT: u64 = 10;

/// One changed record as the poller read it (times in unix ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolledRecord {
    pub id: String,
    pub created_ms: i64,
    pub modstamp_ms: i64,
    pub deleted: bool,
}

/// What a record that changed after `watermark_ms` is.
pub fn classify(record: &PolledRecord, watermark_ms: i64) -> CrmOperation {
    if record.deleted {
        CrmOperation::Deleted
    } else if record.created_ms > watermark_ms {
        CrmOperation::Created
    } else {
        CrmOperation::Updated
    }
}

/// The new watermark after a page of changes: the largest `SystemModstamp` seen, never
/// moving backwards.
pub fn advance(watermark_ms: i64, records: &[PolledRecord]) -> i64 {
    records
        .iter()
        .map(|r| r.modstamp_ms)
        .fold(watermark_ms, i64::max)
}

/// Whether the org's remaining daily API budget allows another poll: `Sforce-Limit-Info:
/// api-usage=USED/MAX`. Polling stops while less than `reserve_percent` of the budget is left,
/// so the customer's own integrations keep the rest.
pub fn budget_allows(limit_info: Option<&str>, reserve_percent: u64) -> bool {
    let Some((used, max)) = limit_info.and_then(parse_api_usage) else {
        return true;
    };
    usage_allows(used, max, reserve_percent)
}

/// [`budget_allows`] for a reading already parsed: `used` of `max` daily requests.
pub fn usage_allows(used: u64, max: u64, reserve_percent: u64) -> bool {
    if max == 0 {
        return false;
    }
    let left = max.saturating_sub(used);
    left.saturating_mul(100) >= max.saturating_mul(reserve_percent)
}

/// What the poller has already reported for one object of one connection: the newest
/// `SystemModstamp` reported (Salesforce keeps it to the second) and the records reported with
/// exactly that stamp ([`seen_key`]: the id, marked when the row was deleted). The next poll
/// asks for rows stamped at or after `at_ms` and skips those, so a record changed later in the
/// same second is still found and nothing is reported twice. A live record updated again in
/// its reported second looks the same and is not reported again; its deletion is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Watermark {
    pub at_ms: i64,
    pub seen: Vec<String>,
}

/// One change to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub operation: CrmOperation,
    /// The record's `SystemModstamp`: when the change happened.
    pub at_ms: i64,
}

/// How a row is remembered in [`Watermark::seen`]: its id, with `-` appended when deleted
/// (ids are alphanumeric, so the mark is unambiguous).
pub fn seen_key(record: &PolledRecord) -> String {
    if record.deleted {
        format!("{}-", record.id)
    } else {
        record.id.clone()
    }
}

/// What one poll found: the changes to report, oldest first, and the watermark after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollPlan {
    pub changes: Vec<Change>,
    pub next: Watermark,
}

/// The watermark a first poll sets from the newest rows (any order): their newest stamp and
/// the ids carrying it, so none of the existing records is reported. An object with no rows
/// starts at the epoch: every record that appears later is new.
pub fn first_watermark(newest: &[PolledRecord]) -> Watermark {
    let at_ms = newest.iter().map(|r| r.modstamp_ms).max().unwrap_or(0);
    let mut seen: Vec<String> = newest
        .iter()
        .filter(|r| r.modstamp_ms == at_ms)
        .map(seen_key)
        .collect();
    seen.sort();
    seen.dedup();
    Watermark { at_ms, seen }
}

/// Turns the rows of a change query (`SystemModstamp >= mark.at_ms`, oldest first, at most one
/// page; `complete` when nothing was left out) into the changes to report and the next
/// watermark.
///
/// When the page was cut short, the rows of its newest second are left for the next poll (they
/// may continue past the page), unless the whole page is one second: then it is reported and
/// the watermark moves past that second, since asking again would return the same page.
pub fn plan_poll(mark: &Watermark, rows: &[PolledRecord], complete: bool) -> PollPlan {
    let mut fresh: Vec<&PolledRecord> = rows
        .iter()
        .filter(|r| {
            r.modstamp_ms > mark.at_ms
                || (r.modstamp_ms == mark.at_ms && !mark.seen.contains(&seen_key(r)))
        })
        .collect();
    fresh.sort_by(|a, b| (a.modstamp_ms, &a.id).cmp(&(b.modstamp_ms, &b.id)));
    fresh.dedup_by(|a, b| a.id == b.id && a.modstamp_ms == b.modstamp_ms);
    let mut skip_second = false;
    if !complete && let (Some(first), Some(last)) = (fresh.first(), fresh.last()) {
        let newest = last.modstamp_ms;
        if first.modstamp_ms < newest {
            fresh.retain(|r| r.modstamp_ms < newest);
        } else {
            skip_second = true;
        }
    }
    let changes = fresh
        .iter()
        .map(|r| Change {
            id: r.id.clone(),
            operation: classify_after(r, mark),
            at_ms: r.modstamp_ms,
        })
        .collect();
    let next = match fresh.last() {
        None => mark.clone(),
        Some(_) if skip_second => Watermark {
            at_ms: (mark.at_ms.max(fresh[0].modstamp_ms) / 1000 + 1) * 1000,
            seen: Vec::new(),
        },
        Some(last) => {
            let at_ms = last.modstamp_ms;
            let mut seen: Vec<String> = if at_ms == mark.at_ms {
                mark.seen.clone()
            } else {
                Vec::new()
            };
            seen.extend(
                fresh
                    .iter()
                    .filter(|r| r.modstamp_ms == at_ms)
                    .map(|r| seen_key(r)),
            );
            seen.sort();
            seen.dedup();
            Watermark { at_ms, seen }
        }
    };
    PollPlan { changes, next }
}

/// [`classify`] with the second-granular watermark: a record created in the watermark's own
/// second is new unless it was already reported (its id is among `seen`).
fn classify_after(record: &PolledRecord, mark: &Watermark) -> CrmOperation {
    if !record.deleted && record.created_ms == mark.at_ms && !mark.seen.contains(&record.id) {
        return CrmOperation::Created;
    }
    classify(record, mark.at_ms)
}

/// `api-usage=18/15000` (possibly among other comma-separated entries) → `(18, 15000)`.
pub fn parse_api_usage(header: &str) -> Option<(u64, u64)> {
    header.split(',').find_map(|part| {
        let value = part.trim().strip_prefix("api-usage=")?;
        let (used, max) = value.split_once('/')?;
        Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(created: i64, modstamp: i64, deleted: bool) -> PolledRecord {
        PolledRecord {
            id: "003".to_owned(),
            created_ms: created,
            modstamp_ms: modstamp,
            deleted,
        }
    }

    #[test]
    fn created_updated_and_deleted_are_told_apart() {
        assert_eq!(classify(&rec(150, 150, false), 100), CrmOperation::Created);
        assert_eq!(classify(&rec(50, 150, false), 100), CrmOperation::Updated);
        assert_eq!(classify(&rec(150, 160, true), 100), CrmOperation::Deleted);
        assert_eq!(classify(&rec(50, 160, true), 100), CrmOperation::Deleted);
        assert_eq!(advance(100, &[rec(1, 150, false), rec(1, 120, true)]), 150);
        assert_eq!(advance(100, &[]), 100);
    }

    fn row(id: &str, created: i64, modstamp: i64, deleted: bool) -> PolledRecord {
        PolledRecord {
            id: id.to_owned(),
            created_ms: created,
            modstamp_ms: modstamp,
            deleted,
        }
    }

    fn ids(plan: &PollPlan) -> Vec<(&str, CrmOperation)> {
        plan.changes
            .iter()
            .map(|c| (c.id.as_str(), c.operation))
            .collect()
    }

    #[test]
    fn a_first_poll_marks_the_newest_second_and_reports_nothing_it_saw() {
        let newest = [
            row("b", 1_000, 5_000, false),
            row("a", 1_000, 5_000, true),
            row("c", 1_000, 4_000, false),
        ];
        let mark = first_watermark(&newest);
        assert_eq!(
            mark,
            Watermark {
                at_ms: 5_000,
                seen: vec!["a-".to_owned(), "b".to_owned()]
            }
        );
        // The same rows again: nothing new.
        let again = plan_poll(&mark, &newest, true);
        assert!(again.changes.is_empty());
        assert_eq!(again.next, mark);
        assert_eq!(first_watermark(&[]), Watermark::default());
    }

    #[test]
    fn later_rows_in_the_watermark_second_are_still_reported_once() {
        let mark = Watermark {
            at_ms: 5_000,
            seen: vec!["a".to_owned()],
        };
        let rows = [
            row("a", 1_000, 5_000, false),
            row("d", 5_000, 5_000, false),
            row("e", 1_000, 5_000, false),
            row("f", 6_000, 6_000, false),
            row("g", 2_000, 7_000, true),
        ];
        let plan = plan_poll(&mark, &rows, true);
        assert_eq!(
            ids(&plan),
            vec![
                ("d", CrmOperation::Created),
                ("e", CrmOperation::Updated),
                ("f", CrmOperation::Created),
                ("g", CrmOperation::Deleted),
            ]
        );
        assert_eq!(
            plan.next,
            Watermark {
                at_ms: 7_000,
                seen: vec!["g-".to_owned()]
            }
        );
        // A record reported in the watermark's second and deleted within that second is
        // still reported as deleted.
        let mark = Watermark {
            at_ms: 5_000,
            seen: vec!["a".to_owned()],
        };
        let deleted = plan_poll(&mark, &[row("a", 1_000, 5_000, true)], true);
        assert_eq!(ids(&deleted), vec![("a", CrmOperation::Deleted)]);
        assert_eq!(deleted.next.seen, vec!["a".to_owned(), "a-".to_owned()]);
        assert!(
            plan_poll(&deleted.next, &[row("a", 1_000, 5_000, true)], true)
                .changes
                .is_empty()
        );
        // An already reported record changed again in the watermark second is coalesced with
        // its report; a new stamp reports it again, as an update.
        let next = plan_poll(&plan.next, &[row("f", 6_000, 8_000, false)], true);
        assert_eq!(ids(&next), vec![("f", CrmOperation::Updated)]);
    }

    #[test]
    fn a_cut_page_leaves_its_newest_second_for_the_next_poll() {
        let mark = Watermark::default();
        let rows = [
            row("a", 1_000, 1_000, false),
            row("b", 1_000, 2_000, false),
            row("c", 1_000, 2_000, false),
        ];
        let plan = plan_poll(&mark, &rows, false);
        assert_eq!(ids(&plan), vec![("a", CrmOperation::Created)]);
        assert_eq!(plan.next.at_ms, 1_000);
        // A page that is all one second is reported, and the next poll starts after it.
        let one = [row("a", 1_000, 3_000, false), row("b", 1_000, 3_000, false)];
        let plan = plan_poll(&mark, &one, false);
        assert_eq!(plan.changes.len(), 2);
        assert_eq!(
            plan.next,
            Watermark {
                at_ms: 4_000,
                seen: Vec::new()
            }
        );
    }

    #[test]
    fn the_api_budget_keeps_a_reserve() {
        assert_eq!(parse_api_usage("api-usage=18/15000"), Some((18, 15000)));
        assert_eq!(
            parse_api_usage("per-app-api-usage=1/10(appName=x), api-usage=5/100"),
            Some((5, 100))
        );
        assert_eq!(parse_api_usage("junk"), None);
        assert!(budget_allows(None, 10));
        assert!(budget_allows(Some("api-usage=80/100"), 10));
        assert!(!budget_allows(Some("api-usage=95/100"), 10));
        assert!(!budget_allows(Some("api-usage=0/0"), 10));
        assert!(usage_allows(90, 100, BUDGET_RESERVE_PERCENT));
        assert!(!usage_allows(91, 100, BUDGET_RESERVE_PERCENT));
    }
}
