//! The nginx row: Debian's `nginx` (`nginx-light` is enough) as a plain reverse proxy in front
//! of the emulator, two workers, upstream keepalive, the access token set in its config. It is
//! the bar the issue sets for Patchbay's proxy: what a mature proxy keeps of the direct
//! throughput on this machine. Missing nginx skips the row with a notice.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub struct Nginx {
    pub base: String,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

/// The nginx binary, if installed.
fn binary() -> Option<&'static str> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Starts nginx proxying to `upstream` (`http://127.0.0.1:PORT`) with `token` as the bearer.
/// `Ok(None)` with a notice on stderr when nginx is not installed.
pub fn spawn(upstream: &str, token: &str) -> anyhow::Result<Option<Nginx>> {
    let Some(bin) = binary() else {
        eprintln!(
            "notice: nginx is not installed; the nginx row is skipped (apt-get install nginx-light)"
        );
        return Ok(None);
    };
    let upstream = upstream
        .strip_prefix("http://")
        .context("the upstream is plain http")?;
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let d = dir.path().display();
    let conf = format!(
        "worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream emulator {{ server {upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://emulator;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Authorization \"Bearer {token}\";
        }}
    }}
}}
"
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new(bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("start nginx")?;
    let nginx = Nginx {
        base: format!("http://127.0.0.1:{port}"),
        dir,
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let log =
                std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
            bail!("nginx did not start listening within 5 s: {log}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Some(nginx))
}

impl Nginx {
    /// The master's pid (its CPU and its workers' are read from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // `-s quit` through the pid file stops the master and its workers; killing the master
        // alone would leave the workers listening.
        if let Some(bin) = binary() {
            let _ = Command::new(bin)
                .arg("-p")
                .arg(self.dir.path())
                .arg("-c")
                .arg(self.dir.path().join("nginx.conf"))
                .args(["-s", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
