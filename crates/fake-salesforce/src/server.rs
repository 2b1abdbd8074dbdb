//! Router assembly and the listener: plain HTTP, or HTTPS with a self-signed certificate.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use tower::{Service, ServiceExt as _};

use crate::config::EmulatorConfig;
use crate::control::faults::ResetConnection;
use crate::persist::{StateFileError, Writer};
use crate::state::{Emulator, StateError};

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("could not write the TLS certificate into {dir}: {source}")]
    Certificate { dir: String, source: io::Error },
    #[error("could not generate the TLS certificate: {0}")]
    CertificateGeneration(String),
    #[error("could not set up the emulator: {0}")]
    Setup(String),
    #[error(transparent)]
    StateFile(#[from] StateFileError),
    #[error("the server stopped: {0}")]
    Serve(io::Error),
}

/// The whole HTTP surface: the Salesforce hosts behind the fault/log middleware, and the
/// control plane beside them.
pub fn router(emu: Emulator) -> Router {
    let salesforce = crate::oauth::router().merge(crate::rest::router()).layer(
        axum::middleware::from_fn_with_state(emu.clone(), crate::control::middleware::observe),
    );
    let control = crate::control::router().layer(axum::middleware::from_fn_with_state(
        emu.clone(),
        crate::control::middleware::require_token,
    ));
    Router::new()
        .merge(salesforce)
        .nest("/__emulator", control)
        .with_state(emu)
}

/// A running emulator. Dropping it stops the server, and the state file's writer without a
/// last write (as a kill would); [`EmulatorHandle::shutdown`] writes the state once more.
pub struct EmulatorHandle {
    emulator: Emulator,
    server: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<io::Result<()>>>,
    /// Present with a state file.
    writer: Option<Writer>,
}

impl EmulatorHandle {
    /// `http(s)://127.0.0.1:PORT`: the My Domain host and instance URL.
    pub fn base_url(&self) -> String {
        self.emulator.base_url().to_owned()
    }

    pub fn emulator(&self) -> Emulator {
        self.emulator.clone()
    }

    /// The one-line JSON printed on start: URLs and the default app's and user's credentials.
    pub fn startup_info(&self) -> serde_json::Value {
        crate::control::startup_info(&self.emulator)
    }

    /// Stops accepting connections, waits for the server task, then writes the state file a
    /// last time (a failure is logged).
    pub async fn shutdown(mut self) {
        self.server.shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(writer) = self.writer.take() {
            writer.finish(&self.emulator).await;
        }
    }

    /// Runs until the server stops (the CLI's main loop), then writes the state file a last time.
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

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.server.shutdown();
        }
    }
}

/// Binds `config.listen` (port 0 picks a free port) and serves in a background task. With a
/// state file, the state is restored from it (or it is created) before the first request.
pub async fn spawn(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
    let addr = config.listen;
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| EmulatorError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let scheme = if config.tls_cert_dir.is_some() {
        "https"
    } else {
        "http"
    };
    let host = match local.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let base_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("{scheme}://{host}:{}", local.port()),
    };
    let tls_dir = config.tls_cert_dir.clone();
    let state_file = config.state_file.clone();
    // Held from before the file is read until the writer's last write.
    let lock = state_file
        .as_deref()
        .map(patchbay_emulator_state::lock_state_file)
        .transpose()?;
    let emulator = Emulator::new(config, base_url).map_err(|e| match e {
        StateError::StateFile(e) => EmulatorError::StateFile(e),
        StateError::Org(_) => EmulatorError::Setup(e.to_string()),
    })?;
    // Written at once: a new file exists from the start, a folder that cannot take it fails
    // the start rather than the first change, and an old file gets mode 0600.
    let writer = match state_file.zip(lock) {
        Some((path, lock)) => {
            emulator.changes().take();
            crate::persist::save(&emulator, &path).await?;
            Some(Writer::start(emulator.clone(), path, lock))
        }
        None => None,
    };
    let make = MakeResettable(Resettable(router(emulator.clone())));
    let server = axum_server::Handle::new();

    let task = match tls_dir {
        Some(dir) => {
            let (cert, key) = write_self_signed(&dir)?;
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem(cert, key)
                .await
                .map_err(|e| EmulatorError::CertificateGeneration(e.to_string()))?;
            let srv = axum_server::from_tcp_rustls(listener, tls)
                .map_err(|source| EmulatorError::Bind { addr, source })?
                .handle(server.clone());
            tokio::spawn(srv.serve(make))
        }
        None => {
            let srv = axum_server::from_tcp(listener)
                .map_err(|source| EmulatorError::Bind { addr, source })?
                .handle(server.clone());
            tokio::spawn(srv.serve(make))
        }
    };
    Ok(EmulatorHandle {
        emulator,
        server,
        task: Some(task),
        writer,
    })
}

/// Writes `cert.pem` and `key.pem` (valid for localhost and 127.0.0.1) into `dir`.
fn write_self_signed(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), EmulatorError> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names)
        .map_err(|e| EmulatorError::CertificateGeneration(e.to_string()))?;
    let cert = certified.cert.pem();
    let key = certified.signing_key.serialize_pem();
    let io_err = |source| EmulatorError::Certificate {
        dir: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    std::fs::write(dir.join("cert.pem"), &cert).map_err(io_err)?;
    std::fs::write(dir.join("key.pem"), &key).map_err(io_err)?;
    Ok((cert.into_bytes(), key.into_bytes()))
}

/// The router, except that a response marked [`ResetConnection`] becomes a service error, which
/// makes hyper close the connection without answering: the "connection reset" fault.
#[derive(Clone)]
struct Resettable(Router);

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct ConnectionDropped;

impl<B> Service<Request<B>> for Resettable
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = ConnectionDropped;
    type Future = Pin<Box<dyn Future<Output = Result<Response, ConnectionDropped>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let call = self.0.clone().oneshot(request.map(Body::new));
        Box::pin(async move {
            let response = match call.await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<ResetConnection>().is_some() {
                Err(ConnectionDropped)
            } else {
                Ok(response)
            }
        })
    }
}

#[derive(Clone)]
struct MakeResettable(Resettable);

impl<T> Service<T> for MakeResettable {
    type Response = Resettable;
    type Error = Infallible;
    type Future = Ready<Result<Resettable, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _target: T) -> Self::Future {
        ready(Ok(self.0.clone()))
    }
}
