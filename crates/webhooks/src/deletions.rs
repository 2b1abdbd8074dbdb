//! Deletion passes: `deleted` events for a provider whose change query cannot see deletions
//! (HubSpot: search never returns archived records, docs/hubspot.md §15). A pass walks the
//! object's whole list of deleted records (in the provider's order, HubSpot's by id, with no
//! time filter), page by page, possibly over several claims, and reports each row whose
//! deletion time is at or after the mark and that it has not reported before.
//!
//! Why the mark is what it is: a record deleted while a pass is under way, with an id the pass
//! has already walked past, is not seen by that pass. Its deletion time is after the pass began,
//! so the next pass must report from no later than the pass's start. The provider's clock is
//! known only through deletion times it has shown, so a pass ends by setting the mark to the
//! newest deletion time known when it *began* (`next_at_ms`): never after the pass's start, and
//! the rows at or after it are remembered (`seen`, by id and deletion time) so that a second
//! read of them reports nothing. A record restored and deleted again has a new deletion time
//! and is reported again.
//!
//! The very first pass has no provider time to start from: its mark is the poller's clock less
//! [`BASELINE_SLACK_MS`] (for clock skew), and it reports nothing, like a first change poll. It
//! remembers the rows at or after its mark, so deletions made while it runs with an id it has
//! walked past are reported by the next pass.

use crate::crm::{Change, PolledRecord};
use crate::event::CrmOperation;

/// How far before the poller's clock a first pass sets its mark. A first pass reports nothing,
/// so a wide margin costs only memory (the rows it remembers), while too narrow a one would let
/// a provider clock that runs behind hide the deletions made just after the pass began.
pub const BASELINE_SLACK_MS: i64 = 15 * 60 * 1000;

/// Pages a deletion pass reads per claim; a longer list is finished at later claims from the
/// stored cursor.
pub const PAGES_PER_CLAIM: usize = 10;

/// A pass in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// The provider's cursor of the next page, `None` for the first.
    pub after: Option<String>,
    /// The mark this pass leaves when it ends: the newest deletion time known when it began.
    pub next_at_ms: i64,
    /// A first pass: reports nothing.
    pub baseline: bool,
}

/// What the poller keeps between claims for one object's deletions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletionMark {
    /// Rows deleted at or after this (unix ms) are reported unless remembered.
    pub at_ms: i64,
    /// The rows at or after `at_ms` already reported (or, in a first pass, already there):
    /// [`seen_entry`]s.
    pub seen: Vec<String>,
    /// The pass under way, `None` between passes.
    pub pass: Option<Pass>,
}

/// How a row is remembered: `id@deleted_ms` (ids carry no `@`; a restored and deleted-again
/// record gets a new entry).
pub fn seen_entry(row: &PolledRecord) -> String {
    format!("{}@{}", row.id, row.modstamp_ms)
}

fn entry_ms(entry: &str) -> Option<i64> {
    entry.rsplit_once('@')?.1.parse().ok()
}

impl DeletionMark {
    /// The mark to read the next page with: the stored one (`None` before the first pass) with
    /// a pass under way, a new one started when none is.
    pub fn resume(stored: Option<DeletionMark>, now_ms: i64) -> DeletionMark {
        let Some(mut mark) = stored else {
            let at_ms = now_ms.saturating_sub(BASELINE_SLACK_MS).max(0);
            return DeletionMark {
                at_ms,
                seen: Vec::new(),
                pass: Some(Pass {
                    after: None,
                    next_at_ms: at_ms,
                    baseline: true,
                }),
            };
        };
        if mark.pass.is_none() {
            let newest = mark.seen.iter().filter_map(|e| entry_ms(e)).max();
            mark.pass = Some(Pass {
                after: None,
                next_at_ms: newest.map_or(mark.at_ms, |n| n.max(mark.at_ms)),
                baseline: false,
            });
        }
        mark
    }

    /// Reads one page of deleted rows (times in `modstamp_ms`) and `next`, the cursor of the
    /// page after it (`None` on the last page). Returns the deletions to report, oldest first.
    /// After the last page the pass ends: the mark moves to the pass's `next_at_ms` and forgets
    /// the rows before it.
    pub fn read_page(&mut self, rows: &[PolledRecord], next: Option<String>) -> Vec<Change> {
        let baseline = self.pass.as_ref().is_some_and(|p| p.baseline);
        let mut changes = Vec::new();
        for row in rows {
            if row.modstamp_ms < self.at_ms {
                continue;
            }
            let entry = seen_entry(row);
            if self.seen.contains(&entry) {
                continue;
            }
            self.seen.push(entry);
            if !baseline {
                changes.push(Change {
                    id: row.id.clone(),
                    operation: CrmOperation::Deleted,
                    at_ms: row.modstamp_ms,
                });
            }
        }
        changes.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        match (next, self.pass.as_mut()) {
            (Some(after), Some(pass)) => pass.after = Some(after),
            (_, pass) => {
                if let Some(pass) = pass {
                    self.at_ms = self.at_ms.max(pass.next_at_ms);
                }
                self.pass = None;
                let at_ms = self.at_ms;
                self.seen
                    .retain(|e| entry_ms(e).is_some_and(|ms| ms >= at_ms));
                self.seen.sort();
            }
        }
        changes
    }

    /// The pass under way as one stored text (empty between passes):
    /// `{b|r} {next_at_ms} {after}` (`-` for the first page; the cursor as the provider gave
    /// it, spaces included).
    pub fn pass_text(&self) -> String {
        match &self.pass {
            None => String::new(),
            Some(p) => format!(
                "{} {} {}",
                if p.baseline { 'b' } else { 'r' },
                p.next_at_ms,
                p.after.as_deref().unwrap_or("-")
            ),
        }
    }

    /// A stored mark: its time (`None` before the first pass), remembered rows and
    /// [`DeletionMark::pass_text`]. A pass text that does not read back restarts the pass (a
    /// pass that starts over reports nothing twice).
    pub fn stored(at_ms: Option<i64>, seen: Vec<String>, pass: &str) -> Option<DeletionMark> {
        let at_ms = at_ms?;
        // The cursor is last, so any text the provider uses for one reads back whole.
        let mut parts = pass.splitn(3, ' ');
        let pass = match (parts.next(), parts.next(), parts.next()) {
            (Some(kind @ ("b" | "r")), Some(next), Some(after)) => {
                next.parse().ok().map(|next_at_ms| Pass {
                    after: (after != "-" && !after.is_empty()).then(|| after.to_owned()),
                    next_at_ms,
                    baseline: kind == "b",
                })
            }
            _ => None,
        };
        Some(DeletionMark { at_ms, seen, pass })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gone(id: &str, at: i64) -> PolledRecord {
        PolledRecord {
            id: id.to_owned(),
            created_ms: 0,
            modstamp_ms: at,
            deleted: true,
        }
    }

    fn ids(changes: &[Change]) -> Vec<(&str, i64)> {
        changes.iter().map(|c| (c.id.as_str(), c.at_ms)).collect()
    }

    #[test]
    fn a_first_pass_reports_nothing_and_remembers_what_is_recent() {
        let now = 100 * 60 * 1000;
        let mut mark = DeletionMark::resume(None, now);
        let at = now - BASELINE_SLACK_MS;
        assert_eq!(mark.at_ms, at);
        let page = [gone("1", at - 1), gone("2", at), gone("3", now)];
        assert!(mark.read_page(&page, Some("4".to_owned())).is_empty());
        assert_eq!(
            mark.pass.as_ref().and_then(|p| p.after.as_deref()),
            Some("4")
        );
        assert!(mark.read_page(&[gone("9", now)], None).is_empty());
        assert_eq!(mark.pass, None);
        assert_eq!(mark.at_ms, at);
        let mut want = vec![format!("2@{at}"), format!("3@{now}"), format!("9@{now}")];
        want.sort();
        assert_eq!(mark.seen, want);
        // The same rows again report nothing; the mark moves to the newest time known.
        let mut next = DeletionMark::resume(Some(mark), now + 5);
        assert_eq!(next.pass.as_ref().map(|p| p.next_at_ms), Some(now));
        assert!(next.read_page(&page, None).is_empty());
        assert_eq!(next.at_ms, now);
        assert_eq!(next.seen, vec![format!("3@{now}"), format!("9@{now}")]);
        // A clock before the epoch's slack starts at 0.
        assert_eq!(DeletionMark::resume(None, 5).at_ms, 0);
    }

    #[test]
    fn deletions_at_or_after_the_mark_are_reported_once_and_older_ones_never() {
        let mut mark = DeletionMark {
            at_ms: 1_000,
            seen: vec!["5@1000".to_owned()],
            pass: None,
        };
        mark = DeletionMark::resume(Some(mark), 0);
        let rows = [
            gone("4", 999),
            gone("5", 1_000),
            gone("6", 1_000),
            gone("8", 2_000),
            gone("7", 1_500),
        ];
        let changes = mark.read_page(&rows, None);
        assert_eq!(
            ids(&changes),
            vec![("6", 1_000), ("7", 1_500), ("8", 2_000)]
        );
        assert!(changes.iter().all(|c| c.operation == CrmOperation::Deleted));
        // The pass began knowing 1,000 as the newest time: that is the new mark.
        assert_eq!(mark.at_ms, 1_000);
        // A re-read reports nothing; the next pass moves the mark to 2,000.
        let mut again = DeletionMark::resume(Some(mark), 0);
        assert!(again.read_page(&rows, None).is_empty());
        assert_eq!(again.at_ms, 2_000);
        assert_eq!(again.seen, vec!["8@2000".to_owned()]);
        // Restored and deleted again: a new time, a new report.
        let mut third = DeletionMark::resume(Some(again), 0);
        assert_eq!(
            ids(&third.read_page(&[gone("8", 2_000), gone("7", 2_500)], None)),
            vec![("7", 2_500)]
        );
    }

    #[test]
    fn a_deletion_behind_the_cursor_during_a_pass_is_reported_by_the_next() {
        let mut mark = DeletionMark::resume(
            Some(DeletionMark {
                at_ms: 1_000,
                seen: Vec::new(),
                pass: None,
            }),
            0,
        );
        // Page one: ids 1..; then id 2 is deleted at 1,100 (behind the cursor) and id 50 at
        // 1,200, which page two reports.
        assert!(
            mark.read_page(&[gone("1", 900)], Some("10".to_owned()))
                .is_empty()
        );
        assert_eq!(
            ids(&mark.read_page(&[gone("50", 1_200)], None)),
            vec![("50", 1_200)]
        );
        // The mark stays at the pass's start, so id 2 is still ahead of it.
        assert_eq!(mark.at_ms, 1_000);
        let mut next = DeletionMark::resume(Some(mark), 0);
        let found = next.read_page(&[gone("1", 900), gone("2", 1_100), gone("50", 1_200)], None);
        assert_eq!(ids(&found), vec![("2", 1_100)]);
    }

    #[test]
    fn a_pass_is_stored_and_read_back() {
        let mut mark = DeletionMark::resume(None, 20 * 60 * 1000);
        assert_eq!(mark.pass_text(), format!("b {} -", 5 * 60 * 1000));
        mark.read_page(&[], Some("AbC-12 =x".to_owned()));
        let text = mark.pass_text();
        let back = DeletionMark::stored(Some(mark.at_ms), mark.seen.clone(), &text);
        assert_eq!(back, Some(mark.clone()));
        mark.read_page(&[], None);
        assert_eq!(mark.pass_text(), "");
        assert_eq!(
            DeletionMark::stored(Some(7), Vec::new(), ""),
            Some(DeletionMark {
                at_ms: 7,
                seen: Vec::new(),
                pass: None
            })
        );
        // Unreadable pass texts restart the pass; no stored time is no mark.
        for bad in ["x 1 -", "r one -", "r 1", "b"] {
            assert_eq!(
                DeletionMark::stored(Some(7), Vec::new(), bad).unwrap().pass,
                None
            );
        }
        assert_eq!(DeletionMark::stored(None, Vec::new(), "r 1 -"), None);
    }
}
