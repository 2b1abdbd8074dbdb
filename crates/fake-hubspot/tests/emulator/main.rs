//! The emulator's real HTTP surface, each test on its own emulator on port 0.

mod support;

mod api;
mod control;
mod emails;
mod errors;
mod limits;
mod oauth;
mod pipelines;
mod relations;
mod state;
mod users;
