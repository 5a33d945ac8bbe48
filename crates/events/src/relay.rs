//! Publishes each service's outbox to JetStream.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::{self, message::PublishMessage};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::backoff::{Backoff, pause_or_shutdown};
use crate::error::EventError;
use crate::outbox::notify_channel;
use crate::trace::{TRACEPARENT_HEADER, set_remote_parent};
use rentory_runtime::error_chain as chain;
use rentory_runtime::telemetry;
use rentory_runtime::trace_context::current_traceparent;

/// Rows taken per round: bounds how long one transaction holds its row locks.
const BATCH: i64 = 100;
/// After a NOTIFY, how long to let more commits gather before a round: under load one round
/// then carries many rows (one claim, one mark, one commit) instead of one round per row.
/// At 1,000 chat messages/s this halved the chat benchmark's p50 (make bench); events are
/// consumed asynchronously, so 5 ms more on their way costs nobody.
const GATHER: Duration = Duration::from_millis(5);
/// Safety net for a missed NOTIFY (listener reconnecting, another replica's commit).
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long to wait for JetStream to store one event before treating NATS as down.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// How often to look at the NATS connection state while it is down.
const RECONNECT_CHECK: Duration = Duration::from_millis(200);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Published rows are kept this long for inspection and replay, then deleted.
const RETENTION: &str = "7 days";
const CLEANUP_EVERY: Duration = Duration::from_secs(60 * 60);

/// Bounds for `rentory.outbox.lag`: milliseconds while the relay keeps up (it gathers
/// commits for 5 ms), minutes while NATS is down.
const LAG_BUCKETS_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
];

static OUTBOX_LAG: LazyLock<Histogram<f64>> = LazyLock::new(|| {
    telemetry::meter()
        .f64_histogram("rentory.outbox.lag")
        .with_unit("s")
        .with_description("From an outbox row's creation to JetStream's ack of its event")
        .with_boundaries(LAG_BUCKETS_SECONDS.to_vec())
        .build()
});

/// Moves committed outbox rows of one schema to JetStream.
///
/// The pool must connect with `search_path` set to `schema`, and have room for two
/// connections: one held by the LISTEN, one for each round. Several replicas may run at
/// once: rows are claimed with `FOR UPDATE SKIP LOCKED`.
pub struct Relay {
    pool: PgPool,
    js: jetstream::Context,
    schema: String,
    publish_timeout: Duration,
    poll_interval: Duration,
    wake: Arc<Notify>,
}

/// Wakes a relay of this process at once, as a NOTIFY would, for writers that skip the
/// NOTIFY: `pg_notify` takes a database-wide lock at commit, which serialised the chat
/// service's 1,000 sends a second (make bench: chat p50 4.7 ms with it, 2.7 ms without).
/// Relays of other replicas still find the rows on their next poll.
#[derive(Clone)]
pub struct RelayWaker(Arc<Notify>);

impl RelayWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: Uuid,
    subject: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
    /// Seconds since the row was created, by the database's clock when it was claimed: the
    /// lag is measured on one clock, whatever the relay host's says.
    age_secs: f64,
}

impl Relay {
    pub fn new(pool: PgPool, js: jetstream::Context, schema: impl Into<String>) -> Self {
        Self {
            pool,
            js,
            schema: schema.into(),
            publish_timeout: PUBLISH_TIMEOUT,
            poll_interval: POLL_INTERVAL,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Overrides how often the relay looks for rows nobody woke it for (default 1 s).
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// A handle that wakes this relay once it runs (see [`RelayWaker`]).
    pub fn waker(&self) -> RelayWaker {
        RelayWaker(Arc::clone(&self.wake))
    }

    /// Overrides how long to wait for each JetStream ack (default 5 s).
    pub fn with_publish_timeout(mut self, timeout: Duration) -> Self {
        self.publish_timeout = timeout;
        self
    }

    /// Runs the relay until `shutdown`: wakes on NOTIFY, every second, and keeps going
    /// while rows are waiting. Errors are logged and retried with backoff; it never exits
    /// early. Reconnecting to NATS is async-nats's job.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, shutdown: CancellationToken) {
        let wake = Arc::clone(&self.wake);
        let listener = tokio::spawn(listen(
            self.pool.clone(),
            notify_channel(&self.schema),
            Arc::clone(&wake),
            shutdown.clone(),
        ));
        let mut backoff = Backoff::new(BACKOFF_FIRST, BACKOFF_MAX);
        let mut last_cleanup: Option<Instant> = None;

        let mut disconnected = false;
        while !shutdown.is_cancelled() {
            match self.publish_pending().await {
                // A full batch means more are probably waiting: go again at once.
                Ok(published) if published as i64 == BATCH => {
                    backoff.reset();
                    continue;
                }
                Ok(_) => backoff.reset(),
                // Checking the connection costs nothing, so poll it briskly instead of
                // backing off: events go out as soon as async-nats has reconnected. Logged
                // once per outage, not per check.
                Err(EventError::NotConnected) => {
                    if !disconnected {
                        tracing::warn!(schema = %self.schema, "NATS not connected; events wait in the outbox");
                        disconnected = true;
                    }
                    if pause_or_shutdown(RECONNECT_CHECK, &shutdown).await {
                        break;
                    }
                    continue;
                }
                Err(error) => {
                    tracing::warn!(schema = %self.schema, error = chain(&error), "outbox relay round failed");
                    if pause_or_shutdown(backoff.next_pause(), &shutdown).await {
                        break;
                    }
                    continue;
                }
            }
            if std::mem::take(&mut disconnected) {
                tracing::info!(schema = %self.schema, "NATS connected again; outbox relayed");
            }
            if last_cleanup.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY) {
                last_cleanup = Some(Instant::now());
                if let Err(error) = self.delete_old().await {
                    tracing::warn!(schema = %self.schema, error = chain(&error), "outbox cleanup failed");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wake.notified() => {
                    if pause_or_shutdown(GATHER, &shutdown).await {
                        break;
                    }
                }
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        // The listener watches the same token; waiting keeps its connection from outliving us.
        let _ = listener.await;
    }

    /// One round: claims up to 100 unpublished rows (oldest first), publishes them in order
    /// waiting for each JetStream ack, and marks the published ones. On a publish error the
    /// rows already acknowledged are still marked, and the error is returned.
    #[tracing::instrument(skip_all, fields(schema = %self.schema))]
    pub async fn publish_pending(&self) -> Result<usize, EventError> {
        // Waiting out a 5 s ack timeout while disconnected would only queue duplicates.
        if self.js.client().connection_state() != State::Connected {
            return Err(EventError::NotConnected);
        }
        let mut tx = self.pool.begin().await?;
        // Unqualified and runtime-checked: the pool's search_path picks the schema.
        let rows: Vec<OutboxRow> = sqlx::query_as(
            "SELECT id, subject, payload, traceparent, \
                    EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8 AS age_secs \
             FROM outbox \
             WHERE published_at IS NULL ORDER BY created_at, id LIMIT $1 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let claimed = Instant::now();
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }

        let mut published = Vec::with_capacity(rows.len());
        let mut failure = None;
        // One at a time, in order: a relay's events reach the stream in commit order, and
        // a failure leaves every later row for the next round.
        for row in &rows {
            match self.publish(row).await {
                Ok(()) => {
                    if telemetry::metrics_enabled() {
                        let lag = row.age_secs + claimed.elapsed().as_secs_f64();
                        OUTBOX_LAG.record(lag, &[KeyValue::new("subject", row.subject.clone())]);
                    }
                    published.push(row.id);
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if !published.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind(&published)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        match failure {
            Some(error) => Err(error),
            None => Ok(published.len()),
        }
    }

    /// Publishes one row in a span of the trace that wrote it, so the request's trace shows
    /// when its event left; consumers then continue the trace from this span.
    async fn publish(&self, row: &OutboxRow) -> Result<(), EventError> {
        let span = tracing::info_span!(
            "publish_event",
            otel.kind = "producer",
            event_id = %row.id,
            subject = %row.subject,
            schema = %self.schema,
        );
        set_remote_parent(&span, row.traceparent.as_deref());
        self.publish_in_span(row).instrument(span).await
    }

    async fn publish_in_span(&self, row: &OutboxRow) -> Result<(), EventError> {
        let mut message = PublishMessage::build()
            .payload(row.payload.clone().into())
            // JetStream deduplicates on this header.
            .header(NATS_MESSAGE_ID, row.id.to_string());
        // This span's context when traces are exported; the writer's otherwise (no
        // OpenTelemetry layer, or the span filtered out), so the chain is never cut here.
        if let Some(traceparent) = current_traceparent().or_else(|| row.traceparent.clone()) {
            message = message.header(TRACEPARENT_HEADER, traceparent);
        }
        let publish_error =
            |source: async_nats::jetstream::context::PublishError| EventError::Publish {
                id: row.id,
                source: Box::new(source),
            };
        let stored = async {
            self.js
                .send_publish(row.subject.clone(), message)
                .await
                .map_err(publish_error)?
                .await
                .map_err(publish_error)
        };
        let ack = tokio::time::timeout(self.publish_timeout, stored)
            .await
            .map_err(|_| EventError::PublishTimeout {
                id: row.id,
                timeout: self.publish_timeout,
            })??;
        if ack.duplicate {
            tracing::debug!(event_id = %row.id, "JetStream already had this event");
        }
        Ok(())
    }

    async fn delete_old(&self) -> Result<(), EventError> {
        let deleted = sqlx::query("DELETE FROM outbox WHERE published_at < now() - $1::interval")
            .bind(RETENTION)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if deleted > 0 {
            tracing::info!(schema = %self.schema, deleted, "deleted old published outbox rows");
        }
        Ok(())
    }
}

/// Turns NOTIFYs on `channel` into wake-ups. Runs as its own task so the relay's select
/// never cancels a half-read notification. Losing notifications is harmless (the relay
/// also polls), so errors only pause it.
async fn listen(pool: PgPool, channel: String, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut backoff = Backoff::new(BACKOFF_FIRST, BACKOFF_MAX);
    while !shutdown.is_cancelled() {
        let error = tokio::select! {
            () = shutdown.cancelled() => break,
            error = listen_until_error(&pool, &channel, &wake, &mut backoff) => error,
        };
        tracing::warn!(%channel, error = chain(&error), "outbox LISTEN failed; relying on polling until it reconnects");
        if pause_or_shutdown(backoff.next_pause(), &shutdown).await {
            break;
        }
    }
}

async fn listen_until_error(
    pool: &PgPool,
    channel: &str,
    wake: &Notify,
    backoff: &mut Backoff,
) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(channel).await {
        return error;
    }
    backoff.reset();
    // The relay may have missed commits while we were connecting.
    wake.notify_one();
    loop {
        match listener.recv().await {
            Ok(_) => wake.notify_one(),
            Err(error) => return error,
        }
    }
}
