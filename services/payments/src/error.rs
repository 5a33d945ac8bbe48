//! Everything that can go wrong in the payments service, and the one mapping to gRPC
//! statuses.

use rentory_auth::{AuthError, KeyError};
use rentory_paystack::PaystackError;
use rentory_runtime::config::ConfigError;
use rentory_runtime::db::DbError;
use rentory_runtime::grpc::ServeError;
use rentory_runtime::rpc_error::{self, Reason};

/// Field violations: (field, why).
pub type Violations = Vec<(&'static str, String)>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- answers the caller can act on ----
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    /// HandleWebhook with a missing or wrong `x-paystack-signature`.
    #[error("the webhook signature is missing or wrong")]
    BadSignature,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the account must be ACTIVE (KYC approved) to {0}")]
    NotActive(&'static str),
    #[error("invalid request: {}", describe(.0))]
    Invalid(Violations),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The payer already holds this unlock: the existing transaction's reference goes back
    /// in the ErrorInfo metadata.
    #[error("this property's contact is already unlocked")]
    AlreadyUnlocked { reference: String },
    /// A reference asked about with a property or lease it was not issued for.
    #[error("{0}")]
    ReferenceMismatch(&'static str),
    #[error("{0}")]
    InvalidState(String),
    /// A service we call (listings, identity, lease) answered with an error the caller
    /// should see as it is (not found, unavailable).
    #[error("upstream: {0}")]
    Upstream(tonic::Status),
    /// Paystack refused or could not be reached.
    #[error("Paystack")]
    Paystack(#[source] PaystackError),
    /// Another request is starting the same checkout and did not finish in time.
    #[error("a checkout for this is still being started")]
    CheckoutBusy,

    // ---- internal: logged with their cause chain, answered with a generic message ----
    #[error("database query failed")]
    Database(#[from] sqlx::Error),
    #[error("the event outbox failed")]
    Events(#[from] rentory_events::EventError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),

    // ---- start-up ----
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the JWT public key is not usable")]
    Key(#[source] KeyError),
    #[error("the Paystack client cannot be built")]
    PaystackClient(#[source] PaystackError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("could not connect to NATS")]
    Nats(#[source] async_nats::ConnectError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}

fn describe(violations: &Violations) -> String {
    violations
        .iter()
        .map(|(field, why)| format!("{field}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated(cause) => {
                tracing::debug!(
                    error = rentory_runtime::error_chain(&cause),
                    "refused an unauthenticated call"
                );
                rpc_error::status(Reason::Unauthenticated, "a valid access token is required")
            }
            e @ Error::BadSignature => {
                tracing::warn!("refused a webhook with a missing or wrong signature");
                rpc_error::status(Reason::Unauthenticated, e.to_string())
            }
            Error::Forbidden(message) => rpc_error::status(Reason::Forbidden, message),
            e @ Error::NotActive(_) => rpc_error::status(Reason::AccountNotActive, e.to_string()),
            Error::Invalid(violations) => {
                rpc_error::invalid_fields(describe(&violations), violations)
            }
            e @ Error::NotFound(_) => rpc_error::status(Reason::NotFound, e.to_string()),
            e @ Error::AlreadyUnlocked { .. } => {
                let message = e.to_string();
                let Error::AlreadyUnlocked { reference } = e else {
                    return rpc_error::internal();
                };
                rpc_error::status_with_info(
                    Reason::AlreadyExists,
                    message,
                    [("reference", reference)],
                )
            }
            Error::ReferenceMismatch(message) => rpc_error::status(Reason::AlreadyExists, message),
            Error::InvalidState(message) => rpc_error::status(Reason::InvalidState, message),
            Error::Upstream(status) => status,
            Error::Paystack(cause) => paystack_status(&cause),
            e @ Error::CheckoutBusy => rpc_error::retry_after(
                Reason::Unavailable,
                format!("{e}; try again in a moment"),
                std::time::Duration::from_secs(2),
            ),
            // Postgres down or restarting: worth a retry, unlike the internal errors below.
            e if rentory_runtime::db::caused_by_unavailable(&e) => {
                rentory_runtime::db::unavailable_status(&e)
            }
            internal => {
                tracing::error!(
                    error = rentory_runtime::error_chain(&internal),
                    "request failed"
                );
                rpc_error::internal()
            }
        }
    }
}

/// Paystack down or slow: try again later. Paystack refusing what a person asked (a refund
/// of a reversed payment, an account number the bank does not know): its own words, which
/// carry no secret. Anything else is ours to fix.
fn paystack_status(cause: &PaystackError) -> tonic::Status {
    match cause {
        e if e.is_retryable() => {
            tracing::warn!(error = %e, "Paystack unavailable");
            rpc_error::retry_after(
                Reason::Unavailable,
                "Paystack is not answering; try again shortly",
                std::time::Duration::from_secs(5),
            )
        }
        PaystackError::Rejected { status, message } if *status < 500 => {
            tracing::warn!(status, message = %message, "Paystack refused the request");
            rpc_error::status(
                Reason::InvalidState,
                format!(
                    "Paystack refused: {}",
                    message.chars().take(200).collect::<String>()
                ),
            )
        }
        e => {
            tracing::error!(error = %e, "Paystack call failed");
            rpc_error::internal()
        }
    }
}
