//! The KYC service binary: configuration from the environment, then [`kyc::serve`].

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = rentory_runtime::telemetry::init("kyc")?;
    let config = kyc::Config::from_env()?;
    let listener =
        rentory_runtime::grpc::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port))).await?;
    kyc::serve(config, listener, rentory_runtime::shutdown::on_signals()).await?;
    Ok(())
}
