//! The gateway binary: configuration from the environment, telemetry, then [`gateway::serve`]
//! on `0.0.0.0:$PORT` until SIGTERM or Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = rentory_runtime::telemetry::init("gateway").context("telemetry")?;
    let config = gateway::Config::from_env().context("gateway configuration")?;
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    gateway::serve(config, listener, rentory_runtime::shutdown::on_signals()).await?;
    Ok(())
}
