//! The coordinator against the emulator (in-process, port 0) on SQLite and PostgreSQL.
//! Every `backend_tests!` function runs once per backend on a database of its own.

mod concurrency;
mod failures;
mod lifecycle;
mod multi_process;
mod support;
mod sweeping;
