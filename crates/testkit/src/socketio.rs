//! A standard Socket.IO client for tests: the official python-socketio client (installed by
//! `scripts/socketio-client` into `.local/venv`), steered through `tests/socketio/client.py`
//! over pipes. Nobody here wrote the protocol side, so what passes here passes for the
//! clients people use.
//!
//! Every line the driver prints is kept in order; waiting for one kind (an ack, an event)
//! leaves the others for later calls.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::env::non_empty_var;

/// How long an ack, a connection or an event may take before a test call gives up.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);

static INSTALLED: OnceCell<PathBuf> = OnceCell::const_new();

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python, after `scripts/socketio-client` made sure the client is installed
/// (once per test process; it returns at once when it already is). `RENTORY_VENV` points
/// elsewhere.
async fn python() -> anyhow::Result<&'static PathBuf> {
    INSTALLED
        .get_or_try_init(|| async {
            let root = workspace_root();
            let output = Command::new(root.join("scripts/socketio-client"))
                .output()
                .await
                .context("running scripts/socketio-client")?;
            if !output.status.success() {
                bail!(
                    "scripts/socketio-client failed: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let venv = non_empty_var("RENTORY_VENV")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join(".local/venv"));
            Ok(venv.join("bin/python"))
        })
        .await
}

/// One python-socketio client process.
pub struct SocketIoClient {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    /// Lines read while waiting for something else.
    backlog: VecDeque<Value>,
    next_ref: u64,
}

impl SocketIoClient {
    /// A client of the gateway at `base_url` (`http://127.0.0.1:port`), namespace `/chat`.
    /// `transports` as python-socketio takes them (`["websocket"]`); `None` is its default,
    /// long-polling upgraded to WebSocket.
    pub async fn spawn(base_url: &str, transports: Option<&[&str]>) -> anyhow::Result<Self> {
        let python = python().await?;
        let mut options = json!({"url": base_url, "namespace": "/chat"});
        if let Some(transports) = transports {
            options["transports"] = json!(transports);
        }
        let mut child = Command::new(python)
            .arg(workspace_root().join("tests/socketio/client.py"))
            .arg(options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting the python-socketio driver")?;
        let stdin = child.stdin.take().context("driver stdin")?;
        let stdout = child.stdout.take().context("driver stdout")?;
        Ok(Self {
            child,
            stdin,
            lines: BufReader::new(stdout).lines(),
            backlog: VecDeque::new(),
            next_ref: 0,
        })
    }

    async fn send(&mut self, command: Value) -> anyhow::Result<()> {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .context("writing to the driver")?;
        self.stdin.flush().await.context("flushing to the driver")
    }

    /// The first line, kept or new, that `wanted` accepts within `within`; `None` if none.
    async fn take(
        &mut self,
        within: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Option<Value>> {
        if let Some(at) = self.backlog.iter().position(&wanted) {
            return Ok(self.backlog.remove(at));
        }
        let deadline = Instant::now() + within;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Err(_) => return Ok(None),
                Ok(line) => line.context("reading the driver")?,
            };
            let Some(line) = line else {
                bail!("the driver exited; lines kept: {:?}", self.backlog);
            };
            let value: Value = serde_json::from_str(&line)
                .with_context(|| format!("driver printed a non-JSON line: {line}"))?;
            if value["type"] == "error" {
                bail!("the driver failed a command: {value}");
            }
            if wanted(&value) {
                return Ok(Some(value));
            }
            self.backlog.push_back(value);
        }
    }

    /// Connects with `auth` (`{"token": ...}`); answers the driver's line: `connected`,
    /// `connect_error` (the server refused; its `data.message` says why) or `connect_failed`.
    pub async fn connect_with(&mut self, auth: Value) -> anyhow::Result<Value> {
        self.send(json!({"op": "connect", "auth": auth})).await?;
        let line = self
            .take(DEFAULT_WAIT, |v| {
                matches!(
                    v["type"].as_str(),
                    Some("connected" | "connect_error" | "connect_failed")
                )
            })
            .await?;
        let line = line.context("no answer to connect")?;
        if line["type"] == "connect_error" {
            // python-socketio also gives up on connect(): drop that line.
            let _ = self
                .take(Duration::from_secs(2), |v| v["type"] == "connect_failed")
                .await?;
        }
        Ok(line)
    }

    /// Connects with `auth: {token}` and fails unless the server accepts.
    pub async fn connect(&mut self, token: &str) -> anyhow::Result<()> {
        let line = self.connect_with(json!({ "token": token })).await?;
        if line["type"] != "connected" {
            bail!("not connected: {line}");
        }
        Ok(())
    }

    /// Emits `event` with `data` and waits for its ack line: `{type: "ack", data, sent_ns,
    /// acked_ns}`.
    pub async fn emit(&mut self, event: &str, data: Value) -> anyhow::Result<Value> {
        self.next_ref += 1;
        let reference = format!("r{}", self.next_ref);
        self.send(json!({"op": "emit", "ref": reference, "event": event, "data": data}))
            .await?;
        let line = self
            .take(DEFAULT_WAIT + Duration::from_secs(1), |v| {
                v["ref"] == reference.as_str()
            })
            .await?
            .with_context(|| format!("no ack for {event}"))?;
        if line["type"] != "ack" {
            bail!("{event} was not acked: {line}");
        }
        Ok(line)
    }

    /// Emits `event` without asking for an ack; returns once the client handed it over.
    pub async fn send_only(&mut self, event: &str, data: Value) -> anyhow::Result<()> {
        self.next_ref += 1;
        let reference = format!("s{}", self.next_ref);
        self.send(json!({"op": "send", "ref": reference, "event": event, "data": data}))
            .await?;
        self.take(DEFAULT_WAIT, |v| v["ref"] == reference.as_str())
            .await?
            .with_context(|| format!("{event} was not sent"))?;
        Ok(())
    }

    /// The ack's data of `event`.
    pub async fn ack(&mut self, event: &str, data: Value) -> anyhow::Result<Value> {
        Ok(self.emit(event, data).await?["data"].take())
    }

    /// Emits `event` `count` times at once; every ack's data, in emit order (`{"timeout":
    /// true}` or `{"disconnected": true}` for those that got none).
    pub async fn burst(
        &mut self,
        event: &str,
        data: Value,
        count: usize,
    ) -> anyhow::Result<Vec<Value>> {
        self.next_ref += 1;
        let reference = format!("b{}", self.next_ref);
        self.send(
            json!({"op": "burst", "ref": reference, "event": event, "data": data, "count": count}),
        )
        .await?;
        let mut line = self
            .take(DEFAULT_WAIT + Duration::from_secs(2), |v| {
                v["ref"] == reference.as_str()
            })
            .await?
            .context("no answer to the burst")?;
        match line["acks"].take() {
            Value::Array(acks) => Ok(acks),
            other => bail!("burst answered {other}"),
        }
    }

    /// The next server event named `event` (`{type: "event", event, data, at_ns}`) within
    /// `within`, or `None`.
    pub async fn next_event(
        &mut self,
        event: &str,
        within: Duration,
    ) -> anyhow::Result<Option<Value>> {
        self.take(within, |v| v["type"] == "event" && v["event"] == event)
            .await
    }

    /// The data of the next `event`; fails when none comes in [`DEFAULT_WAIT`].
    pub async fn expect_event(&mut self, event: &str) -> anyhow::Result<Value> {
        let mut line = self
            .next_event(event, DEFAULT_WAIT)
            .await?
            .with_context(|| format!("no {event} event"))?;
        Ok(line["data"].take())
    }

    /// The next disconnect's reason, or `None` if the socket stays up `within`.
    pub async fn disconnected(&mut self, within: Duration) -> anyhow::Result<Option<String>> {
        Ok(self
            .take(within, |v| v["type"] == "disconnect")
            .await?
            .map(|v| v["reason"].as_str().unwrap_or_default().to_owned()))
    }

    /// Disconnects (the client's choice) and waits until the driver saw it.
    pub async fn disconnect(&mut self) -> anyhow::Result<()> {
        self.send(json!({"op": "disconnect"})).await?;
        self.disconnected(DEFAULT_WAIT)
            .await?
            .context("no disconnect")?;
        Ok(())
    }

    /// Every `event` received so far and not yet taken.
    pub fn received(&mut self, event: &str) -> Vec<Value> {
        let (taken, kept): (VecDeque<Value>, VecDeque<Value>) = std::mem::take(&mut self.backlog)
            .into_iter()
            .partition(|v| v["type"] == "event" && v["event"] == event);
        self.backlog = kept;
        taken.into()
    }

    /// Ends the driver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        drop(self.stdin);
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => {
                status.context("waiting for the driver")?;
            }
            Err(_) => self.child.kill().await.context("killing the driver")?,
        }
        Ok(())
    }
}
