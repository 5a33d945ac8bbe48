//! Everything that can go wrong in the AI orchestrator, and the one mapping to gRPC statuses.

use std::time::Duration;

use rentory_auth::{AuthError, KeyError};
use rentory_media::{MediaError, MediaErrorKind};
use rentory_runtime::config::ConfigError;
use rentory_runtime::db::DbError;
use rentory_runtime::grpc::ServeError;
use rentory_runtime::rpc_error::{self, Reason};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- answers the caller can act on ----
    #[error("not authenticated")]
    Unauthenticated(#[source] AuthError),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{field}: {why}")]
    Invalid { field: &'static str, why: String },
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
    #[error("today's allowance of {limit} AI requests is used up")]
    BudgetExhausted { limit: u32, retry_after: Duration },
    #[error("the AI model's safety filters refused this content ({reason})")]
    Blocked { reason: String },
    #[error("the concierge is still answering an earlier message; send this one again")]
    Busy,
    /// The model could not be reached or kept failing; worth trying again later.
    #[error("the AI model is unavailable: {detail}")]
    ModelUnavailable {
        detail: String,
        retry_after: Option<Duration>,
    },
    /// The model answered, twice, with something that does not fit the task's schema.
    #[error("the AI model gave an unusable answer: {0}")]
    ModelBadOutput(String),
    /// The model API refused our request (key, quota project, request shape): our fault.
    #[error("the AI model API refused the request: {0}")]
    ModelRejected(String),

    // ---- internal: logged with their cause chain, answered with a generic message ----
    #[error("database query failed")]
    Database(#[from] sqlx::Error),
    #[error("redis failed")]
    Redis(#[from] deadpool_redis::redis::RedisError),
    #[error("no redis connection")]
    RedisPool(#[from] deadpool_redis::PoolError),
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
    #[error("the redis configuration is not usable")]
    RedisConfig(#[from] deadpool_redis::CreatePoolError),
    #[error("the Gemini client could not be built")]
    Gemini(#[source] rentory_gemini::GeminiError),
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

    /// A failed model call, in the caller's terms.
    pub(crate) fn from_model(error: rentory_gemini::GeminiError) -> Self {
        use rentory_gemini::GeminiError as G;
        match error {
            G::Blocked { reason } => Self::Blocked { reason },
            G::BadOutput { detail } => Self::ModelBadOutput(detail),
            G::Rejected { status, message } => {
                Self::ModelRejected(format!("HTTP {status}: {message}"))
            }
            G::NoModel { tried } => Self::ModelRejected(format!(
                "none of the configured models exists for this key: {}",
                tried.join(", ")
            )),
            G::Unavailable {
                detail,
                retry_after,
            } => Self::ModelUnavailable {
                detail,
                retry_after,
            },
            G::TimedOut { after } => Self::ModelUnavailable {
                detail: format!("no answer within {after:?}"),
                retry_after: None,
            },
            G::Config(detail) => Self::ModelRejected(detail),
        }
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
            Error::Forbidden(message) => rpc_error::status(Reason::Forbidden, message),
            Error::Invalid { field, why } => {
                rpc_error::invalid_fields(format!("{field}: {why}"), [(field, why)])
            }
            e @ Error::TooLarge { .. } => rpc_error::status(Reason::PayloadTooLarge, e.to_string()),
            Error::Media { field, source } => {
                let reason = match source.kind() {
                    MediaErrorKind::UnsupportedMedia => Reason::UnsupportedMediaType,
                    MediaErrorKind::Unprocessable => Reason::ImageTooLarge,
                    MediaErrorKind::Undecodable => Reason::ValidationFailed,
                };
                rpc_error::status(reason, format!("{field}: {source}"))
            }
            e @ Error::BudgetExhausted { retry_after, .. } => {
                rpc_error::retry_after(Reason::AiBudgetExhausted, e.to_string(), retry_after)
            }
            e @ Error::Blocked { .. } => {
                tracing::info!(error = %e, "model refused the content");
                rpc_error::status(Reason::ContentBlocked, e.to_string())
            }
            e @ Error::Busy => rpc_error::status(Reason::InvalidState, e.to_string()),
            Error::ModelUnavailable {
                detail,
                retry_after,
            } => {
                tracing::warn!(detail, "model unavailable");
                let message = "the AI model is temporarily unavailable; try again shortly";
                match retry_after {
                    Some(after) => rpc_error::retry_after(Reason::Unavailable, message, after),
                    None => rpc_error::status(Reason::Unavailable, message),
                }
            }
            Error::ModelBadOutput(detail) => {
                tracing::warn!(detail, "model output unusable after one repair");
                rpc_error::status(
                    Reason::Unavailable,
                    "the AI model gave an unusable answer; try again",
                )
            }
            Error::ModelRejected(detail) => {
                tracing::error!(detail, "model API refused our request");
                rpc_error::status(Reason::Unavailable, "the AI service is misconfigured")
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

    fn decoded(error: Error) -> (Code, Option<Reason>, Option<Duration>) {
        let status = tonic::Status::from(error);
        let d = decode(&status);
        (status.code(), d.reason, d.retry_after)
    }

    #[test]
    fn budget_and_model_failures_carry_reasons_and_retry_hints() {
        assert_eq!(
            decoded(Error::BudgetExhausted {
                limit: 3,
                retry_after: Duration::from_secs(60)
            }),
            (
                Code::ResourceExhausted,
                Some(Reason::AiBudgetExhausted),
                Some(Duration::from_secs(60))
            )
        );
        assert_eq!(
            decoded(Error::from_model(rentory_gemini::GeminiError::Blocked {
                reason: "SAFETY".into()
            }))
            .1,
            Some(Reason::ContentBlocked)
        );
        assert_eq!(
            decoded(Error::from_model(
                rentory_gemini::GeminiError::Unavailable {
                    detail: "503".into(),
                    retry_after: Some(Duration::from_secs(7))
                }
            )),
            (
                Code::Unavailable,
                Some(Reason::Unavailable),
                Some(Duration::from_secs(7))
            )
        );
        assert_eq!(decoded(Error::Busy).1, Some(Reason::InvalidState));
        assert_eq!(
            decoded(Error::invalid("message", "is empty")).1,
            Some(Reason::ValidationFailed)
        );
    }
}
