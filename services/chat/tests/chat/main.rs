//! The chat service against a real Postgres database, a private nats-server and fake
//! listings and identity services. The REST and Socket.IO surface is the gateway's and is
//! covered by its own and the black-box tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fakes;
mod fanout;
mod latency;
mod masking;
mod messages;
mod sessions;
mod support;
