//! The store's [`ConnectionEventHook`]: turns a connection row before and after a write into
//! Vault events with the spec's `ConnectionEvent` payload. It runs inside the write's
//! transaction, so it only computes (no IO).

use patchbay_core::{ConnectionState, IntegrationState, compute_state};
use patchbay_store::{ConnectionEventHook, ConnectionRow, NewEvent};
use patchbay_webhooks::transition::{ConnectionSnapshot, connection_events};
use serde_json::Value;

use crate::service::connections::catalogue;
use crate::service::views::object_or_empty;
use crate::timefmt::iso_ms;

#[derive(Debug, Default)]
pub struct VaultEventHook;

/// A connection row exists only for an integration that was configured, so its state is
/// computed as if the integration still is (the integration's own changes fire no events).
fn state(row: &ConnectionRow) -> ConnectionState {
    compute_state(IntegrationState::Configured, Some(&row.facts(true)))
}

fn snapshot(row: &ConnectionRow) -> ConnectionSnapshot {
    ConnectionSnapshot {
        enabled: row.enabled,
        state: state(row),
        health: row.health,
        settings_json: row.settings_json.clone(),
        metadata_json: row.metadata_json.clone(),
    }
}

/// The spec's `ConsumerConnection` for a row.
pub fn entity(row: &ConnectionRow) -> Value {
    let mut settings = object_or_empty(&row.settings_json);
    if let Some(url) = &row.instance_url {
        settings.insert("instance_url".to_owned(), Value::String(url.clone()));
    }
    let cat = &catalogue(&row.service_id);
    serde_json::json!({
        "id": patchbay_core::connection_key(&row.unified_api, &row.service_id),
        "consumer_id": row.consumer_id.as_str(),
        "unified_api": row.unified_api.as_str(),
        "service_id": row.service_id.as_str(),
        "name": cat.name,
        "icon": cat.icon,
        "logo": cat.logo,
        "website": cat.website,
        "tag_line": cat.tag_line,
        "auth_type": "oauth2",
        "enabled": row.enabled,
        "settings": settings,
        "metadata": object_or_empty(&row.metadata_json),
        "state": state(row).as_str(),
        "health": row.health.as_str(),
        "credentials_expire_at": row.credentials_expire_at.map(iso_ms),
        "last_refresh_failed_at": row.last_refresh_failed_at.map(iso_ms),
        "created_at": iso_ms(row.created_at),
        "updated_at": iso_ms(row.updated_at),
    })
}

impl ConnectionEventHook for VaultEventHook {
    fn events(
        &self,
        before: Option<&ConnectionRow>,
        after: Option<&ConnectionRow>,
        credentials_replaced: bool,
    ) -> Vec<NewEvent> {
        let Some(row) = after.or(before) else {
            return Vec::new();
        };
        let types = connection_events(
            before.map(snapshot).as_ref(),
            after.map(snapshot).as_ref(),
            credentials_replaced,
        );
        let now = row.updated_at;
        let entity_id = format!(
            "{}+{}",
            patchbay_core::connection_key(&row.unified_api, &row.service_id),
            row.consumer_id
        );
        types
            .into_iter()
            .map(|event| {
                let event_id = uuid::Uuid::now_v7().hyphenated().to_string();
                let payload = patchbay_webhooks::payload::connection_event(
                    &event_id,
                    event,
                    &entity_id,
                    entity(row),
                    &iso_ms(now),
                );
                NewEvent {
                    event_id,
                    application_id: row.application_id.clone(),
                    consumer_id: Some(row.consumer_id.to_string()),
                    ordering_key: row.id.to_string(),
                    event_type: event.name(),
                    entity_type: "Connection".to_owned(),
                    unified_api: "vault".to_owned(),
                    service_id: row.service_id.to_string(),
                    payload_json: payload.to_string(),
                    now_ms: now,
                }
            })
            .collect()
    }
}
