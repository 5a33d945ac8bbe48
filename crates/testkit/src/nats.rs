//! A private `nats-server` with JetStream, for tests that take NATS down and bring it back.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::env::non_empty_var;

/// How long a start may take before the test fails with the server's log.
const START_DEADLINE: Duration = Duration::from_secs(15);
const POLL_PAUSE: Duration = Duration::from_millis(20);

/// A `nats-server -js` on a loopback port of its own, with its JetStream store in a
/// temporary directory.
///
/// [`stop`](Self::stop) kills it (like a crash) and [`start`](Self::start) brings it back on
/// the same port with the same store, so streams, consumers and messages survive and clients
/// reconnect to the same URL. The child is killed when this value is dropped.
pub struct NatsServer {
    // Declared before `dir` so the process is killed before its directory is removed.
    child: Option<Child>,
    port: u16,
    dir: TempDir,
}

impl NatsServer {
    /// Starts a new server on a free port chosen by the server itself (no bind-then-release
    /// race with parallel tests) and waits until it accepts connections.
    ///
    /// The binary is `$NATS_SERVER_BIN`, else `nats-server` on `PATH`.
    pub async fn spawn() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("rentory-nats-")
            .tempdir()
            .context("creating the nats-server directory")?;
        let mut server = Self {
            child: None,
            port: 0,
            dir,
        };
        server.start().await?;
        Ok(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory, kept across [`stop`](Self::stop)/[`start`](Self::start).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server again on the same port and store (a no-op while it runs), and waits
    /// until it accepts connections.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let ports_dir = self.dir.path().join("ports");
        // A stale ports file from an earlier run would name the right port anyway, but
        // clearing it keeps "the file appeared" meaning "this run is listening".
        let _ = std::fs::remove_dir_all(&ports_dir);
        std::fs::create_dir_all(&ports_dir).context("creating the ports directory")?;

        // `-p -1` lets the server pick a free port; later starts reuse the one it picked.
        let port_arg = if self.port == 0 {
            "-1".to_owned()
        } else {
            self.port.to_string()
        };
        let binary = non_empty_var("NATS_SERVER_BIN").unwrap_or_else(|| "nats-server".to_owned());
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port_arg, "-js", "-sd"])
            .arg(self.store_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("--ports_file_dir")
            .arg(&ports_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {binary} (set NATS_SERVER_BIN to its path)"))?;
        self.child = Some(child);

        let result = self.wait_ready(&ports_dir).await;
        if result.is_err() {
            // Leave no half-started server behind a failed start.
            let _ = self.stop().await;
        }
        result
    }

    /// Kills the server (SIGKILL, like a crash) and waits for it to exit. A no-op when
    /// stopped.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("killing nats-server")?;
        }
        Ok(())
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats-server.log")
    }

    async fn wait_ready(&mut self, ports_dir: &Path) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().context("checking nats-server")?
            {
                bail!(
                    "nats-server exited with {status}; log:\n{}",
                    self.log_tail()
                );
            }
            if self.port == 0 {
                self.port = read_ports_file(ports_dir).unwrap_or(0);
            }
            if self.port != 0 && TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_DEADLINE {
                bail!(
                    "nats-server did not accept connections within {START_DEADLINE:?}; log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }

    fn log_tail(&self) -> String {
        log_tail(&self.log_path())
    }
}

/// The last lines of a server's log, for a failed start's message.
pub(crate) fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The client port from the `<exe>_<pid>.ports` file the server writes once it listens.
fn read_ports_file(dir: &Path) -> Option<u16> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "ports"))
        .find_map(|entry| parse_client_port(&std::fs::read_to_string(entry.path()).ok()?))
}

/// Parses `{"nats":["nats://127.0.0.1:PORT"], ...}` without a JSON dependency.
fn parse_client_port(ports: &str) -> Option<u16> {
    let start = ports.find("nats://")? + "nats://".len();
    let address = &ports[start..];
    let address = &address[..address.find('"')?];
    address.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic
mod tests {
    use super::*;

    #[test]
    fn parses_the_ports_file() {
        let file = r#"{"nats":["nats://127.0.0.1:34567"],"monitoring":null,"cluster":null}"#;
        assert_eq!(parse_client_port(file), Some(34567));
        assert_eq!(parse_client_port(r#"{"nats":[]}"#), None);
        assert_eq!(parse_client_port(""), None);
    }
}
