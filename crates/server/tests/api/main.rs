//! All integration tests of the server, in one binary (one link step).

mod admin;
mod bad_input;
mod connect_flow;
mod consumers;
mod crm;
mod crm_paging;
mod crm_params;
mod crm_support;
mod diagnostics;
mod error_hints;
mod helpers;
mod isolation;
mod keys_and_sessions;
mod lifecycle;
mod log_saturation;
mod log_times;
mod multi_node;
mod proxy;
mod proxy_support;
mod secrets;
mod spec_shapes;
mod troubleshooting;
mod webhooks;
mod webhooks_support;
