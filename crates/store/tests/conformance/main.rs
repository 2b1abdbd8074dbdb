//! The conformance suite: every test runs on SQLite and on PostgreSQL
//! (see `patchbay_store::testing`), each on its own fresh database.

mod admin_users;
mod applications;
mod concurrency;
mod connections;
mod consumers;
mod first_start;
mod fixtures;
mod integrations;
mod logs_audit;
mod oauth;
mod refresh;
mod sealed;
mod webhooks;
