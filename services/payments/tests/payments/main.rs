//! The payments service against real Postgres and NATS, with its real Paystack client
//! talking to a wiremock Paystack (whose requests are asserted) and fake identity, listings
//! and lease services. Every test ends by re-verifying the whole audit chain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod checkout;
mod rent;
mod staff;
mod support;
mod webhooks;
