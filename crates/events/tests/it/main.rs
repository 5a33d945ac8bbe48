//! rentory-events against the real local Postgres and NATS (JetStream). Each test has its
//! own database and its own stream and consumer names (or its own nats-server), so they run
//! in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic

mod consumer;
mod outage;
mod relay;
mod support;
