//! Deletion passes of the CRM poller, for connectors whose change query cannot see deletions
//! (`Connector::plan_deletions`): the object's list of deleted records is walked page by page,
//! at most [`PAGES_PER_CLAIM`] pages per claim, and each deletion at or after the pass's mark
//! becomes a `crm.<object>.deleted` event (the rules: `patchbay_webhooks::deletions`).
//!
//! A pass is claimed under its own key (`{object}:deleted`) by the same compare-and-set as a
//! change poll, every `crm_deletion_every` intervals, or every interval while one is under way.
//! Its events, mark, remembered rows and cursor are written in one transaction, and only if no
//! later claim took the key meanwhile (a pass can outlast an interval), so a deletion is never
//! reported twice nor lost. Cost per pass: one call per page of deleted records.

use patchbay_connectors::connector::Connector;
use patchbay_core::UnifiedApi;
use patchbay_store::ConnectionRow;
use patchbay_webhooks::CrmObject;
use patchbay_webhooks::crm::PolledRecord;
use patchbay_webhooks::deletions::{DeletionMark, PAGES_PER_CLAIM};

use super::poller::{PollerState, polled};
use crate::error::Result;
use crate::service::Vault;

/// What a deletion pass is for: the connection, the CRM object its events name, its connector
/// and the provider object (poll key).
pub(super) type Target<'a> = (
    &'a ConnectionRow,
    CrmObject,
    &'static dyn Connector,
    &'static str,
);

/// The key a deletion pass is claimed and stored under, apart from the object's change polls.
pub fn deletion_key(object: &str) -> String {
    format!("{object}:deleted")
}

impl Vault {
    /// Runs the deletion pass of one object if its connector needs one and it is due. `None`
    /// when nothing was claimed; otherwise whether the connection may be polled further in this
    /// pass (false: budget low or a call failed).
    pub(super) async fn deletion_pass(
        &self,
        state: &mut PollerState,
        (row, object, connector, key): Target<'_>,
        now: i64,
        interval_ms: i64,
    ) -> Result<Option<bool>> {
        if connector.plan_deletions(key, None).is_none() {
            return Ok(None);
        }
        let memo = (row.id.clone(), key);
        let every = i64::from(self.webhook_options().crm_deletion_every.max(1));
        let due_ms = if state.open_passes.contains(&memo) {
            interval_ms
        } else {
            interval_ms.saturating_mul(every)
        };
        if state
            .deletion_claim
            .get(&memo)
            .is_some_and(|at| now.saturating_sub(*at) < due_ms)
        {
            return Ok(None);
        }
        state.deletion_claim.insert(memo.clone(), now);
        let stored_key = deletion_key(key);
        let Some(claim) = self
            .store()
            .claim_crm_poll(&row.id, &stored_key, now, due_ms)
            .await?
        else {
            return Ok(None);
        };
        let stored = claim
            .watermark
            .and_then(|(at_ms, seen)| DeletionMark::stored(Some(at_ms), seen, &claim.pass));
        let mut mark = DeletionMark::resume(stored, now);
        let mut events = Vec::new();
        let mut go_on = true;
        for _ in 0..PAGES_PER_CLAIM {
            let after = mark.pass.as_ref().and_then(|p| p.after.clone());
            let Some(Ok(call)) = connector.plan_deletions(key, after.as_deref()) else {
                tracing::error!(
                    object = key,
                    "deletion pass of an object without change events"
                );
                go_on = false;
                break;
            };
            let token = match self
                .connection_token(
                    &row.application_id,
                    &row.consumer_id,
                    &UnifiedApi::crm(),
                    Some(&row.service_id),
                )
                .await
            {
                Ok(token) => token,
                Err(e) => {
                    tracing::warn!(connection = %row.id, error = %crate::error::chain(&e), "CRM deletion pass stopped: no usable token");
                    go_on = false;
                    break;
                }
            };
            let (answer, usage) = self.provider_call(token, &call).await;
            go_on = self.note_budget(state, &row.id, usage, now);
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(connection = %row.id, object = key, error = %crate::error::chain(&e), "CRM deletion pass stopped; resumed next interval");
                    go_on = false;
                    break;
                }
            };
            let (rows, next) = connector.read_deletions(key, &answer);
            let rows: Vec<PolledRecord> = rows.into_iter().map(polled).collect();
            for change in mark.read_page(&rows, next) {
                events.push(self.crm_new_event(row, object, &change));
            }
            if mark.pass.is_none() || !go_on {
                break;
            }
        }
        let written = self
            .store()
            .finish_crm_deletion_pass(
                &row.id,
                &stored_key,
                now,
                mark.at_ms,
                &mark.seen,
                &mark.pass_text(),
                &events,
            )
            .await;
        match written {
            Ok(Some(written)) => {
                if !events.is_empty() {
                    tracing::info!(connection = %row.id, object = key, deletions = events.len(), deliveries = written, "CRM deletions found");
                }
                if mark.pass.is_some() {
                    state.open_passes.insert(memo);
                } else {
                    state.open_passes.remove(&memo);
                }
            }
            Ok(None) => {
                tracing::info!(connection = %row.id, object = key, "CRM deletion pass taken over by a later claim; its pages are read again there");
            }
            Err(e) => {
                tracing::warn!(connection = %row.id, error = %e, "CRM deletion pass could not be recorded; retried next interval");
                go_on = false;
            }
        }
        Ok(Some(go_on))
    }
}
