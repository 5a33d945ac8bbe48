//! The AI orchestrator as a whole: real Postgres, Redis and a private nats-server, the
//! offline provider, and the real Gemini client against a fake Gemini (wiremock).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod concierge;
mod gemini;
mod support;
mod tasks;
