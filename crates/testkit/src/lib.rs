//! Infrastructure helpers for tests that run against the real Postgres, Redis and NATS on
//! this machine. Starting Rentory services is not done here (that lives with the stack), so
//! this crate stays cheap to build and usable from every crate's tests.
//!
//! - [`TestDatabase`]: a fresh database per test, cloned from a template, dropped afterwards.
//! - [`NatsServer`]: a private `nats-server` with JetStream that a test can stop and restart
//!   on the same port and store directory.
//! - [`PostgresServer`], [`RedisServer`]: private servers the fault drills stop and restart
//!   (the shared ones must stay up for every other test).
//! - [`wait_until`]: poll a condition until a deadline, instead of sleeping.
//! - [`SocketIoClient`]: the official python-socketio client, steered over pipes.
//! - [`redis_url`], [`nats_url`]: the shared local servers, overridable by environment.

mod database;
mod env;
mod nats;
mod postgres;
mod redis;
mod socketio;
mod wait;

pub use database::TestDatabase;
pub use env::{admin_database_url, nats_url, redis_url};
pub use nats::NatsServer;
pub use postgres::PostgresServer;
pub use redis::RedisServer;
pub use socketio::SocketIoClient;
pub use wait::wait_until;
