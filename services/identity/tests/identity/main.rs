//! The identity service over gRPC, on its own database, the shared Redis and a private
//! nats-server: the RPCs other services call. Login, sessions and KYC activation are
//! covered end to end by the black-box suite (`tests/blackbox`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod public_user;
mod support;
