//! Everything that can go wrong in the chat service, and the one mapping to gRPC statuses.

use rentory_auth::{AuthError, KeyError};
use rentory_runtime::config::ConfigError;
use rentory_runtime::db::DbError;
use rentory_runtime::grpc::ServeError;
use rentory_runtime::rpc_error::{self, Reason};

use crate::access::Refusal;

/// Field-level problems with a request: (field, why).
pub type Violations = Vec<(&'static str, String)>;

/// What a caller with no business in a session is told, word for word what a caller asking
/// for a session that does not exist is told.
pub const SESSION_NOT_FOUND: &str = "chat session not found";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- answers the caller can act on ----
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    /// A session that does not exist, or that the caller may not know exists.
    #[error("{SESSION_NOT_FOUND}")]
    SessionNotFound,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the account must be ACTIVE (KYC approved) to {0}")]
    NotActive(&'static str),
    #[error("invalid request: {}", describe(.0))]
    Invalid(Violations),
    /// The request is fine but the thing it is about is not in a state that allows it.
    #[error("{0}")]
    InvalidState(String),
    /// A service we depend on (listings, identity) failed or could not be reached; the
    /// cause is logged where it happened.
    #[error("the {0} service is unavailable")]
    Unavailable(&'static str),

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

    /// A refusal of the access rule, as the caller is told it; `doing` completes "the
    /// account must be ACTIVE to ...".
    pub(crate) fn refused(refusal: Refusal, doing: &'static str) -> Self {
        match refusal {
            Refusal::Hidden => Self::SessionNotFound,
            Refusal::Forbidden(why) => Self::Forbidden(why),
            Refusal::NotActive => Self::NotActive(doing),
        }
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
            Error::SessionNotFound => rpc_error::status(Reason::NotFound, SESSION_NOT_FOUND),
            e @ Error::NotFound(_) => rpc_error::status(Reason::NotFound, e.to_string()),
            Error::Forbidden(message) => rpc_error::status(Reason::Forbidden, message),
            e @ Error::NotActive(_) => rpc_error::status(Reason::AccountNotActive, e.to_string()),
            Error::Invalid(violations) => {
                rpc_error::invalid_fields(describe(&violations), violations)
            }
            Error::InvalidState(message) => rpc_error::status(Reason::InvalidState, message),
            e @ Error::Unavailable(_) => rpc_error::status(Reason::Unavailable, e.to_string()),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use rentory_runtime::rpc_error::decode;
    use tonic::{Code, Status};

    use super::*;

    #[test]
    fn a_hidden_session_reads_exactly_like_a_missing_one() {
        let hidden = Status::from(Error::refused(Refusal::Hidden, "chat"));
        let missing = Status::from(Error::SessionNotFound);
        assert_eq!(hidden.code(), Code::NotFound);
        assert_eq!(hidden.message(), missing.message());
        assert_eq!(decode(&hidden).reason, decode(&missing).reason);
    }

    #[test]
    fn each_kind_of_answer_has_its_code() {
        let cases = [
            (Error::invalid("content", "too long"), Code::InvalidArgument),
            (Error::Forbidden("no"), Code::PermissionDenied),
            (Error::NotActive("chat"), Code::PermissionDenied),
            (
                Error::InvalidState("archived".into()),
                Code::FailedPrecondition,
            ),
            (Error::Unavailable("listings"), Code::Unavailable),
            (Error::Corrupt("x".into()), Code::Internal),
        ];
        for (error, code) in cases {
            assert_eq!(Status::from(error).code(), code);
        }
        let status = Status::from(Error::invalid("content", "too long"));
        assert_eq!(
            decode(&status).field_violations,
            [("content".to_owned(), "too long".to_owned())]
        );
    }
}
