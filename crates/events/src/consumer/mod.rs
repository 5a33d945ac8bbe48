//! Durable, idempotent JetStream consumers whose effects commit with `processed_events`.

mod delivered;
mod worker;

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use sqlx::{PgConnection, PgPool};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use delivered::Delivered;

use crate::error::{EventError, HandlerError};
use crate::stream::STREAM;

/// Handles one kind of event for one durable consumer.
///
/// Work is split in two so slow outside calls never hold a database transaction open:
/// [`prepare`](Self::prepare) runs first, outside any transaction, and its result is
/// passed to [`apply`](Self::apply), which runs inside the transaction that also records
/// the event in `processed_events`. `prepare` may run more than once for one event (a
/// redelivery racing a commit); `apply` commits at most once.
pub trait Handler: Send + Sync + 'static {
    /// What `prepare` learned, for `apply` to write.
    type Effect: Send;

    /// Outside any transaction: external I/O (e.g. a gRPC call) may happen here.
    fn prepare(
        &self,
        event: &Delivered,
    ) -> impl Future<Output = Result<Self::Effect, HandlerError>> + Send;

    /// Inside the transaction that also records the event as processed. Write only through
    /// `tx`; returning an error rolls everything back.
    fn apply(
        &self,
        effect: Self::Effect,
        event: &Delivered,
        tx: &mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// A durable pull consumer on the events stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// The stream to read ([`STREAM`] in production).
    pub stream: String,
    /// Durable name; also the `consumer` column of `processed_events`. Keep it stable:
    /// renaming it replays the stream.
    pub durable_name: String,
    /// Subjects to receive (wildcards allowed); empty means all of the stream. More than
    /// one needs nats-server 2.10 or later.
    pub filter_subjects: Vec<String>,
    /// Deliveries before JetStream gives up on an event (Retry errors count).
    pub max_deliver: i64,
    /// How long a delivery may stay unacknowledged before JetStream redelivers it.
    pub ack_wait: Duration,
}

impl ConsumerConfig {
    /// A consumer of the production stream with 10 deliveries and a 30 s ack wait.
    pub fn new(
        durable_name: impl Into<String>,
        filter_subjects: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            stream: STREAM.to_owned(),
            durable_name: durable_name.into(),
            filter_subjects: filter_subjects.into_iter().map(Into::into).collect(),
            max_deliver: 10,
            ack_wait: Duration::from_secs(30),
        }
    }

    /// Reads `stream` instead of the production stream (tests).
    pub fn on_stream(mut self, stream: impl Into<String>) -> Self {
        self.stream = stream.into();
        self
    }

    fn validate(&self) -> Result<(), EventError> {
        let invalid = |what: String| Err(EventError::InvalidConsumerConfig(what));
        let bad_name_char =
            |c: char| matches!(c, '.' | '*' | '>' | '/' | '\\') || c.is_whitespace();
        if self.durable_name.is_empty() || self.durable_name.contains(bad_name_char) {
            return invalid(format!("durable name {:?}", self.durable_name));
        }
        if self.stream.is_empty() || self.stream.contains(bad_name_char) {
            return invalid(format!("stream name {:?}", self.stream));
        }
        for filter in &self.filter_subjects {
            let valid = filter
                .split('.')
                .all(|token| !token.is_empty() && !token.contains(|c: char| c.is_whitespace()));
            if !valid {
                return invalid(format!("filter subject {filter:?}"));
            }
        }
        if self.ack_wait.is_zero() {
            return invalid("ack_wait must be positive".to_owned());
        }
        Ok(())
    }

    fn to_nats(&self) -> pull::Config {
        // A single filter goes in `filter_subject`, which every JetStream server
        // understands; `filter_subjects` needs 2.10+.
        let (filter_subject, filter_subjects) = match self.filter_subjects.as_slice() {
            [one] => (one.clone(), Vec::new()),
            many => (String::new(), many.to_vec()),
        };
        pull::Config {
            durable_name: Some(self.durable_name.clone()),
            deliver_policy: jetstream::consumer::DeliverPolicy::All,
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            filter_subject,
            filter_subjects,
            ..Default::default()
        }
    }
}

/// Validates `config` and spawns the consumer loop until `shutdown`.
///
/// The task creates (or updates) the durable consumer itself and keeps retrying with
/// backoff while NATS or the stream is unavailable, so a service can start before NATS. The
/// pool must connect with `search_path` set to the service's schema.
///
/// Per message: no valid `Nats-Msg-Id` -> terminated and logged; already in
/// `processed_events` -> acked; else `prepare`, then one transaction that inserts
/// `processed_events` and runs `apply`, then ack. [`HandlerError::Retry`] naks with its
/// delay; [`HandlerError::Permanent`] is logged with the event id and terminated.
/// Messages are handled one at a time; on shutdown the current one is finished first.
pub fn spawn_consumer<H: Handler>(
    pool: PgPool,
    js: jetstream::Context,
    config: ConsumerConfig,
    handler: H,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, EventError> {
    config.validate()?;
    let worker = worker::Worker::new(pool, js, config, handler);
    Ok(tokio::spawn(worker.run(shutdown)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic
mod tests {
    use super::*;

    #[test]
    fn one_filter_uses_the_field_old_servers_know() {
        let config = ConsumerConfig::new("identity", ["rentory.kyc.>"]).to_nats();
        assert_eq!(config.filter_subject, "rentory.kyc.>");
        assert!(config.filter_subjects.is_empty());

        let config = ConsumerConfig::new("identity", ["rentory.kyc.>", "rentory.ai.>"]).to_nats();
        assert_eq!(config.filter_subject, "");
        assert_eq!(config.filter_subjects.len(), 2);
    }

    #[test]
    fn rejects_bad_names_and_filters() {
        ConsumerConfig::new("identity", ["rentory.kyc.>"])
            .validate()
            .unwrap();
        for config in [
            ConsumerConfig::new("a.b", ["x"]),
            ConsumerConfig::new("", ["x"]),
            ConsumerConfig::new("ok", ["x..y"]),
            ConsumerConfig::new("ok", ["x"]).on_stream("s t"),
        ] {
            assert!(config.validate().is_err(), "{config:?}");
        }
    }
}
