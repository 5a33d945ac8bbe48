//! The lease binary: configuration from the environment, then [`lease::serve`].
//!
//! `lease verify-audit` instead walks every lease's audit chain (reading only
//! `DATABASE_URL`) and exits 0 when intact, 1 naming the first broken row, 2 when the
//! database has no lease audit log at all.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    if std::env::args().nth(1).as_deref() == Some("verify-audit") {
        return verify_audit().await;
    }
    let _telemetry = rentory_runtime::telemetry::init("lease")?;
    let config = lease::Config::from_env()?;
    let listener =
        rentory_runtime::grpc::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port))).await?;
    lease::serve(config, listener, rentory_runtime::shutdown::on_signals()).await?;
    Ok(ExitCode::SUCCESS)
}

async fn verify_audit() -> anyhow::Result<ExitCode> {
    let url = rentory_runtime::config::secret("DATABASE_URL")?;
    let pool = rentory_runtime::db::connect(&url, lease::SCHEMA, 2).await?;
    let verdict = lease::verify_all(&pool).await;
    pool.close().await;
    match verdict {
        Ok(intact) => {
            println!(
                "audit chain intact: {} rows in {} leases",
                intact.rows, intact.leases
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(lease::VerifyError::Broken(broken)) => {
            println!(
                "audit chain BROKEN: lease {} row {}: {}",
                broken.lease_id,
                broken
                    .row_id
                    .map_or_else(|| "(none)".to_owned(), |id| id.to_string()),
                broken.fault
            );
            Ok(ExitCode::from(1))
        }
        Err(lease::VerifyError::NoAuditLog) => {
            eprintln!("{}", lease::VerifyError::NoAuditLog);
            Ok(ExitCode::from(2))
        }
        Err(lease::VerifyError::Database(error)) => Err(error.into()),
    }
}
