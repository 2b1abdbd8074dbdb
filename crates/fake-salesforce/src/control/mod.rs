//! The control plane under `/__emulator/`, apart from the Salesforce surface.

pub mod faults;
pub mod log;
pub mod middleware;

use axum::Router;

use crate::state::Emulator;

pub fn router() -> Router<Emulator> {
    Router::new()
}

/// The one-line JSON printed on start.
pub fn startup_info(emu: &Emulator) -> serde_json::Value {
    let config = emu.config();
    let base = emu.base_url();
    serde_json::json!({
        "base_url": base,
        "instance_url": emu.instance_url(),
        "login_urls": {
            "my_domain": base,
            "production": format!("{base}/login"),
            "sandbox": format!("{base}/test"),
        },
        "org_id": emu.org_id(),
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "callback_urls": config.callback_urls,
        "username": config.username,
        "password": config.password,
        "control_plane": format!("{base}/__emulator"),
    })
}
