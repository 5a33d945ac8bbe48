//! A private PostgreSQL 15 (with PostGIS) that a test may stop, kill and start again, for the
//! fault drills: the shared server on port 5432 serves every other test and must never go
//! down.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::env::non_empty_var;

const START_DEADLINE: Duration = Duration::from_secs(30);
const STOP_DEADLINE: Duration = Duration::from_secs(30);
const POLL_PAUSE: Duration = Duration::from_millis(25);
/// The database the stack runs on.
const DATABASE: &str = "rentory";
/// Where Debian puts the server binaries; `$PG_BIN_DIR` overrides it.
const DEFAULT_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

/// A `postgres` on a loopback port of its own, its cluster in a temporary directory, with a
/// database `rentory` that has PostGIS. Trust authentication, no fsync: it lives for one
/// test.
///
/// Run as root (as the bootstrap and CI do), the server runs as the `postgres` OS user,
/// since Postgres refuses to run as root. [`stop`](Self::stop) is a fast shutdown (sessions
/// are terminated with SQLSTATE 57P01), [`kill`](Self::kill) a crash (SIGKILL; the next
/// start replays the WAL), and [`start`](Self::start) brings it back on the same port and
/// data. The server is killed when this value is dropped.
pub struct PostgresServer {
    // Declared before `dir` so the process is killed before its directory is removed.
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    bin: PathBuf,
    /// `(uid, gid)` of the `postgres` user when we are root.
    run_as: Option<(u32, u32)>,
}

impl PostgresServer {
    /// Creates the cluster (`initdb`), starts it, and creates the `rentory` database with
    /// PostGIS.
    pub async fn spawn() -> anyhow::Result<Self> {
        let bin = PathBuf::from(
            non_empty_var("PG_BIN_DIR").unwrap_or_else(|| DEFAULT_BIN_DIR.to_owned()),
        );
        let dir = tempfile::Builder::new()
            .prefix("rentory-pg-")
            .tempdir()
            .context("creating the Postgres directory")?;
        let run_as = postgres_user().await?;
        if let Some((uid, gid)) = run_as {
            own(dir.path(), uid, gid).await?;
        }
        let mut server = Self {
            child: None,
            port: free_port()?,
            dir,
            bin,
            run_as,
        };
        server.initdb().await?;
        server.start().await?;
        server.create_database().await?;
        Ok(server)
    }

    /// `postgres://postgres@127.0.0.1:<port>/rentory`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server on its port and data (a no-op while it runs) and waits until it
    /// accepts queries (not merely connections: a starting server answers 57P03).
    pub async fn start(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.log_file()?)
            .kill_on_drop(true);
        self.child = Some(command.spawn().context("starting postgres")?);
        let result = self.wait_ready().await;
        if result.is_err() {
            let _ = self.kill().await;
        }
        result
    }

    /// Fast shutdown (SIGINT): open sessions are terminated, then the server exits cleanly.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let Some(pid) = child.id() else {
            return Ok(());
        };
        let sent = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .await
            .context("sending SIGINT to postgres")?;
        if !sent.success() {
            bail!("kill -INT {pid} failed: {sent}");
        }
        match tokio::time::timeout(STOP_DEADLINE, child.wait()).await {
            Ok(status) => {
                status.context("waiting for postgres to stop")?;
                Ok(())
            }
            Err(_) => {
                child.kill().await.context("killing postgres")?;
                bail!("postgres did not stop within {STOP_DEADLINE:?}; killed it")
            }
        }
    }

    /// SIGKILL, like a crash of the machine's server process. Its backends notice the
    /// postmaster is gone and exit; the next [`start`](Self::start) recovers from the WAL.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("killing postgres")?;
        }
        Ok(())
    }

    /// [`stop`](Self::stop) then [`start`](Self::start).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.start().await
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn log_file(&self) -> anyhow::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .context("opening the Postgres log")
    }

    /// A command for one of the server binaries, run as the `postgres` user when we are
    /// root.
    fn command(&self, binary: &str) -> Command {
        let mut command = Command::new(self.bin.join(binary));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .args(["--locale=C"])
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("running initdb from {}", self.bin.display()))?;
        if !output.status.success() {
            bail!(
                "initdb failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    async fn create_database(&self) -> anyhow::Result<()> {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = PgConnection::connect(&admin).await?;
        sqlx::query(&format!("CREATE DATABASE {DATABASE}"))
            .execute(&mut conn)
            .await?;
        let _ = conn.close().await;
        let mut conn = PgConnection::connect(&self.url()).await?;
        sqlx::query("CREATE EXTENSION IF NOT EXISTS postgis")
            .execute(&mut conn)
            .await
            .context("creating the PostGIS extension")?;
        let _ = conn.close().await;
        Ok(())
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().context("checking postgres")?
            {
                bail!("postgres exited with {status}; log:\n{}", self.log_tail());
            }
            if let Ok(mut conn) = PgConnection::connect(&admin).await {
                let ready = sqlx::query("SELECT 1").execute(&mut conn).await.is_ok();
                let _ = conn.close().await;
                if ready {
                    return Ok(());
                }
            }
            if started.elapsed() > START_DEADLINE {
                bail!(
                    "postgres did not accept queries within {START_DEADLINE:?}; log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }

    fn log_tail(&self) -> String {
        crate::nats::log_tail(&self.log_path())
    }
}

/// The `postgres` user's ids when running as root; `None` otherwise (run as ourselves).
async fn postgres_user() -> anyhow::Result<Option<(u32, u32)>> {
    if id(&["-u"]).await? != 0 {
        return Ok(None);
    }
    Ok(Some((
        id(&["-u", "postgres"]).await?,
        id(&["-g", "postgres"]).await?,
    )))
}

async fn id(args: &[&str]) -> anyhow::Result<u32> {
    let output = Command::new("id")
        .args(args)
        .output()
        .await
        .context("running id")?;
    if !output.status.success() {
        bail!(
            "id {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .with_context(|| format!("id {args:?} printed no number"))
}

/// Hands the temporary directory to the server's user (tempfile makes it 0700 for root).
async fn own(dir: &std::path::Path, uid: u32, gid: u32) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .arg(format!("{uid}:{gid}"))
        .arg(dir)
        .status()
        .await
        .context("running chown")?;
    if !status.success() {
        bail!("chown {} failed: {status}", dir.display());
    }
    Ok(())
}

/// A loopback port nobody listens on right now. Postgres cannot pick its own and report it,
/// so there is a short window in which another process could take it; the start then fails
/// loudly rather than silently sharing a server.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
