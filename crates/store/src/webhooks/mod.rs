//! Webhooks (issue #12): subscriptions with sealed key copies, the delivery outbox written in
//! the same transaction as the change that causes an event, delivery claiming, attempt logs,
//! and the CRM poller's watermarks.

mod emit;
mod outbox;
mod subscriptions;
mod watermarks;

pub use emit::{ConnectionEventHook, NewEvent};
pub use outbox::{
    ClaimedDelivery, DeliveryOutcome, WebhookAttempt, WebhookLogFilter, WebhookLogRow,
};
pub use subscriptions::{NewWebhook, WebhookPatch, WebhookRow};
pub use watermarks::PollClaim;
