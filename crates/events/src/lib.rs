//! Domain events for Rentory services: a transactional outbox, a relay to JetStream, and
//! idempotent durable consumers.
//!
//! A state change and the event announcing it commit in ONE Postgres transaction
//! ([`enqueue`] into the service's `outbox`). A [`Relay`] publishes committed rows to the
//! JetStream stream [`STREAM`] with `Nats-Msg-Id` = event id, so JetStream drops
//! re-publishes within its duplicate window. Consumers ([`spawn_consumer`]) are durable,
//! acknowledge explicitly, and record each event in `processed_events` in the same
//! transaction as its effect, so redelivery never applies an event twice. No event is lost
//! while NATS is down: it waits in the outbox.
//!
//! # Schema
//!
//! Each service's pool connects with `search_path` set to its own schema, so this crate
//! uses unqualified table names and runtime-checked `sqlx::query` (it cannot be
//! compile-time checked against any one schema). Every service that publishes or consumes
//! events puts this in its migrations:
//!
//! ```sql
//! CREATE TABLE outbox (
//!   id uuid PRIMARY KEY,              -- event id, UUIDv7; becomes Nats-Msg-Id
//!   subject text NOT NULL,            -- rentory.<service>.<entity>.<verb>
//!   payload bytea NOT NULL,           -- protobuf
//!   traceparent text,                 -- W3C trace context of the request that caused it
//!   created_at timestamptz NOT NULL DEFAULT now(),
//!   published_at timestamptz
//! );
//! CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;
//! CREATE TABLE processed_events (
//!   consumer text NOT NULL,
//!   event_id uuid NOT NULL,
//!   processed_at timestamptz NOT NULL DEFAULT now(),
//!   PRIMARY KEY (consumer, event_id)
//! );
//! ```
//!
//! The same text is [`MIGRATION_SQL`].
//!
//! # Wiring a service
//!
//! [`connect`] gives a JetStream context without waiting for NATS (and ensures the stream
//! once NATS answers); with a context of your own, call [`ensure_stream`] as below.
//!
//! ```no_run
//! # use rentory_events::*;
//! # #[derive(Clone, PartialEq, prost::Message)]
//! # struct UserActivated {}
//! # struct KycDecisions;
//! # impl Handler for KycDecisions {
//! #     type Effect = ();
//! #     async fn prepare(&self, _: &Delivered) -> Result<(), HandlerError> { Ok(()) }
//! #     async fn apply(&self, _: (), _: &Delivered, _: &mut sqlx::PgConnection)
//! #         -> Result<(), HandlerError> { Ok(()) }
//! # }
//! # async fn wire(pool: sqlx::PgPool, js: async_nats::jetstream::Context,
//! #     shutdown: tokio_util::sync::CancellationToken) -> Result<(), Box<dyn std::error::Error>> {
//! // at start-up (the pool's search_path is the service's schema, here `identity`):
//! ensure_stream(&js).await?;
//! let relay = Relay::new(pool.clone(), js.clone(), "identity").spawn(shutdown.clone());
//! let consumer = spawn_consumer(
//!     pool.clone(),
//!     js.clone(),
//!     ConsumerConfig::new("identity", ["rentory.kyc.verification.>"]),
//!     KycDecisions,
//!     shutdown.clone(),
//! )?;
//!
//! // in a request handler:
//! let mut tx = pool.begin().await?;
//! // ... the state change, through `&mut *tx` ...
//! enqueue(&mut tx, "rentory.identity.user.activated", &UserActivated {}).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

mod backoff;
mod connect;
mod consumer;
mod error;
mod outbox;
mod relay;
mod stream;
mod trace;

pub use connect::connect;
pub use consumer::{ConsumerConfig, Delivered, Handler, spawn_consumer};
pub use error::{EventError, HandlerError};
pub use outbox::{MAX_PAYLOAD_BYTES, NOTIFY_PREFIX, enqueue, enqueue_bytes, notify_channel};
pub use relay::{Relay, RelayWaker};
pub use stream::{DUPLICATE_WINDOW, MAX_AGE, STREAM, SUBJECTS, StreamSettings, ensure_stream};

/// The tables every service schema needs (see the crate docs); tests run it in a fresh
/// schema.
pub const MIGRATION_SQL: &str = "\
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  subject text NOT NULL,
  payload bytea NOT NULL,
  traceparent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (created_at, id) WHERE published_at IS NULL;
CREATE TABLE processed_events (
  consumer text NOT NULL,
  event_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
";
