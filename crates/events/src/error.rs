use std::time::Duration;

use uuid::Uuid;

/// Boxed source for the several async-nats error types this crate can meet.
pub type NatsError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong writing, relaying or subscribing to events.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Refused at `enqueue`, so a row the relay could never publish never enters the outbox
    /// (it would hold back every event behind it).
    #[error("invalid event subject {0:?}: dot-separated tokens, no spaces or wildcards")]
    InvalidSubject(String),
    #[error("event payload is {size} bytes, more than the {max} allowed")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("invalid consumer configuration: {0}")]
    InvalidConsumerConfig(String),
    #[error("event store query failed")]
    Database(#[from] sqlx::Error),
    #[error("NATS is not connected")]
    NotConnected,
    #[error("could not create or update JetStream stream {stream}")]
    Stream {
        stream: String,
        #[source]
        source: NatsError,
    },
    #[error("could not publish event {id}")]
    Publish {
        id: Uuid,
        #[source]
        source: NatsError,
    },
    #[error("JetStream did not acknowledge event {id} within {timeout:?}")]
    PublishTimeout { id: Uuid, timeout: Duration },
    #[error("could not open durable consumer {name}")]
    Consumer {
        name: String,
        #[source]
        source: NatsError,
    },
}

/// How a [`crate::Handler`] says an event could not be handled (yet).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Transient (a dependency is down, a row is locked): the event is redelivered after
    /// `after`, up to the consumer's `max_deliver`.
    #[error("retry in {after:?}: {reason}")]
    Retry { after: Duration, reason: String },
    /// The event can never be handled (undecodable, refers to something impossible): it is
    /// logged with its id and not redelivered.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Delay for database trouble reported through `?` in a handler.
const DATABASE_RETRY: Duration = Duration::from_secs(1);

impl HandlerError {
    pub fn retry(after: Duration, reason: impl Into<String>) -> Self {
        Self::Retry {
            after,
            reason: reason.into(),
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent(reason.into())
    }
}

/// Database errors inside `apply` are nearly always transient (connection lost,
/// serialization failure, lock timeout), and retries are bounded by `max_deliver`, so `?`
/// on a sqlx call means "try again later". A handler that knows better (a constraint it
/// treats as final) maps the error itself.
impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::Retry {
            after: DATABASE_RETRY,
            reason: format!("database: {error}"),
        }
    }
}
