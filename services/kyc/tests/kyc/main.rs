//! Black-box tests of the KYC service: the real server on port 0, a database of its own,
//! a private nats-server and a temporary bucket per test. Only the AI orchestrator (built
//! in a later issue) is faked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod audit_chain;
mod decisions;
mod face_match;
mod submit;
mod support;
