//! Paystack's REST API as Rentory uses it: start a checkout (`initialize`), read the
//! outcome (`verify`), refund, create split subaccounts; and check webhook signatures.
//!
//! Every answer is validated before a field of it is returned (envelope `status: true`,
//! `data` present, fields present and typed, amounts whole and non-negative, references
//! equal to the ones asked about, checkout URLs http(s)). Timeouts, connection failures and
//! 5xx answers are retried with doubling pauses up to `max_attempts`; 4xx answers are not.
//! The same client talks to Paystack and to the local checkout simulator: only the base
//! URL and the key differ.

mod client;
mod error;
mod types;
pub mod webhook;
mod wire;

pub use client::PaystackClient;
pub use error::PaystackError;
pub use types::{
    ClientConfig, InitializeRequest, Initialized, Refund, RefundRequest, Subaccount,
    SubaccountRequest, TransactionStatus, VerifiedTransaction,
};
