//! Router assembly and the listener.

use std::io;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::config::EmulatorConfig;
use crate::error::ApiError;
use crate::persist::{StateFileError, Writer};
use crate::state::Emulator;

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error(transparent)]
    StateFile(#[from] StateFileError),
    #[error("the server stopped: {0}")]
    Serve(io::Error),
}

/// The whole HTTP surface: HubSpot's hosts behind the fault/log middleware, the CRM API behind
/// its guard, and the control plane beside them (behind its token, when one is set).
pub fn router(emu: Emulator) -> Router {
    let api = crate::api::router().layer(axum::middleware::from_fn_with_state(
        emu.clone(),
        crate::api::guard,
    ));
    let hubspot = crate::oauth::router()
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(
            emu.clone(),
            crate::control::middleware::observe,
        ));
    let control = crate::control::router().layer(axum::middleware::from_fn_with_state(
        emu.clone(),
        crate::control::middleware::require_token,
    ));
    Router::new()
        .merge(hubspot)
        .nest("/__emulator", control)
        .fallback(fallback)
        .with_state(emu)
}

async fn fallback(request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/crm/") || path.starts_with("/settings/") {
        ApiError::not_found().into_response()
    } else {
        (StatusCode::NOT_FOUND, "Not Found").into_response()
    }
}

/// A running emulator. Dropping it stops the server, and the state file's writer without a
/// last write (as a kill would); [`EmulatorHandle::shutdown`] writes the state once more.
pub struct EmulatorHandle {
    emulator: Emulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
    /// Present with a state file.
    writer: Option<Writer>,
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT`: every HubSpot host at once.
    pub fn base_url(&self) -> String {
        self.emulator.base_url().to_owned()
    }

    pub fn emulator(&self) -> Emulator {
        self.emulator.clone()
    }

    /// The one-line JSON printed on start.
    pub fn startup_info(&self) -> serde_json::Value {
        crate::control::startup_info(&self.emulator)
    }

    /// Stops accepting connections, waits for the server task, then writes the state file a
    /// last time (a failure is logged).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(writer) = self.writer.take() {
            writer.finish(&self.emulator).await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.listen` (port 0 picks a free port) and serves in a background task. With a
/// state file, the state is restored from it (or it is created) before the first request.
pub async fn spawn(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let host = match local.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let state_file = config.state_file.clone();
    // Held from before the file is read until the writer's last write.
    let lock = state_file
        .as_deref()
        .map(patchbay_emulator_state::lock_state_file)
        .transpose()?;
    let emulator = Emulator::new(config, format!("http://{host}:{}", local.port()))?;
    // Written at once: a new file exists from the start, a folder that cannot take it fails
    // the start rather than the first change, and an older file gets mode 0600.
    let writer = match state_file.zip(lock) {
        Some((path, lock)) => {
            emulator.changes().take();
            crate::persist::save(&emulator, &path).await?;
            Some(Writer::start(emulator.clone(), path, lock))
        }
        None => None,
    };
    let app = router(emulator.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(EmulatorHandle {
        emulator,
        stop: Some(stop),
        task: Some(task),
        writer,
    })
}

impl EmulatorHandle {
    /// Runs until the server stops (the CLI's main loop), then writes the state file a last
    /// time.
    pub async fn wait(mut self) -> Result<(), EmulatorError> {
        let served = match self.task.take() {
            Some(task) => match task.await {
                Ok(result) => result.map_err(EmulatorError::Serve),
                Err(join) => Err(EmulatorError::Serve(io::Error::other(join.to_string()))),
            },
            None => Ok(()),
        };
        if let Some(writer) = self.writer.take() {
            writer.finish(&self.emulator).await;
        }
        served
    }
}
