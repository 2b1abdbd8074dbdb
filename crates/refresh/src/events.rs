//! What the coordinator tells the rest of Patchbay about a connection's lifecycle, so the
//! server can send Apideck's `vault.connection.token_refresh.*` webhooks and alert admins.
//! Each event is emitted on the *transition*, by the node that recorded it, so a webhook
//! built on it goes out once.

use patchbay_core::ConnectionId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshEvent {
    /// A healthy connection's refresh failed; it stays callable while backoff runs
    /// (`token_refresh.pending`).
    Pending {
        connection_id: ConnectionId,
        code: String,
    },
    /// A refresh succeeded after failures (`token_refresh.recovered`).
    Recovered { connection_id: ConnectionId },
    /// The grant is dead and the connection now needs re-authorization (`token_refresh.failed`
    /// in spirit; Apideck sends it when the retention window ends).
    NeedsAuth {
        connection_id: ConnectionId,
        reason: String,
    },
    /// The integration's OAuth client was rejected: the admin must fix the integration.
    IntegrationRejected { integration: String, code: String },
}

/// Receives events. Called inline: keep it quick (queue the webhook, don't send it here).
pub type EventSink = std::sync::Arc<dyn Fn(RefreshEvent) + Send + Sync>;
