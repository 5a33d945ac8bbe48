//! The lease service against a real Postgres database, a private nats-server and fake
//! listings, identity, chat and AI services (the AI fake drafts with the real offline
//! template). The REST surface is the gateway's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod drafting;
mod fakes;
mod rent;
mod signing;
mod support;
