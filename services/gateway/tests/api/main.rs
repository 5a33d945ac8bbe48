//! Router-level tests of the gateway: the real router with its middleware, driven with
//! `tower::ServiceExt::oneshot` (and one real listener), real Redis at 127.0.0.1:6379,
//! and the services either down or faked on a real gRPC server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod backend;
mod chat;
mod edge;
mod files;
mod leases;
mod limits;
mod payments;
mod properties;
mod rate_limits;
mod sockets;
mod support;
