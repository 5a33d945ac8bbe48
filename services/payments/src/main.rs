//! The payments binary: configuration from the environment, then [`payments::serve`].

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = rentory_runtime::telemetry::init("payments")?;
    let config = payments::Config::from_env()?;
    let listener =
        rentory_runtime::grpc::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port))).await?;
    payments::serve(config, listener, rentory_runtime::shutdown::on_signals()).await?;
    Ok(())
}
