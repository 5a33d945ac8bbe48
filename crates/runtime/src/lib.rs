//! What every Rentory service does the same way: read configuration from the environment,
//! set up logs and traces, connect to its own Postgres schema, serve gRPC with health and
//! a graceful drain on SIGTERM (Cloud Run sends it before stopping an instance).

pub mod config;
pub mod db;
pub mod grpc;
pub mod rpc_error;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use tokio_util::sync::CancellationToken;
