use clap::{Parser, Subcommand};
use rentory_runtime::{config, grpc, shutdown, telemetry};

#[derive(Parser)]
#[command(name = "identity", about = "Rentory identity service")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC on $PORT (the default).
    Serve,
    /// Create the first ADMIN account (reads DATABASE_URL and RENTORY_PEPPER).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        pin: String,
        #[arg(long, default_value = "Administrator")]
        full_name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = telemetry::init("identity")?;
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let config = identity::Config::from_env()?;
            let listener = grpc::bind(([0, 0, 0, 0], config::port(50051)?).into()).await?;
            identity::serve(config, listener, shutdown::on_signals()).await?;
        }
        Command::CreateAdmin {
            email,
            password,
            pin,
            full_name,
        } => {
            let id = identity::create_admin(
                &config::secret("DATABASE_URL")?,
                config::secret("RENTORY_PEPPER")?,
                &email,
                &password,
                &pin,
                &full_name,
            )
            .await?;
            println!("created ADMIN {email} ({id})");
        }
    }
    Ok(())
}
