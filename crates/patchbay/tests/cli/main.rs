//! Drives the real `patchbay` binary as users and scripts do: set-up commands on a temp data
//! dir, `serve` on port 0, `doctor` against an in-process emulator, and `demo` end to end.

mod admin_commands;
mod crm_timeout;
mod demo;
mod deploy;
mod doctor;
mod first_hour;
mod metrics_token;
mod serve;
mod support;
mod sweeper;
mod webhooks;
