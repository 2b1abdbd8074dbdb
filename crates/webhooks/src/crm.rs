//! CRM change detection by polling (docs/apideck.md §2.4 "virtual webhooks", done every few
//! minutes instead of Apideck's 24 hours): records whose `SystemModstamp` moved past the
//! watermark are changes; `IsDeleted` (seen through `queryAll`) marks deletes, and a
//! `CreatedDate` past the watermark tells a creation from an update.

use crate::event::CrmOperation;

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
    if max == 0 {
        return false;
    }
    let left = max.saturating_sub(used);
    left.saturating_mul(100) >= max.saturating_mul(reserve_percent)
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
    }
}
