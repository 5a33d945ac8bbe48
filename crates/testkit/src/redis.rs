//! A private `redis-server` a test may stop and start, for the Redis-outage drills (the shared
//! Redis on port 6379 serves every other test).

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::env::non_empty_var;
use crate::postgres::free_port;

const START_DEADLINE: Duration = Duration::from_secs(15);
const POLL_PAUSE: Duration = Duration::from_millis(20);

/// `redis-server` on a loopback port of its own, with no persistence: [`stop`](Self::stop)
/// kills it (SIGKILL, like a crash) and loses every key, as a failed-over cache without a
/// replica would; [`start`](Self::start) brings it back on the same port. Killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections. The binary
    /// is `$REDIS_SERVER_BIN`, else `redis-server` on `PATH`.
    pub async fn spawn() -> anyhow::Result<Self> {
        let mut server = Self {
            child: None,
            port: free_port()?,
        };
        server.start().await?;
        Ok(server)
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts it again on the same port (a no-op while it runs).
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let binary = non_empty_var("REDIS_SERVER_BIN").unwrap_or_else(|| "redis-server".to_owned());
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {binary} (set REDIS_SERVER_BIN to its path)"))?;
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().context("checking redis-server")?
            {
                self.child = None;
                bail!(
                    "redis-server exited with {status} (port {} taken?)",
                    self.port
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_DEADLINE {
                let _ = self.stop().await;
                bail!("redis-server did not accept connections within {START_DEADLINE:?}");
            }
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }

    /// Kills it and waits for it to exit (a no-op when stopped).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("killing redis-server")?;
        }
        Ok(())
    }
}
