//! What every Rentory service does the same way: read configuration from the environment,
//! set up logs and traces, connect to its own Postgres schema, serve gRPC with health and
//! a graceful drain on SIGTERM (Cloud Run sends it before stopping an instance).

pub mod config;
pub mod db;
pub mod grpc;
pub mod measure;
pub mod peer_auth;
pub mod rpc_error;
mod rpc_metrics;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use tokio_util::sync::CancellationToken;

/// An error with its whole `source()` chain, `: `-separated, for logs (never for clients).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
