//! The REST surface (`/services/data`) over HTTP, against an emulator per test on port 0.
//! One test binary: the modules share the harness in `support`.

mod auth;
mod concurrency;
mod garbage;
mod query;
mod records;
mod support;
mod versions;
