//! OAuth surface, control plane and state-file tests, all over HTTP against an in-process
//! emulator.

mod support;

mod authorize;
mod concurrency;
mod control;
mod endpoints;
mod faults;
mod inferred;
mod perf;
mod refresh;
mod state_file;
mod token;
