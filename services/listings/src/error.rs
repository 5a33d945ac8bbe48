//! Everything that can go wrong in the listings service, and the one mapping to gRPC
//! statuses.

use rentory_auth::{AuthError, KeyError};
use rentory_media::{MediaError, MediaErrorKind};
use rentory_runtime::config::ConfigError;
use rentory_runtime::db::DbError;
use rentory_runtime::grpc::ServeError;
use rentory_runtime::rpc_error::{self, Reason};

use crate::property::rules::Violations;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- answers the caller can act on ----
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the account must be ACTIVE (KYC approved) to {0}")]
    NotActive(&'static str),
    #[error("invalid request: {}", describe(.0))]
    Invalid(Violations),
    /// Fields only the platform sets, sent by someone who may not set them.
    #[error("fields the caller may not set: {}", describe(.0))]
    ReadOnly(Violations),
    #[error("{field}: {source}")]
    Media {
        field: String,
        #[source]
        source: MediaError,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// The landlord's contact is sold: the message says how to buy it.
    #[error("{0}")]
    PaymentRequired(String),
    /// A service we call (AI orchestrator, identity) answered with an error the caller
    /// should see as it is (budget spent, content blocked, unavailable).
    #[error("upstream: {0}")]
    Upstream(tonic::Status),

    // ---- internal: logged with their cause chain, answered with a generic message ----
    #[error("database query failed")]
    Database(#[from] sqlx::Error),
    #[error("the event outbox failed")]
    Events(#[from] rentory_events::EventError),
    #[error("the photo bucket failed")]
    Storage(#[from] rentory_storage::StorageError),
    #[error("a photo could not be processed")]
    PhotoTask(#[from] tokio::task::JoinError),
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
            Error::Forbidden(message) => rpc_error::status(Reason::Forbidden, message),
            e @ Error::NotActive(_) => rpc_error::status(Reason::AccountNotActive, e.to_string()),
            Error::Invalid(violations) => {
                rpc_error::invalid_fields(describe(&violations), violations)
            }
            Error::ReadOnly(violations) => {
                tracing::warn!(fields = describe(&violations), "refused a read-only field");
                rpc_error::refused_fields(Reason::ReadOnlyField, describe(&violations), violations)
            }
            Error::Media { field, source } => {
                let reason = match source.kind() {
                    MediaErrorKind::UnsupportedMedia => Reason::UnsupportedMediaType,
                    MediaErrorKind::Unprocessable => Reason::ImageTooLarge,
                    MediaErrorKind::Undecodable => Reason::ValidationFailed,
                };
                rpc_error::status(reason, format!("{field}: {source}"))
            }
            e @ Error::NotFound(_) => rpc_error::status(Reason::NotFound, e.to_string()),
            Error::Conflict(message) => rpc_error::status(Reason::AlreadyExists, message),
            Error::PaymentRequired(message) => rpc_error::status(Reason::PaymentRequired, message),
            Error::Upstream(status) => status,
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
