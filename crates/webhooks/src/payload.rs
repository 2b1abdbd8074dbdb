//! Delivery bodies: `{"payload": {...}}` with the spec's `ConnectionEvent` (vault.yml) or
//! `CrmWebhookEvent` (crm.yml). A payload is stored once, without `execution_attempt`; the
//! worker adds the try number when it sends, so each try is signed over what it sends.

use serde_json::{Map, Value, json};

use crate::event::{CrmObject, CrmOperation, EventType};

/// The `service_id` of Vault events, as in the spec's examples.
pub const VAULT_SERVICE_ID: &str = "apideck-vault";

/// A Vault event about one connection. `entity` is the spec's `ConsumerConnection`.
pub fn connection_event(
    event_id: &str,
    event: EventType,
    entity_id: &str,
    entity: Value,
    occurred_at: &str,
) -> Value {
    json!({
        "event_id": event_id,
        "event_type": event.name(),
        "service_id": VAULT_SERVICE_ID,
        "entity_id": entity_id,
        "entity_type": "Connection",
        "entity": entity,
        "occurred_at": occurred_at,
    })
}

/// Where a CRM change happened and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmChange<'a> {
    pub service_id: &'a str,
    pub consumer_id: &'a str,
    pub object: CrmObject,
    pub operation: CrmOperation,
    pub record_id: &'a str,
}

/// A CRM event. No record body: `entity_url` is the unified GET of the record.
pub fn crm_event(
    event_id: &str,
    change: &CrmChange<'_>,
    public_url: &str,
    occurred_at: &str,
) -> Value {
    json!({
        "event_id": event_id,
        "event_type": EventType::Crm(change.object, change.operation).name(),
        "unified_api": "crm",
        "service_id": change.service_id,
        "consumer_id": change.consumer_id,
        "entity_id": change.record_id,
        "entity_type": change.object.entity_type(),
        "entity_url": format!(
            "{}/crm/{}/{}",
            public_url.trim_end_matches('/'),
            change.object.resource(),
            change.record_id
        ),
        "occurred_at": occurred_at,
    })
}

/// The signed validation event sent to a delivery URL on create and update.
pub fn validation_event(event_id: &str, webhook_id: &str, occurred_at: &str) -> Value {
    json!({
        "event_id": event_id,
        "event_type": EventType::Validation.name(),
        "service_id": VAULT_SERVICE_ID,
        "entity_id": webhook_id,
        "entity_type": "Webhook",
        "occurred_at": occurred_at,
    })
}

/// The body of try number `attempt` (1-based).
pub fn delivery_body(payload: &Value, attempt: u32) -> Value {
    let mut payload = payload.as_object().cloned().unwrap_or_else(Map::new);
    payload.insert("execution_attempt".to_owned(), json!(attempt));
    json!({ "payload": payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_events_point_at_the_unified_get_and_carry_no_record() {
        let change = CrmChange {
            service_id: "salesforce",
            consumer_id: "acme",
            object: CrmObject::Company,
            operation: CrmOperation::Deleted,
            record_id: "001xx0000000001AAA",
        };
        let p = crm_event(
            "e1",
            &change,
            "https://pb.example.com/",
            "2026-01-01T00:00:00.000Z",
        );
        assert_eq!(p["event_type"], "crm.company.deleted");
        assert_eq!(
            p["entity_url"],
            "https://pb.example.com/crm/companies/001xx0000000001AAA"
        );
        assert_eq!(p["entity_type"], "Company");
        assert!(p.get("entity").is_none());
        let body = delivery_body(&p, 3);
        assert_eq!(body["payload"]["execution_attempt"], 3);
        assert_eq!(body["payload"]["event_id"], "e1");
    }

    #[test]
    fn connection_events_wrap_the_consumer_connection() {
        let p = connection_event(
            "e2",
            EventType::ConnectionCallable,
            "crm+salesforce",
            json!({"id": "crm+salesforce", "state": "callable"}),
            "2026-01-01T00:00:00.000Z",
        );
        assert_eq!(p["event_type"], "vault.connection.callable");
        assert_eq!(p["entity_type"], "Connection");
        assert_eq!(p["entity"]["state"], "callable");
        assert_eq!(p["service_id"], VAULT_SERVICE_ID);
    }
}
