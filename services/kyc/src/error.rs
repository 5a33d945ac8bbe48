//! Everything that can go wrong in the KYC service, and the one mapping to gRPC statuses.

use rentory_auth::{AuthError, KeyError};
use rentory_media::{MediaError, MediaErrorKind};
use rentory_runtime::config::ConfigError;
use rentory_runtime::db::DbError;
use rentory_runtime::grpc::ServeError;
use rentory_runtime::rpc_error::{self, Reason};
use rentory_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- answers the caller can act on ----
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    #[error("{0}")]
    AccountNotActive(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// Missing, or not the caller's to see: the two are indistinguishable on purpose.
    #[error("verification request not found")]
    NotFound,
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("a verification request is already pending for this user")]
    AlreadyPending,
    #[error("{0}")]
    InvalidState(String),
    #[error("{field}: {source}")]
    Media {
        field: &'static str,
        #[source]
        source: MediaError,
    },
    #[error("{field} is {size} bytes; at most {max} bytes are accepted")]
    TooLarge {
        field: &'static str,
        size: usize,
        max: usize,
    },

    // ---- internal: logged with their cause chain, answered with a generic message ----
    #[error("database query failed")]
    Database(#[from] sqlx::Error),
    #[error("object storage failed")]
    Storage(#[from] StorageError),
    #[error("the event outbox or stream failed")]
    Events(#[from] rentory_events::EventError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("the audit chain is broken")]
    AuditChainBroken(#[from] rentory_audit::Broken),

    // ---- start-up ----
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("the JWT public key is not usable")]
    Key(#[source] KeyError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("could not open the KYC bucket")]
    Bucket(#[source] StorageError),
    #[error("could not connect to NATS")]
    Nats(#[source] async_nats::ConnectError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            why: why.into(),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
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
            Error::AccountNotActive(message) => {
                rpc_error::status(Reason::AccountNotActive, message)
            }
            Error::Forbidden(message) => rpc_error::status(Reason::Forbidden, message),
            e @ Error::NotFound => rpc_error::status(Reason::NotFound, e.to_string()),
            e @ Error::AlreadyPending => rpc_error::status(Reason::AlreadyExists, e.to_string()),
            Error::InvalidState(message) => rpc_error::status(Reason::InvalidState, message),
            Error::Invalid { field, why } => {
                rpc_error::invalid_fields(format!("{field}: {why}"), [(field, why)])
            }
            Error::TooLarge { field, size, max } => rpc_error::status(
                Reason::PayloadTooLarge,
                format!("{field} is {size} bytes; at most {max} bytes are accepted"),
            ),
            Error::Media { field, source } => {
                let reason = match source.kind() {
                    MediaErrorKind::UnsupportedMedia => Reason::UnsupportedMediaType,
                    MediaErrorKind::Unprocessable => Reason::ImageTooLarge,
                    MediaErrorKind::Undecodable => Reason::ValidationFailed,
                };
                // MediaError texts are written to be shown to the uploader.
                rpc_error::status(reason, format!("{field}: {source}"))
            }
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
    use rentory_runtime::rpc_error::decode;
    use tonic::Code;

    use super::*;

    fn reason(error: Error) -> (Code, Option<Reason>) {
        let status = tonic::Status::from(error);
        (status.code(), decode(&status).reason)
    }

    #[test]
    fn every_answer_carries_its_reason() {
        assert_eq!(
            reason(Error::Unauthenticated(AuthError::MissingToken)),
            (Code::Unauthenticated, Some(Reason::Unauthenticated))
        );
        assert_eq!(
            reason(Error::Forbidden("no")),
            (Code::PermissionDenied, Some(Reason::Forbidden))
        );
        assert_eq!(
            reason(Error::NotFound),
            (Code::NotFound, Some(Reason::NotFound))
        );
        assert_eq!(
            reason(Error::AlreadyPending),
            (Code::AlreadyExists, Some(Reason::AlreadyExists))
        );
        assert_eq!(
            reason(Error::InvalidState("x".into())).1,
            Some(Reason::InvalidState)
        );
        assert_eq!(
            reason(Error::TooLarge {
                field: "id_image",
                size: 2,
                max: 1
            })
            .1,
            Some(Reason::PayloadTooLarge)
        );
        assert_eq!(
            reason(Error::Media {
                field: "face_scan",
                source: MediaError::UnsupportedFormat
            })
            .1,
            Some(Reason::UnsupportedMediaType)
        );
        assert_eq!(
            reason(Error::Media {
                field: "face_scan",
                source: MediaError::ZeroDimension {
                    width: 0,
                    height: 1
                }
            })
            .1,
            Some(Reason::ImageTooLarge)
        );
    }

    #[test]
    fn field_violations_name_the_field() {
        let status = tonic::Status::from(Error::invalid("reason", "is required"));
        let decoded = decode(&status);
        assert_eq!(decoded.reason, Some(Reason::ValidationFailed));
        assert_eq!(
            decoded.field_violations,
            [("reason".to_owned(), "is required".to_owned())]
        );
    }

    #[test]
    fn internals_are_not_leaked() {
        let status = tonic::Status::from(Error::corrupt("status column says BANANA"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("BANANA"));
        let status = tonic::Status::from(Error::Database(sqlx::Error::RowNotFound));
        assert_eq!(decode(&status).reason, Some(Reason::Internal));
        assert!(!status.message().contains("no rows"));
        // A database that cannot be reached is worth a retry, still without internals.
        let status = tonic::Status::from(Error::Database(sqlx::Error::PoolTimedOut));
        assert_eq!(decode(&status).reason, Some(Reason::Unavailable));
        assert!(!status.message().contains("pool"));
    }
}
