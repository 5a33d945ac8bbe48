//! Gemini `generateContent` over REST for structured-output tasks.
//!
//! One [`Call`] is run down a chain of models: transient failures (429, 5xx, network,
//! timeouts) are retried with jittered backoff on the same model, a 404 moves on to the
//! next model, a safety block or a rejected request ends the call, and output that does
//! not satisfy the caller's `parse` gets exactly one repair round-trip. Every HTTP
//! request leaves an [`Attempt`] record so the caller can log and bill it.

mod client;
mod error;
mod pricing;
mod retry;
mod types;
mod wire;

pub use client::Client;
pub use error::GeminiError;
pub use pricing::estimated_cost_micro_usd;
pub use types::{
    Attempt, AttemptResult, Call, ChainPlan, Content, DEFAULT_BASE_URL, Generated, Outcome, Part,
    RetryPolicy, Role, Settings, ThinkingLevel, Usage, plan_chain,
};
