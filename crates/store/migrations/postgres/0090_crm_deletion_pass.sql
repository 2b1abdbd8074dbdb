-- CRM deletion passes (issue #15): a provider whose change query cannot see deletions (HubSpot)
-- has them found by walking its list of deleted records, which may take several claims. The row
-- of such a pass (`resource` = the object's key with `:deleted` appended) keeps the pass under
-- way here (`patchbay_webhooks::deletions::DeletionMark::pass_text`; empty between passes);
-- its `seen_ids` hold `id@deleted_ms` entries.
ALTER TABLE crm_poll_watermarks ADD COLUMN pass_cursor TEXT NOT NULL DEFAULT '';
