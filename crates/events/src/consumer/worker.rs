//! The consumer loop: keep a message stream open through outages and settle every message.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull};
use futures::StreamExt;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use super::{ConsumerConfig, Delivered, Handler};
use crate::backoff::{Backoff, pause_or_shutdown};
use crate::error::{EventError, HandlerError};
use crate::trace::set_remote_parent;
use rentory_runtime::error_chain as chain;
use rentory_runtime::telemetry;

/// Messages fetched per pull. Small, because they are handled one at a time and each must
/// be settled within `ack_wait`.
const BATCH: usize = 16;
/// A missing server heartbeat for this long (twice) ends the stream, so a dead connection
/// is noticed and the stream re-created.
const HEARTBEAT: Duration = Duration::from_secs(5);
const PULL_EXPIRES: Duration = Duration::from_secs(30);
const BACKOFF_FIRST: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Bounds for redelivery after our own trouble (database down), grown per delivery.
const INFRA_RETRY_FIRST: Duration = Duration::from_millis(500);
const INFRA_RETRY_MAX: Duration = Duration::from_secs(30);

pub(super) struct Worker<H> {
    pool: PgPool,
    js: jetstream::Context,
    config: ConsumerConfig,
    handler: H,
    /// The durable name as a metric attribute, shared rather than copied per delivery.
    consumer_attribute: KeyValue,
}

/// Deliveries after the first, whatever became of them: a rising rate means a consumer is
/// failing (or too slow for `ack_wait`).
static REDELIVERIES: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("rentory.consumer.redeliveries")
        .with_unit("{delivery}")
        .with_description("Event deliveries after the first (delivery count > 1)")
        .build()
});

static HANDLED: LazyLock<Counter<u64>> = LazyLock::new(|| {
    telemetry::meter()
        .u64_counter("rentory.consumer.handled")
        .with_unit("{delivery}")
        .with_description("Event deliveries settled, by outcome")
        .build()
});

/// How a delivery ends.
enum Outcome {
    Applied,
    AlreadyProcessed,
    Retry { after: Duration, reason: String },
    Permanent(String),
}

impl From<HandlerError> for Outcome {
    fn from(error: HandlerError) -> Self {
        match error {
            HandlerError::Retry { after, reason } => Self::Retry { after, reason },
            HandlerError::Permanent(reason) => Self::Permanent(reason),
        }
    }
}

impl<H: Handler> Worker<H> {
    pub(super) fn new(
        pool: PgPool,
        js: jetstream::Context,
        config: ConsumerConfig,
        handler: H,
    ) -> Self {
        let consumer_attribute =
            KeyValue::new("consumer", Arc::<str>::from(config.durable_name.as_str()));
        Self {
            pool,
            js,
            config,
            handler,
            consumer_attribute,
        }
    }

    pub(super) async fn run(self, shutdown: CancellationToken) {
        let consumer = self.config.durable_name.as_str();
        let mut backoff = Backoff::new(BACKOFF_FIRST, BACKOFF_MAX);
        loop {
            let opened = tokio::select! {
                () = shutdown.cancelled() => return,
                opened = self.open() => opened,
            };
            match opened {
                Ok(mut messages) => loop {
                    let next = tokio::select! {
                        () = shutdown.cancelled() => return,
                        next = messages.next() => next,
                    };
                    match next {
                        Some(Ok(message)) => {
                            backoff.reset();
                            // Not raced against shutdown: a started delivery is finished.
                            self.handle(message).await;
                        }
                        Some(Err(error)) => {
                            tracing::warn!(
                                consumer,
                                error = chain(&error),
                                "event stream failed; re-opening"
                            );
                            break;
                        }
                        None => {
                            tracing::warn!(consumer, "event stream ended; re-opening");
                            break;
                        }
                    }
                },
                Err(error) => {
                    tracing::warn!(
                        consumer,
                        error = chain(&error),
                        "could not open durable consumer; retrying"
                    );
                }
            }
            if pause_or_shutdown(backoff.next_pause(), &shutdown).await {
                return;
            }
        }
    }

    /// Creates or updates the durable consumer and opens a pull stream on it.
    async fn open(&self) -> Result<pull::Stream, EventError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| EventError::Consumer {
            name: self.config.durable_name.clone(),
            source,
        };
        let consumer: jetstream::consumer::PullConsumer = self
            .js
            .create_consumer_on_stream(self.config.to_nats(), &self.config.stream)
            .await
            .map_err(|error| failed(Box::new(error)))?;
        consumer
            .stream()
            .max_messages_per_batch(BATCH)
            .heartbeat(HEARTBEAT)
            .expires(PULL_EXPIRES)
            .messages()
            .await
            .map_err(|error| failed(Box::new(error)))
    }

    async fn handle(&self, message: jetstream::Message) {
        let consumer = self.config.durable_name.as_str();
        let event = match Delivered::from_message(&message) {
            Ok(event) => event,
            Err(reason) => {
                tracing::error!(consumer, subject = %message.subject, reason, "not an outbox event; terminating it");
                self.count(message.subject.as_str(), 1, "not_an_event");
                settle(&message, AckKind::Term).await;
                return;
            }
        };
        let span = tracing::info_span!(
            "handle_event",
            otel.kind = "consumer",
            consumer,
            event_id = %event.id,
            subject = %event.subject,
            delivery = event.delivery_count,
            traceparent = event.traceparent.as_deref(),
        );
        set_remote_parent(&span, event.traceparent.as_deref());
        async {
            let outcome = self.process(&event).await;
            let (kind, label) = self.ack_kind(&event, outcome);
            self.count(&event.subject, event.delivery_count, label);
            settle(&message, kind).await;
        }
        .instrument(span)
        .await;
    }

    async fn process(&self, event: &Delivered) -> Outcome {
        match self.already_processed(event.id).await {
            Ok(true) => return Outcome::AlreadyProcessed,
            Ok(false) => {}
            Err(error) => return self.infra_retry(event, &error),
        }
        let effect = match self.handler.prepare(event).await {
            Ok(effect) => effect,
            Err(error) => return error.into(),
        };
        match self.apply(effect, event).await {
            Ok(outcome) => outcome,
            Err(ApplyError::Handler(error)) => error.into(),
            Err(ApplyError::Database(error)) => self.infra_retry(event, &error),
        }
    }

    /// Records the event and applies its effect in one transaction; a concurrent delivery
    /// of the same event (another replica) waits on the row and then finds it taken.
    async fn apply(&self, effect: H::Effect, event: &Delivered) -> Result<Outcome, ApplyError> {
        let mut tx = self.pool.begin().await?;
        // Runtime-checked and unqualified: the pool's search_path selects the schema.
        let recorded = sqlx::query(
            "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&self.config.durable_name)
        .bind(event.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            tx.rollback().await?;
            return Ok(Outcome::AlreadyProcessed);
        }
        if let Err(error) = self.handler.apply(effect, event, &mut tx).await {
            // Dropping the transaction would roll back too; doing it here surfaces errors.
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(
                    error = chain(&rollback),
                    "rollback after a handler error failed"
                );
            }
            return Err(ApplyError::Handler(error));
        }
        tx.commit().await?;
        Ok(Outcome::Applied)
    }

    async fn already_processed(&self, id: Uuid) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM processed_events WHERE consumer = $1 AND event_id = $2)",
        )
        .bind(&self.config.durable_name)
        .bind(id)
        .fetch_one(&self.pool)
        .await
    }

    fn infra_retry(&self, event: &Delivered, error: &sqlx::Error) -> Outcome {
        let doublings = u32::try_from(event.delivery_count.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(16);
        let after = INFRA_RETRY_FIRST
            .saturating_mul(1 << doublings)
            .min(INFRA_RETRY_MAX);
        Outcome::Retry {
            after,
            reason: format!("event store: {}", chain(error)),
        }
    }

    /// Logs the outcome and says how to settle the message, and the outcome's metric label.
    fn ack_kind(&self, event: &Delivered, outcome: Outcome) -> (AckKind, &'static str) {
        match outcome {
            Outcome::Applied => {
                tracing::debug!("event applied");
                (AckKind::Ack, "applied")
            }
            Outcome::AlreadyProcessed => {
                tracing::debug!("event already processed");
                (AckKind::Ack, "already_processed")
            }
            Outcome::Retry { after, reason } => {
                let max = self.config.max_deliver;
                if max > 0 && event.delivery_count >= max as u64 {
                    tracing::error!(event_id = %event.id, reason, deliveries = event.delivery_count,
                        "event still failing after max_deliver deliveries; giving up on it");
                    (AckKind::Term, "gave_up")
                } else {
                    tracing::warn!(event_id = %event.id, reason, retry_in = ?after, "event will be redelivered");
                    (AckKind::Nak(Some(after)), "retry")
                }
            }
            Outcome::Permanent(reason) => {
                tracing::error!(event_id = %event.id, reason, "event failed permanently; not redelivered");
                (AckKind::Term, "poison")
            }
        }
    }

    /// `rentory.consumer.handled` by outcome, and `rentory.consumer.redeliveries` for a
    /// delivery after the first.
    fn count(&self, subject: &str, delivery_count: u64, outcome: &'static str) {
        if !telemetry::metrics_enabled() {
            return;
        }
        let consumer = self.consumer_attribute.clone();
        let subject = KeyValue::new("subject", subject.to_owned());
        if delivery_count > 1 {
            REDELIVERIES.add(1, &[consumer.clone(), subject.clone()]);
        }
        HANDLED.add(1, &[consumer, subject, KeyValue::new("outcome", outcome)]);
    }
}

enum ApplyError {
    Handler(HandlerError),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ApplyError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// Acks, naks or terminates. A lost ack is harmless: the message comes back after
/// `ack_wait` and `processed_events` recognises it.
async fn settle(message: &jetstream::Message, kind: AckKind) {
    if let Err(error) = message.ack_with(kind).await {
        tracing::warn!(error = %error, ?kind, "could not settle event; it will be redelivered");
    }
}
