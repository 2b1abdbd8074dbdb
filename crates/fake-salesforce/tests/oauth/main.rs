//! OAuth surface and control plane tests, all over HTTP against an in-process emulator.

mod support;

mod authorize;
mod refresh;
mod token;
