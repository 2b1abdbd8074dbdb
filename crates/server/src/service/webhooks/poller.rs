//! The CRM poller: turns changed provider records into `crm.<resource>.<op>` events.
//!
//! Every tick it finds the applications with an enabled subscription to some `crm.*` event,
//! and for each callable CRM connection of theirs polls only the subscribed resources'
//! objects (the connection's connector names them and plans the change queries:
//! `Connector::change_objects`, `plan_changes`): one call per object whose integration
//! interval has passed. A pair is claimed by compare-and-set on its `polled_at`
//! in the database first ([`patchbay_store::Store::claim_crm_poll`], on the database's clock),
//! so several nodes never poll the same pair in one interval. The answer becomes events and a
//! new watermark by the pure rules of [`patchbay_webhooks::crm`], written in one transaction.
//!
//! A first poll only sets the watermark. Calls use the connection's token through the CRM
//! path (one refresh + retry when the provider says the token is invalid). Every answer's
//! rate-limit headers are read; while the account has less than [`BUDGET_RESERVE_PERCENT`]% of its window's requests left
//! the connection is not polled (one warning), and it is tried again once the connector says the
//! window can have recovered (a quarter hour at most).
//!
//! Where a connector's change query cannot see deletions (`Connector::plan_deletions`), an
//! object whose `deleted` events are subscribed also gets a deletion pass every
//! [`WebhookOptions::crm_deletion_every`](super::WebhookOptions) intervals, claimed under its own
//! key (`deletion_pass.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use patchbay_connectors::connector::{ApiUsage, ChangedRow, Connector};
use patchbay_connectors::registry;
use patchbay_core::{
    ApplicationId, ConnectionId, ConnectionState, ServiceId, UnifiedApi, compute_state,
};
use patchbay_store::{ConnectionRow, NewEvent, PollClaim};
use patchbay_unified::Resource;
use patchbay_webhooks::crm::{
    BUDGET_RESERVE_PERCENT, PolledRecord, Watermark, first_watermark, plan_poll, usage_allows,
};
use patchbay_webhooks::payload::{CrmChange, crm_event};
use patchbay_webhooks::{CrmObject, CrmOperation, EventType};
use tokio::sync::Notify;

use crate::error::Result;
use crate::service::Vault;
use crate::timefmt::iso_ms;

/// Which CRM objects each application's subscriptions ask for: a `crm.<object>.*` event names
/// its object, `*` (on a `crm` subscription) names them all.
pub fn subscribed_objects(
    pairs: &[(ApplicationId, String)],
) -> HashMap<ApplicationId, Vec<CrmObject>> {
    let mut out: HashMap<ApplicationId, Vec<CrmObject>> = HashMap::new();
    for (app, event) in pairs {
        let objects: Vec<CrmObject> = if event == "*" {
            CrmObject::ALL.to_vec()
        } else if let Some(EventType::Crm(object, _)) = EventType::parse(event) {
            vec![object]
        } else {
            Vec::new()
        };
        let entry = out.entry(app.clone()).or_default();
        for object in objects {
            if !entry.contains(&object) {
                entry.push(object);
            }
        }
    }
    for objects in out.values_mut() {
        objects.sort_by_key(|o| CrmObject::ALL.iter().position(|a| a == o));
    }
    out
}

/// The provider objects to poll for a CRM object's events.
pub fn objects_of(connector: &dyn Connector, object: CrmObject) -> &'static [&'static str] {
    match Resource::parse(object.resource()) {
        Some(resource) => connector.change_objects(resource),
        None => &[],
    }
}

/// Per-node memory between passes: when this node last tried to claim each pair (so a pass
/// between intervals writes nothing; the interval is read afresh, so a changed interval counts
/// at once), and which connections are resting for their API budget. A restarted node starts
/// empty: the database holds everything that must survive.
#[derive(Debug, Default)]
pub struct PollerState {
    last_claim: HashMap<(ConnectionId, &'static str), i64>,
    resting: HashMap<ConnectionId, i64>,
    warned: HashSet<ConnectionId>,
    /// The same as `last_claim` for deletion passes, and the passes this node left unfinished
    /// (those go on every interval instead of every few).
    pub(super) deletion_claim: HashMap<(ConnectionId, &'static str), i64>,
    pub(super) open_passes: HashSet<(ConnectionId, &'static str)>,
}

/// Which CRM objects' `deleted` events each application's subscriptions ask for (`*` on a
/// `crm` subscription asks for every object's).
pub fn deletion_subscribed(
    pairs: &[(ApplicationId, String)],
) -> HashMap<ApplicationId, Vec<CrmObject>> {
    let mut out: HashMap<ApplicationId, Vec<CrmObject>> = HashMap::new();
    for (app, event) in pairs {
        let objects: Vec<CrmObject> = match EventType::parse(event) {
            _ if event == "*" => CrmObject::ALL.to_vec(),
            Some(EventType::Crm(object, CrmOperation::Deleted)) => vec![object],
            _ => Vec::new(),
        };
        let entry = out.entry(app.clone()).or_default();
        for object in objects {
            if !entry.contains(&object) {
                entry.push(object);
            }
        }
    }
    out
}

/// One claimed poll.
struct Poll<'a> {
    row: &'a ConnectionRow,
    object: CrmObject,
    connector: &'static dyn Connector,
    sf_object: &'static str,
    claim: PollClaim,
}

impl Vault {
    /// One pass of the poller. Returns how many objects were polled (deletion passes
    /// included).
    pub async fn poll_crm_changes(&self, state: &mut PollerState) -> Result<usize> {
        let events = self.store().crm_subscribed_events().await?;
        let subscribed = subscribed_objects(&events);
        if subscribed.is_empty() {
            return Ok(0);
        }
        let deletions = deletion_subscribed(&events);
        let connections = self.store().crm_poll_connections().await?;
        let now = self.store().db_now_ms().await?;
        let mut polled = 0;
        let mut intervals: HashMap<(ApplicationId, ServiceId), Option<i64>> = HashMap::new();
        for row in &connections {
            let Some(objects) = subscribed.get(&row.application_id) else {
                continue;
            };
            let Some(connector) = registry::connector(row.service_id.as_str()) else {
                continue;
            };
            if state.resting.get(&row.id).is_some_and(|until| *until > now) {
                continue;
            }
            let app_service = (row.application_id.clone(), row.service_id.clone());
            let interval_ms = match intervals.get(&app_service) {
                Some(known) => *known,
                None => {
                    // One application's unreadable integration must not stop everyone's polls.
                    let found = match self
                        .poll_interval_ms(&row.application_id, &row.service_id)
                        .await
                    {
                        Ok(found) => found,
                        Err(e) => {
                            tracing::warn!(app = %row.application_id, error = %crate::error::chain(&e), "CRM polls skipped: the integration could not be read");
                            None
                        }
                    };
                    intervals.insert(app_service, found);
                    found
                }
            };
            let Some(interval_ms) = interval_ms else {
                continue;
            };
            if compute_state(
                patchbay_core::IntegrationState::Configured,
                Some(&row.facts(true)),
            ) != ConnectionState::Callable
            {
                continue;
            }
            let deleted_of = deletions.get(&row.application_id);
            'objects: for object in objects {
                for sf_object in objects_of(connector, *object) {
                    if deleted_of.is_some_and(|d| d.contains(object)) {
                        let target = (row, *object, connector, *sf_object);
                        if let Some(go_on) =
                            self.deletion_pass(state, target, now, interval_ms).await?
                        {
                            polled += 1;
                            if !go_on {
                                break 'objects;
                            }
                        }
                    }
                    let key = (row.id.clone(), *sf_object);
                    if state
                        .last_claim
                        .get(&key)
                        .is_some_and(|at| now.saturating_sub(*at) < interval_ms)
                    {
                        continue;
                    }
                    state.last_claim.insert(key, now);
                    let Some(claim) = self
                        .store()
                        .claim_crm_poll(&row.id, sf_object, now, interval_ms)
                        .await?
                    else {
                        continue;
                    };
                    polled += 1;
                    let poll = Poll {
                        row,
                        object: *object,
                        connector,
                        sf_object,
                        claim,
                    };
                    if !self.poll_one(state, &poll, now).await {
                        // Budget low or the connection failed: its other objects wait too.
                        break 'objects;
                    }
                }
            }
        }
        // Forget connections that are gone or no longer polled, so the maps stay bounded.
        let live: HashSet<&ConnectionId> = connections.iter().map(|r| &r.id).collect();
        state.last_claim.retain(|(id, _), _| live.contains(id));
        state.resting.retain(|id, _| live.contains(id));
        state.warned.retain(|id| live.contains(id));
        state.deletion_claim.retain(|(id, _), _| live.contains(id));
        state.open_passes.retain(|(id, _)| live.contains(id));
        Ok(polled)
    }

    /// The poll interval of the application's integration for `service`, `None` when it is
    /// missing, disabled or not configured (its connections are not callable).
    async fn poll_interval_ms(
        &self,
        app: &ApplicationId,
        service: &ServiceId,
    ) -> Result<Option<i64>> {
        let Some(row) = self
            .store()
            .get_integration(app, &UnifiedApi::crm(), service)
            .await?
        else {
            return Ok(None);
        };
        let integration = row.to_domain()?;
        if integration.state() != patchbay_core::IntegrationState::Configured {
            return Ok(None);
        }
        Ok(Some(
            i64::from(integration.settings.crm_poll_interval_s).saturating_mul(1000),
        ))
    }

    /// Polls one claimed object and records the outcome. Returns false when the connection
    /// should not be polled further in this pass.
    async fn poll_one(&self, state: &mut PollerState, poll: &Poll<'_>, now: i64) -> bool {
        let row = poll.row;
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
                tracing::warn!(connection = %row.id, error = %crate::error::chain(&e), "CRM poll skipped: no usable token");
                return false;
            }
        };
        let mark = poll
            .claim
            .watermark
            .as_ref()
            .map(|(at_ms, seen)| Watermark {
                at_ms: *at_ms,
                seen: seen.clone(),
            });
        let planned = match &mark {
            None => poll.connector.plan_newest(poll.sf_object),
            Some(mark) => poll.connector.plan_changes(poll.sf_object, mark.at_ms),
        };
        let Ok(call) = planned else {
            tracing::error!(
                object = poll.sf_object,
                "CRM poll of an object without change events"
            );
            return false;
        };
        let (answer, usage) = self.provider_call(token, &call).await;
        let budget_ok = self.note_budget(state, &row.id, usage, now);
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(connection = %row.id, object = poll.sf_object, error = %crate::error::chain(&e), "CRM poll failed; retried next interval");
                return false;
            }
        };
        let (rows, complete) = poll.connector.read_changes_of(poll.sf_object, &answer);
        let rows: Vec<PolledRecord> = rows.into_iter().map(polled).collect();
        let (next, events) = match mark {
            None => (first_watermark(&rows), Vec::new()),
            Some(mark) => {
                let plan = plan_poll(&mark, &rows, complete);
                let events = plan
                    .changes
                    .iter()
                    .map(|change| self.crm_new_event(row, poll.object, change))
                    .collect();
                (plan.next, events)
            }
        };
        match self
            .store()
            .finish_crm_poll(&row.id, poll.sf_object, next.at_ms, &next.seen, &events)
            .await
        {
            Ok(written) => {
                if !events.is_empty() {
                    tracing::info!(connection = %row.id, object = poll.sf_object, changes = events.len(), deliveries = written, "CRM changes found");
                }
            }
            Err(e) => {
                tracing::warn!(connection = %row.id, error = %e, "CRM poll could not be recorded; retried next interval");
                return false;
            }
        }
        budget_ok
    }

    /// Reads a poll's API usage: below the reserve the connection rests (one warning
    /// until it recovers). Returns whether polling may go on.
    pub(super) fn note_budget(
        &self,
        state: &mut PollerState,
        id: &ConnectionId,
        usage: Option<ApiUsage>,
        now: i64,
    ) -> bool {
        let Some(usage) = usage else {
            return true;
        };
        if usage_allows(usage.used, usage.max, BUDGET_RESERVE_PERCENT) {
            if state.warned.remove(id) {
                tracing::info!(connection = %id, "CRM polling resumes: the account's API budget recovered");
            }
            state.resting.remove(id);
            return true;
        }
        if state.warned.insert(id.clone()) {
            tracing::warn!(
                connection = %id,
                used = usage.used,
                max = usage.max,
                reserve_percent = BUDGET_RESERVE_PERCENT,
                rest_ms = rest_ms(usage),
                "CRM polling paused: the account's API budget is nearly used up"
            );
        }
        state
            .resting
            .insert(id.clone(), now.saturating_add(rest_ms(usage)));
        false
    }

    pub(super) fn crm_new_event(
        &self,
        row: &ConnectionRow,
        object: CrmObject,
        change: &patchbay_webhooks::crm::Change,
    ) -> NewEvent {
        let event_id = uuid::Uuid::now_v7().hyphenated().to_string();
        let consumer = row.consumer_id.to_string();
        let payload = crm_event(
            &event_id,
            &CrmChange {
                service_id: row.service_id.as_str(),
                consumer_id: &consumer,
                object,
                operation: change.operation,
                record_id: &change.id,
            },
            self.public_url(),
            &iso_ms(change.at_ms),
        );
        NewEvent {
            event_id,
            application_id: row.application_id.clone(),
            consumer_id: Some(consumer),
            ordering_key: row.id.to_string(),
            event_type: EventType::Crm(object, change.operation).name(),
            entity_type: object.entity_type().to_owned(),
            unified_api: "crm".to_owned(),
            service_id: row.service_id.to_string(),
            payload_json: payload.to_string(),
            // The delivery worker compares with this node's clock, as for every other event.
            now_ms: self.now_ms(),
        }
    }

    /// Starts this node's CRM poller.
    pub fn spawn_crm_poller(&self) -> CrmPoller {
        let stop = Arc::new(Notify::new());
        let vault = self.clone();
        let stopped = Arc::clone(&stop);
        let tick = self.webhook_options().crm_poll_tick;
        let handle = tokio::spawn(async move {
            let mut state = PollerState::default();
            loop {
                if let Err(e) = vault.poll_crm_changes(&mut state).await {
                    tracing::warn!(error = %crate::error::chain(&e), "CRM poll pass failed");
                }
                tokio::select! {
                    () = stopped.notified() => break,
                    () = tokio::time::sleep(tick) => {}
                }
            }
        });
        super::Background::new("CRM poller", stop, handle)
    }
}

pub(super) fn polled(row: ChangedRow) -> PolledRecord {
    PolledRecord {
        id: row.id,
        created_ms: row.created_ms,
        modstamp_ms: row.modstamp_ms,
        deleted: row.deleted,
    }
}

/// A running CRM poller.
pub type CrmPoller = super::Background;

/// How long a connection low on its API budget rests: as long as its provider's window needs
/// to recover (a day's budget is read again every quarter hour; a ten-second window, after ten
/// seconds), never longer than a quarter hour.
fn rest_ms(usage: ApiUsage) -> i64 {
    i64::try_from(usage.recheck_after_ms)
        .unwrap_or(MAX_REST_MS)
        .clamp(1, MAX_REST_MS)
}

/// The longest rest: a budget is read again at least this often.
const MAX_REST_MS: i64 = 15 * 60 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subscribed_objects_are_polled() {
        let apps: Vec<ApplicationId> = (0..4).map(|_| ApplicationId::generate()).collect();
        let app = |n: usize| apps[n].clone();
        let pairs = vec![
            (app(1), "crm.contact.created".to_owned()),
            (app(1), "crm.contact.deleted".to_owned()),
            (app(1), "crm.activity.updated".to_owned()),
            (app(2), "*".to_owned()),
            (app(3), "vault.connection.created".to_owned()),
        ];
        let got = subscribed_objects(&pairs);
        assert_eq!(got[&app(1)], vec![CrmObject::Contact, CrmObject::Activity]);
        assert_eq!(got[&app(2)], CrmObject::ALL.to_vec());
        assert!(got[&app(3)].is_empty());
        // Every connector polls changes, contacts at least (they exist in every CRM), and no
        // two CRM objects share a poll key (each keeps its own watermark).
        let mut connectors = 0;
        for connector in registry::all() {
            connectors += 1;
            assert!(
                !objects_of(connector, CrmObject::Contact).is_empty(),
                "{} polls no contacts",
                connector.service_id()
            );
            let mut keys: Vec<&str> = CrmObject::ALL
                .iter()
                .flat_map(|o| objects_of(connector, *o).iter().copied())
                .collect();
            let n = keys.len();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(
                keys.len(),
                n,
                "{}: a poll key is shared",
                connector.service_id()
            );
        }
        assert!(connectors >= 2, "both CRMs are registered");
    }

    #[test]
    fn deletion_passes_follow_deleted_subscriptions_only() {
        let apps: Vec<ApplicationId> = (0..3).map(|_| ApplicationId::generate()).collect();
        let pairs = vec![
            (apps[0].clone(), "crm.contact.created".to_owned()),
            (apps[0].clone(), "crm.lead.deleted".to_owned()),
            (apps[0].clone(), "crm.lead.deleted".to_owned()),
            (apps[1].clone(), "*".to_owned()),
            (apps[2].clone(), "crm.note.updated".to_owned()),
        ];
        let got = deletion_subscribed(&pairs);
        assert_eq!(got[&apps[0]], vec![CrmObject::Lead]);
        assert_eq!(got[&apps[1]], CrmObject::ALL.to_vec());
        assert!(got[&apps[2]].is_empty());
        // Only connectors whose change query misses deletions plan passes; each that does
        // plans one for every object it polls.
        let mut passes = 0;
        for connector in registry::all() {
            let keys: Vec<&str> = CrmObject::ALL
                .iter()
                .flat_map(|o| objects_of(connector, *o).iter().copied())
                .collect();
            let planned = keys
                .iter()
                .filter(|k| connector.plan_deletions(k, None).is_some())
                .count();
            assert!(
                planned == 0 || planned == keys.len(),
                "{}",
                connector.service_id()
            );
            passes += planned;
        }
        assert!(passes > 0, "some connector needs deletion passes");
    }

    #[test]
    fn a_spent_budget_rests_as_long_as_its_window() {
        let usage = |recheck_after_ms| ApiUsage {
            used: 99,
            max: 100,
            recheck_after_ms,
        };
        // A ten-second window: back after ten seconds, not a quarter hour.
        assert_eq!(rest_ms(usage(10_000)), 10_000);
        // A daily budget is read again every quarter hour, and nothing rests longer.
        assert_eq!(rest_ms(usage(15 * 60 * 1000)), MAX_REST_MS);
        assert_eq!(rest_ms(usage(u64::MAX)), MAX_REST_MS);
        assert_eq!(rest_ms(usage(0)), 1);
    }
}
