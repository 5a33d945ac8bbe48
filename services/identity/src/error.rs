//! Everything identity can answer with, and the one mapping to gRPC statuses.

use std::time::Duration;

use rentory_runtime::rpc_error::{self, Reason};
use tonic::Status;

use crate::credentials::CredentialError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input")]
    Invalid(Vec<(&'static str, String)>),
    #[error("wrong e-mail or secret")]
    InvalidCredentials,
    #[error("account locked")]
    Locked { retry_after: Duration },
    #[error("too many accounts tried from this client")]
    Spraying { retry_after: Duration },
    #[error("not authenticated")]
    Unauthenticated(#[from] rentory_auth::AuthError),
    #[error("the refresh token is not valid")]
    RefreshRefused,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("the account is suspended")]
    Suspended,
    #[error("an account with this e-mail already exists")]
    EmailTaken,
    #[error("user not found")]
    UserNotFound,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("redis error")]
    Redis(#[from] deadpool_redis::redis::RedisError),
    #[error("redis pool error")]
    RedisPool(#[from] deadpool_redis::PoolError),
    #[error("hashing error")]
    Hash(#[from] crate::hashing::HashError),
    #[error("token error")]
    Token(#[from] rentory_auth::TokenError),
    #[error("event error")]
    Event(#[from] rentory_events::EventError),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl Error {
    pub fn invalid(field: &'static str, error: CredentialError) -> Self {
        Error::Invalid(vec![(field, error.to_string())])
    }
}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(fields) => rpc_error::invalid_fields(
                "some fields are invalid",
                fields.iter().map(|(f, why)| (*f, why.clone())),
            ),
            Error::InvalidCredentials => {
                rpc_error::status(Reason::InvalidCredentials, "wrong e-mail or secret")
            }
            Error::Locked { retry_after } => rpc_error::retry_after(
                Reason::AccountLocked,
                "too many failed attempts; the account is locked for a while",
                retry_after,
            ),
            Error::Spraying { retry_after } => rpc_error::retry_after(
                Reason::RateLimited,
                "too many failed logins from this client",
                retry_after,
            ),
            Error::Unauthenticated(_) | Error::RefreshRefused => {
                rpc_error::status(Reason::Unauthenticated, "sign in again")
            }
            Error::Forbidden(why) => rpc_error::status(Reason::Forbidden, why),
            Error::Suspended => {
                rpc_error::status(Reason::AccountNotActive, "the account is suspended")
            }
            Error::EmailTaken => rpc_error::status(
                Reason::AlreadyExists,
                "an account with this e-mail already exists",
            ),
            Error::UserNotFound => rpc_error::status(Reason::NotFound, "no such user"),
            Error::Redis(_) | Error::RedisPool(_) => {
                tracing::error!(error = ?error, "session store unavailable");
                rpc_error::status(
                    Reason::Unavailable,
                    "the session store is unavailable; try again",
                )
            }
            // Postgres down or restarting: worth a retry, unlike the internal errors below.
            e if rentory_runtime::db::caused_by_unavailable(&e) => {
                rentory_runtime::db::unavailable_status(&e)
            }
            internal => {
                tracing::error!(error = ?internal, "internal error");
                rpc_error::internal()
            }
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
