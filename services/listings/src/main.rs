//! The listings binary: configuration from the environment, then [`listings::serve`].

use std::net::{Ipv4Addr, SocketAddr};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "listings", about = "Rentory listings service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC on $PORT (the default).
    Serve,
    /// Load realistic listings around Lagos, Abuja and Port Harcourt (benchmarks, local
    /// trials; reads DATABASE_URL only).
    Seed {
        #[arg(long, default_value_t = 100_000)]
        count: usize,
        #[arg(long, default_value_t = 2_000)]
        landlords: usize,
        /// The random seed: the same seed gives the same listings.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = rentory_runtime::telemetry::init("listings")?;
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = listings::Config::from_env()?;
            let listener =
                rentory_runtime::grpc::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port)))
                    .await?;
            listings::serve(config, listener, rentory_runtime::shutdown::on_signals()).await?;
        }
        Command::Seed {
            count,
            landlords,
            seed,
        } => {
            let database_url = rentory_runtime::config::secret("DATABASE_URL")?;
            let options = listings::seed::SeedOptions {
                count,
                landlords,
                seed,
            };
            let written = listings::seed::run(&database_url, &options).await?;
            println!("seeded {written} listings");
        }
    }
    Ok(())
}
