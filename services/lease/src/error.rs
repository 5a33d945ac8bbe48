//! Everything that can go wrong in the lease service, and the one mapping to gRPC statuses.

use rentory_auth::{AuthError, KeyError};
use rentory_runtime::config::ConfigError;
use rentory_runtime::db::DbError;
use rentory_runtime::grpc::ServeError;
use rentory_runtime::rpc_error::{self, PreconditionViolation, Reason};
use uuid::Uuid;

use crate::access::Refusal;
use crate::compliance::Finding;
use crate::lifecycle::{Refused, Status};

/// Field-level problems with a request: (field, why).
pub type Violations = Vec<(&'static str, String)>;

/// What a caller with no business with a lease is told, word for word what a caller asking
/// for a lease that does not exist is told.
pub const LEASE_NOT_FOUND: &str = "lease not found";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- answers the caller can act on ----
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    /// A lease that does not exist, or that the caller may not know exists.
    #[error("{LEASE_NOT_FOUND}")]
    LeaseNotFound,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the account must be ACTIVE (KYC approved) to {0}")]
    NotActive(&'static str),
    #[error("invalid request: {}", describe(.0))]
    Invalid(Violations),
    /// The request is fine but what it is about is not in a state that allows it.
    #[error("{0}")]
    InvalidState(String),
    /// The state machine has no such move from the lease's status.
    #[error("the lease is {status}: {message}")]
    WrongState { status: Status, message: String },
    /// The caller acted on a text that is no longer the lease's content.
    #[error("{0}")]
    StaleContent(String),
    /// Blocking compliance findings.
    #[error("the lease fails {} blocking compliance check(s)", .0.len())]
    NotCompliant(Vec<Finding>),
    /// The property and tenant already have an open lease.
    #[error("this tenant already has an open lease of this property")]
    AlreadyOpen(Uuid),
    /// The AI orchestrator refused or failed with a reason of its own (budget exhausted,
    /// content blocked, ...): passed on as it said it.
    #[error("the AI orchestrator answered {}", .0.code())]
    Ai(tonic::Status),
    /// A service we depend on failed or could not be reached; the cause is logged where it
    /// happened.
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

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }

    /// A refusal of the access rule, as the caller is told it; `doing` completes "the
    /// account must be ACTIVE to ...".
    pub(crate) fn refused(refusal: Refusal, doing: &'static str) -> Self {
        match refusal {
            Refusal::Hidden => Self::LeaseNotFound,
            Refusal::Forbidden(why) => Self::Forbidden(why),
            Refusal::NotActive => Self::NotActive(doing),
        }
    }

    /// A move the transition table does not have.
    pub(crate) fn wrong_state(refused: Refused, doing: &str) -> Self {
        Self::WrongState {
            status: refused.current,
            message: format!("it cannot be {doing} now"),
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
            Error::LeaseNotFound => rpc_error::status(Reason::NotFound, LEASE_NOT_FOUND),
            e @ Error::NotFound(_) => rpc_error::status(Reason::NotFound, e.to_string()),
            Error::Forbidden(message) => rpc_error::status(Reason::Forbidden, message),
            e @ Error::NotActive(_) => rpc_error::status(Reason::AccountNotActive, e.to_string()),
            Error::Invalid(violations) => {
                rpc_error::invalid_fields(describe(&violations), violations)
            }
            Error::InvalidState(message) => rpc_error::status(Reason::InvalidState, message),
            e @ Error::WrongState { status, .. } => rpc_error::status_with_info(
                Reason::InvalidState,
                e.to_string(),
                [("lease_status", status.as_str().to_owned())],
            ),
            Error::StaleContent(message) => rpc_error::status(Reason::StaleContent, message),
            e @ Error::NotCompliant(_) => {
                let message = e.to_string();
                let Error::NotCompliant(findings) = e else {
                    return rpc_error::internal();
                };
                rpc_error::precondition_failures(
                    Reason::NotCompliant,
                    message,
                    findings.into_iter().map(|f| PreconditionViolation {
                        kind: f.code.to_owned(),
                        subject: f.rule,
                        description: f.message,
                    }),
                )
            }
            e @ Error::AlreadyOpen(lease_id) => rpc_error::status_with_info(
                Reason::AlreadyExists,
                e.to_string(),
                [("lease_id", lease_id.to_string())],
            ),
            Error::Ai(status) => status,
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
    use crate::compliance::Severity;

    #[test]
    fn a_hidden_lease_reads_exactly_like_a_missing_one() {
        let hidden = Status::from(Error::refused(Refusal::Hidden, "sign"));
        let missing = Status::from(Error::LeaseNotFound);
        assert_eq!(hidden.code(), Code::NotFound);
        assert_eq!(hidden.message(), missing.message());
    }

    #[test]
    fn state_refusals_carry_the_status_and_findings_their_rules() {
        let status = Status::from(Error::wrong_state(
            Refused {
                current: crate::lifecycle::Status::PendingAdmin,
            },
            "edited",
        ));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let decoded = decode(&status);
        assert_eq!(decoded.reason, Some(Reason::InvalidState));
        assert_eq!(
            decoded.info,
            [("lease_status".to_owned(), "PENDING_ADMIN".to_owned())]
        );

        let status = Status::from(Error::NotCompliant(vec![Finding {
            code: "MISSING_RENT",
            severity: Severity::Blocking,
            message: "no rent".into(),
            rule: "r".into(),
        }]));
        assert_eq!(status.code(), Code::FailedPrecondition);
        let decoded = decode(&status);
        assert_eq!(decoded.reason, Some(Reason::NotCompliant));
        assert_eq!(decoded.precondition_violations[0].kind, "MISSING_RENT");

        let id = Uuid::now_v7();
        let decoded = decode(&Status::from(Error::AlreadyOpen(id)));
        assert_eq!(decoded.info, [("lease_id".to_owned(), id.to_string())]);
        let stale = Status::from(Error::StaleContent("x".into()));
        assert_eq!(stale.code(), Code::Aborted);
        assert_eq!(Status::from(Error::corrupt("x")).code(), Code::Internal);
    }
}
