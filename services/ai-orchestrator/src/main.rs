//! The AI orchestrator binary: configuration from the environment, then
//! [`ai_orchestrator::serve`].

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = rentory_runtime::telemetry::init("ai-orchestrator")?;
    let config = ai_orchestrator::Config::from_env()?;
    let listener =
        rentory_runtime::grpc::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port))).await?;
    ai_orchestrator::serve(config, listener, rentory_runtime::shutdown::on_signals()).await?;
    Ok(())
}
