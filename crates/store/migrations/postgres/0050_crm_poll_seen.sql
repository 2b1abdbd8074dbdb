-- CRM polling (issue #12): Salesforce stamps changes to the second, so a watermark alone cannot
-- tell a record already reported in the watermark's second from one changed later in that same
-- second. `seen_ids` holds the ids reported with exactly the watermark's stamp (space
-- separated); `watermark_ms = -1` marks a claimed pair whose first poll has not finished yet.
ALTER TABLE crm_poll_watermarks ADD COLUMN seen_ids TEXT NOT NULL DEFAULT '';
