//! Black-box tests of the whole stack, through the gateway only. One binary (one link)
//! for all of them; each test starts its own stack.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic

mod auth;
mod chat;
mod concierge;
mod demo;
mod faults;
mod journey;
mod kyc;
mod leases;
mod listings;
mod outage;
mod payments;
mod peer_auth;
mod rate_limits;
mod tokens;
