//! Which Vault events a change of one connection fires (docs/apideck.md §2.1): the store calls
//! this with the row before and after every connection write, inside the write's transaction.

use patchbay_core::{ConnectionState, Health};

use crate::event::EventType;

/// What the events depend on, before or after a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSnapshot {
    pub enabled: bool,
    pub state: ConnectionState,
    pub health: Health,
    pub settings_json: String,
    pub metadata_json: String,
}

/// The events for one write, in the order they are delivered. `credentials_replaced` is true
/// for a fresh grant (OAuth callback, import), not for a refresh.
pub fn connection_events(
    before: Option<&ConnectionSnapshot>,
    after: Option<&ConnectionSnapshot>,
    credentials_replaced: bool,
) -> Vec<EventType> {
    let (b, a) = match (before, after) {
        (None, None) => return Vec::new(),
        (None, Some(a)) => {
            let mut out = vec![EventType::ConnectionCreated];
            if a.state == ConnectionState::Callable && credentials_replaced {
                out.push(EventType::ConnectionCallable);
            }
            return out;
        }
        (Some(_), None) => return vec![EventType::ConnectionDeleted],
        (Some(b), Some(a)) => (b, a),
    };
    let mut out = Vec::new();
    let entered = |h: Health| a.health == h && b.health != h;
    let reenabled = !b.enabled && a.enabled;
    if credentials_replaced
        || reenabled
        || a.settings_json != b.settings_json
        || a.metadata_json != b.metadata_json
    {
        out.push(EventType::ConnectionUpdated);
    }
    if b.enabled && !a.enabled {
        out.push(EventType::ConnectionDisabled);
    }
    if entered(Health::Revoked) {
        out.push(EventType::ConnectionRevoked);
    }
    if entered(Health::PendingRefresh) {
        out.push(EventType::TokenRefreshPending);
    }
    if entered(Health::NeedsAuth) {
        out.push(EventType::TokenRefreshFailed);
    }
    if !credentials_replaced && b.health == Health::PendingRefresh && a.health == Health::Ok {
        out.push(EventType::TokenRefreshRecovered);
    }
    if entered(Health::Degraded) {
        out.push(EventType::DownstreamDegraded);
    }
    if b.health == Health::Degraded && a.health == Health::Ok {
        out.push(EventType::DownstreamRecovered);
    }
    if a.state == ConnectionState::Callable && b.state != ConnectionState::Callable {
        out.push(EventType::ConnectionCallable);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(enabled: bool, state: ConnectionState, health: Health) -> ConnectionSnapshot {
        ConnectionSnapshot {
            enabled,
            state,
            health,
            settings_json: "{}".to_owned(),
            metadata_json: "{}".to_owned(),
        }
    }

    use ConnectionState::{Added, Callable, Invalid};
    use EventType::*;

    #[test]
    fn first_oauth_is_created_then_updated_then_callable() {
        let added = snap(true, Added, Health::Ok);
        let callable = snap(true, Callable, Health::Ok);
        assert_eq!(
            connection_events(None, Some(&added), false),
            vec![ConnectionCreated]
        );
        assert_eq!(
            connection_events(Some(&added), Some(&callable), true),
            vec![ConnectionUpdated, ConnectionCallable]
        );
        // Re-authorising a callable connection: updated only.
        assert_eq!(
            connection_events(Some(&callable), Some(&callable), true),
            vec![ConnectionUpdated]
        );
        // A write that changes nothing fires nothing.
        assert!(connection_events(Some(&callable), Some(&callable), false).is_empty());
    }

    #[test]
    fn health_transitions_fire_once_on_entry() {
        let ok = snap(true, Callable, Health::Ok);
        let pending = snap(true, Callable, Health::PendingRefresh);
        let failed = snap(true, Invalid, Health::NeedsAuth);
        let degraded = snap(true, Callable, Health::Degraded);
        let revoked = snap(true, Added, Health::Revoked);
        assert_eq!(
            connection_events(Some(&ok), Some(&pending), false),
            vec![TokenRefreshPending]
        );
        assert!(connection_events(Some(&pending), Some(&pending), false).is_empty());
        assert_eq!(
            connection_events(Some(&pending), Some(&ok), false),
            vec![TokenRefreshRecovered]
        );
        assert_eq!(
            connection_events(Some(&pending), Some(&failed), false),
            vec![TokenRefreshFailed]
        );
        assert_eq!(
            connection_events(Some(&ok), Some(&degraded), false),
            vec![DownstreamDegraded]
        );
        assert_eq!(
            connection_events(Some(&degraded), Some(&ok), false),
            vec![DownstreamRecovered]
        );
        assert_eq!(
            connection_events(Some(&ok), Some(&revoked), false),
            vec![ConnectionRevoked]
        );
        // Re-authorising after a permanent failure is an update that makes it callable again.
        assert_eq!(
            connection_events(Some(&failed), Some(&ok), true),
            vec![ConnectionUpdated, ConnectionCallable]
        );
    }

    #[test]
    fn disable_delete_and_settings() {
        let ok = snap(true, Callable, Health::Ok);
        let off = snap(false, Added, Health::Ok);
        assert_eq!(
            connection_events(Some(&ok), Some(&off), false),
            vec![ConnectionDisabled]
        );
        assert_eq!(
            connection_events(Some(&off), Some(&ok), false),
            vec![ConnectionUpdated, ConnectionCallable]
        );
        let mut changed = ok.clone();
        changed.metadata_json = r#"{"plan":"pro"}"#.to_owned();
        assert_eq!(
            connection_events(Some(&ok), Some(&changed), false),
            vec![ConnectionUpdated]
        );
        assert_eq!(
            connection_events(Some(&ok), None, false),
            vec![ConnectionDeleted]
        );
    }
}
